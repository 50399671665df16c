"""Issue #8: for every package present, a user mistake exits 2 with one line on stderr and writes nothing.

Each package runs its table (generic cases + packages/<dist>/tests/bad_inputs.py) in one process.
"""

import json
import subprocess
import sys

import pytest
from bad_input_runner import check_case
from conftest import ROOT, present_packages

MIN_CASES = 10


@pytest.mark.parametrize("dist", [d for d, _, _ in present_packages()])
def test_bad_inputs_exit_2_and_write_nothing(dist, tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "bad_input_runner.py"), dist, str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    results = json.loads(r.stdout.strip().splitlines()[-1])
    own = [c for c in results if c.startswith(f"{dist}: ")]
    assert len(results) >= MIN_CASES and len(own) >= 3, f"{dist}: {len(results)} cases, {len(own)} of its own"
    failed = {cid: (res["problems"], res["stderr"]) for cid, res in results.items() if res["problems"]}
    assert not failed, f"{dist}: {len(failed)} of {len(results)} cases broke the contract:\n" + "\n".join(
        f"  {cid}: {p} stderr={s}" for cid, (p, s) in failed.items())


def test_checker_flags_each_way_to_break_the_contract(tmp_path):
    """The checker itself can fail: exit 0, a file left behind, two stderr lines, an escaped exception."""
    def writes_and_succeeds(argv):
        (tmp_path / "leftover").mkdir()
        return 0

    def two_lines(argv):
        print("error: one\nerror: two", file=sys.stderr)
        return 2

    def raises(argv):
        raise ValueError("boom")

    def good(argv):
        print("error: bad value", file=sys.stderr)
        return 2

    problems = check_case(writes_and_succeeds, [], tmp_path)["problems"]
    assert "exit 0, expected 2" in problems and "left leftover" in problems
    assert "2 lines on stderr, expected 1" in check_case(two_lines, [], tmp_path)["problems"]
    assert any(p.startswith("exit 'raised ValueError") for p in check_case(raises, [], tmp_path)["problems"])
    assert check_case(good, [], tmp_path)["problems"] == []
