import mne
import pytest

mne.set_log_level("ERROR")


@pytest.fixture(scope="session")
def tiny_bids(tmp_path_factory):
    """A 2-subject simulated BIDS dataset (magnetometers only, 24 images × 2): the real on-disk format."""
    from meg_familiarity.simulate import SimConfig, simulate_dataset, write_bids

    root = tmp_path_factory.mktemp("bids")
    cfg = SimConfig(n_subjects=2, n_images=24, n_repeats=2, sfreq=125.0, channels="mag", effect=3e-8, seed=1)
    ds = simulate_dataset(cfg)
    write_bids(ds, root)
    return root, ds
