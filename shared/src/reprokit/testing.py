"""Helpers for the packages' tests (not used at run time)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from typing import Any

# gloo on CPU sometimes aborts one rank while the processes exit ("terminate called without an active
# exception", SIGABRT), after the work and its results are complete. That is a teardown crash of the
# library, not a wrong number; the run is repeated once when it is the only failure.
_TEARDOWN_ABORT = "Signal 6 (SIGABRT)"


def run_torchrun(cmd: Sequence[str], *, retries: int = 1, before_retry: Callable[[], None] | None = None,
                 **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, ...)`` for a torchrun command, repeated up to
    ``retries`` times when a rank died of the exit-time SIGABRT above (and for no other failure);
    ``before_retry`` clears what the first attempt wrote (e.g. its ``--out`` directory)."""
    kwargs = {"capture_output": True, "text": True, **kwargs}
    r = subprocess.run(list(cmd), **kwargs)
    for _ in range(retries):
        if r.returncode == 0 or _TEARDOWN_ABORT not in (r.stderr or ""):
            break
        if before_retry is not None:
            before_retry()
        r = subprocess.run(list(cmd), **kwargs)
    return r
