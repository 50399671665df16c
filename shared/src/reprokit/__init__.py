"""reprokit: the thin shared layer under every reproduction package.

Logging, seeding, devices, torch.distributed, run directories, checkpoints, reports and the
common CLI. No models, losses or datasets live here: those belong to each paper's package.
"""

from reprokit.checkpoint import load_checkpoint, save_checkpoint
from reprokit.cli import RunContext, UsageError, add_run_args, finish_run, run_main, start_run
from reprokit.config import apply_overrides, load_preset
from reprokit.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from reprokit.logs import get_logger, setup_logging
from reprokit.progress import progress
from reprokit.report import VERDICTS, Claim, Summary, verdict_from_test, write_report, write_summary
from reprokit.rundir import RunDir
from reprokit.seeding import seed_everything, seed_worker
from reprokit.stages import cached_arrays, cached_json

__version__ = "0.1.0"

__all__ = [
    "VERDICTS",
    "Claim",
    "RunContext",
    "RunDir",
    "Summary",
    "UsageError",
    "add_run_args",
    "apply_overrides",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "cached_arrays",
    "cached_json",
    "finish_run",
    "get_logger",
    "load_checkpoint",
    "load_preset",
    "progress",
    "run_main",
    "save_checkpoint",
    "seed_everything",
    "seed_worker",
    "setup_logging",
    "start_run",
    "verdict_from_test",
    "write_report",
    "write_summary",
]
