"""The constraints of deepgcfx's configs, checked before any run directory exists (reprokit.ConfigModel)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from reprokit import ConfigModel


class Model(ConfigModel):
    hidden: int = Field(ge=1)
    latent: int = Field(ge=1)
    layers: int = Field(ge=1)
    iters: int = Field(ge=1)
    official: bool = False
    graph_kl_weight: float = Field(ge=0)
    feat_weight: float = Field(ge=0)
    aug_p: float = Field(ge=0, lt=1)
    temperature: float = Field(gt=0)


class Train(ConfigModel):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0)
    lr_by_method: dict[Literal["deepgcfx", "infograph", "graphcl"], float] = Field(default_factory=dict)


class Eval(ConfigModel):
    folds: int = Field(ge=2)
    inner_folds: int = Field(ge=2)
    C: list[float] = Field(min_length=1)
    wl_iterations: int = Field(ge=0)
    views: list[Literal["common", "local", "local_mean", "both", "matched"]] = Field(default_factory=list)
    n_jobs: int = Field(1, ge=1, le=64)

    @model_validator(mode="after")
    def _positive_c(self) -> Eval:
        if any(not c > 0 for c in self.C):
            raise ValueError(f"eval.C: SVM C values must be > 0, got {self.C}")
        return self


class Synthetic(ConfigModel):
    enabled: bool
    n_graphs: int = Field(ge=10)
    n_factors: int = Field(ge=2)
    signal: float = Field(ge=0, le=1)
    epochs: int = Field(ge=1)


class Node(ConfigModel):
    enabled: bool
    graphs: list[Literal["karate", "davis"]]
    epochs: int = Field(ge=1)
    splits: int = Field(ge=1)
    train_frac: float = Field(gt=0, lt=1)


class Claims(ConfigModel):
    min_effect_points: float = Field(ge=0)


class Config(ConfigModel):
    seed: int = Field(0, ge=0)
    dataset: str
    n_seeds: int = Field(ge=1)
    max_graphs: int = Field(ge=0)
    model: Model
    train: Train
    eval: Eval
    baselines: list[Literal["infograph", "graphcl", "wl"]]
    synthetic: Synthetic
    node: Node
    random_control: bool = True
    claims: Claims
