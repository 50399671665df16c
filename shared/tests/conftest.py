import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from toy_pkg import make_package


@pytest.fixture()
def toy(tmp_path, monkeypatch):
    """The toy package importable, runs rooted in tmp_path."""
    root = tmp_path / "pkgroot"
    make_package(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("REPRO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TOY_ROOT", str(root))
    return tmp_path
