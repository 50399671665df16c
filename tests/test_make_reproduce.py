"""End to end: `make reproduce` (smoke preset) runs every package and writes the index."""

import json
import subprocess

from conftest import ROOT, present_packages


def test_make_reproduce_smoke_writes_index(tmp_path):
    runs, reports = tmp_path / "runs", tmp_path / "reports"
    r = subprocess.run(["make", "--no-print-directory", "reproduce", "PRESET=smoke", f"RUNS={runs}",
                        f"REPORTS={reports}"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    md = (reports / "index.md").read_text()
    html = (reports / "index.html").read_text()
    papers = [line.split("\t") for line in (ROOT / "scripts/papers.tsv").read_text().splitlines() if line]
    built = {d for d, _, _ in present_packages()}
    for dist, _title in papers:
        assert f"| {dist}: " in md
        if dist not in built:
            assert f"| {dist}: {_title} | not built yet |" in md
    for dist in built:
        (summary,) = runs.glob(f"{dist}/*/summary.json")
        d = json.loads(summary.read_text())
        assert d["preset"] == "smoke" and d["claims"]
        for c in d["claims"]:
            assert f"**{c['verdict']}**" in md
        assert dist in html
