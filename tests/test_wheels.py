"""Every package and reprokit builds a wheel on its own, with its presets inside."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, module_name, present_packages

UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
DISTS = ["reprokit", *[d for d, _, _ in present_packages()]]


@pytest.mark.skipif(UV is None, reason="uv not installed")
@pytest.mark.parametrize("dist", DISTS)
def test_builds_a_wheel_alone(dist, tmp_path):
    r = subprocess.run([UV, "build", "--package", dist, "--wheel", "-o", str(tmp_path), "-q"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    mod = module_name(dist)
    assert f"{mod}/__init__.py" in names
    if dist != "reprokit":
        assert {f"{mod}/configs/{p}.yaml" for p in ("smoke", "quick", "paper")} <= set(names)
        assert f"{mod}/cli.py" in names
