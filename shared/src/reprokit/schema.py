"""Typed, range-checked configs: each package declares its constraints once, as pydantic models.

A package writes, in ``<module>/schema.py``::

    class Train(ConfigModel):
        epochs: int = Field(ge=1)
        lr: float = Field(gt=0)

    class Config(ConfigModel):
        train: Train
        folds: int = Field(ge=2)

        @model_validator(mode="after")
        def _alpha_below_one(self):          # relations between fields
            ...

and passes ``schema=Config`` to :func:`reprokit.start_run` (or calls :func:`validate_config` in the
precheck of a command that does not use ``start_run``). The check runs on the resolved config before
any directory or file exists. Unknown keys are allowed (``extra="allow"``) so a schema constrains what
matters without restating every preset field; ``--set`` already refuses keys the preset lacks.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from reprokit.errors import UsageError

M = TypeVar("M", bound=BaseModel)


class ConfigModel(BaseModel):
    """Base of every package's config schema: extra keys allowed, values validated on assignment."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)


def _one_line(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if loc and "input" in err and not isinstance(err["input"], dict):
        return f"{loc}={err['input']!r}: {msg}"
    return f"{loc}: {msg}" if loc else msg


def validate_config(cfg: dict[str, Any], model: type[M], *, what: str = "config") -> M:
    """``cfg`` checked against ``model``; a violation raises :class:`UsageError` in one line, naming the
    key, the value and the rule (e.g. ``config: teacher.epochs=-1: Input should be greater than 0``)."""
    try:
        return model.model_validate(cfg)
    except ValidationError as e:
        errs = e.errors()
        more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        raise UsageError(f"{what}: {_one_line(errs[0])}{more}; fix it with --set KEY=VALUE") from None


def nullable_in(model: type[BaseModel]) -> typing.Callable[[str], bool]:
    """``key -> bool``: whether the schema declares the dotted config key optional (``X | None``), so that
    ``--set key=null`` is allowed where the preset holds a value."""
    def field_type(key: str):
        node: Any = model
        ann = None
        for part in key.split("."):
            fields = getattr(node, "model_fields", None)
            if not fields or part not in fields:
                return None
            ann = fields[part].annotation
            node = next((a for a in (ann, *typing.get_args(ann)) if isinstance(a, type) and
                         issubclass(a, BaseModel)), None)
        return ann

    def nullable(key: str) -> bool:
        ann = field_type(key)
        origin = typing.get_origin(ann)
        return ann is not None and origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(ann)

    return nullable
