"""torch.distributed helpers: initialise from torchrun's environment, rank-0-only I/O, metric all-reduce.

Everything is a no-op in a plain single process, so a trainer is written once and runs both ways.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _dist():
    try:
        import torch.distributed as dist
    except ImportError:
        return None
    return dist if dist.is_available() else None


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def init_distributed(device_type: str = "cpu") -> DistInfo:
    """Join the process group torchrun set up (gloo on CPU, nccl on CUDA); single-process otherwise."""
    if not launched_by_torchrun():
        return DistInfo()
    dist = _dist()
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if backend == "nccl":
            import torch

            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def get_info() -> DistInfo:
    dist = _dist()
    if dist is None or not dist.is_initialized():
        return DistInfo()
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def is_main_process() -> bool:
    return get_info().is_main


def barrier() -> None:
    if get_info().enabled:
        _dist().barrier()


def all_reduce_mean(metrics: dict[str, float]) -> dict[str, float]:
    """Average scalar metrics over ranks (identity when not distributed)."""
    info = get_info()
    if not info.enabled:
        return dict(metrics)
    import torch

    keys = sorted(metrics)
    t = torch.tensor([float(metrics[k]) for k in keys], dtype=torch.float64)
    _dist().all_reduce(t)
    t /= info.world_size
    return dict(zip(keys, t.tolist()))


def all_reduce_sum(values: dict[str, float]) -> dict[str, float]:
    """Sum scalar counts over ranks (e.g. correct/total for an exact accuracy)."""
    info = get_info()
    if not info.enabled:
        return dict(values)
    import torch

    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    _dist().all_reduce(t)
    return dict(zip(keys, t.tolist()))


def wrap_model(model, device):
    """DistributedDataParallel when distributed, the model itself otherwise."""
    if not get_info().enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None)


def shard_sampler(dataset, shuffle: bool, seed: int, drop_last: bool = False):
    """A DistributedSampler when distributed (call ``set_epoch`` each epoch), else None."""
    if not get_info().enabled:
        return None
    from torch.utils.data.distributed import DistributedSampler

    return DistributedSampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)


def cleanup() -> None:
    """End the process group: every rank waits for the others first, so that no rank tears its gloo
    connections down while a peer still uses them (that killed rank 1 with SIGABRT at exit now and then)."""
    dist = _dist()
    if dist is not None and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()
