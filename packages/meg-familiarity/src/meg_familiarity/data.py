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


def _code_to_label(conditions: dict[str, list], names: dict[str, list] | None = None) -> dict:
    """{code or trial_type name: 1/0} from {"familiar": [...], "unfamiliar": [...]}."""
    if set(conditions) != {"familiar", "unfamiliar"}:
        raise UsageError(f"the condition map needs exactly the keys familiar and unfamiliar, got {sorted(conditions)}")
    out: dict = {}
    for cond, lab in (("familiar", 1), ("unfamiliar", 0)):
        for c in list(conditions[cond]) + list((names or {}).get(cond, [])):
            out[c] = lab
    return out


def epochs_from_raw(raw, events: np.ndarray, conditions: dict[str, list], pp: Preproc, subject: str = "01",
                    stim: list[str] | None = None) -> SubjectData:
    """Filter, correct the trigger delay, epoch, baseline-correct, decimate, reject and pick channels."""
    import mne
    import pandas as pd

    picks = _pick_channels(raw.info, pp.picks)
    lab = _code_to_label(conditions)
    keep = np.isin(events[:, 2], [c for c in lab if isinstance(c, (int, np.integer))])
    if not keep.any():
        raise UsageError(f"subject {subject}: none of the event codes {sorted(set(events[:, 2].tolist()))} belongs to "
                         f"the condition map {conditions}; fix the map (--set data.conditions=...)")
    if stim is not None and len(stim) != len(events):
        raise UsageError(f"subject {subject}: {len(stim)} stimulus entries for {len(events)} events")
    ev = events[keep].copy()
    stim_kept = [s for s, k in zip(stim, keep) if k] if stim is not None else None
    ev[:, 0] += round(pp.trigger_delay * raw.info["sfreq"])
    raw = raw.copy().pick(picks).load_data()
    if pp.l_freq is not None or pp.h_freq is not None:
        raw.filter(pp.l_freq, pp.h_freq, verbose=False)
    codes = sorted(set(ev[:, 2].tolist()))
    event_id = {str(c): c for c in codes}
    meta = pd.DataFrame({"label": [lab[c] for c in ev[:, 2]],
                         "stim_file": stim_kept if stim_kept is not None else [""] * len(ev)})
    epochs = mne.Epochs(raw, ev, event_id=event_id, tmin=pp.tmin, tmax=pp.tmax, baseline=pp.baseline,
                        decim=pp.decim, reject=pp.reject, preload=True, metadata=meta, verbose=False,
                        on_missing="ignore")
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
        raise UsageError(f"cannot read {path} as an MEG/EEG recording ({type(e).__name__}: {e}); give a raw FIF "
                         f"(or another format mne.io.read_raw reads)") from e


def load_raw_events(raw_path: str | Path, conditions: dict[str, list], pp: Preproc,
                    events_path: str | Path | None = None, stim: list[str] | None = None,
                    subject: str = "01") -> SubjectData:
    """A raw recording + events (an MNE events file, or found on the stim channel) → epochs."""
    import mne

    raw = _read_raw(Path(raw_path))
    if events_path is not None:
        try:
            events = mne.read_events(events_path)
        except Exception as e:
            raise UsageError(f"cannot read events from {events_path} ({e}); give an MNE events file (-eve.fif or "
                             f".eve/.txt with sample, previous, code columns)") from e
    else:
        try:
            events = mne.find_events(raw, shortest_event=1, verbose=False)
        except Exception as e:
            raise UsageError(f"{raw_path} has no usable stim channel ({e}); pass --events") from e
    return epochs_from_raw(raw, events, conditions, pp, subject, stim)


def load_epochs_fif(path: str | Path, conditions: dict[str, list], names: dict[str, list] | None = None,
                    subject: str | None = None) -> SubjectData:
    """An ``-epo.fif`` file; epochs whose event code or (slash-separated) name is in the map are kept."""
    import mne

    path = Path(path)
    if not path.exists():
        raise UsageError(f"epochs file {path} not found")
    try:
        epochs = mne.read_epochs(path, preload=True, verbose=False)
    except Exception as e:
        raise UsageError(f"cannot read {path} as MNE epochs ({type(e).__name__}: {e}); give an -epo.fif file") from e
    lab = _code_to_label(conditions, names)
    inv = {v: k for k, v in epochs.event_id.items()}
    labels = []
    for code in epochs.events[:, 2]:
        name = inv.get(code, "")
        tags = name.split("/")
        hit = lab.get(int(code), next((lab[t] for t in tags if t in lab), None))
        labels.append(-1 if hit is None else hit)
    labels = np.array(labels)
    if not (labels >= 0).any() or len(set(labels[labels >= 0])) < 2:
        raise UsageError(f"{path}: epochs with event ids {epochs.event_id} do not contain both familiar and unfamiliar "
                         f"trials under the map {conditions} / {names}; fix the condition map")
    keep = labels >= 0
    md = epochs.metadata
    stim = md["stim_file"].astype(str).tolist() if md is not None and "stim_file" in md else None
    _pick_channels(epochs.info, "meg+eeg")  # refuses files without MEG/EEG channels
    X = epochs.get_data(copy=False)[keep].astype(np.float64)
    return SubjectData(subject=subject or path.name.split("_")[0].replace("-epo.fif", ""), X=X, y=labels[keep],
                       times=epochs.times.copy(), ch_names=list(epochs.ch_names),
                       stim=[s for s, k in zip(stim, keep) if k] if stim is not None else None)


