"""The constraints of meg-familiarity's configs, in one place (pydantic models on reprokit.ConfigModel).

``start_run(..., schema=Config)`` checks a resolved preset + ``--set`` overrides before any directory or
file exists; ``decode``/``control``/``simulate`` go through the same models. Extra keys are allowed
(``--set`` already refuses keys the preset lacks).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from reprokit import ConfigModel

CLASSIFIERS = ("lda", "svm", "logreg")


class Simulation(ConfigModel):
    n_subjects: int = Field(ge=1)
    n_images: int = Field(100, ge=2, le=100)
    n_repeats: int = Field(ge=1)
    sfreq: float = Field(gt=0)
    onset: float | None = Field(None, ge=0, le=0.5)
    effect: float = Field(ge=0)
    image_effect: float = Field(0.0, ge=0)
    confound: float = Field(ge=0)
    luminance_bias: float = Field(1.0, ge=0)
    channels: Literal["all", "mag", "grad"] = "all"

    @model_validator(mode="after")
    def _nyquist(self):
        if self.sfreq < 80:
            raise ValueError(f"sfreq={self.sfreq}: the simulation needs at least 80 Hz (40 Hz low-pass)")
        return self


class Preprocessing(ConfigModel):
    l_freq: float | None = Field(None, gt=0)
    h_freq: float | None = Field(None, gt=0)
    tmin: float
    tmax: float
    baseline: list[float | None] | None = None
    decim: int = Field(1, ge=1)
    reject: dict[str, float] | None = None
    picks: str = "meg"
    trigger_delay: float = Field(0.0, ge=0, lt=0.5)
    delay_check: bool = False
    maxwell: bool = False
    maxwell_st: float | None = Field(None, gt=0)
    maxwell_origin: list[float] | None = None
    calibration: str | None = None
    cross_talk: str | None = None

    @model_validator(mode="after")
    def _relations(self):
        if self.tmax <= self.tmin:
            raise ValueError(f"tmax={self.tmax} must be after tmin={self.tmin}")
        if self.tmax <= 0:
            raise ValueError(f"tmax={self.tmax}: the epochs must reach past stimulus onset")
        if self.l_freq is not None and self.h_freq is not None and self.l_freq >= self.h_freq:
            raise ValueError(f"l_freq={self.l_freq} must be below h_freq={self.h_freq}")
        if self.reject is not None and any(not v > 0 for v in self.reject.values()):
            raise ValueError(f"reject={self.reject}: peak-to-peak limits must be positive")
        if self.baseline is not None and len(self.baseline) != 2:
            raise ValueError(f"baseline={self.baseline}: give [start, end] (null = epoch start)")
        if self.maxwell_origin is not None and len(self.maxwell_origin) != 3:
            raise ValueError(f"maxwell_origin={self.maxwell_origin}: give [x, y, z] in metres")
        return self

    @field_validator("picks")
    @classmethod
    def _picks(cls, v: str) -> str:
        if v not in ("meg", "mag", "grad", "eeg", "meg+eeg") and not v.startswith("selection:"):
            raise ValueError(f"picks={v!r}: use meg, mag, grad, eeg, meg+eeg or selection:<Vectorview region>,...")
        return v


def check_conditions(v: Any) -> Any:
    """``{"familiar": [codes or names], "unfamiliar": [...]}`` (or null for the default map)."""
    if v is None:
        return v
    if not isinstance(v, dict) or {str(k).lower() for k in v} != {"familiar", "unfamiliar"}:
        raise ValueError('needs exactly the keys familiar and unfamiliar, e.g. {"familiar": ["famous"], '
                         '"unfamiliar": ["unfamiliar"]} or {"familiar": [5, 6, 7], "unfamiliar": [13, 14, 15]}')
    for key, vals in v.items():
        items = vals if isinstance(vals, list) else [vals]
        if not items:
            raise ValueError(f"{key}: list at least one event code or name")
        for x in items:
            if isinstance(x, bool) or not isinstance(x, (int, str)):
                raise ValueError(f"{key}: {x!r} is neither an event code (integer) nor an event name (string)")
    return v


class Data(ConfigModel):
    task: str = "facerecognition"
    conditions: dict[str, Any] | None = None
    preproc: Preprocessing

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, v: Any) -> Any:
        return check_conditions(v)


class Decoding(ConfigModel):
    classifier: Literal["lda", "svm", "logreg"] = "lda"
    folds: int = Field(ge=2)
    repeats: int = Field(1, ge=1)
    window: int = Field(1, ge=1)
    pseudo: int = Field(1, ge=1)
    generalization: bool = False
    folds_by: Literal["stimulus", "trial"] = "stimulus"
    compare_trial_folds: bool = False


class Stats(ConfigModel):
    n_perm: int = Field(ge=1)
    p_cluster: float = Field(gt=0, lt=1)
    alpha: float = Field(gt=0, lt=1)
    ci_method: Literal["bootstrap", "jackknife"] = "bootstrap"
    n_boot: int = Field(ge=0)
    ci_perm: int = Field(ge=1)
    subject_perms: int = Field(200, ge=1)
    min_group_subjects: int = Field(5, ge=2)


class Control(ConfigModel):
    enabled: bool = True
    match_on: list[Literal["luminance", "contrast", "colour", "hsv", "lab", "spatial_frequency"]] = Field(
        min_length=1)
    caliper: float = Field(gt=0)
    attr_perm: int = Field(ge=0)
    rsa: bool = True
    matched_ci: bool = True
    colour_components: int = Field(2, ge=1)


class GroundTruth(ConfigModel):
    enabled: bool = True
    n_null: int = Field(ge=0)
    n_planted: int = Field(ge=0)
    tolerance: float = Field(gt=0)
    repeats: int = Field(1, ge=1)
    tmin: float
    tmax: float = Field(gt=0)
    decim: int = Field(1, ge=1)
    simulation: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _window(self):
        if self.tmin >= 0 or self.tmax <= self.tmin:
            raise ValueError(f"tmin={self.tmin}, tmax={self.tmax}: need tmin < 0 < tmax (a baseline)")
        return self


class Claims(ConfigModel):
    early_bound: float = Field(gt=0, le=0.5)
    early_window: list[float] = Field(min_length=2, max_length=2)
    min_auc_effect: float = Field(ge=0, lt=0.5)
    min_rho_effect: float = Field(ge=0, lt=1)

    @model_validator(mode="after")
    def _window(self):
        a, b = self.early_window
        if not 0 <= a < b:
            raise ValueError(f"early_window={self.early_window}: need 0 ≤ start < end (s)")
        return self


class Input(ConfigModel):
    """What ``decode``/``control`` read (filled from their flags; null in ``reproduce``)."""

    kind: Literal["epochs", "raw", "bids"] | None = None
    path: str | None = None
    events: str | None = None
    stim_list: str | None = None
    stimuli_root: str | None = None


class Config(ConfigModel):
    seed: int = 0
    dataset: str = "simulated"
    threads: int = Field(1, ge=1)
    n_jobs: int = Field(1, ge=1)
    simulation: Simulation
    data: Data
    decoding: Decoding
    stats: Stats
    control: Control
    ground_truth: GroundTruth
    claims: Claims
    input: Input = Input()

    @model_validator(mode="after")
    def _window_inside_epochs(self):
        end = self.claims.early_window[1]
        if end > self.data.preproc.tmax:
            raise ValueError(f"claims.early_window={self.claims.early_window} ends after the epochs "
                             f"(data.preproc.tmax={self.data.preproc.tmax})")
        return self


class SimulateFlags(ConfigModel):
    """``meg-familiarity simulate``'s flags."""

    n_subjects: int = Field(ge=1)
    n_repeats: int = Field(ge=1)
    onset: float | None = Field(None, ge=0, le=0.5)
    effect: float = Field(ge=0)
    image_effect: float = Field(ge=0)
    confound: float = Field(ge=0)
    sfreq: float = Field(ge=80)
    channels: Literal["all", "mag", "grad"]
    seed: int = Field(ge=0)
