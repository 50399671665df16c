"""reprokit's torch helpers: seeding, devices, checkpoints, distributed no-ops (DDP itself: tests/)."""

import pytest

torch = pytest.importorskip("torch")

from reprokit import UsageError, load_checkpoint, save_checkpoint, seed_everything  # noqa: E402
from reprokit.device import amp_dtype, resolve_device  # noqa: E402
from reprokit.distributed import all_reduce_mean, all_reduce_sum, get_info, init_distributed, wrap_model  # noqa: E402


def _train_tiny(seed: int) -> torch.Tensor:
    seed_everything(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 5), torch.randn(32, 1)
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_seed_everything_makes_torch_training_repeatable():
    a, b, c = _train_tiny(0), _train_tiny(0), _train_tiny(1)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_dataloader_shuffle_repeatable_with_generator():
    from reprokit.seeding import make_generator, seed_worker

    ds = torch.utils.data.TensorDataset(torch.arange(20))
    orders = [[int(x) for (b,) in torch.utils.data.DataLoader(ds, batch_size=4, shuffle=True,
                                                             generator=make_generator(s), worker_init_fn=seed_worker)
               for x in b] for s in (3, 3, 4)]
    assert orders[0] == orders[1] and orders[0] != orders[2]
    assert sorted(orders[0]) == list(range(20))


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(UsageError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="no CUDA GPU"):
            resolve_device("cuda")
    assert amp_dtype(torch.device("cpu")) is None
    from reprokit.device import describe_device

    assert describe_device(torch.device("cpu")) == {"device": "cpu", "torch_threads": torch.get_num_threads()}


def test_checkpoint_roundtrip_and_corrupt_file(tmp_path):
    state = {"step": 3, "w": torch.arange(4.0), "opt": {"lr": 0.1}}
    p = save_checkpoint(tmp_path / "ck" / "last.pt", state)
    back = load_checkpoint(p)
    assert back["step"] == 3 and torch.equal(back["w"], state["w"]) and back["opt"] == {"lr": 0.1}
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(UsageError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_distributed_helpers_are_noops_in_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = init_distributed("cpu")
    assert (info.rank, info.world_size, info.enabled, info.is_main) == (0, 1, False, True)
    assert get_info() == info
    assert all_reduce_mean({"a": 2.0}) == {"a": 2.0} and all_reduce_sum({"n": 3}) == {"n": 3}
    m = torch.nn.Linear(2, 2)
    assert wrap_model(m, torch.device("cpu")) is m


def test_configure_threads_order(monkeypatch):
    from reprokit.device import configure_threads

    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1
        monkeypatch.setenv("REPRO_THREADS", "2")
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert configure_threads() == 2
        monkeypatch.delenv("REPRO_THREADS")
        assert configure_threads() == 1
    finally:
        torch.set_num_threads(before)
