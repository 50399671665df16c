"""Issue #8's reprokit side: typed --set, schemas, one-line argparse, safe user-file loaders; and the
CI verdict rule of DESIGN.md item 8."""

import io
import math
from contextlib import redirect_stderr

import numpy as np
import pytest
from pydantic import Field, model_validator

from reprokit import (
    ArgumentParser,
    ConfigModel,
    UsageError,
    apply_overrides,
    json_arg,
    load_array,
    load_npz,
    paired_t_ci,
    positive_int,
    run_main,
    validate_config,
    verdict_from_ci,
)

PRESET = {"train": {"epochs": 3, "lr": 0.1, "amp": False, "name": "sgd", "temps": [1, 4], "names": ["a"]},
          "threads": None}


@pytest.mark.parametrize("assignment, message", [
    ("train.epochs=abc", "expected int"),
    ("train.epochs=1.5", "expected int"),
    ("train.epochs=true", "expected int"),
    ("train.epochs=null", "expected int"),
    ("train.lr=fast", "expected float"),
    ("train.lr=[1, 2]", "expected float"),
    ("train.amp=maybe", "expected bool"),
    ("train.temps=4", "expected list"),
    ("train.temps=[1, x]", "expected list"),
    ("train=5", "expected mapping"),
])
def test_set_refuses_a_value_of_another_type(assignment, message):
    with pytest.raises(UsageError, match=message):
        apply_overrides(PRESET, [assignment])


def test_set_accepts_and_converts_matching_values():
    cfg = apply_overrides(PRESET, ["train.lr=1", "train.epochs=7", "train.name=123", "train.temps=[0.5, 2]",
                                   "train.names=[1, b]", "threads=4", "train.amp=true"])
    t = cfg["train"]
    assert (t["lr"], type(t["lr"])) == (1.0, float) and t["epochs"] == 7 and t["name"] == "123"
    assert t["temps"] == [0.5, 2] and t["names"] == ["1", "b"] and cfg["threads"] == 4 and t["amp"] is True
    assert PRESET["train"]["epochs"] == 3  # the preset itself is untouched


class Train(ConfigModel):
    epochs: int = Field(ge=1)
    folds: int = Field(2, ge=2)
    alpha: float = Field(0.0, ge=0, lt=1)


class Cfg(ConfigModel):
    train: Train

    @model_validator(mode="after")
    def _folds_vs_epochs(self):
        if self.train.folds > 10 * self.train.epochs:
            raise ValueError("train.folds may not exceed 10 × train.epochs")
        return self


@pytest.mark.parametrize("train, fragment", [
    ({"epochs": 0}, "train.epochs=0: Input should be greater than or equal to 1"),
    ({"epochs": 1, "alpha": 1.0}, "train.alpha=1.0: Input should be less than 1"),
    ({"epochs": 1, "folds": 1}, "train.folds=1"),
    ({"epochs": 1, "folds": 11}, "train.folds may not exceed"),
])
def test_schema_names_key_value_and_rule_in_one_line(train, fragment):
    with pytest.raises(UsageError) as e:
        validate_config({"train": train, "other": "extra keys are allowed"}, Cfg)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_schema_passes_a_valid_config():
    assert validate_config({"train": {"epochs": 2, "alpha": 0.5}}, Cfg).train.alpha == 0.5


def test_argparse_mistakes_are_one_line_exit_2():
    def main(argv):
        p = ArgumentParser(prog="tool")
        sub = p.add_subparsers(dest="cmd", required=True)
        s = sub.add_parser("go")
        s.add_argument("--n", type=positive_int)
        s.add_argument("--m", type=json_arg)
        p.parse_args(argv)
        return 0

    for argv in (["go", "--n", "-3"], ["go", "--n", "x"], ["go", "--m", "{bad"], ["nope"], ["go", "--zzz"]):
        err = io.StringIO()
        with redirect_stderr(err):
            assert run_main(main, argv) == 2
        assert len(err.getvalue().strip().splitlines()) == 1, (argv, err.getvalue())
    assert run_main(main, ["go", "--n", "3", "--m", '{"a": [1]}']) == 0


def test_multiline_usage_errors_print_as_one_line():
    def main(argv):
        raise UsageError("first line\nsecond line")

    err = io.StringIO()
    with redirect_stderr(err):
        assert run_main(main, []) == 2
    assert err.getvalue() == "error: first line second line\n"


