"""Presets shipped as package data (configs/<preset>.yaml) and ``--set a.b=value`` overrides."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable
from importlib import resources
from typing import Any

import yaml

from reprokit.errors import UsageError


def available_presets(module: str) -> list[str]:
    root = resources.files(module) / "configs"
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_preset(module: str, preset: str) -> dict[str, Any]:
    """Read ``<module>/configs/<preset>.yaml`` from the installed package."""
    path = resources.files(module) / "configs" / f"{preset}.yaml"
    if not path.is_file():
        raise UsageError(f"unknown preset {preset!r}; choose one of {', '.join(available_presets(module))}")
    cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(cfg, dict):
        raise UsageError(f"preset {preset!r} is not a mapping")
    return cfg


def _flat_keys(cfg: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in cfg.items():
        keys.append(prefix + str(k))
        if isinstance(v, dict):
            keys.extend(_flat_keys(v, prefix + str(k) + "."))
    return keys


def parse_value(raw: str) -> Any:
    """YAML scalar/list parsing, plus the numbers YAML 1.1 leaves as strings (``1e-3``)."""
    if not raw.strip():
        return ""
    value = yaml.safe_load(raw)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list):
        kinds = sorted({_type_name(v) for v in value})
        return f"list of {'/'.join(kinds)}" if kinds else "list"
    return {int: "int", float: "float", str: "str", dict: "mapping"}.get(type(value), type(value).__name__)


def coerce_like(key: str, value: Any, like: Any) -> Any:
    """``value`` checked against the type of the preset's value ``like``; returned in that type.

    int → int only (``1.5`` and ``abc`` are refused); float → int or float (as float); bool → bool;
    str → any scalar, as text, or a list (a preset sentinel such as ``auto`` often stands for a list;
    the package's schema decides); list → a list whose items match the preset's items, numbers
    counting as one kind (a scalar is refused); mapping → a mapping. A preset value of null accepts
    anything (the package's schema checks it); null is refused where the preset holds a value.
    """
    def refuse() -> UsageError:
        return UsageError(f"--set {key}={_show(value)}: expected {_type_name(like)} (the preset's value is "
                          f"{_show(like)}), got {_type_name(value)}")

    if like is None:
        return value
    if value is None:
        raise refuse()
    if isinstance(like, bool):
        if not isinstance(value, bool):
            raise refuse()
        return value
    if isinstance(like, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise refuse()
        return value
    if isinstance(like, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise refuse()
        return float(value)
    if isinstance(like, str):
        if isinstance(value, dict):
            raise refuse()
        return value if isinstance(value, (str, list)) else _show(value)
    if isinstance(like, list):
        if not isinstance(value, list):
            raise refuse()
        item_types = {_type_name(v) for v in like}
        if item_types and item_types <= {"int", "float"}:
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                raise refuse()
            return value
        if len(item_types) == 1:
            return [coerce_like(f"{key}[{i}]", v, like[0]) for i, v in enumerate(value)]
        return value
    if isinstance(like, dict):
        if not isinstance(value, dict):
            raise refuse()
        return value
    return value


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def apply_overrides(cfg: dict[str, Any], assignments: list[str] | None,
                    nullable: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """Return a copy of ``cfg`` with each ``a.b.c=value`` applied; values are parsed as YAML.

    Only existing keys may be set, so a typo fails loudly (exit 2, with the closest valid keys)
    instead of silently doing nothing; each value must have the type of the preset's value
    (:func:`coerce_like`), so ``--set train.epochs=abc`` is refused before any work starts.
    ``nullable(key)`` says where null is allowed although the preset holds a value (the package's
    schema declares the field optional: :func:`reprokit.schema.nullable_in`).
    """
    out = copy.deepcopy(cfg)
    for item in assignments or []:
        if "=" not in item:
            raise UsageError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        try:
            value = parse_value(raw)
        except yaml.YAMLError as e:
            raise UsageError(f"--set {key}: cannot parse value {raw!r}: {e}") from e
        parts = key.split(".")
        node = out
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                near = difflib.get_close_matches(key, _flat_keys(out), n=3)
                hint = f" (did you mean {', '.join(near)}?)" if near else ""
                raise UsageError(f"--set {key}: no such config key{hint}")
            if i == len(parts) - 1:
                allowed = value is None and nullable is not None and nullable(key)
                node[part] = None if allowed else coerce_like(key, value, node[part])
            else:
                node = node[part]
    return out
