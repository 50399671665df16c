"""The constraints of lskd's configs, checked before any run directory exists (reprokit.ConfigModel)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from reprokit import ConfigModel


class Optim(ConfigModel):
    name: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    schedule: Literal["step", "cosine", "constant"] = "step"
    milestones: list[int] = Field(default_factory=list)
    gamma: float = Field(0.1, gt=0)
    warmup_epochs: int = Field(0, ge=0)


class Data(ConfigModel):
    train_subset: int | None = Field(None, ge=1)
    test_subset: int | None = Field(None, ge=1)
    batch_size: int = Field(ge=1)
    num_workers: int = Field(0, ge=0)
    image_size: int = Field(ge=8)
    augmentation: Literal["standard", "official-cub"] = "standard"
    global_batch: int | None = Field(None, ge=1)


class Model(ConfigModel):
    model: str
    pretrained: str | None = None
    epochs: int = Field(ge=1)
    optim: Optim


class Student(Model):
    kd: Literal["pure", "mixture"] = "pure"
    kd_weight: float = Field(1.0, ge=0, le=1)


class Grid(ConfigModel):
    alphas: list[float] = Field(min_length=1)
    temperatures: list[float] = Field(min_length=1)
    n_seeds: int = Field(ge=1)
    workers: int = Field(1, ge=1, le=64)

    @field_validator("alphas")
    @classmethod
    def _alpha_range(cls, v: list[float]) -> list[float]:
        if any(not 0 <= a < 1 for a in v):
            raise ValueError(f"label smoothing α must satisfy 0 ≤ α < 1, got {v}")
        return v

    @field_validator("temperatures")
    @classmethod
    def _positive_t(cls, v: list[float]) -> list[float]:
        if any(not t > 0 for t in v):
            raise ValueError(f"KD temperatures must be > 0, got {v}")
        return v


class Diffusion(ConfigModel):
    classes: Literal["auto"] | list[int] = "auto"
    max_per_class: int = Field(ge=2)
    train_per_class: int = Field(0, ge=0)
    figure_temperatures: list[float] | None = None


class Claims(ConfigModel):
    c1_min_effect: float = Field(ge=0)
    c2_margin: float = Field(ge=0)
    c3_min_effect: float = Field(ge=0)
    max_teacher_gap: float = Field(ge=0)
    endpoint_classes: list[int] = Field(default_factory=list)


class Config(ConfigModel):
    seed: int = Field(0, ge=0)
    dataset: str
    threads: int | None = Field(None, ge=1)
    eval_each_epoch: bool = False
    data: Data
    teacher: Model
    student: Student
    grid: Grid
    diffusion: Diffusion
    claims: Claims
