"""Config constraints, in one place (checked before any run directory exists)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from reprokit import ConfigModel


class Data(ConfigModel):
    image_size: int = Field(ge=8, le=1024)
    channels: Literal[1, 3]
    n_shots: int = Field(ge=2)
    shot_seed: int = Field(ge=0)
    n_source: int = Field(ge=1)
    n_target_full: int = Field(ge=2)
    n_feature_train: int = Field(ge=8)
    n_domain_train: int = Field(ge=4)
    heldout_class: int = Field(ge=0)
    batch_size: int = Field(ge=1)


class Model(ConfigModel):
    name: Literal["dcgan", "stylegan2"]
    z_dim: int = Field(ge=1)
    width: int = Field(ge=1)
    n_mlp: int = Field(ge=1)
    channel_multiplier: int = Field(ge=1)
    max_channels: int = Field(ge=1)


class Source(ConfigModel):
    checkpoint: str | None = None
    iters: int = Field(ge=0)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0)
    betas: list[float] = Field(min_length=2, max_length=2)
    r1: float = Field(ge=0)
    r1_every: int = Field(ge=1)

    @model_validator(mode="after")
    def _betas(self):
        if not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must lie in [0, 1), got {self.betas}")
        return self


class FreezeD(ConfigModel):
    layers: int = Field(ge=0)


class EWC(ConfigModel):
    # `lambda` is a Python keyword: declared by alias
    lam: float = Field(ge=0, alias="lambda")
    fisher_batches: int = Field(ge=1)


class CDC(ConfigModel):
    weight: float = Field(ge=0)
    subspace_freq: int = Field(ge=1)
    n_anchors: int = Field(ge=1)
    anchor_std: float = Field(ge=0)


class DCL(ConfigModel):
    tau: float = Field(gt=0)
    lambda1: float = Field(ge=0)
    lambda2: float = Field(ge=0)


class Adapt(ConfigModel):
    iters: int = Field(ge=1)
    batch_size: int = Field(ge=2)  # contrastive/CDC terms need other samples in the batch
    n_evals: int = Field(ge=1)
    lr_g: float = Field(gt=0)
    lr_d: float = Field(gt=0)
    betas: list[float] = Field(min_length=2, max_length=2)
    r1: float = Field(ge=0)
    r1_every: int = Field(ge=1)
    freezed: FreezeD
    ewc: EWC
    cdc: CDC
    dcl: DCL

    @model_validator(mode="after")
    def _evals(self):
        if self.n_evals > self.iters:
            raise ValueError(f"n_evals={self.n_evals} exceeds iters={self.iters}")
        return self


class Eval(ConfigModel):
    n_samples: int = Field(ge=4)
    max_per_cluster: int = Field(ge=2)
    feature_epochs: int = Field(ge=1)
    domain_epochs: int = Field(ge=1)
    feature_width: int = Field(ge=2)
    inception_weights: str | None = None
    lpips_net: Literal["vgg", "alex"] = "vgg"
    lpips_backbone: str | None = None
    lpips_weights: str | None = None


class Experiment(ConfigModel):
    methods: list[Literal["tgan", "freezed", "ewc", "cdc", "dcl"]] = Field(min_length=1)
    n_seeds: int = Field(ge=1)
    grid_samples: int = Field(ge=1, le=256)

    @model_validator(mode="after")
    def _unique(self):
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"experiment.methods lists a method twice: {self.methods}")
        return self


class Claims(ConfigModel):
    quality_margin: float = Field(gt=0, lt=1)
    min_retained_effect: float = Field(ge=0)
    min_div_effect: float = Field(ge=0)
    min_fid_effect: float = Field(ge=0, lt=1)


class Config(ConfigModel):
    seed: int = Field(ge=0)
    dataset: str
    threads: int | None = Field(default=None, ge=1)
    data: Data
    model: Model
    source: Source
    adapt: Adapt
    eval: Eval
    experiment: Experiment
    claims: Claims

    @model_validator(mode="after")
    def _sizes(self):
        if self.model.name == "dcgan" and self.data.image_size not in (32, 64, 128):
            raise ValueError(f"model dcgan supports data.image_size 32, 64 or 128, not {self.data.image_size}")
        if self.model.name == "stylegan2" and (self.data.image_size & (self.data.image_size - 1)
                                               or self.data.image_size < 16):
            raise ValueError(f"stylegan2 needs a power-of-two data.image_size ≥ 16, got {self.data.image_size}")
        if self.model.name == "dcgan":
            n_blocks = {32: 4, 64: 5, 128: 6}[self.data.image_size]
            if self.adapt.freezed.layers >= n_blocks:
                raise ValueError(f"adapt.freezed.layers={self.adapt.freezed.layers} would freeze the whole "
                                 f"discriminator ({n_blocks} blocks)")
        return self
