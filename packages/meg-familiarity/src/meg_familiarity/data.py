"""Loading MEG the way the field stores it, and the preprocessing pipeline.

Readers (all through MNE / mne-bids), each returning one :class:`SubjectData` per subject:

* :func:`load_epochs_fif`: an ``-epo.fif`` file; conditions from its ``event_id`` names/codes, the
  stimulus of each epoch from a ``stim_file`` metadata column when present;
* :func:`load_raw_events`: a raw file (FIF or anything ``mne.io.read_raw`` reads) + events (an MNE
  events file, or the stim channel) and an event-id → condition map;
* :func:`load_bids`: a BIDS root through mne-bids (all runs of each subject; ``events.tsv`` read for
  the codes and the ``stim_file`` column), by default with the Wakeman & Henson ds000117 mapping.

Familiar = 1, unfamiliar = 0. The preprocessing (:class:`Preproc`): band-pass filter, trigger-delay
correction, epoching, baseline, decimation, peak-to-peak rejection and channel picks (mag/grad/eeg or
Vectorview regions such as ``selection:Left-temporal,Right-temporal``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reprokit import UsageError

#: Wakeman & Henson (2015) faces dataset, OpenNeuro ds000117, task "facerecognition" (Elekta 306 + EEG).
WAKEMAN_HENSON = {
    "conditions": {"familiar": [5, 6, 7], "unfamiliar": [13, 14, 15]},  # Famous / Unfamiliar (Scrambled: 17-19)
    "names": {"familiar": ["Famous"], "unfamiliar": ["Unfamiliar"]},
    "trigger_delay": 0.0345,  # s from trigger to screen onset
    "task": "facerecognition",
}

DATASETS = {
    "simulated": "Neuromag-306 simulation written as BIDS by `meg-familiarity simulate` (offline default; "
                 "made on the fly by reproduce when --data-dir is not given)",
    "ds000117": "Wakeman & Henson faces, OpenNeuro ds000117 BIDS root (sub-*/ses-meg/meg/*_meg.fif + events.tsv)",
    "bids": "any MEG BIDS root with events.tsv (give --set data.conditions / data.task)",
    "epochs": "one -epo.fif file (or a folder of them, one per subject)",
}


@dataclass
class SubjectData:
    """One subject's epochs: X (n_trials, n_channels, n_times), y (1 familiar / 0 unfamiliar)."""

    subject: str
    X: np.ndarray
    y: np.ndarray
    times: np.ndarray
    ch_names: list[str]
    stim: list[str] | None = None  # stimulus file of each trial (for the low-level control)

    def __post_init__(self) -> None:
        if self.X.ndim != 3 or len(self.X) != len(self.y):
            raise UsageError(f"subject {self.subject}: epochs array of shape {self.X.shape} does not match "
                             f"{len(self.y)} labels")
        if self.stim is not None and len(self.stim) != len(self.y):
            raise UsageError(f"subject {self.subject}: {len(self.stim)} stimulus entries for {len(self.y)} epochs; "
                             f"give one stim_file per epoch")


@dataclass
class Preproc:
    l_freq: float | None = 0.1
    h_freq: float | None = 40.0
    tmin: float = -0.1
    tmax: float = 0.5
    baseline: tuple[float | None, float] | None = (None, 0.0)
    decim: int = 1
    reject: dict[str, float] | None = None  # e.g. {"grad": 4000e-13, "mag": 4e-12}
    picks: str = "meg"  # meg | mag | grad | eeg | meg+eeg | selection:<Vectorview region>,...
    trigger_delay: float = 0.0
    delay_check: bool = False  # BIDS: apply the delay only where events.tsv sits on the STI101 triggers
    maxwell: bool = False  # Maxwell filter (SSS) before anything else
    maxwell_st: float | None = None  # tSSS buffer (s); None: plain SSS
    maxwell_origin: list[float] | None = None  # head-frame origin (m); None: fitted to the digitisation
    calibration: str | None = None  # fine-calibration file (default: the BIDS sidecar when present)
    cross_talk: str | None = None  # cross-talk file (default: the BIDS sidecar when present)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Preproc:
        d = dict(d or {})
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise UsageError(f"unknown preprocessing settings {unknown}; valid: {sorted(cls.__dataclass_fields__)}")
        if d.get("baseline") is not None:
            d["baseline"] = tuple(d["baseline"])
        return cls(**d)


