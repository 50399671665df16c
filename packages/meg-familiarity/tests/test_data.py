"""Loaders on files written in the real on-disk formats (FIF epochs, raw FIF + events, BIDS)."""

import json

import mne
import numpy as np
import pytest

from meg_familiarity.data import (
    WAKEMAN_HENSON,
    Preproc,
    SubjectData,
    check,
    load_bids,
    load_epochs_fif,
    load_raw_events,
)
from meg_familiarity.simulate import neuromag_info
from reprokit import UsageError

COND = WAKEMAN_HENSON["conditions"]


def _raw_with_events(sfreq=200.0, n=20, delay=0.0345):
    """Magnetometer raw with a box response starting exactly at trigger + delay in familiar trials."""
    info = neuromag_info(sfreq, "mag")
    n_samp = int(sfreq * (n + 2))
    data = np.random.default_rng(0).normal(scale=1e-14, size=(len(info["ch_names"]), n_samp))
    trig = (np.arange(n) + 1) * int(sfreq)
    codes = np.where(np.arange(n) % 2 == 0, 5, 13)
    d = round(delay * sfreq)
    for s, c in zip(trig, codes):
        if c == 5:
            data[:, s + d: s + d + 10] += 1e-12
    return mne.io.RawArray(data, info, verbose=False), np.column_stack([trig, np.zeros(n, int), codes])


def test_raw_fif_plus_events_file_with_trigger_delay(tmp_path):
    raw, events = _raw_with_events()
    raw.save(tmp_path / "sub-01_raw.fif")
    mne.write_events(tmp_path / "sub-01-eve.fif", events)
    pp = Preproc(l_freq=None, h_freq=None, tmin=-0.05, tmax=0.1, baseline=(None, 0.0), trigger_delay=0.0345)
    sub = load_raw_events(tmp_path / "sub-01_raw.fif", COND, pp, tmp_path / "sub-01-eve.fif")
    assert sub.X.shape[0] == 20 and sub.y.tolist() == [1, 0] * 10
    fam = sub.X[sub.y == 1].mean((0, 1))
    # after the delay correction the response starts at t = 0 exactly
    assert fam[sub.times < -0.001].max() < 1e-13 and fam[(sub.times >= 0) & (sub.times < 0.045)].min() > 5e-13


def test_epochs_fif_with_names_and_metadata(tmp_path):
    import pandas as pd

    info = neuromag_info(100.0, "mag")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, len(info["ch_names"]), 30)) * 1e-13
    codes = np.array([5, 13, 17] * 4)
    events = np.column_stack([np.arange(12) * 100, np.zeros(12, int), codes])
    meta = pd.DataFrame({"stim_file": [f"img{i}.png" for i in range(12)]})
    ep = mne.EpochsArray(X, info, events, tmin=-0.1, event_id={"Famous": 5, "Unfamiliar": 13, "Scrambled": 17},
                         metadata=meta, verbose=False)
    ep.save(tmp_path / "sub-02-epo.fif")
    sub = load_epochs_fif(tmp_path / "sub-02-epo.fif", COND)
    assert len(sub.y) == 8 and sub.y.tolist() == [1, 0] * 4  # scrambled dropped
    assert sub.stim == [f"img{i}.png" for i in range(12) if codes[i] != 17]
    np.testing.assert_allclose(sub.X, X[codes != 17])
    by_name = load_epochs_fif(tmp_path / "sub-02-epo.fif", {"familiar": ["famous"], "unfamiliar": ["UNFAMILIAR"]})
    assert by_name.y.tolist() == sub.y.tolist()
    assert load_epochs_fif(tmp_path / "sub-02-epo.fif", None).y.tolist() == sub.y.tolist()  # default map


