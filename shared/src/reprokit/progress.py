"""Progress bars with an ETA (tqdm), silenced by ``--quiet`` and on non-main ranks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def progress(iterable: Iterable | None = None, *, quiet: bool = False, desc: str | None = None,
             total: int | None = None, **kwargs: Any) -> tqdm:
    from reprokit.distributed import is_main_process

    return tqdm(iterable, desc=desc, total=total, disable=quiet or not is_main_process(),
                dynamic_ncols=True, leave=False, **kwargs)