def _pick_channels(info, picks: str) -> np.ndarray:
    import mne

    if picks.startswith("selection:"):
        names = []
        for region in picks.split(":", 1)[1].split(","):
            try:
                names += mne.read_vectorview_selection(region.strip(), info=info)
            except Exception as e:
                raise UsageError(f"unknown channel region {region!r} ({e}); use Vectorview names such as "
                                 f"Left-temporal, Right-occipital") from e
        idx = mne.pick_channels(info["ch_names"], names, ordered=False)
    else:
        kinds = {"meg": dict(meg=True), "mag": dict(meg="mag"), "grad": dict(meg="grad"),
                 "eeg": dict(meg=False, eeg=True), "meg+eeg": dict(meg=True, eeg=True)}
        if picks not in kinds:
            raise UsageError(f"unknown channel picks {picks!r}; use meg, mag, grad, eeg, meg+eeg or selection:<region>")
        idx = mne.pick_types(info, **kinds[picks], exclude="bads")
    if len(idx) == 0:
        raise UsageError(f"the file has no channels for picks={picks!r}: is it an MEG recording? "
                         f"(channel types present: {sorted(set(info.get_channel_types()))})")
    return idx


DEFAULT_NAMES = {"familiar": ("familiar", "famous"), "unfamiliar": ("unfamiliar",)}


@dataclass
class ConditionMap:
    """Which events are familiar (1) and unfamiliar (0): by trigger code and/or by event name.

    Names match case-insensitively, as a whole or by any ``/``-separated tag of a hierarchical MNE name
    (``face/famous/first`` → famous). The default map takes ds000117's codes (Famous 5/6/7, Unfamiliar
    13/14/15) and the names familiar / famous vs unfamiliar.
    """

    codes: dict[int, int]
    names: dict[str, int]
    given: Any = None  # the user's map, for messages

    @classmethod
    def parse(cls, spec: dict[str, Any] | None = None) -> ConditionMap:
        if spec is None:
            codes = {c: lab for cond, lab in (("familiar", 1), ("unfamiliar", 0))
                     for c in WAKEMAN_HENSON["conditions"][cond]}
            names = {n: lab for cond, lab in (("familiar", 1), ("unfamiliar", 0)) for n in DEFAULT_NAMES[cond]}
            return cls(codes=codes, names=names, given=None)
        if not isinstance(spec, dict) or {str(k).lower() for k in spec} != {"familiar", "unfamiliar"}:
            raise UsageError(f"the condition map needs exactly the keys familiar and unfamiliar, got "
                             f"{sorted(spec) if isinstance(spec, dict) else spec!r}; e.g. "
                             '{"familiar": ["famous"], "unfamiliar": ["unfamiliar"]} or {"familiar": [5, 6, 7], '
                             '"unfamiliar": [13, 14, 15]}')
        codes: dict[int, int] = {}
        names: dict[str, int] = {}
        for key, vals in spec.items():
            lab = 1 if str(key).lower() == "familiar" else 0
            for v in vals if isinstance(vals, (list, tuple)) else [vals]:
                if isinstance(v, bool) or not isinstance(v, (int, str)):
                    raise UsageError(f"condition map entry {v!r} under {key!r}: give event codes (integers) or "
                                     f"event names (strings)")
                target, k = (codes, int(v)) if isinstance(v, int) else (names, v.strip().lower())
                if target.get(k, lab) != lab:
                    raise UsageError(f"condition map: {v!r} is listed as both familiar and unfamiliar")
                target[k] = lab
        return cls(codes=codes, names=names, given=spec)

    def label(self, code: int | None = None, name: str | None = None) -> int | None:
        """1 / 0 for an event, None when the map does not cover it; UsageError when it says both."""
        hits = set()
        if code is not None and int(code) in self.codes:
            hits.add(self.codes[int(code)])
        if name:
            low = str(name).strip().lower()
            if low in self.names:
                hits.add(self.names[low])
            else:
                hits.update(self.names[t] for t in low.split("/") if t in self.names)
        if len(hits) > 1:
            raise UsageError(f"event {name or code!r} matches both familiar and unfamiliar under {self.describe()}; "
                             f"give an explicit --conditions map")
        return hits.pop() if hits else None

    def describe(self) -> str:
        if self.given is None:
            return ("the default map (codes 5/6/7 vs 13/14/15, names familiar/famous vs unfamiliar, "
                    "case-insensitive, also as /-tags)")
        return f"the map {json.dumps(self.given)}"

    def refuse(self, where: str, found: dict[str, Any] | list) -> UsageError:
        """The error for a file whose events do not give both classes: what was found, and a map that would work."""
        items = list(found.items()) if isinstance(found, dict) else [(None, c) for c in found]
        shown = ", ".join(f"{n!r}: {c}" if n is not None else str(c) for n, c in items[:12])
        if len(items) > 12:
            shown += f", ... ({len(items)} in all)"
        a, b = [*items, (None, "?"), (None, "?")][:2]
        ex = (json.dumps({"familiar": [a[0]], "unfamiliar": [b[0]]}) if a[0] is not None and b[0] is not None
              else json.dumps({"familiar": [a[1]], "unfamiliar": [b[1]]}))
        return UsageError(f"{where}: the events ({shown}) do not give both familiar and unfamiliar trials under "
                          f"{self.describe()}; pass a map such as --conditions '{ex}' (codes or names)")


