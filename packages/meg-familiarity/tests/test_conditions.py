"""Issue #12: condition maps that understand what users name things (epochs files written here)."""

import mne
import numpy as np
import pytest

from meg_familiarity.data import ConditionMap, load_epochs_fif
from meg_familiarity.simulate import neuromag_info
from reprokit import UsageError


def _epochs(path, event_id, codes):
    info = neuromag_info(100.0, "mag")
    n = len(codes)
    X = np.random.default_rng(0).normal(size=(n, len(info["ch_names"]), 10)) * 1e-13
    ev = np.column_stack([np.arange(n) * 100, np.zeros(n, int), codes])
    mne.EpochsArray(X, info, ev, tmin=-0.02, event_id=event_id, verbose=False).save(path, verbose=False)
    return path


def test_flat_names_of_a_new_user_are_understood(tmp_path):
    """The issue's case: event ids {"familiar": 1, "unfamiliar": 2} with the default map."""
    f = _epochs(tmp_path / "subj-epo.fif", {"familiar": 1, "unfamiliar": 2}, [1, 2, 2, 1, 1, 2])
    assert load_epochs_fif(f).y.tolist() == [1, 0, 0, 1, 1, 0]
    g = _epochs(tmp_path / "caps-epo.fif", {"Famous": 7, "UNFAMILIAR": 9, "Scrambled": 3}, [7, 9, 3, 7, 9, 3])
    assert load_epochs_fif(g).y.tolist() == [1, 0, 1, 0]  # case-insensitive; scrambled dropped


def test_hierarchical_names_match_by_tag(tmp_path):
    ids = {"face/famous/first": 1, "face/famous/repeat": 2, "face/unfamiliar/first": 3, "scrambled/first": 4}
    f = _epochs(tmp_path / "h-epo.fif", ids, [1, 3, 2, 4, 3, 1])
    assert load_epochs_fif(f).y.tolist() == [1, 0, 1, 0, 1]
    # an explicit map mixing a code and a full name
    assert load_epochs_fif(f, {"familiar": [1], "unfamiliar": ["face/unfamiliar/first"]}).y.tolist() == [1, 0, 0, 1]


def test_codes_only_and_explicit_codes(tmp_path):
    f = _epochs(tmp_path / "c-epo.fif", {"5": 5, "13": 13, "17": 17}, [5, 13, 17, 13, 5])
    assert load_epochs_fif(f).y.tolist() == [1, 0, 0, 1]  # ds000117's codes by default
    g = _epochs(tmp_path / "d-epo.fif", {"a": 21, "b": 22}, [21, 22, 22, 21])
    assert load_epochs_fif(g, {"familiar": [22], "unfamiliar": [21]}).y.tolist() == [0, 1, 1, 0]


def test_names_that_match_neither_exit_2_showing_what_was_found(tmp_path):
    from meg_familiarity.cli import main

    f = _epochs(tmp_path / "x-epo.fif", {"cat": 1, "dog": 2}, [1, 2, 1, 2])
    with pytest.raises(UsageError) as e:
        load_epochs_fif(f)
    msg = str(e.value)
    assert "'cat': 1" in msg and "'dog': 2" in msg
    assert '--conditions \'{"familiar": ["cat"], "unfamiliar": ["dog"]}\'' in msg
    assert load_epochs_fif(f, {"familiar": ["cat"], "unfamiliar": ["dog"]}).y.tolist() == [1, 0, 1, 0]  # the hint works
    assert main(["decode", "--epochs", str(f), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_a_map_that_says_both_is_refused():
    with pytest.raises(UsageError, match="both familiar and unfamiliar"):
        ConditionMap.parse({"familiar": ["face"], "unfamiliar": ["FACE"]})
    cm = ConditionMap.parse({"familiar": ["famous"], "unfamiliar": ["first"]})
    with pytest.raises(UsageError, match="matches both"):
        cm.label(name="face/famous/first")
    assert cm.label(code=5) is None and cm.label(name="Famous") == 1
