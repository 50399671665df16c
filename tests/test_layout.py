"""The layout contract of DESIGN.md, for every package present."""

import re

import pytest
from conftest import ROOT, module_name, present_packages

PACKAGES = present_packages()
IDS = [p[0] for p in PACKAGES]


def test_root_files():
    for name in ("pyproject.toml", "Makefile", "README.md", ".ci/run", "shared/pyproject.toml", "scripts/papers.tsv"):
        assert (ROOT / name).is_file(), name
    assert "make test" in (ROOT / ".ci/run").read_text()
    listed = [line.split("\t")[0] for line in (ROOT / "scripts/papers.tsv").read_text().splitlines() if line]
    assert len(listed) == 10 and set(IDS) <= set(listed)


@pytest.mark.parametrize(("dist", "pkg", "meta"), PACKAGES, ids=IDS)
def test_package_layout(dist, pkg, meta):
    mod = module_name(dist)
    proj = meta["project"]
    assert proj["name"] == dist
    assert proj["scripts"].get(dist, "").startswith(f"{mod}."), "[project.scripts] needs the <dist> command"
    deps = proj.get("dependencies", [])
    assert any(re.match(r"reprokit\b", d) for d in deps), "must depend on reprokit"
    unpinned = [d for d in deps if not re.search(r">=|==|~=", d)]
    assert not unpinned, f"dependencies without a lower bound: {unpinned}"
    src = pkg / "src" / mod
    assert (src / "__init__.py").is_file() and (src / "cli.py").is_file()
    for preset in ("smoke", "quick", "paper"):
        assert (src / "configs" / f"{preset}.yaml").is_file(), f"missing preset {preset}"
    assert list((pkg / "tests").glob("test_*.py")), "no tests"
    assert list((pkg / "benchmarks").glob("bench_*.py")), "no benchmarks/bench_*.py"
    readme = (pkg / "README.md").read_text()
    assert "reproduce" in readme and "|" in readme, "README needs how-to-reproduce and a results table"


@pytest.mark.parametrize("dist", [*IDS, "reprokit"])
def test_each_package_has_its_ci_job(dist):
    wf = ROOT / ".github" / "workflows" / f"{dist}.yml"
    assert wf.is_file()
    text = wf.read_text()
    path = "shared/**" if dist == "reprokit" else f"packages/{dist}/**"
    assert path in text and f".ci/package-job {dist}" in text
