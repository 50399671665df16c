"""Config constraints, checked before any run directory exists (reprokit.ConfigModel)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from reprokit import ConfigModel
from spectral_forensics.models import parse_setup

Classifier = Literal["knn", "svm", "mlp", "logreg"]


class Data(ConfigModel):
    size: int = Field(ge=16)
    channels: Literal[1, 3]
    n_train: int = Field(ge=16)
    centre_crop: int | None = Field(default=None, ge=16)

    @field_validator("size")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"must be a power of two (16, 32, 64, 128...), got {v}")
        return v


class Gan(ConfigModel):
    gans: list[Literal["dcgan", "lsgan", "wgan-gp", "stargan"]] = Field(min_length=1)
    setups: list[str] = Field(min_length=2)
    steps: int = Field(ge=1)
    batch_size: int = Field(ge=2)
    lr: float = Field(gt=0)
    n_d: int = Field(ge=1)
    gp_weight: float = Field(ge=0)
    z_dim: int = Field(ge=1)
    g_dim: int = Field(ge=1)
    d_dim: int = Field(ge=1)
    spectral_weight: float = Field(ge=0)
    ckpt_every: int = Field(ge=0)

    @field_validator("setups")
    @classmethod
    def _setups(cls, v: list[str]) -> list[str]:
        for s in v:
            parse_setup(s)
        if "BASELINE" not in v:
            raise ValueError("must include BASELINE (the detectors are trained on real vs BASELINE images)")
        if len(set(v)) != len(v):
            raise ValueError("setups repeat")
        return v


class StarGan(ConfigModel):
    """StarGAN's own recipe (used when ``gan.gans`` holds ``stargan`` or ``train-gan --gan stargan``)."""

    attrs: list[str] = Field(min_length=2)
    steps: int = Field(ge=1)
    batch_size: int = Field(ge=2)
    lr: float = Field(gt=0)
    n_critic: int = Field(ge=1)
    lambda_cls: float = Field(ge=0)
    lambda_rec: float = Field(ge=0)
    lambda_gp: float = Field(ge=0)
    g_dim: int = Field(ge=2)
    d_dim: int = Field(ge=1)
    n_res: int = Field(ge=0)


class Detector(ConfigModel):
    n_real: int = Field(ge=4)
    n_fake: int = Field(ge=4)
    n_train: int = Field(ge=5)
    n_runs: int = Field(ge=2)
    classifiers: list[Classifier] = Field(min_length=1)
    durall_classifiers: list[Classifier]
    primary: Classifier

    @model_validator(mode="after")
    def _fits(self):
        if 2 * self.n_train > min(self.n_real, self.n_fake):
            raise ValueError(f"n_train={self.n_train} per class needs n_real and n_fake ≥ {2 * self.n_train} "
                             "(half of each set is the training pool, half the test set)")
        if self.primary not in self.classifiers:
            raise ValueError(f"primary={self.primary!r} must be one of classifiers {self.classifiers}")
        return self


class Dzanic(ConfigModel):
    r_thresh: float = Field(ge=0, lt=1)
    fit_from: float = Field(gt=0, lt=1)
    nbins: int = Field(ge=10)
    smooth: int = Field(ge=1)

    @model_validator(mode="after")
    def _order(self):
        if not self.r_thresh < self.fit_from:
            raise ValueError(f"need r_thresh < fit_from, got {self.r_thresh} and {self.fit_from}")
        if self.smooth % 2 == 0:
            raise ValueError(f"smooth must be odd, got {self.smooth}")
        return self


class Fid(ConfigModel):
    enabled: bool
    n: int = Field(ge=2)
    rotation_steps: int = Field(ge=1)
    inception_weights: str | None = None


class Claims(ConfigModel):
    min_detection: float = Field(gt=0, le=1)
    min_drop: float = Field(gt=0, le=1)


class User(ConfigModel):
    batch_size: int = Field(ge=1)
    min_images_per_class: int = Field(ge=5)


class Config(ConfigModel):
    seed: int
    dataset: str
    threads: int | None = Field(default=None, ge=1)
    data: Data
    gan: Gan
    stargan: StarGan
    detector: Detector
    dzanic: Dzanic
    fid: Fid
    claims: Claims
    user: User