def as_condition_map(conditions: dict[str, Any] | ConditionMap | None) -> ConditionMap:
    return conditions if isinstance(conditions, ConditionMap) else ConditionMap.parse(conditions)


def find_trigger_events(raw) -> np.ndarray | None:
    """Trigger events of the stim channel (STI101 if present) as the MNE ds000117 demo reads them
    (``consecutive="increasing"``, ``mask=4352, mask_type="not_and"`` drops the button bits); None without one."""
    import mne

    stim = [c for c in raw.ch_names if c == "STI101"] or [raw.ch_names[i] for i in mne.pick_types(raw.info, stim=True)]
    if not stim:
        return None
    try:
        return mne.find_events(raw, stim_channel=stim[0], consecutive="increasing", mask=4352, mask_type="not_and",
                               shortest_event=1, verbose=False)
    except Exception:  # an empty or odd stim channel: nothing to compare with
        return None


def measure_trigger_offset(raw, samples: np.ndarray, codes: np.ndarray) -> dict[str, Any]:
    """How far events.tsv's samples lie after the stim-channel triggers of the same code (median, s)."""
    trig = find_trigger_events(raw)
    if trig is None or not len(trig):
        return {"status": "no stim channel", "offset_s": None, "n_matched": 0}
    sf = raw.info["sfreq"]
    offs = []
    for s_, c in zip(samples, codes):
        same = trig[trig[:, 2] == int(c), 0]
        if len(same):
            d = s_ - same[np.argmin(np.abs(same - s_))]
            if abs(d) <= 0.1 * sf:
                offs.append(d)
    if len(offs) < max(1, len(samples) // 2):
        return {"status": "triggers do not match events.tsv", "offset_s": None, "n_matched": len(offs)}
    return {"status": "measured", "offset_s": float(np.median(offs) / sf), "n_matched": len(offs)}


def decide_trigger_delay(measured: dict[str, Any], nominal: float, sfreq: float, where: str) -> tuple[float, str]:
    """The shift to apply to events.tsv onsets: the nominal delay when they sit on the triggers, none when they
    already include it; unverified (nominal applied) without a stim channel to compare with."""
    off = measured.get("offset_s")
    if off is None:
        return nominal, f"unverified ({measured['status']}): {nominal * 1000:.1f} ms applied"
    tol = 1.5 / sfreq
    if abs(off) <= tol:
        return nominal, f"events.tsv onsets = STI101 triggers (median offset {off * 1000:.1f} ms): " \
                        f"{nominal * 1000:.1f} ms applied"
    if abs(off - nominal) <= tol:
        return 0.0, f"events.tsv onsets already {off * 1000:.1f} ms after the triggers: no shift applied"
    raise UsageError(f"{where}: events.tsv onsets lie {off * 1000:.1f} ms after the STI101 triggers, neither 0 nor "
                     f"the {nominal * 1000:.1f} ms trigger delay; set data.preproc.delay_check=false and "
                     f"data.preproc.trigger_delay to the shift you want")


def maxwell(raw, pp: Preproc, calibration=None, cross_talk=None):
    """Maxwell filtering (SSS; tSSS with ``maxwell_st``) with the fine-calibration and cross-talk files when given."""
    import mne

    cal = pp.calibration or calibration
    ct = pp.cross_talk or cross_talk
    for f, what in ((cal, "calibration"), (ct, "cross-talk")):
        if f is not None and not Path(f).exists():
            raise UsageError(f"Maxwell filter: {what} file {f} not found")
    if pp.maxwell_origin is not None:
        origin = tuple(pp.maxwell_origin)
    else:
        origin = "auto" if raw.info.get("dig") else (0.0, 0.0, 0.04)
    frame = "head" if raw.info.get("dev_head_t") is not None else "meg"
    raw = raw.copy().load_data()
    return mne.preprocessing.maxwell_filter(raw, calibration=str(cal) if cal else None,
                                            cross_talk=str(ct) if ct else None, origin=origin, coord_frame=frame,
                                            st_duration=pp.maxwell_st, verbose=False)


def epochs_from_raw(raw, events: np.ndarray, labels: np.ndarray | dict | ConditionMap | None, pp: Preproc,
                    subject: str = "01", stim: list[str] | None = None, delay: float | None = None,
                    sss_files: tuple = (None, None)) -> SubjectData:
    """(Maxwell filter,) filter, correct the trigger delay, epoch, baseline-correct, decimate, reject, pick.

    ``labels``: one label per event (1, 0, or -1 to drop), or a condition map applied to the event codes.
    ``delay``: the trigger delay to apply (default ``pp.trigger_delay``).
    """
    import mne
    import pandas as pd

    if labels is None or isinstance(labels, (dict, ConditionMap)):
        cmap = as_condition_map(labels)
        labels = np.array([(-1 if (v := cmap.label(code=c)) is None else v) for c in events[:, 2]])
        if len(set(labels[labels >= 0].tolist())) < 2:
            raise cmap.refuse(f"subject {subject}", sorted(set(events[:, 2].tolist())))
    labels = np.asarray(labels)
    if stim is not None and len(stim) != len(events):
        raise UsageError(f"subject {subject}: {len(stim)} stimulus entries for {len(events)} events")
    keep = labels >= 0
    if pp.maxwell:
        raw = maxwell(raw, pp, *sss_files)
    picks = _pick_channels(raw.info, pp.picks)
    ev = events[keep].copy()
    stim_kept = [s for s, k in zip(stim, keep) if k] if stim is not None else None
    ev[:, 0] += round((pp.trigger_delay if delay is None else delay) * raw.info["sfreq"])
    raw = raw.copy().pick(picks).load_data()
    if pp.reject:
        missing = sorted(set(pp.reject) - set(raw.get_channel_types()))
        if missing:
            raise UsageError(f"subject {subject}: data.preproc.reject has limits for {missing}, but the picked "
                             f"channels are {sorted(set(raw.get_channel_types()))}; drop those keys")
    if pp.l_freq is not None or pp.h_freq is not None:
        raw.filter(pp.l_freq, pp.h_freq, verbose=False)
    codes = sorted(set(ev[:, 2].tolist()))
    event_id = {str(c): c for c in codes}
    meta = pd.DataFrame({"label": labels[keep].astype(int),
                         "stim_file": stim_kept if stim_kept is not None else [""] * len(ev)})
    epochs = mne.Epochs(raw, ev, event_id=event_id, tmin=pp.tmin, tmax=pp.tmax, baseline=pp.baseline,
                        decim=pp.decim, reject=pp.reject, preload=True, metadata=meta, verbose=False,
                        on_missing="ignore")
    if len(epochs) == 0:
        raise UsageError(f"subject {subject}: every epoch was rejected (data.preproc.reject={pp.reject}); "
                         f"loosen the limits")
    return _subject_from_epochs(epochs, subject, has_stim=stim_kept is not None)


def _subject_from_epochs(epochs, subject: str, has_stim: bool) -> SubjectData:
    y = epochs.metadata["label"].to_numpy().astype(int)
    stim = epochs.metadata["stim_file"].astype(str).tolist() if has_stim else None
    return SubjectData(subject=subject, X=epochs.get_data(copy=False).astype(np.float64), y=y,
                       times=epochs.times.copy(), ch_names=list(epochs.ch_names), stim=stim)


def _read_raw(path: Path):
    import mne

    if not Path(path).exists():
        raise UsageError(f"raw file {path} not found")
    try:
        return mne.io.read_raw(path, preload=False, verbose=False)
    except Exception as e:
        raise UsageError(f"cannot read {path} as an MEG/EEG recording ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}); give a raw FIF (or another format "
                         f"mne.io.read_raw reads)") from e


def read_events_file(events_path: str | Path) -> np.ndarray:
    import mne

    if not Path(events_path).is_file():
        raise UsageError(f"events file {events_path} not found")
    try:
        events = mne.read_events(events_path)
    except Exception as e:
        raise UsageError(f"cannot read events from {events_path} ({type(e).__name__}); give an MNE events file "
                         f"(-eve.fif or .eve/.txt with sample, previous, code columns)") from e
    if events.ndim != 2 or events.shape[1] != 3 or not len(events):
        raise UsageError(f"{events_path}: expected rows of (sample, previous, code), got shape {events.shape}")
    return events


def load_raw_events(raw_path: str | Path, conditions: dict[str, list] | ConditionMap | None, pp: Preproc,
                    events_path: str | Path | None = None, stim: list[str] | None = None,
                    subject: str = "01") -> SubjectData:
    """A raw recording + events (an MNE events file, or found on the stim channel) → epochs."""
    import mne

    raw = _read_raw(Path(raw_path))
    if events_path is not None:
        events = read_events_file(events_path)
    else:
        try:
            events = mne.find_events(raw, shortest_event=1, verbose=False)
        except Exception as e:
            raise UsageError(f"{raw_path} has no usable stim channel ({str(e).splitlines()[0]}); pass --events") from e
    return epochs_from_raw(raw, events, as_condition_map(conditions), pp, subject, stim)


def read_epochs(path: str | Path):
    import mne

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"epochs file {path} not found")
    if path.stat().st_size == 0:
        raise UsageError(f"epochs file {path} is empty")
    try:
        return mne.read_epochs(path, preload=True, verbose=False)
    except Exception as e:
        raise UsageError(f"cannot read {path} as MNE epochs ({type(e).__name__}); give an -epo.fif file") from e


