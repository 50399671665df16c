"""Config constraints, checked before anything is written (reprokit.start_run(schema=Config))."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kml_meta.models import ALGOS
from reprokit import ConfigModel


class Rendered(ConfigModel):
    max_classes: int | None = Field(default=None, ge=2)
    per_class: int = Field(ge=2)
    max_strokes: int | None = Field(default=None, ge=1)


class Data(ConfigModel):
    image_size: int = Field(ge=8, le=256)
    channels: Literal[1, 3]
    max_per_class: int | None = Field(default=None, ge=2)
    train_frac: float = Field(gt=0, lt=1)
    split_seed: int = Field(default=0, ge=0)
    rendered: Rendered


class TaskShape(ConfigModel):
    n_way: int = Field(ge=2)
    n_shot: int = Field(ge=1)
    n_query: int = Field(ge=1)
    noise_std: float = Field(default=0.0, ge=0)


class Model(ConfigModel):
    channels: list[int] = Field(min_length=1)
    encoder_channels: list[int] = Field(min_length=1)
    encoder_hidden: int = Field(ge=1)
    hidden: list[int] = Field(min_length=1)
    modulation_init_scale: float = Field(ge=0)

    @model_validator(mode="after")
    def _positive_widths(self):
        for name in ("channels", "encoder_channels", "hidden"):
            if any(c < 1 for c in getattr(self, name)):
                raise ValueError(f"model.{name} must hold positive widths, got {getattr(self, name)}")
        return self


class Inner(ConfigModel):
    steps: int = Field(ge=1)
    eval_steps: int = Field(ge=1)
    lr: float = Field(gt=0)
    first_order: bool


class Train(ConfigModel):
    iterations: int = Field(ge=1)
    meta_batch: int = Field(ge=1)
    lr: float = Field(gt=0)
    lr_halve_every: int = Field(ge=0)
    checkpoint_every: int = Field(ge=0)


class Eval(ConfigModel):
    tasks_per_mode: int = Field(ge=2)


class Transference(ConfigModel):
    algos: list[str]
    probes: int = Field(ge=1)
    tasks_per_mode: int = Field(ge=1)
    lr: float = Field(gt=0)


class Claims(ConfigModel):
    min_acc_effect: float = Field(ge=0)
    min_negative_share: float = Field(ge=0, le=1)


class Config(ConfigModel):
    seed: int = Field(ge=0)
    seeds: int = Field(ge=1)
    threads: int = Field(ge=1)
    dataset: str
    methods: list[str] = Field(min_length=1)
    data: Data
    task: TaskShape
    model: Model
    inner: Inner
    proto: dict
    train: Train
    eval: Eval
    transference: Transference
    claims: Claims

    @model_validator(mode="after")
    def _known_methods(self):
        for m in [*self.methods, *self.transference.algos]:
            if m not in ALGOS:
                raise ValueError(f"unknown method {m!r}; choose among {', '.join(ALGOS)}")
        return self
