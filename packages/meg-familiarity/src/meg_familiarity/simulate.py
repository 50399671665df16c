"""Simulated multi-subject MEG of a familiar-vs-unfamiliar face experiment (the offline default).

No MEG recording ships offline, so the ground truth is built with MNE from what does ship:

* the real Elekta/Neuromag 306-sensor geometry (``mne.channels.read_meg_canonical_info("neuromag")``:
  102 magnetometers + 204 planar gradiometers with their coil definitions);
* a spherical head model (``mne.make_sphere_model``) and current dipoles, forward-modelled with
  ``mne.make_forward_solution``;
* evoked components with planted latencies: an occipital M100 (peak 100 ms) whose amplitude grows with
  the stimulus's mean luminance (the low-level confound), bilateral fusiform M170 (170 ms) and a late
  temporal component (300 ms), plus the planted familiarity difference: a right anterior-temporal source
  that is ±effect/2 for familiar/unfamiliar faces from ``onset`` on (15 ms half-cosine rise);
* realistic noise: 40 background dipoles with 1/f-like (AR(1), φ=0.97) time courses, a 10 Hz alpha
  source, white sensor noise, trial-to-trial amplitude jitter, subject-specific source positions;
* the stimuli: the 100 real face crops of scikit-image's ``lfw_subset``, split into "familiar" and
  "unfamiliar" halves with a tunable luminance bias (so that low-level attributes partly predict
  familiarity, as the paper's control has to rule out).

``write_bids`` writes each subject as BIDS (``sub-XX/meg/sub-XX_task-facerecognition_meg.fif`` with
``events.tsv`` using the Wakeman & Henson trigger codes, a ``stim_file`` column relative to ``stimuli/``
as BIDS specifies, a 34.5 ms trigger-to-screen delay as in ds000117 and an STI101 channel with the
triggers), plus the images under ``stimuli/faces/``. Optionally (``image_effect``) every image evokes its
own response pattern, identical over its repeats: the image-specific signal that leaks into
familiarity decoding when repeats of one image fall in both training and test folds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FAMOUS_CODES = (5, 6, 7)
UNFAMILIAR_CODES = (13, 14, 15)
TASK = "facerecognition"


@dataclass
class SimConfig:
    n_subjects: int = 10
    n_images: int = 100  # taken from lfw_subset's 100 faces
    n_repeats: int = 2  # presentations of each image per subject
    sfreq: float = 250.0
    soa: float = 0.9  # mean stimulus onset asynchrony (s), jittered by ±soa_jitter
    soa_jitter: float = 0.1
    onset: float | None = 0.085  # planted familiarity onset (s); None: no familiarity effect (null)
    effect: float = 8e-9  # familiarity source amplitude difference (A·m)
    image_effect: float = 0.0  # image-specific responses: each image's own pattern over 40 sources (A·m)
    image_peak: float = 0.11  # latency (s) of the image-specific response
    confound: float = 0.3  # M100 gain per luminance z-unit (relative)
    luminance_bias: float = 1.0  # how much luminance drives the familiar/unfamiliar split (0: random)
    evoked_amp: float = 20e-9  # peak amplitude of the evoked components (A·m)
    noise_amp: float = 15e-9  # background dipole std (A·m)
    sensor_noise: float = 0.3  # white sensor noise relative to brain noise std per channel type
    trigger_delay: float = 0.0345  # screen onset after the trigger (s), as in ds000117
    channels: str = "all"  # all | mag | grad
    seed: int = 0
    anatomy_seed: int | None = None  # source positions/orientations per subject (default: seed)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"unknown simulation settings {unknown}; valid: {sorted(cls.__dataclass_fields__)}")
        return cls(**known)


# ----------------------------------------------------------------------------------------------
# stimuli
# ----------------------------------------------------------------------------------------------
def face_images(n: int = 100) -> np.ndarray:
    """The first ``n`` (≤ 100) real face crops of scikit-image's ``lfw_subset`` as float images in [0, 1]."""
    from skimage.data import lfw_subset

    faces = lfw_subset()[:100]
    if not 2 <= n <= len(faces):
        raise ValueError(f"n_images must be between 2 and {len(faces)}")
    return faces[:n].astype(np.float64)