def load_epochs_fif(path: str | Path, conditions: dict[str, Any] | ConditionMap | None = None,
                    subject: str | None = None) -> SubjectData:
    """An ``-epo.fif`` file; epochs whose event code or name (whole, or a ``/``-tag) is in the map are kept."""
    path = Path(path)
    epochs = read_epochs(path)
    cmap = as_condition_map(conditions)
    inv = {v: k for k, v in epochs.event_id.items()}
    labels = np.array([(-1 if (v := cmap.label(code=int(c), name=inv.get(c))) is None else v)
                       for c in epochs.events[:, 2]])
    if len(set(labels[labels >= 0].tolist())) < 2:
        raise cmap.refuse(str(path), dict(epochs.event_id))
    keep = labels >= 0
    md = epochs.metadata
    stim = md["stim_file"].astype(str).tolist() if md is not None and "stim_file" in md else None
    _pick_channels(epochs.info, "meg+eeg")  # refuses files without MEG/EEG channels
    X = epochs.get_data(copy=False)[keep].astype(np.float64)
    if not np.isfinite(X).all():
        raise UsageError(f"{path}: the epochs contain NaN or infinite values; clean or drop those epochs")
    return SubjectData(subject=subject or path.name.split("_")[0].replace("-epo.fif", ""), X=X, y=labels[keep],
                       times=epochs.times.copy(), ch_names=list(epochs.ch_names),
                       stim=[s for s, k in zip(stim, keep) if k] if stim is not None else None)


