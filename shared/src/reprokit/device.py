"""Device selection (auto: cuda > mps > cpu), CPU thread count and the AMP dtype."""

from __future__ import annotations

import os

from reprokit.errors import UsageError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(spec: str = "auto", local_rank: int | None = None):
    """Turn ``auto|cpu|cuda|cuda:N|mps`` into a ``torch.device``; refuse an absent accelerator.

    Under torchrun each rank takes ``cuda:<local_rank>``.
    """
    import torch

    spec = (spec or "auto").lower()
    if spec == "auto":
        if torch.cuda.is_available():
            spec = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            spec = "mps"
        else:
            spec = "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto")
        if spec == "cuda" and local_rank is not None:
            spec = f"cuda:{local_rank}"
    elif spec == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise UsageError("--device mps was asked for but MPS is not available; use --device cpu or auto")
    elif spec != "cpu":
        raise UsageError(f"unknown device {spec!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    return torch.device(spec)


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads and return the count.

    ``n`` wins; else ``REPRO_THREADS`` (useful on a shared machine, where one thread per process is
    often faster than fighting over cores), else ``OMP_NUM_THREADS``, else every CPU this process may use.
    """
    import torch

    if n is None:
        n = (int(os.environ.get("REPRO_THREADS", 0)) or int(os.environ.get("OMP_NUM_THREADS", 0))
             or len(os.sched_getaffinity(0)))
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def amp_dtype(device):
    """The autocast dtype worth using on ``device``: bf16 where supported, fp16 on older GPUs, None on CPU."""
    import torch

    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def describe_device(device) -> dict:
    import torch

    info = {"device": str(device), "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        info["gpu"] = torch.cuda.get_device_name(idx)
    return info
