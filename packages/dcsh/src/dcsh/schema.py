"""The config constraints of every dcsh command, in one place (checked before any file is written)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from reprokit import ConfigModel

METHODS = ("dcsh", "no-joint", "image-only", "text-only", "cca-itq")
ABLATIONS = ("no-alpha", "no-rho")


class Data(ConfigModel):
    image_size: int = Field(ge=8, le=512)
    n_labels: int = Field(ge=1)
    max_len: int = Field(ge=1)
    limit: int | None = Field(default=None, ge=10)
    file: str | None = None


class Split(ConfigModel):
    query: int = Field(ge=1)
    train: int | None = Field(default=None, ge=2)


class Step1(ConfigModel):
    anchors: int = Field(ge=2)
    s: int = Field(ge=1)
    alpha: float = Field(ge=0)
    beta: float = Field(ge=0)
    rho: float = Field(ge=0)
    iters: int = Field(ge=0)
    b_steps: int = Field(ge=1)
    pca_dim: int | None = Field(default=None, ge=1)
    kmeans_iters: int = Field(ge=1)
    balance: Literal["hard", "soft"] = "hard"

    @model_validator(mode="after")
    def _s_le_anchors(self):
        if self.s > self.anchors:
            raise ValueError(f"step1.s={self.s} nearest anchors cannot exceed step1.anchors={self.anchors}")
        return self


class Step2(ConfigModel):
    epochs: int = Field(ge=0)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    image_width: int = Field(ge=1)
    mlp_hidden: int = Field(ge=1)
    text_filters: int = Field(ge=1)
    shared_trunk: bool = True


class Text(ConfigModel):
    embed_dim: int = Field(ge=1)
    embeddings: str | None = None
    freeze_embeddings: bool = False


class Baselines(ConfigModel):
    cca_reg: float = Field(gt=0)
    cca_power: float = Field(ge=0)


class Ablations(ConfigModel):
    bits: int = Field(ge=1)
    seeds: int = Field(ge=0)
    variants: list[Literal["no-alpha", "no-rho"]]


class Eval(ConfigModel):
    topk: int = Field(ge=1)
    ks: list[int]

    @model_validator(mode="after")
    def _positive_ks(self):
        if not self.ks or min(self.ks) < 1:
            raise ValueError("eval.ks must be a non-empty list of positive integers")
        return self


class Claims(ConfigModel):
    min_effect: float = Field(ge=0)


class Config(ConfigModel):
    seed: int
    dataset: str
    threads: int | None = Field(default=None, ge=1)
    n_seeds: int = Field(ge=1)
    bits: list[int]
    methods: list[Literal["dcsh", "no-joint", "image-only", "text-only", "cca-itq"]]
    data: Data
    split: Split
    step1: Step1
    step2: Step2
    text: Text
    baselines: Baselines
    ablations: Ablations
    eval: Eval
    claims: Claims

    @model_validator(mode="after")
    def _relations(self):
        if not self.bits or min(self.bits) < 1:
            raise ValueError("bits must be a non-empty list of positive code lengths, e.g. [16, 32, 64]")
        if len(set(self.bits)) != len(self.bits):
            raise ValueError(f"bits={self.bits} lists a code length twice")
        if "dcsh" not in self.methods:
            raise ValueError("methods must include dcsh (the claims compare against it)")
        if self.ablations.variants and self.ablations.seeds > 0 and self.ablations.bits not in self.bits:
            raise ValueError(f"ablations.bits={self.ablations.bits} must be one of bits={self.bits}")
        if self.ablations.seeds > self.n_seeds:
            raise ValueError(f"ablations.seeds={self.ablations.seeds} exceeds n_seeds={self.n_seeds}")
        return self
