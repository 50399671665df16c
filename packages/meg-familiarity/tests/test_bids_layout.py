"""Issue #16: ds000117's layout (ses-meg, run-01, stim_file relative to stimuli/), the trigger delay checked
against STI101, and the optional Maxwell filter."""

import shutil

import numpy as np
import pandas as pd
import pytest

from meg_familiarity.data import Preproc, check, load_bids, load_stimuli, stimulus_path
from reprokit import UsageError


@pytest.fixture(scope="module")
def ds117_like(tmp_path_factory):
    """sub-0X/ses-meg/meg/sub-0X_ses-meg_task-facerecognition_run-01_{meg.fif,events.tsv}, stim_file meg/f0NN.bmp,
    images under stimuli/meg/ (ds000117's layout), written by mne-bids."""
    from meg_familiarity.simulate import SimConfig, simulate_dataset, write_bids

    root = tmp_path_factory.mktemp("ds117")
    ds = simulate_dataset(SimConfig(n_subjects=1, n_images=20, n_repeats=2, sfreq=125.0, channels="mag", seed=4))
    write_bids(ds, root, session="meg", stim_dir="meg", stim_ext=".bmp", run="01")
    return root, ds


def test_stimuli_resolved_as_bids_says(ds117_like, tmp_path):
    root, ds = ds117_like
    tsv = next(root.glob("sub-01/ses-meg/meg/sub-01_ses-meg_task-facerecognition_run-01_events.tsv"))
    df = pd.read_csv(tsv, sep="\t")
    assert df["stim_file"].str.match(r"meg/f\d{3}\.bmp").all() and not (root / "meg").exists()
    assert stimulus_path("meg/f003.bmp", root) == root / "stimuli" / "meg" / "f003.bmp"
    pp = Preproc(l_freq=None, h_freq=None, tmin=-0.05, tmax=0.3, trigger_delay=0.0345)
    sub = load_bids(root, None, pp)[0]
    imgs = load_stimuli(root, sub.stim)
    assert len(imgs) == 20 and all(v.shape == (25, 25, 3) for v in imgs.values())
    np.testing.assert_allclose(imgs["meg/f003.bmp"][..., 0], (ds.images[3] * 255).astype(np.uint8) / 255, atol=1e-12)
    with pytest.raises(UsageError, match=r"stimuli/meg/f003\.bmp"):  # the error names where it looked
        load_stimuli(tmp_path, ["meg/f003.bmp"])


def test_trigger_delay_applied_only_where_events_tsv_sits_on_the_triggers(ds117_like, tmp_path):
    root, _ = ds117_like
    notes: list[str] = []
    pp = Preproc(l_freq=None, h_freq=None, tmin=-0.05, tmax=0.3, trigger_delay=0.0345, delay_check=True)
    a = load_bids(root, None, pp, notes=notes)[0]
    assert "34.5 ms applied" in notes[0] and "median offset 0.0 ms" in notes[0]
    # the same events already shifted by the delay (4 samples at 125 Hz ≈ 32 ms, within 1.5 samples of 34.5 ms)
    copy = tmp_path / "shifted"
    shutil.copytree(root, copy)
    tsv = next(copy.glob("sub-01/ses-meg/meg/*_events.tsv"))
    df = pd.read_csv(tsv, sep="\t")
    df["onset"] = df["onset"] + 4 / 125.0
    df.to_csv(tsv, sep="\t", index=False, na_rep="n/a")
    notes2: list[str] = []
    b = load_bids(copy, None, pp, notes=notes2)[0]
    assert "no shift applied" in notes2[0]
    # applied once either way: the epochs agree up to the 2.5 ms rounding (same samples here)
    np.testing.assert_allclose(a.X, b.X)
    df["onset"] = df["onset"] + 6 / 125.0  # 80 ms after the triggers: neither
    df.to_csv(tsv, sep="\t", index=False, na_rep="n/a")
    with pytest.raises(UsageError, match="neither 0 nor"):
        load_bids(copy, None, pp)
    lines = check("ds000117", root)
    assert any("trigger delay" in ln and "34.5 ms applied" in ln for ln in lines)


def test_maxwell_filter_runs_and_projects_onto_the_sss_basis(tmp_path):
    """A 306-channel recording through the optional Maxwell filter: the MEG data keep at most the internal
    SSS dimension (int_order 8 → 80 components), far below the 306 channels."""
    from meg_familiarity.simulate import SimConfig, simulate_dataset, write_bids

    ds = simulate_dataset(SimConfig(n_subjects=1, n_images=8, n_repeats=1, sfreq=125.0, channels="all", seed=2))
    write_bids(ds, tmp_path)
    pp = Preproc(l_freq=None, h_freq=None, tmin=-0.05, tmax=0.2, trigger_delay=0.0345, maxwell=True,
                 maxwell_origin=[0.0, 0.01, 0.0])
    sub = load_bids(tmp_path, None, pp)[0]
    flat = sub.X.transpose(1, 0, 2).reshape(sub.X.shape[1], -1)
    mag = np.array([n.endswith("1") for n in sub.ch_names])
    s = np.linalg.svd(flat[mag] / flat[mag].std(), compute_uv=False)
    assert sub.X.shape[1] == 306 and (s > s[0] * 1e-6).sum() <= 80
    raw = load_bids(tmp_path, None, Preproc(l_freq=None, h_freq=None, tmin=-0.05, tmax=0.2, trigger_delay=0.0345))[0]
    flat_raw = raw.X.transpose(1, 0, 2).reshape(raw.X.shape[1], -1)[mag]
    s_raw = np.linalg.svd(flat_raw / flat_raw.std(), compute_uv=False)
    assert (s_raw > s_raw[0] * 1e-6).sum() == mag.sum()  # without the filter: full rank (the check can fail)
