"""The config's types, ranges and relations, checked before any run directory exists."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from reprokit import ConfigModel

Method = Literal["fp", "dq", "dorefa", "lqnets", "lsq"]
ModelName = Literal["cnn", "resnet20", "resnet18", "alexnet", "mobilenetv2"]


class Data(ConfigModel):
    train_subset: int | None = Field(default=None, ge=1)
    test_subset: int | None = Field(default=None, ge=1)
    downsample: int = Field(default=1, ge=1, le=8)


class Model(ConfigModel):
    name: ModelName
    width: int = Field(default=16, ge=1)
    cifar_stem: bool = True


class Train(ConfigModel):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0)
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    schedule: Literal["cosine", "constant"] = "cosine"
    level_lr_scale: float = Field(default=1.0, gt=0)
    num_workers: int = Field(default=0, ge=0)


class FPPretrain(ConfigModel):
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)


class DQ(ConfigModel):
    granularity: Literal["channel", "layer"] = "channel"
    rounding: Literal["stochastic", "nearest"] = "stochastic"
    act_mode: Literal["channel-aware", "relative", "agnostic"] = "channel-aware"
    calib_every: int = Field(default=20, ge=0)
    calib_momentum: float = Field(default=0.9, ge=0, lt=1)
    lq_momentum: float = Field(default=0.9, ge=0, lt=1)


class Grid(ConfigModel):
    methods: list[Method] = Field(min_length=1)
    bits: list[int] = Field(min_length=1)
    n_seeds: int = Field(ge=1)

    @model_validator(mode="after")
    def _bits(self):
        bad = [b for b in self.bits if not 1 <= b <= 8]
        if bad:
            raise ValueError(f"bits {bad} outside 1..8")
        if "fp" in self.methods:
            raise ValueError("'fp' is trained for every seed anyway; list only quantized methods")
        return self


class Single(ConfigModel):
    method: Method
    wbits: int = Field(ge=1, le=8)
    abits: int = Field(ge=1, le=8)


class C2(ConfigModel):
    calib_images: int = Field(ge=1)
    max_per_channel: int = Field(ge=1)


class Claims(ConfigModel):
    margin: float = Field(ge=0)
    c2_min_effect: float = Field(ge=0, lt=0.5)


class Config(ConfigModel):
    seed: int = 0
    dataset: str
    threads: int | None = Field(default=None, ge=1)
    data: Data
    model: Model
    first_last: Literal["fp", "8bit"] = "fp"
    init: Literal["pretrained_fp", "scratch"] = "pretrained_fp"
    train: Train
    fp_pretrain: FPPretrain
    dq: DQ
    grid: Grid
    single: Single
    c2: C2
    claims: Claims
