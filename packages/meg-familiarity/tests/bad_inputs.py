"""meg-familiarity's rows of the cross-package bad-input table (tests/test_bad_input.py): each case must exit 2,
print one line on stderr and write nothing (issue #8)."""

from pathlib import Path


def _fixtures(tmp: Path) -> dict[str, Path]:
    import mne
    import numpy as np
    import pandas as pd

    from meg_familiarity.simulate import neuromag_info

    info = neuromag_info(100.0, "mag")
    rng = np.random.default_rng(0)
    n, p, T = 12, len(info["ch_names"]), 20
    X = rng.normal(size=(n, p, T)) * 1e-13
    events = np.column_stack([np.arange(n) * 100, np.zeros(n, int), np.array([1, 2] * (n // 2))])
    out = {}
    good = tmp / "names-epo.fif"  # event names the default map understands
    mne.EpochsArray(X, info, events, tmin=-0.05, event_id={"familiar": 1, "unfamiliar": 2}, verbose=False).save(
        good, overwrite=True, verbose=False)
    out["good"] = good
    other = tmp / "cats-epo.fif"  # names that match neither condition
    mne.EpochsArray(X, info, events, tmin=-0.05, event_id={"cat": 1, "dog": 2}, verbose=False).save(
        other, overwrite=True, verbose=False)
    out["other"] = other
    Xn = X.copy()
    Xn[3, 5, 7] = np.nan
    nan = tmp / "nan-epo.fif"
    mne.EpochsArray(Xn, info, events, tmin=-0.05, event_id={"familiar": 1, "unfamiliar": 2}, verbose=False).save(
        nan, overwrite=True, verbose=False)
    out["nan"] = nan
    meta = pd.DataFrame({"stim_file": [f"img{i}.png" for i in range(n)]})
    stim = tmp / "stim-epo.fif"  # stim_file metadata, but no images anywhere
    mne.EpochsArray(X, info, events, tmin=-0.05, event_id={"famous": 1, "unfamiliar": 2}, metadata=meta,
                    verbose=False).save(stim, overwrite=True, verbose=False)
    out["stim"] = stim
    (tmp / "no-images").mkdir(exist_ok=True)
    out["no_images"] = tmp / "no-images"
    text = tmp / "notes-epo.fif"
    text.write_text("not a FIF file\n")
    out["text"] = text
    empty = tmp / "empty-epo.fif"
    empty.write_bytes(b"")
    out["empty"] = empty
    raw = tmp / "rec_raw.fif"
    mne.io.RawArray(rng.normal(size=(p, 500)) * 1e-13, info, verbose=False).save(raw, overwrite=True, verbose=False)
    out["raw"] = raw
    ev_text = tmp / "events.txt"
    ev_text.write_text("these are not events\n")
    out["ev_text"] = ev_text
    notbids = tmp / "not-bids"
    notbids.mkdir(exist_ok=True)
    out["not_bids"] = notbids
    full = tmp / "full"
    full.mkdir(exist_ok=True)
    (full / "something.txt").write_text("x\n")
    out["full"] = full
    return out


def cases(tmp: Path) -> list[tuple[str, list[str]]]:
    f = _fixtures(tmp)
    smoke = ["reproduce", "--preset", "smoke", "--quiet"]
    dec = ["decode", "--quiet"]
    return [
        # issue #8's three meg-familiarity rows
        ("decode: malformed --conditions JSON (issue #8)",
         [*dec, "--epochs", str(tmp / "missing-epo.fif"), "--conditions", "{bad", "--out", str(tmp / "o9")]),
        ("decode: missing epochs file (issue #8)", [*dec, "--epochs", str(tmp / "missing-epo.fif"),
                                                    "--out", str(tmp / "o8")]),
        ("simulate: negative subject count (issue #8)", ["simulate", "--subjects", "-3", "--out", str(tmp / "o10")]),
        # decode
        ("decode: malformed --conditions JSON on a real file",
         [*dec, "--epochs", str(f["good"]), "--conditions", "{bad", "--out", str(tmp / "o11")]),
        ("decode: text file named -epo.fif", [*dec, "--epochs", str(f["text"]), "--out", str(tmp / "o12")]),
        ("decode: empty epochs file", [*dec, "--epochs", str(f["empty"])]),
        ("decode: event names match neither condition", [*dec, "--epochs", str(f["other"])]),
        ("decode: condition map with wrong keys",
         [*dec, "--epochs", str(f["good"]), "--conditions", '{"famous": [1], "other": [2]}']),
        ("decode: condition map with a float code",
         [*dec, "--epochs", str(f["good"]), "--conditions", '{"familiar": [1.5], "unfamiliar": [2]}']),
        ("decode: NaN in the epochs", [*dec, "--epochs", str(f["nan"])]),
        ("decode: more folds than trials", [*dec, "--epochs", str(f["good"]), "--folds", "50"]),
        ("decode: --folds 0", [*dec, "--epochs", str(f["good"]), "--folds", "0"]),
        ("decode: --folds 1 via --set", [*dec, "--epochs", str(f["good"]), "--set", "decoding.folds=1"]),
        ("decode: window longer than the epochs", [*dec, "--epochs", str(f["good"]), "--window", "500"]),
        ("decode: malformed --reject JSON", [*dec, "--epochs", str(f["good"]), "--reject", "{grad: "]),
        ("decode: unknown channel picks", [*dec, "--epochs", str(f["good"]), "--picks", "eyes"]),
        ("decode: two inputs", [*dec, "--epochs", str(f["good"]), "--raw", str(f["raw"])]),
        ("decode: no input", [*dec, "--out", str(tmp / "o13")]),
        ("decode: --resume with new flags", [*dec, "--resume", str(tmp / "o14"), "--folds", "3"]),
        ("decode: raw with a text events file", [*dec, "--raw", str(f["raw"]), "--events", str(f["ev_text"])]),
        ("decode: raw that is a text file", [*dec, "--raw", str(f["text"])]),
        ("decode: raw without stim channel or events", [*dec, "--raw", str(f["raw"])]),
        ("decode: BIDS root that is not one", [*dec, "--bids-root", str(f["not_bids"])]),
        ("decode: --subject-perms -5", [*dec, "--epochs", str(f["good"]), "--subject-perms", "-5"]),
        # control
        ("control: epochs without stimulus images", ["control", "--epochs", str(f["good"])]),
        ("control: stim_file images missing", ["control", "--epochs", str(f["stim"]), "--stimuli-root",
                                               str(f["no_images"])]),
        ("control: unknown attribute to match on", ["control", "--epochs", str(f["stim"]), "--stimuli-root",
                                                    str(f["no_images"]), "--match-on", "smell"]),
        ("control: caliper 0", ["control", "--epochs", str(f["stim"]), "--caliper", "0"]),
        # simulate
        ("simulate: sfreq too low", ["simulate", "--sfreq", "50", "--out", str(tmp / "o15")]),
        ("simulate: negative effect", ["simulate", "--effect=-1e-8", "--out", str(tmp / "o16")]),
        ("simulate: non-empty --out", ["simulate", "--subjects", "1", "--out", str(f["full"])]),
        ("simulate: --repeats not a number", ["simulate", "--repeats", "two", "--out", str(tmp / "o17")]),
        # reproduce: config values out of range (schema.py)
        ("reproduce: alpha 1.5", [*smoke, "--set", "stats.alpha=1.5"]),
        ("reproduce: unknown classifier", [*smoke, "--set", "decoding.classifier=forest"]),
        ("reproduce: tmax before tmin", [*smoke, "--set", "data.preproc.tmax=-0.2"]),
        ("reproduce: early window reversed", [*smoke, "--set", "claims.early_window=[0.15, 0.08]"]),
        ("reproduce: folds by colour", [*smoke, "--set", "decoding.folds_by=colour"]),
        ("reproduce: 0 simulated subjects", [*smoke, "--set", "simulation.n_subjects=0"]),
        ("reproduce: conditions with one key", [*smoke, "--set", "data.conditions={familiar: [5]}"]),
        ("reproduce: --device cuda", [*smoke, "--device", "cuda"]),
        ("reproduce: ds000117 without data", [*smoke, "--dataset", "ds000117"]),
        ("reproduce: epochs from an empty folder", [*smoke, "--dataset", "epochs", "--data-dir", str(f["no_images"])]),
        ("reproduce: missing calibration file", [*smoke, "--set", "data.preproc.maxwell=true",
                                                 "--set", f"data.preproc.calibration={tmp / 'sss_cal.dat'}"]),
        # data
        ("data check: ds000117 folder missing", ["data", "check", "--dataset", "ds000117", "--data-dir",
                                                 str(tmp / "nowhere")]),
        ("data check: not a BIDS root", ["data", "check", "--dataset", "ds000117", "--data-dir", str(f["not_bids"])]),
    ]
