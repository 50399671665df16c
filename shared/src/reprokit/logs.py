"""Logging with one format for every package: console (stderr) plus the run directory's log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATEFMT = "%H:%M:%S"
_HANDLER_TAG = "_reprokit_handler"
# Libraries that flood a DEBUG-level run log with their internals (font lookup, image plugins).
NOISY_LOGGERS = ("matplotlib", "PIL", "numba", "urllib3", "fsspec", "h5py", "asyncio", "filelock")


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def setup_logging(log_file: str | Path | None = None, quiet: bool = False, level: int = logging.INFO) -> None:
    """Configure the root logger: stderr (WARNING+ when ``quiet``) and optionally ``log_file``.

    Calling it again replaces the handlers it installed before (not other libraries' handlers),
    so a second run in the same process does not log twice.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _HANDLER_TAG, False):
            root.removeHandler(h)
            h.close()
    fmt = logging.Formatter(FORMAT, DATEFMT)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING if quiet else level)
    console.setFormatter(fmt)
    setattr(console, _HANDLER_TAG, True)
    root.addHandler(console)
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(fmt)
        setattr(fh, _HANDLER_TAG, True)
        root.addHandler(fh)
    root.setLevel(min(level, logging.DEBUG if log_file else level))
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
