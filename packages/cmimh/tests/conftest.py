"""Shared fixtures: small datasets in the real on-disk formats (DCMH .mat via scipy.io.savemat, .npy)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cmimh_fixtures import write_dcmh_mat

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mat_dir(tmp_path_factory) -> Path:
    return write_dcmh_mat(tmp_path_factory.mktemp("mat") / "mirflickr25k")


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("REPRO_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"