def bids_subjects(root: str | Path) -> list[str]:
    from mne_bids import get_entity_vals

    return sorted(get_entity_vals(root, "subject"))


def _event_codes(df, conditions: dict[str, list], names: dict[str, list] | None, path) -> np.ndarray:
    """Trigger codes of an events.tsv: its ``value`` (or ``trigger``) column, else its ``trial_type`` names
    mapped through ``names`` (e.g. Famous → the first familiar code); NaN where an event has neither."""
    import pandas as pd

    for col in ("value", "trigger"):
        if col in df:
            return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    if "trial_type" in df and names:
        lookup = {n: conditions[c][0] for c in ("familiar", "unfamiliar") for n in names.get(c, []) if conditions[c]}
        return np.array([lookup.get(str(t), np.nan) for t in df["trial_type"]], dtype=float)
    raise UsageError(f"{path} has neither a value/trigger column with the codes nor trial_type names to map; "
                     f"add one, or give data.names")


def load_bids(root: str | Path, conditions: dict[str, list], pp: Preproc, task: str = "facerecognition",
              subjects: list[str] | None = None, quiet: bool = True,
              names: dict[str, list] | None = None) -> list[SubjectData]:
    """Every run of every subject of a BIDS MEG dataset → one :class:`SubjectData` per subject.

    Codes come from events.tsv's ``value`` (or ``trigger``) column; without one, ``trial_type`` names are
    mapped through ``names`` (default: ds000117's Famous / Unfamiliar).
    """
    names = WAKEMAN_HENSON["names"] if names is None else names
    import pandas as pd
    from mne_bids import BIDSPath, read_raw_bids

    root = Path(root)
    if not (root / "dataset_description.json").exists():
        raise UsageError(f"{root} is not a BIDS root (no dataset_description.json); for ds000117 put the OpenNeuro "
                         f"dataset there, or run `meg-familiarity simulate --out {root}`")
    subs = subjects or bids_subjects(root)
    if not subs:
        raise UsageError(f"no sub-* folders under {root}")
    out = []
    for sub in subs:
        matches = BIDSPath(root=root, subject=sub, task=task, datatype="meg", suffix="meg").match()
        matches = [m for m in matches if m.extension in (".fif", ".ds", ".con", ".sqd", ".pdf")]
        if not matches:
            raise UsageError(f"sub-{sub}: no MEG recording for task {task!r} under {root}; check --set data.task")
        epochs_runs = []
        for bp in sorted(matches, key=lambda b: str(b.fpath)):
            raw = read_raw_bids(bp, verbose=False)
            ev_path = bp.copy().update(suffix="events", extension=".tsv")
            if not Path(ev_path.fpath).exists():
                raise UsageError(f"{ev_path.fpath} missing: BIDS MEG data needs an events.tsv per run")
            df = pd.read_csv(ev_path.fpath, sep="\t")
            onset = pd.to_numeric(df["onset"], errors="coerce").to_numpy()
            vals = _event_codes(df, conditions, names, ev_path.fpath)
            ok = ~np.isnan(onset) & ~np.isnan(vals)
            samples = raw.first_samp + np.round(onset[ok] * raw.info["sfreq"]).astype(int)
            events = np.column_stack([samples, np.zeros(ok.sum(), int), vals[ok].astype(int)])
            stim = df["stim_file"].astype(str).to_numpy()[ok].tolist() if "stim_file" in df else None
            raw.set_annotations(None)
            epochs_runs.append(epochs_from_raw(raw, events, conditions, pp, sub, stim))
        X = np.concatenate([e.X for e in epochs_runs])
        y = np.concatenate([e.y for e in epochs_runs])
        stim = [f for e in epochs_runs for f in e.stim] if all(e.stim is not None for e in epochs_runs) else None
        out.append(SubjectData(subject=sub, X=X, y=y, times=epochs_runs[0].times, ch_names=epochs_runs[0].ch_names,
                               stim=stim))
    return out


def load_stimuli(root: str | Path, files: list[str]) -> dict[str, np.ndarray]:
    """Images (as float RGB in [0, 1]) of the stimulus files named in events.tsv, relative to the BIDS root."""
    from skimage.color import gray2rgb
    from skimage.io import imread
    from skimage.util import img_as_float

    out = {}
    for f in sorted(set(files)):
        path = Path(root) / f
        if not path.exists() and (Path(root) / "stimuli" / Path(f).name).exists():
            path = Path(root) / "stimuli" / Path(f).name
        if not path.exists():
            raise UsageError(f"stimulus image {f} not found under {root} (nor under {root}/stimuli); the low-level "
                             f"control needs the images named in events.tsv's stim_file column")
        img = img_as_float(imread(path))
        if img.ndim == 2:
            img = gray2rgb(img)
        out[f] = img[..., :3]
    return out


def data_dir(cli_dir: Path | None) -> Path | None:
    d = cli_dir or os.environ.get("REPRO_DATA")
    return Path(d) if d else None


def check(dataset: str, root: Path | None) -> list[str]:
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
    return lines
