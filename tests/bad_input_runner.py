"""Runs one package's bad-input table in this one process and prints the outcome of each case as JSON.

    python tests/bad_input_runner.py <dist> <tmp dir>

Cases are the generic ones built here from the package's smoke preset (for ``reproduce``) plus the
package's own ``packages/<dist>/tests/bad_inputs.py`` (``cases(tmp) -> [(case_id, argv), ...]``). A case
passes when ``main(argv)`` returns 2, prints exactly one line on stderr (no traceback) and leaves no new
file or folder anywhere under the tmp dir (which holds the working directory and ``REPRO_RUNS``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CASE_TIMEOUT_S = 120  # a case still running by then has started real work (the first one also pays the imports)


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that run_main's ``except Exception`` cannot swallow it."""


def _alarm(_signum, _frame):
    raise _Timeout


def check_case(main: Callable[[Sequence[str]], int], argv: list[str], root: Path) -> dict[str, Any]:
    """Run ``main(argv)`` once and judge it against the bad-input contract."""
    before = snapshot(root)
    err, out = io.StringIO(), io.StringIO()
    rc: Any
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(argv)
    except _Timeout:
        rc = f"still running after {CASE_TIMEOUT_S} s"
    except SystemExit as e:
        rc = f"SystemExit({e.code})"
    except BaseException as e:
        rc = f"raised {type(e).__name__}: {e}"
    finally:
        signal.alarm(0)
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
    new = sorted(snapshot(root) - before)
    problems = []
    if rc != 2:
        problems.append(f"exit {rc!r}, expected 2")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr, expected 1")
    if "Traceback" in err.getvalue():
        problems.append("a traceback on stderr")
    if new:
        problems.append(f"left {', '.join(new[:5])}")
    return {"argv": argv, "rc": rc if isinstance(rc, int) else str(rc), "stderr": lines[:3],
            "new_files": new, "problems": problems}


def _flat(cfg: dict, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for k, v in cfg.items():
        key = f"{prefix}{k}"
        out.extend(_flat(v, key + ".") if isinstance(v, dict) else [(key, v)])
    return out


def generic_cases(module: str, tmp: Path) -> list[tuple[str, list[str]]]:
    """Cases every package's ``reproduce`` must refuse, built from its smoke preset."""
    from reprokit.config import load_preset

    flat = _flat(load_preset(module, "smoke"))
    ints = [k for k, v in flat if isinstance(v, int) and not isinstance(v, bool)]
    floats = [k for k, v in flat if isinstance(v, float)]
    bools = [k for k, v in flat if isinstance(v, bool)]
    finished = tmp / "finished-run"
    finished.mkdir()
    (finished / "config.yaml").write_text("run: {preset: smoke}\n")
    (finished / "summary.json").write_text("{}\n")
    base = ["reproduce", "--preset", "smoke", "--quiet"]
    cases = [
        ("unknown --set key", [*base, "--set", "no_such_section.no_such_key=1"]),
        ("--set without =", [*base, "--set", "justakey"]),
        ("unknown preset", ["reproduce", "--preset", "no-such-preset"]),
        ("unknown subcommand", ["no-such-command"]),
        ("unknown dataset", [*base, "--dataset", "no-such-dataset"]),
        ("--seed not an int", [*base, "--seed", "abc"]),
        ("finished --out", [*base, "--out", str(finished)]),
        ("--resume of a missing dir", ["reproduce", "--resume", str(tmp / "no-such-run")]),
        ("--resume with --set", ["reproduce", "--resume", str(finished), "--set", "seed=1"]),
    ]
    if ints:
        cases += [(f"--set {ints[0]}=abc (int)", [*base, "--set", f"{ints[0]}=abc"]),
                  (f"--set {ints[0]}=1.5 (int)", [*base, "--set", f"{ints[0]}=1.5"])]
    if floats:
        cases.append((f"--set {floats[0]}=[1, 2] (float)", [*base, "--set", f"{floats[0]}=[1, 2]"]))
    if bools:
        cases.append((f"--set {bools[0]}=maybe (bool)", [*base, "--set", f"{bools[0]}=maybe"]))
    return cases


def package_cases(pkg_dir: Path, tmp: Path) -> list[tuple[str, list[str]]]:
    path = pkg_dir / "tests" / "bad_inputs.py"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: every package lists its own bad inputs there")
    spec = importlib.util.spec_from_file_location(f"_bad_inputs_{pkg_dir.name.replace('-', '_')}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [(f"{pkg_dir.name}: {cid}", list(map(str, argv))) for cid, argv in mod.cases(tmp)]


def main() -> None:
    dist, tmp = sys.argv[1], Path(sys.argv[2]).resolve()
    root = Path(__file__).resolve().parents[1]
    module = dist.replace("-", "_")
    (tmp / "cwd").mkdir(parents=True, exist_ok=True)
    (tmp / "runs").mkdir(exist_ok=True)
    os.environ["REPRO_RUNS"] = str(tmp / "runs")
    os.chdir(tmp / "cwd")
    warnings.simplefilter("ignore")  # library warnings are not the message under test
    cli = importlib.import_module(f"{module}.cli")
    fixtures = tmp / "fixtures"
    fixtures.mkdir(exist_ok=True)
    cases = generic_cases(module, fixtures) + package_cases(root / "packages" / dist, fixtures)
    results = {cid: check_case(cli.main, argv, tmp) for cid, argv in cases}
    sys.__stdout__.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
