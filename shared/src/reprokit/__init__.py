"""reprokit: the thin shared layer under every reproduction package.

Logging, seeding, devices, torch.distributed, run directories, checkpoints, reports and the
common CLI. No models, losses or datasets live here: those belong to each paper's package.
"""

from reprokit.checkpoint import load_checkpoint, save_checkpoint
from reprokit.cli import (
    ArgumentParser,
    RunContext,
    UsageError,
    add_run_args,
    existing_dir,
    existing_file,
    finish_run,
    json_arg,
    nonnegative_int,
    positive_float,
    positive_int,
    run_main,
    start_run,
)
from reprokit.config import apply_overrides, load_preset
from reprokit.io import atomic_write_bytes, atomic_write_json, atomic_write_text, load_array, load_npz
from reprokit.logs import get_logger, setup_logging
from reprokit.progress import progress
from reprokit.report import (
    VERDICTS,
    Claim,
    Summary,
    paired_t_ci,
    verdict_from_ci,
    verdict_from_test,
    write_report,
    write_summary,
)
from reprokit.rundir import RunDir
from reprokit.schema import ConfigModel, validate_config
from reprokit.seeding import seed_everything, seed_worker
from reprokit.stages import cached_arrays, cached_json

__version__ = "0.1.0"

__all__ = [
    "VERDICTS",
    "ArgumentParser",
    "Claim",
    "ConfigModel",
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
    "existing_dir",
    "existing_file",
    "finish_run",
    "get_logger",
    "json_arg",
    "load_array",
    "load_checkpoint",
    "load_npz",
    "load_preset",
    "nonnegative_int",
    "paired_t_ci",
    "positive_float",
    "positive_int",
    "progress",
    "run_main",
    "save_checkpoint",
    "seed_everything",
    "seed_worker",
    "setup_logging",
    "start_run",
    "validate_config",
    "verdict_from_ci",
    "verdict_from_test",
    "write_report",
    "write_summary",
]
