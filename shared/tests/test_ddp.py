"""DDP through reprokit: two gloo processes (torchrun) end with the weights of one process on one global batch."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reprokit.testing import run_torchrun

pytest.importorskip("torch")
SCRIPT = Path(__file__).with_name("ddp_train.py")


def test_torchrun_two_processes_match_one(tmp_path):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    env_cmd = [sys.executable]
    subprocess.run([*env_cmd, str(SCRIPT), str(one)], check=True, timeout=120)
    r = run_torchrun([*env_cmd, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(SCRIPT), str(two)], timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert (a["world"], b["world"]) == (1, 2)
    assert b["mean_rank"] == 0.5 and b["n_seen"] == a["n_seen"] == 96  # every sample seen exactly once
    for pa, pb in zip(a["params"], b["params"]):
        # same global batch, gradients averaged by all-reduce: equal up to float32 summation order
        np.testing.assert_allclose(pa, pb, rtol=0, atol=1e-5)
    assert not np.allclose(a["params"][0], 0)
