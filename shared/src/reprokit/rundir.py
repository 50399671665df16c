"""Run directories: ``runs/<dist>/<YYYYmmdd-HHMMSS>-<preset>/`` with config, env, metrics, checkpoints,
figures, summary and report. A finished run is never overwritten."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from reprokit.errors import UsageError
from reprokit.io import atomic_write_json, atomic_write_text, dumps_json

CONFIG = "config.yaml"
ENV = "env.json"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
REPORT = "report.md"
LOG = "run.log"


def default_runs_root() -> Path:
    return Path(os.environ.get("REPRO_RUNS", "runs"))


class RunDir:
    """One run's directory. Create a new one with :meth:`create`, continue one with :meth:`resume`."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    def create(cls, dist: str, preset: str, out: str | os.PathLike | None = None,
               root: str | os.PathLike | None = None) -> RunDir:
        """A fresh run directory. ``out`` is used as given but must be empty or absent."""
        if out is not None:
            path = Path(out)
            cls.check_out(path)
        else:
            base = Path(root) if root is not None else default_runs_root()
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = base / dist / f"{stamp}-{preset}"
            n = 1
            while path.exists():  # two runs in the same second
                path = base / dist / f"{stamp}-{preset}-{n}"
                n += 1
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path)
        run.checkpoints.mkdir(exist_ok=True)
        run.figures.mkdir(exist_ok=True)
        return run

    @staticmethod
    def check_out(out: str | os.PathLike) -> None:
        """Refuse an ``--out`` that holds a finished run or anything else; call it before any work."""
        path = Path(out)
        if (path / SUMMARY).exists():
            raise UsageError(f"{path} holds a finished run; choose another --out (nothing was overwritten)")
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UsageError(f"{path} exists and is not empty; use --resume {path} to continue it "
                             "or choose another --out (nothing was overwritten)")

    @classmethod
    def resume(cls, path: str | os.PathLike) -> RunDir:
        """An existing, unfinished run directory (the one ``--resume`` names)."""
        path = Path(path)
        if (path / SUMMARY).exists():
            raise UsageError(f"--resume {path}: that run already finished (it has {SUMMARY})")
        if not (path / CONFIG).is_file():
            raise UsageError(f"--resume {path}: not a run directory (no {CONFIG})")
        run = cls(path)
        run.checkpoints.mkdir(exist_ok=True)
        run.figures.mkdir(exist_ok=True)
        return run

    # -- layout ---------------------------------------------------------------------------------
    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    @property
    def log_file(self) -> Path:
        return self.path / LOG

    def is_finished(self) -> bool:
        return (self.path / SUMMARY).exists()

    # -- config and environment -----------------------------------------------------------------
    def save_config(self, cfg: dict[str, Any]) -> None:
        atomic_write_text(self.path / CONFIG, yaml.safe_dump(cfg, sort_keys=False))

    def load_config(self) -> dict[str, Any]:
        return yaml.safe_load((self.path / CONFIG).read_text(encoding="utf-8")) or {}

    def write_env(self, seed: int, device: str | None, packages: list[str] | None = None,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
        env = collect_env(seed, device, packages)
        env.update(extra or {})
        atomic_write_json(self.path / ENV, env)
        return env

    # -- metrics --------------------------------------------------------------------------------
    def log_metrics(self, record: dict[str, Any]) -> None:
        """Append one JSON object as a line of metrics.jsonl (flushed, so a kill loses at most it)."""
        line = dumps_json({"time": round(time.time(), 3), **record}, indent=None)
        with open(self.path / METRICS, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_metrics(self) -> list[dict[str, Any]]:
        p = self.path / METRICS
        if not p.exists():
            return []
        rows = []
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill: skip it
                continue
        return rows


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def collect_env(seed: int, device: str | None, packages: list[str] | None = None) -> dict[str, Any]:
    names = ["reprokit", "numpy", "scipy", "torch", "torchvision", "scikit-learn", *(packages or [])]
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "seed": seed,
        "device": device,
        "git_commit": _git_commit(),
        "argv": sys.argv,
        "versions": {n: v for n in dict.fromkeys(names) if (v := _version(n)) is not None},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