def test_bids_loader_reads_the_simulated_dataset(tiny_bids):
    root, ds = tiny_bids
    pp = Preproc(l_freq=None, h_freq=None, tmin=-0.1, tmax=0.4, trigger_delay=0.0345)
    subs = load_bids(root, COND, pp)
    assert [s.subject for s in subs] == ["01", "02"]
    truth = json.loads((root / "simulation_truth.json").read_text())
    fam_files = set(truth["familiar_images"])
    for s, sim in zip(subs, ds.subjects):
        assert len(s.y) == len(sim.label) == 48
        np.testing.assert_array_equal(s.y, sim.label)
        assert all((f in fam_files) == bool(lab) for f, lab in zip(s.stim, s.y))
        assert s.X.shape[1] == 102
    # the M100 peak lands at ~100 ms after the trigger-delay correction
    gfp = subs[0].X.mean(0).std(0)
    assert 0.07 <= subs[0].times[np.argmax(gfp)] <= 0.2
    assert check("simulated", root)[0].startswith("BIDS root")


def test_bad_inputs_raise_usage_errors(tmp_path, tiny_bids):
    root, _ = tiny_bids
    bad = tmp_path / "notes-epo.fif"
    bad.write_text("not a fif file")
    with pytest.raises(UsageError, match="cannot read"):
        load_epochs_fif(bad, COND)
    raw, events = _raw_with_events(n=6)
    raw.save(tmp_path / "r_raw.fif")
    mne.write_events(tmp_path / "r-eve.fif", events)
    with pytest.raises(UsageError, match="no usable stim channel"):
        load_raw_events(tmp_path / "r_raw.fif", COND, Preproc(), None)
    with pytest.raises(UsageError, match="do not give both familiar and unfamiliar"):
        load_raw_events(tmp_path / "r_raw.fif", {"familiar": [99], "unfamiliar": [98]}, Preproc(),
                        tmp_path / "r-eve.fif")
    with pytest.raises(UsageError, match="stimulus entries"):
        load_raw_events(tmp_path / "r_raw.fif", COND, Preproc(l_freq=None, h_freq=None), tmp_path / "r-eve.fif",
                        stim=["a.png"])
    with pytest.raises(UsageError, match="exactly the keys"):
        load_bids(root, {"famous": [5]}, Preproc())
    with pytest.raises(UsageError, match="not a BIDS root"):
        load_bids(tmp_path, COND, Preproc())
    with pytest.raises(UsageError, match="stimulus entries"):
        SubjectData("x", np.zeros((3, 2, 4)), np.array([0, 1, 0]), np.arange(4.0), ["a", "b"], stim=["s"])
    eeg = mne.io.RawArray(np.zeros((2, 400)), mne.create_info(["EEG1", "STI101"], 100.0, ["eeg", "stim"]))
    eeg.save(tmp_path / "eeg_raw.fif")
    with pytest.raises(UsageError, match="is it an MEG recording"):
        load_raw_events(tmp_path / "eeg_raw.fif", COND, Preproc(), tmp_path / "r-eve.fif")


def test_bids_events_without_codes_use_trial_type_names(tiny_bids, tmp_path):
    import shutil

    import pandas as pd

    root, ds = tiny_bids
    copy = tmp_path / "bids"
    shutil.copytree(root, copy)
    for tsv in copy.glob("sub-*/meg/*_events.tsv"):
        df = pd.read_csv(tsv, sep="\t")
        df["trial_type"] = ["Famous" if v in (5, 6, 7) else "Unfamiliar" for v in df["value"]]
        df.drop(columns=["value"]).to_csv(tsv, sep="\t", index=False)
    pp = Preproc(l_freq=None, h_freq=None, tmin=-0.1, tmax=0.3, trigger_delay=0.0345)
    subs = load_bids(copy, None, pp, subjects=["01"])  # the default map knows the names Famous / Unfamiliar
    np.testing.assert_array_equal(subs[0].y, ds.subjects[0].label)
    with pytest.raises(UsageError, match="Famous"):  # a codes-only map on a file without codes: names shown
        load_bids(copy, COND, pp, subjects=["01"])
    for tsv in copy.glob("sub-*/meg/*_events.tsv"):
        pd.read_csv(tsv, sep="\t").drop(columns=["trial_type"]).to_csv(tsv, sep="\t", index=False)
    with pytest.raises(UsageError, match="neither a value/trigger column"):
        load_bids(copy, COND, pp, subjects=["01"])