def test_load_npz_refuses_text_pickles_and_missing_keys(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, a=np.arange(3), b=np.ones((2, 2)))
    out = load_npz(good, required=("a",))
    assert out["a"].tolist() == [0, 1, 2] and out["b"].shape == (2, 2)
    (tmp_path / "text.npz").write_text("hello\n")
    np.savez(tmp_path / "obj.npz", a=np.array([{"x": 1}], dtype=object))
    (tmp_path / "empty.npz").write_bytes(b"")
    np.save(tmp_path / "single.npy", np.arange(3))
    for name, fragment in [("text.npz", "not an .npz archive"), ("obj.npz", r"object \(pickled\) arrays"),
                           ("empty.npz", "empty"), ("missing.npz", "no such file"), ("single.npy", "single .npy")]:
        with pytest.raises(UsageError, match=fragment):
            load_npz(tmp_path / name, required=("a",))
    with pytest.raises(UsageError, match="missing c"):
        load_npz(good, required=("a", "c"))


def test_load_array_reads_npy_txt_csv_and_refuses_the_rest(tmp_path):
    np.save(tmp_path / "a.npy", np.array([1, 2, 3]))
    (tmp_path / "a.txt").write_text("1 2\n3 4\n")
    (tmp_path / "a.csv").write_text("1,2\n3,4\n")
    assert load_array(tmp_path / "a.npy").tolist() == [1, 2, 3]
    assert load_array(tmp_path / "a.txt").tolist() == [[1, 2], [3, 4]]
    assert load_array(tmp_path / "a.csv").tolist() == [[1, 2], [3, 4]]
    (tmp_path / "words.txt").write_text("cat dog\n")
    np.save(tmp_path / "obj.npy", np.array([{"x": 1}], dtype=object))
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    (tmp_path / "a.json").write_text("[1]")
    for name in ("words.txt", "obj.npy", "cube.npy", "a.json", "missing.npy"):
        with pytest.raises(UsageError):
            load_array(tmp_path / name)


def test_paired_t_ci_matches_scipy_by_hand():
    from scipy import stats

    x = np.array([0.8, 1.3, 0.9, 1.6, 1.1])
    ci = paired_t_ci(x)
    half = stats.t.ppf(0.975, 4) * x.std(ddof=1) / math.sqrt(5)
    assert ci["mean"] == pytest.approx(1.14) and ci["low"] == pytest.approx(1.14 - half)
    assert ci["high"] == pytest.approx(1.14 + half) and ci["n"] == 5
    assert math.isnan(paired_t_ci([1.0])["low"])


@pytest.mark.parametrize("low, high, est, verdict", [
    (0.2, 1.8, 1.0, "reproduced"),        # CI above 0, estimate reaches 0.5
    (0.1, 0.7, 0.4, "inconclusive"),      # above 0 but the estimate is under the smallest effect
    (-0.3, 0.4, 0.05, "not reproduced"),  # the whole CI lies below 0.5
    (-2.0, -1.0, -1.5, "not reproduced"),  # reversed
    (-0.2, 1.5, 0.6, "inconclusive"),     # CI includes 0 and reaches above 0.5
    (float("nan"), float("nan"), 1.0, "inconclusive"),
])
def test_verdict_rule(low, high, est, verdict):
    assert verdict_from_ci(low, high, est, min_effect=0.5) == verdict


def test_null_is_allowed_where_the_schema_declares_the_field_optional():
    from reprokit.schema import nullable_in

    class Pre(ConfigModel):
        reject: float | None = None
        epochs: int = 1

    class Top(ConfigModel):
        data: Pre

    preset = {"data": {"reject": 4e-12, "epochs": 3}}
    ok = apply_overrides(preset, ["data.reject=null"], nullable_in(Top))
    assert ok["data"]["reject"] is None
    with pytest.raises(UsageError, match="expected int"):
        apply_overrides(preset, ["data.epochs=null"], nullable_in(Top))
    with pytest.raises(UsageError, match="expected float"):
        apply_overrides(preset, ["data.reject=null"])  # no schema: the preset's type rules


def test_run_torchrun_repeats_only_the_exit_time_abort(tmp_path):
    import sys

    from reprokit.testing import run_torchrun

    script = tmp_path / "flaky.py"
    script.write_text(
        "import pathlib, sys\n"
        "c = pathlib.Path(sys.argv[1]); n = int(c.read_text()) if c.exists() else 0; c.write_text(str(n + 1))\n"
        "if n == 0: sys.stderr.write(sys.argv[2]); sys.exit(1)\n")
    cleared = []
    r = run_torchrun([sys.executable, str(script), str(tmp_path / "a"), "traceback : Signal 6 (SIGABRT)"],
                     before_retry=lambda: cleared.append(1))
    assert r.returncode == 0 and (tmp_path / "a").read_text() == "2" and cleared == [1]
    r = run_torchrun([sys.executable, str(script), str(tmp_path / "b"), "AssertionError: wrong weights"])
    assert r.returncode == 1 and (tmp_path / "b").read_text() == "1"  # any other failure is not repeated
