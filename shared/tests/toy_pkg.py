"""A toy package used by the tests: a numpy "training" that checkpoints every step and can be resumed."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from reprokit import Claim, UsageError, add_run_args, atomic_write_json, finish_run, run_main, start_run
from reprokit.report import verdict_from_test

CONFIGS = {"smoke": "steps: 6\nlr: 0.5\nseed: 3\ndataset: toy\nopt:\n  momentum: 0.0\n",
           "quick": "steps: 20\nlr: 0.1\nseed: 0\ndataset: toy\nopt:\n  momentum: 0.9\n"}


def make_package(root: Path) -> str:
    """Write an importable package `toyrepro` with configs/ under ``root``; return its name."""
    pkg = root / "toyrepro"
    (pkg / "configs").mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    for name, text in CONFIGS.items():
        (pkg / "configs" / f"{name}.yaml").write_text(text)
    return "toyrepro"


def train(ctx) -> dict:
    """Gradient descent on 0.5·||w - target||² from a seeded start; one checkpoint per step."""
    ckpt = ctx.run.checkpoints / "last.json"
    if ckpt.exists():
        state = json.loads(ckpt.read_text())
    else:
        rng = np.random.default_rng(ctx.seed)
        state = {"step": 0, "w": rng.normal(size=4).tolist(), "target": rng.normal(size=4).tolist()}
    w, target = np.array(state["w"]), np.array(state["target"])
    delay = float(os.environ.get("TOY_STEP_DELAY", "0"))
    for step in range(state["step"], ctx.cfg["steps"]):
        w = w - ctx.cfg["lr"] * (w - target)
        ctx.run.log_metrics({"step": step, "loss": float(0.5 * np.sum((w - target) ** 2))})
        atomic_write_json(ckpt, {"step": step + 1, "w": w.tolist(), "target": target.tolist()})
        if os.environ.get("TOY_FAIL_AT") == str(step):
            raise RuntimeError("simulated crash")
        time.sleep(delay)
    return {"w": w.tolist(), "loss": float(0.5 * np.sum((w - target) ** 2))}


def precheck(cfg: dict, run: dict) -> None:
    if run["dataset"] not in (None, "toy"):
        raise UsageError(f"unknown dataset {run['dataset']!r}; choose one of: toy")
    if cfg["lr"] <= 0:
        raise UsageError(f"lr must be positive, got {cfg['lr']}")


def _main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="toy")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_run_args(sub.add_parser("reproduce"), device=False)
    add_run_args(sub.add_parser("train"), device=False)
    args = p.parse_args(argv)
    ctx = start_run(args, dist="toy", module="toyrepro", version="0.0", torch=False, precheck=precheck)
    res = train(ctx)
    figure = ctx.run.figures / "loss.png"  # relative to the working directory when the runs root is
    figure.write_bytes(b"\x89PNG\r\n\x1a\n")
    if args.cmd == "train":  # a run without claims still finishes
        finish_run(ctx, dataset="toy", data_note="synthetic", metrics=res, claims=[], require_claims=False)
        return 0
    finish_run(ctx, dataset="toy", data_note="synthetic", metrics=res,
               claims=[Claim(id="C1", statement="loss decreases", paper="n/a",
                             verdict=verdict_from_test(res["loss"] < 1.0), evidence={"loss": res["loss"]})],
               figures=[figure])
    return 0


def main(argv=None) -> int:
    return run_main(_main, argv)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, os.environ["TOY_ROOT"])
    raise SystemExit(main())