def bids_subjects(root: str | Path) -> list[str]:
    from mne_bids import get_entity_vals

    return sorted(get_entity_vals(root, "subject"))


def events_tsv_labels(df, cmap: ConditionMap, path) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels) of an events.tsv's rows: codes from its ``value`` (or ``trigger``) column, names from
    ``trial_type``; label −1 where the map covers neither."""
    import pandas as pd

    codes = np.full(len(df), -1, dtype=int)
    for col in ("value", "trigger"):
        if col in df:
            v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
            codes = np.where(np.isnan(v), -1, v).astype(int)
            break
    names = df["trial_type"].astype(str).tolist() if "trial_type" in df else [None] * len(df)
    if "trial_type" not in df and not any(c in df for c in ("value", "trigger")):
        raise UsageError(f"{path} has neither a value/trigger column nor trial_type names; add one")
    labels = np.array([(-1 if (v := cmap.label(code=c if c >= 0 else None, name=n)) is None else v)
                       for c, n in zip(codes, names)])
    return codes, labels


def _bids_runs(root: Path, sub: str, task: str):
    from mne_bids import BIDSPath

    matches = BIDSPath(root=root, subject=sub, task=task, datatype="meg", suffix="meg").match()
    matches = [m for m in matches if m.extension in (".fif", ".ds", ".con", ".sqd", ".pdf")
               and m.acquisition not in ("calibration", "crosstalk")]
    return sorted(matches, key=lambda b: str(b.fpath))


def _sss_files(bp) -> tuple:
    out = []
    for attr in ("meg_calibration_fpath", "meg_crosstalk_fpath"):
        try:
            f = getattr(bp, attr)
        except Exception:
            f = None
        out.append(f if f is not None and Path(f).exists() else None)
    return tuple(out)


def load_bids(root: str | Path, conditions: dict[str, Any] | ConditionMap | None, pp: Preproc,
              task: str = "facerecognition", subjects: list[str] | None = None, quiet: bool = True,
              notes: list[str] | None = None) -> list[SubjectData]:
    """Every run of every subject of a BIDS MEG dataset → one :class:`SubjectData` per subject.

    Events from each run's events.tsv (codes from ``value``/``trigger``, names from ``trial_type``, matched by
    the condition map), stimuli from ``stim_file``. With ``pp.delay_check`` the trigger delay is applied only
    where events.tsv's onsets sit on the STI101 triggers (see :func:`decide_trigger_delay`); the decisions
    are appended to ``notes``.
    """
    import pandas as pd
    from mne_bids import read_raw_bids

    root = Path(root)
    if not (root / "dataset_description.json").exists():
        raise UsageError(f"{root} is not a BIDS root (no dataset_description.json); for ds000117 put the OpenNeuro "
                         f"dataset there, or run `meg-familiarity simulate --out {root}`")
    cmap = as_condition_map(conditions)
    subs = subjects or bids_subjects(root)
    if not subs:
        raise UsageError(f"no sub-* folders under {root}")
    out = []
    for sub in subs:
        runs = _bids_runs(root, sub, task)
        if not runs:
            raise UsageError(f"sub-{sub}: no MEG recording for task {task!r} under {root}; check data.task")
        epochs_runs = []
        for bp in runs:
            ev_path = bp.copy().update(suffix="events", extension=".tsv")
            if not Path(ev_path.fpath).exists():
                raise UsageError(f"{ev_path.fpath} missing: BIDS MEG data needs an events.tsv per run")
            raw = read_raw_bids(bp, verbose=False)
            df = pd.read_csv(ev_path.fpath, sep="\t")
            onset = pd.to_numeric(df["onset"], errors="coerce").to_numpy()
            codes, labels = events_tsv_labels(df, cmap, ev_path.fpath)
            ok = ~np.isnan(onset)
            samples = raw.first_samp + np.round(onset[ok] * raw.info["sfreq"]).astype(int)
            events = np.column_stack([samples, np.zeros(ok.sum(), int), np.maximum(codes[ok], 0)])
            stim = df["stim_file"].astype(str).to_numpy()[ok].tolist() if "stim_file" in df else None
            delay = pp.trigger_delay
            if pp.delay_check:
                sel = labels[ok] >= 0
                measured = measure_trigger_offset(raw, samples[sel], codes[ok][sel])
                delay, why = decide_trigger_delay(measured, pp.trigger_delay, raw.info["sfreq"], str(bp.fpath.name))
                if notes is not None:
                    notes.append(f"{bp.fpath.name}: {why}")
            raw.set_annotations(None)
            lab = labels[ok]
            if len(set(lab[lab >= 0].tolist())) < 2:
                found = sorted({(str(n), int(c)) for n, c in zip(df.get("trial_type", [""] * len(df)), codes)})
                raise cmap.refuse(str(ev_path.fpath.name), {n: c for n, c in found})
            epochs_runs.append(epochs_from_raw(raw, events, lab, pp, sub, stim, delay=delay,
                                               sss_files=_sss_files(bp)))
        X = np.concatenate([e.X for e in epochs_runs])
        y = np.concatenate([e.y for e in epochs_runs])
        stim = [f for e in epochs_runs for f in e.stim] if all(e.stim is not None for e in epochs_runs) else None
        out.append(SubjectData(subject=sub, X=X, y=y, times=epochs_runs[0].times, ch_names=epochs_runs[0].ch_names,
                               stim=stim))
    return out


def stimulus_path(f: str, root: str | Path | None, stimuli_root: str | Path | None = None) -> Path | None:
    """Where a ``stim_file`` lives: BIDS puts it relative to ``<root>/stimuli/`` (ds000117: ``meg/f103.bmp`` →
    ``stimuli/meg/f103.bmp``); ``stimuli_root`` (``--stimuli-root``) comes first, the root itself last."""
    cands = []
    if stimuli_root is not None:
        cands.append(Path(stimuli_root) / f)
    if root is not None:
        cands += [Path(root) / "stimuli" / f, Path(root) / f]
    return next((c for c in cands if c.is_file()), None)


def load_stimuli(root: str | Path | None, files: list[str], stimuli_root: str | Path | None = None
                 ) -> dict[str, np.ndarray]:
    """Images (as float RGB in [0, 1]) of the stimulus files named in events.tsv (see :func:`stimulus_path`)."""
    from skimage.color import gray2rgb
    from skimage.io import imread
    from skimage.util import img_as_float

    out = {}
    for f in sorted(set(files)):
        path = stimulus_path(f, root, stimuli_root)
        if path is None:
            where = [str(Path(stimuli_root) / f)] if stimuli_root else []
            where += [str(Path(root) / "stimuli" / f), str(Path(root) / f)] if root is not None else []
            raise UsageError(f"stimulus image {f} not found (looked at {', '.join(where) or 'nothing: no root'}); "
                             f"the low-level control needs the images named in the stim_file column (BIDS: under "
                             f"stimuli/), or --stimuli-root")
        try:
            img = img_as_float(imread(path))
        except Exception as e:
            raise UsageError(f"cannot read the stimulus image {path} ({type(e).__name__})") from e
        if img.ndim == 2:
            img = gray2rgb(img)
        out[f] = img[..., :3]
    return out


def data_dir(cli_dir: Path | None) -> Path | None:
    d = cli_dir or os.environ.get("REPRO_DATA")
    return Path(d) if d else None


def check(dataset: str, root: Path | None, task: str = "facerecognition", max_runs: int | None = None) -> list[str]:
    """Human-readable findings about a dataset folder; raises UsageError when it is unusable."""
    if dataset not in DATASETS:
        raise UsageError(f"unknown dataset {dataset!r}; choose one of {sorted(DATASETS)}")
    if dataset == "simulated" and root is None:
        return ["simulated: made on the fly (no files needed)"]
    if root is None:
        raise UsageError(f"dataset {dataset} needs --data-dir (or REPRO_DATA): {DATASETS[dataset]}")
    root = Path(root)
    if not root.exists():
        raise UsageError(f"{root} does not exist; {DATASETS[dataset]}")
    if dataset == "epochs":
        files = [root] if root.is_file() else sorted(root.glob("*-epo.fif"))
        if not files:
            raise UsageError(f"no *-epo.fif files in {root}")
        return [f"{f}: present" for f in files]
    subs = bids_subjects(root) if (root / "dataset_description.json").exists() else []
    if not subs:
        raise UsageError(f"{root} is not a BIDS root with sub-* folders (need dataset_description.json + "
                         f"sub-XX/[ses-meg/]meg/*_task-facerecognition*_meg.fif + events.tsv)")
    lines = [f"BIDS root {root}: {len(subs)} subjects ({', '.join(subs[:5])}{'...' if len(subs) > 5 else ''})"]
    from mne_bids import BIDSPath

    n_fif = len([m for m in BIDSPath(root=root, datatype="meg", suffix="meg").match() if m.extension == ".fif"])
    lines.append(f"{n_fif} MEG FIF recordings; stimuli/ {'present' if (root / 'stimuli').exists() else 'absent'}")
    if dataset in ("ds000117", "bids", "simulated"):
        lines += trigger_delay_report(root, task, nominal=WAKEMAN_HENSON["trigger_delay"], max_runs=max_runs)
    return lines


def trigger_delay_report(root: Path, task: str = "facerecognition", nominal: float = 0.0345,
                         max_runs: int | None = None) -> list[str]:
    """For each run: events.tsv samples against ``mne.find_events`` on STI101, and the shift that would be applied."""
    import pandas as pd
    from mne_bids import read_raw_bids

    lines, n = [], 0
    for sub in bids_subjects(root):
        for bp in _bids_runs(root, sub, task):
            if max_runs is not None and n >= max_runs:
                lines.append(f"trigger delay: stopped after {max_runs} runs (--max-runs)")
                return lines
            n += 1
            ev_path = bp.copy().update(suffix="events", extension=".tsv")
            if not Path(ev_path.fpath).exists():
                lines.append(f"{bp.fpath.name}: no events.tsv")
                continue
            raw = read_raw_bids(bp, verbose=False)
            df = pd.read_csv(ev_path.fpath, sep="\t")
            onset = pd.to_numeric(df["onset"], errors="coerce").to_numpy()
            codes, labels = events_tsv_labels(df, ConditionMap.parse(None), ev_path.fpath)
            ok = ~np.isnan(onset) & (labels >= 0)
            samples = raw.first_samp + np.round(onset[ok] * raw.info["sfreq"]).astype(int)
            measured = measure_trigger_offset(raw, samples, codes[ok])
            try:
                _, why = decide_trigger_delay(measured, nominal, raw.info["sfreq"], bp.fpath.name)
            except UsageError as e:
                why = f"MISMATCH: {e}"
            lines.append(f"trigger delay, {bp.fpath.name}: {measured['n_matched']} face events matched; {why}")
    if n == 0:
        lines.append(f"trigger delay: no MEG runs of task {task!r} to check")
    return lines