def assign_familiarity(images: np.ndarray, bias: float, rng: np.random.Generator) -> np.ndarray:
    """Label half the images familiar (1): the top half of z(luminance)·bias + N(0, 1)."""
    lum = images.reshape(len(images), -1).mean(1)
    z = (lum - lum.mean()) / lum.std()
    score = bias * z + rng.normal(size=len(z))
    labels = np.zeros(len(z), dtype=int)
    labels[np.argsort(score)[len(z) // 2:]] = 1
    return labels


# ----------------------------------------------------------------------------------------------
# sensors and forward model
# ----------------------------------------------------------------------------------------------
SPHERE_ORIGIN = np.array([0.0, 0.01, 0.0])  # m, roughly the centre of the Neuromag helmet


def neuromag_info(sfreq: float, channels: str = "all"):
    """MNE ``Info`` of the real Neuromag-306 array (device = head frame)."""
    import mne

    info = mne.channels.read_meg_canonical_info("neuromag")
    picks = {"all": "meg", "mag": "mag", "grad": "grad"}.get(channels)
    if picks is None:
        raise ValueError(f"channels must be all, mag or grad, not {channels!r}")
    info = mne.pick_info(info, mne.pick_types(info, meg=picks if picks != "meg" else True))
    with info._unlock():
        info["sfreq"] = float(sfreq)
        info["lowpass"] = float(sfreq) / 2
        info["line_freq"] = 50.0
    return info


def leadfield(info, positions: np.ndarray, orientations: np.ndarray) -> np.ndarray:
    """Sensor fields (n_channels, n_dipoles) of unit dipoles in a sphere model (``make_forward_solution``)."""
    import mne

    sphere = mne.make_sphere_model(r0=tuple(SPHERE_ORIGIN), head_radius=None, verbose=False)
    src = mne.setup_volume_source_space(pos=dict(rr=positions, nn=orientations), verbose=False)
    meg_info = mne.pick_info(info, mne.pick_types(info, meg=True))
    fwd = mne.make_forward_solution(meg_info, trans=None, src=src, bem=sphere, meg=True, eeg=False, verbose=False)
    G = fwd["sol"]["data"].reshape(len(meg_info["ch_names"]), -1, 3)  # free orientation, x/y/z per dipole
    return np.einsum("cdk,dk->cd", G, orientations)


def _tangential(pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random unit orientation tangential to the sphere at ``pos`` (radial dipoles are MEG-silent)."""
    r = pos - SPHERE_ORIGIN
    r = r / np.linalg.norm(r)
    v = rng.normal(size=3)
    v -= v @ r * r
    return v / np.linalg.norm(v)


# ----------------------------------------------------------------------------------------------
# time courses
# ----------------------------------------------------------------------------------------------
def gaussian_wave(t: np.ndarray, peak: float, width: float) -> np.ndarray:
    """exp(−(t − peak)² / (2 width²))."""
    return np.exp(-0.5 * ((t - peak) / width) ** 2)


def onset_step(t: np.ndarray, onset: float, rise: float = 0.015, offset: float = 0.45) -> np.ndarray:
    """0 before ``onset``, a half-cosine rise over ``rise`` s, 1 until ``offset``, then a 50 ms fall."""
    up = np.clip((t - onset) / rise, 0, 1)
    down = np.clip(1 - (t - offset) / 0.05, 0, 1)
    return 0.5 * (1 - np.cos(np.pi * up)) * down


@dataclass
class SubjectSim:
    data: np.ndarray  # (n_channels, n_samples) in T and T/m
    events: np.ndarray  # (n_trials, 3) MNE events at the *trigger* samples
    image: np.ndarray  # (n_trials,) index of the image shown
    label: np.ndarray  # (n_trials,) 1 familiar, 0 unfamiliar
    info: Any


N_BACKGROUND = 40


N_IMAGE_SOURCES = 40


def subject_anatomy(info, anatomy_seed: int, subject: int) -> tuple[np.ndarray, np.ndarray]:
    """Lead fields of one subject's 5 evoked + 40 image sources and 40 background dipoles: (G_evoked, G_background).

    Sources: occipital (M100), left/right fusiform (M170), left temporal (late), right anterior temporal
    (familiarity), each jittered by 4 mm per subject, with tangential orientations; then 40 posterior dipoles
    that carry the image-specific responses (a distributed pattern per image).
    """
    rng = np.random.default_rng([anatomy_seed, subject, 7])
    base = np.array([[0.0, -0.065, 0.01], [-0.04, -0.035, -0.02], [0.04, -0.035, -0.02],
                     [-0.05, 0.0, -0.01], [0.05, 0.0, -0.015]]) + SPHERE_ORIGIN
    pos = base + rng.normal(scale=0.004, size=base.shape)
    img_dir = rng.normal(size=(N_IMAGE_SOURCES, 3))
    img_dir[:, 1] = -np.abs(img_dir[:, 1]) - 0.5  # posterior (occipito-temporal) half
    img_pos = SPHERE_ORIGIN + img_dir / np.linalg.norm(img_dir, axis=1, keepdims=True) * rng.uniform(
        0.04, 0.07, (N_IMAGE_SOURCES, 1))
    pos = np.vstack([pos, img_pos])
    ori = np.array([_tangential(p, rng) for p in pos])
    bg_dir = rng.normal(size=(N_BACKGROUND, 3))
    radius = rng.uniform(0.03, 0.07, (N_BACKGROUND, 1))
    bg_pos = SPHERE_ORIGIN + bg_dir / np.linalg.norm(bg_dir, axis=1, keepdims=True) * radius
    bg_ori = np.array([_tangential(p, rng) for p in bg_pos])
    G = leadfield(info, np.vstack([pos, bg_pos]), np.vstack([ori, bg_ori]))
    return G[:, : len(pos)], G[:, len(pos):]


def simulate_subject(cfg: SimConfig, subject: int, familiar: np.ndarray, luminance_z: np.ndarray,
                     info=None, fwd_cache: dict | None = None, image_codes: np.ndarray | None = None) -> SubjectSim:
    """One subject's continuous recording; trials present each image ``n_repeats`` times in random order."""
    rng = np.random.default_rng([cfg.seed, subject])
    info = info if info is not None else neuromag_info(cfg.sfreq, cfg.channels)
    sf = cfg.sfreq
    anat = cfg.seed if cfg.anatomy_seed is None else cfg.anatomy_seed
    key = (anat, subject, cfg.channels)
    if fwd_cache is not None and key in fwd_cache:
        G_ev, G_bg = fwd_cache[key]
    else:
        G_ev, G_bg = subject_anatomy(info, anat, subject)
        if fwd_cache is not None:
            fwd_cache[key] = (G_ev, G_bg)
    n_bg = G_bg.shape[1]

    # trial sequence
    images = np.repeat(np.arange(len(familiar)), cfg.n_repeats)
    images = rng.permutation(images)
    labels = familiar[images]
    soas = cfg.soa + rng.uniform(-cfg.soa_jitter, cfg.soa_jitter, len(images))
    delay = round(cfg.trigger_delay * sf)
    trig = (np.round((0.5 + np.cumsum(np.r_[0, soas[:-1]])) * sf)).astype(int)
    n_samples = int(trig[-1] + (cfg.soa + 0.5) * sf)

    # evoked source time courses
    t = np.arange(int(0.7 * sf)) / sf
    amp = cfg.evoked_amp * rng.uniform(0.8, 1.2, 4)
    m100 = amp[0] * gaussian_wave(t, 0.100, 0.015)
    m170 = gaussian_wave(t, 0.170, 0.020)
    late = amp[3] * gaussian_wave(t, 0.300, 0.060)
    img_wave = gaussian_wave(t, cfg.image_peak, 0.03)
    fam = (cfg.effect * rng.uniform(0.8, 1.2) * onset_step(t, cfg.onset)) if cfg.onset is not None else 0 * t
    S = np.zeros((G_ev.shape[1], n_samples))
    for i, (tr, img) in enumerate(zip(trig, images)):
        s0 = tr + delay
        jit = 1 + 0.2 * rng.normal()
        seg = slice(s0, s0 + len(t))
        S[0, seg] += jit * m100 * (1 + cfg.confound * luminance_z[img])
        S[1, seg] += jit * amp[1] * m170
        S[2, seg] += jit * amp[2] * m170
        S[3, seg] += jit * late
        S[4, seg] += (labels[i] - 0.5) * fam
        if image_codes is not None and cfg.image_effect > 0:
            S[5:5 + N_IMAGE_SOURCES, seg] += jit * cfg.image_effect * image_codes[img][:, None] * img_wave[None, :]

    # noise: 1/f-like background dipoles + an alpha rhythm + white sensor noise
    from scipy.signal import lfilter

    bg = lfilter([1.0], [1.0, -0.97], rng.normal(size=(n_bg, n_samples)), axis=1)
    bg *= cfg.noise_amp / bg.std(axis=1, keepdims=True)
    tt = np.arange(n_samples) / sf
    bg[0] += cfg.noise_amp * np.sin(2 * np.pi * (10 + 0.5 * rng.normal()) * tt + rng.uniform(0, 2 * np.pi))
    data = G_ev @ S + G_bg @ bg
    for kind in ("mag", "grad"):
        idx = _pick_kind(info, kind)
        if len(idx):
            sd = np.std(G_bg[idx] @ bg[:, : int(10 * sf)])
            data[idx] += cfg.sensor_noise * sd * rng.normal(size=(len(idx), n_samples))
    codes = np.where(labels == 1, rng.choice(FAMOUS_CODES, len(labels)), rng.choice(UNFAMILIAR_CODES, len(labels)))
    events = np.column_stack([trig, np.zeros_like(trig), codes])
    return SubjectSim(data=data, events=events, image=images, label=labels, info=info)


def _pick_kind(info, kind: str) -> np.ndarray:
    import mne

    return mne.pick_types(info, meg=kind)


def simulate_epochs(sim: SubjectSim, tmin: float = -0.1, tmax: float = 0.5, decim: int = 1,
                    trigger_delay: float = 0.0345) -> tuple[np.ndarray, np.ndarray]:
    """Cut (n_trials, n_channels, n_times) epochs around screen onsets with a pre-stimulus baseline.

    The in-memory shortcut used for the many null/planted simulations (no filtering, no files).
    """
    sf = sim.info["sfreq"]
    first = round(tmin * sf)  # epochs start on the sample grid, as mne.Epochs does
    start = sim.events[:, 0] + round(trigger_delay * sf) + first
    n = round(tmax * sf) - first + 1
    idx = start[:, None] + np.arange(n)[None, :]
    X = sim.data[:, idx].transpose(1, 0, 2)  # (trials, channels, times)
    times = (first + np.arange(n)) / sf  # the times of those samples (not tmin + k/sf when tmin is off-grid)
    X = X - X[:, :, times < 0].mean(-1, keepdims=True)
    return X[:, :, ::decim], times[::decim]


# ----------------------------------------------------------------------------------------------
# the whole dataset
# ----------------------------------------------------------------------------------------------
@dataclass
class SimDataset:
    subjects: list[SubjectSim]
    images: np.ndarray  # (n_images, H, W)
    familiar: np.ndarray  # (n_images,)
    config: SimConfig


def simulate_dataset(cfg: SimConfig, fwd_cache: dict | None = None) -> SimDataset:
    """All subjects of one simulated experiment, sharing stimuli and their familiarity split.

    ``fwd_cache`` (a dict) keeps each subject's lead fields between calls (the many null simulations).
    """
    rng = np.random.default_rng([cfg.seed, 10_000])
    images = face_images(cfg.n_images)
    familiar = assign_familiarity(images, cfg.luminance_bias, rng)
    lum = images.reshape(len(images), -1).mean(1)
    lum_z = (lum - lum.mean()) / lum.std()
    info = neuromag_info(cfg.sfreq, cfg.channels)
    # each image's own response pattern over the image sources (the same in every subject and repeat)
    codes = rng.normal(size=(len(images), N_IMAGE_SOURCES)) / np.sqrt(N_IMAGE_SOURCES)
    subs = [simulate_subject(cfg, s, familiar, lum_z, info, fwd_cache, codes) for s in range(cfg.n_subjects)]
    return SimDataset(subjects=subs, images=images, familiar=familiar, config=cfg)


def write_bids(ds: SimDataset, root: str | Path, quiet: bool = True, session: str | None = None,
               stim_dir: str = "faces", stim_ext: str = ".png", run: str | None = None) -> Path:
    """Write the dataset as BIDS (mne-bids) with ds000117's trigger codes, ``stim_file`` column and stimuli.

    As BIDS specifies, ``stim_file`` is relative to ``<root>/stimuli/``: ``faces/face003.png`` lives at
    ``stimuli/faces/face003.png`` (ds000117: ``meg/f103.bmp`` at ``stimuli/meg/f103.bmp``; give
    ``session="meg", stim_dir="meg", stim_ext=".bmp", run="01"`` for that layout). STI101 holds 10 ms trigger
    pulses at the trigger samples, events.tsv the trigger times (the screen follows ``trigger_delay`` later).
    """
    import mne
    import pandas as pd
    from mne_bids import BIDSPath, make_dataset_description, write_raw_bids
    from skimage.io import imsave

    root = Path(root)
    (root / "stimuli" / stim_dir).mkdir(parents=True, exist_ok=True)
    prefix = "f" if stim_ext == ".bmp" else "face"
    names = [f"{stim_dir}/{prefix}{i:03d}{stim_ext}" for i in range(len(ds.images))]
    for name, img in zip(names, ds.images):
        imsave(root / "stimuli" / name, (np.clip(img, 0, 1) * 255).astype(np.uint8), check_contrast=False)
    event_id = {**{f"Famous/{c}": c for c in FAMOUS_CODES}, **{f"Unfamiliar/{c}": c for c in UNFAMILIAR_CODES}}
    for s, sub in enumerate(ds.subjects):
        stim = np.zeros((1, sub.data.shape[1]))
        width = max(1, round(0.01 * sub.info["sfreq"]))
        for smp, code in sub.events[:, [0, 2]]:
            stim[0, smp:smp + width] = code
        raw = mne.io.RawArray(sub.data, sub.info, verbose=False)
        stim_raw = mne.io.RawArray(stim, mne.create_info(["STI101"], sub.info["sfreq"], "stim"), verbose=False)
        raw.add_channels([stim_raw], force_update_info=True)
        bp = BIDSPath(subject=f"{s + 1:02d}", session=session, task=TASK, run=run, datatype="meg", root=root)
        write_raw_bids(raw, bp, events=sub.events, event_id=event_id, overwrite=True, allow_preload=True,
                       format="FIF", verbose=False)
        ev_path = bp.copy().update(suffix="events", extension=".tsv")
        df = pd.read_csv(ev_path.fpath, sep="\t")
        if len(df) != len(sub.image):
            raise RuntimeError("mne-bids wrote an unexpected number of events")
        df["stim_file"] = [names[i] for i in sub.image]
        df.to_csv(ev_path.fpath, sep="\t", index=False, na_rep="n/a")
    make_dataset_description(path=root, name="meg-familiarity simulation (Neuromag-306 geometry, sphere model)",
                             overwrite=True, verbose=False)
    truth = {**asdict(ds.config), "familiar_images": [names[i] for i in np.flatnonzero(ds.familiar)]}
    import json

    (root / "simulation_truth.json").write_text(json.dumps(truth, indent=1))
    return root
