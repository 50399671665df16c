"""Constraints of the cmimh presets, checked before any run directory exists (reprokit.ConfigModel)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from reprokit import ConfigModel

Bits = Literal[8, 16, 24, 32, 48, 64, 96, 128]


class Data(ConfigModel):
    n_labels: int = Field(ge=1)
    image_size: int = Field(ge=8, le=256)
    n_query: int = Field(ge=1)
    n_train: int = Field(ge=8)
    pca_dims: int = Field(ge=1)


class Train(ConfigModel):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=4)
    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    hidden: int = Field(ge=1)
    input_dropout: float = Field(ge=0, lt=1)


class CMIMH(ConfigModel):
    alpha_img: float = Field(ge=0)
    alpha_txt: float = Field(ge=0)
    lam: float = Field(ge=0)
    gamma: float = Field(ge=0)
    tau: float = Field(gt=0)
    tau_cross: float = Field(gt=0)
    bound: Literal["infonce", "nwj", "jsd"]


class DJSRH(ConfigModel):
    beta: float = Field(ge=0, le=1)
    eta: float = Field(ge=0, le=1)
    mu: float = Field(gt=0)
    w_intra: float = Field(ge=0)


class CCAITQ(ConfigModel):
    reg: float = Field(gt=0)
    itq_iters: int = Field(ge=0)


class Tuning(ConfigModel):
    enabled: bool
    bits: Bits
    n_val_query: int = Field(ge=1)
    cmimh_gamma: list[float] = Field(min_length=1)
    djsrh_beta: list[float] = Field(min_length=1)
    cca_itq_reg: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _ranges(self):
        if any(g < 0 for g in self.cmimh_gamma):
            raise ValueError("tuning.cmimh_gamma values must be ≥ 0")
        if any(not 0 <= b <= 1 for b in self.djsrh_beta):
            raise ValueError("tuning.djsrh_beta values must lie in [0, 1]")
        if any(r <= 0 for r in self.cca_itq_reg):
            raise ValueError("tuning.cca_itq_reg values must be > 0")
        if len({len(self.cmimh_gamma), len(self.djsrh_beta), len(self.cca_itq_reg)}) != 1:
            raise ValueError("every method gets the same tuning budget: the three tuning grids need equal lengths")
        return self


class Ablation(ConfigModel):
    enabled: bool
    bits: Bits
    n_seeds: int = Field(ge=1)
    lams: list[float]
    gammas: list[float]


class Eval(ConfigModel):
    topk: int = Field(ge=1)
    p_at: list[int] = Field(min_length=1)


class Claims(ConfigModel):
    min_effect: float = Field(ge=0)


class Config(ConfigModel):
    dataset: str
    seed: int = Field(ge=0)
    threads: int = Field(ge=1)
    bits: list[Bits] = Field(min_length=1)
    n_seeds: int = Field(ge=1)
    identical_gamma: float = Field(gt=0)
    data: Data
    train: Train
    cmimh: CMIMH
    djsrh: DJSRH
    cca_itq: CCAITQ
    tuning: Tuning
    ablation: Ablation
    eval: Eval
    claims: Claims

    @model_validator(mode="after")
    def _relations(self):
        if self.data.n_train > 0 and self.tuning.n_val_query + 2 > self.data.n_train:
            raise ValueError(f"tuning.n_val_query={self.tuning.n_val_query} leaves no validation database "
                             f"within data.n_train={self.data.n_train}")
        if self.train.batch_size > self.data.n_train:
            raise ValueError(f"train.batch_size={self.train.batch_size} exceeds data.n_train={self.data.n_train}")
        if any(k < 1 for k in self.eval.p_at):
            raise ValueError("eval.p_at values must be ≥ 1")
        return self
