"""The config constraints, in one place (checked by reprokit.start_run before any directory exists)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from reprokit import ConfigModel


class Data(ConfigModel):
    image_size: int = Field(ge=8, le=512)
    channels: Literal[1, 3] = 1
    attributes: list[str] = Field(min_length=1, max_length=6)
    max_images: int | None = Field(default=None, ge=10)
    test_subset: int | None = Field(default=None, ge=10)


class Classifier(ConfigModel):
    train_size: int = Field(ge=10)
    val_size: int = Field(ge=10)
    pool_size: int = Field(default=0, ge=0)
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0, lt=1)
    width: int = Field(ge=1, le=512)
    hidden: int = Field(ge=1, le=4096)


class Sweep(ConfigModel):
    cardinalities: list[int] = Field(min_length=2)
    hamming: bool = True
    measured_repeats: int = Field(default=1, ge=1)
    measured: dict[str, str] = Field(default_factory=dict)

    @field_validator("cardinalities")
    @classmethod
    def _paper_k(cls, v):
        bad = [k for k in v if k not in (2, 4, 8, 16)]
        if bad:
            raise ValueError(f"cardinalities must be among the paper's 2, 4, 8, 16 (their sweep steps), got {bad}")
        if len(set(v)) != len(v):
            raise ValueError("cardinalities must be distinct")
        return v

    @field_validator("measured")
    @classmethod
    def _keys(cls, v):
        for k in v:
            if str(k) not in ("2", "4", "8", "16"):
                raise ValueError(f"measured sweep keys must be |u| among 2, 4, 8, 16, got {k!r}")
        return v


def _check_dist(p: list[float], what: str) -> None:
    if any(x <= 0 or x >= 1 for x in p):
        raise ValueError(f"{what}: every share must lie strictly between 0 and 1, got {p}")
    if abs(sum(p) - 1) > 1e-6:
        raise ValueError(f"{what}: shares must sum to 1, got {sum(p):.6g}")


class ErrorAnalysis(ConfigModel):
    p_star: list[list[float]] = Field(min_length=1)
    accuracies: list[float] = Field(min_length=1)
    sample_sizes: list[int] = Field(min_length=1)
    repeats: int = Field(ge=2)

    @model_validator(mode="after")
    def _ranges(self):
        for p in self.p_star:
            if len(p) < 2:
                raise ValueError("error_analysis.p_star: each distribution needs at least 2 classes")
            _check_dist(p, "error_analysis.p_star")
        if any(a < 0 or a > 1 for a in self.accuracies):
            raise ValueError(f"error_analysis.accuracies must lie in [0, 1], got {self.accuracies}")
        if any(n < 1 for n in self.sample_sizes):
            raise ValueError("error_analysis.sample_sizes must be positive")
        return self


class Cleam(ConfigModel):
    attribute: str
    p_star: list[float] = Field(min_length=1)
    trials: int = Field(ge=1)
    batches: int = Field(ge=2)
    batch_size: int = Field(ge=1)
    resample_alpha: bool = True
    alpha_draws: int = Field(default=0, ge=0)
    test_pool_trials: int = Field(default=0, ge=0)
    general_attribute: str | None = None
    general_p_star: list[float] | None = None
    general_trials: int = Field(default=100, ge=1)

    @model_validator(mode="after")
    def _ranges(self):
        if any(p <= 0 or p >= 1 for p in self.p_star):
            raise ValueError(f"cleam.p_star: shares of class 0 must lie strictly between 0 and 1, got {self.p_star}")
        if self.general_attribute and self.general_p_star is not None:
            _check_dist(self.general_p_star, "cleam.general_p_star")
        return self


class Gan(ConfigModel):
    enabled: bool = True
    attribute: str
    train_size: int = Field(ge=10)
    steps: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    latent: int = Field(ge=1)
    hidden: int = Field(ge=1)
    lr: float = Field(gt=0, lt=1)
    measure_batches: int = Field(ge=2)
    measure_batch_size: int = Field(ge=1)


class Claims(ConfigModel):
    c1_min_effect: float = Field(ge=0)
    c2_coverage: float = Field(gt=0, lt=1)
    c2_min_error_drop: float = Field(ge=0)


class Measure(ConfigModel):
    """The ``measure`` command's settings (its flags fill some of them)."""

    batches: int = Field(ge=2)
    batching: Literal["split", "resample"] = "split"
    batch_size: int | None = Field(default=None, ge=1)
    ground: Literal["discrete", "index", "hamming"] = "discrete"
    bootstrap: int = Field(default=1000, ge=100)
    image_batch: int = Field(default=256, ge=1)


class Train(ConfigModel):
    attribute: str


class Config(ConfigModel):
    seed: int = Field(ge=0)
    dataset: str
    threads: int | None = Field(default=None, ge=1)
    data: Data
    classifier: Classifier
    sweep: Sweep
    error_analysis: ErrorAnalysis
    cleam: Cleam
    gan: Gan
    claims: Claims
    measure: Measure
    train: Train
