"""Loaders on small files written in the real on-disk formats; corrupt files are named."""

import pickle

import numpy as np
import pytest
from conftest import learnable_images, write_cifar10, write_cifar100, write_idx, write_mnist_like

from lskd.data import describe_datasets, load_dataset, read_idx
from reprokit import UsageError


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip_plain_and_gzip(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "x-idx3-ubyte", arr, gz=gz)
    np.testing.assert_array_equal(read_idx(path), arr)


def test_mnist_loader_reads_idx_and_subsets(tmp_path):
    root = write_mnist_like(tmp_path / "MNIST" / "raw", n_train=50, n_test=30, gz=False)
    data = load_dataset("mnist", tmp_path)  # found in the accepted sub-folder MNIST/raw
    assert data.root == root and data.num_classes == 10 and data.in_channels == 1
    assert len(data.train) == 50 and len(data.test) == 30
    x, y, i = data.train[7]
    assert x.shape == (1, 28, 28) and y == 7 % 10 and i == 7
    sub = load_dataset("mnist", tmp_path, train_subset=20, test_subset=10)
    assert len(sub.train) == 20 and len(sub.test) == 10
    again = load_dataset("mnist", tmp_path, train_subset=20)
    assert [again.train[k][1] for k in range(20)] == [sub.train[k][1] for k in range(20)]  # fixed subset


def test_fashion_mnist_from_data_dir(tmp_path):
    write_mnist_like(tmp_path / "fashion-mnist", n_train=20, n_test=20)
    data = load_dataset("fashion-mnist", tmp_path)
    assert data.class_names[6] == "Shirt" and len(data.train) == 20


def test_corrupt_idx_names_the_file(tmp_path):
    root = write_mnist_like(tmp_path, n_train=20, n_test=20, gz=False)
    bad = root / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x14" * 3 + b"\x01\x02")  # truncated body
    with pytest.raises(UsageError, match="train-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path)
    bad.write_bytes(b"hello world, not idx")
    with pytest.raises(UsageError, match="bad magic"):
        read_idx(bad)


def test_cifar10_pickle_loader(tmp_path):
    write_cifar10(tmp_path / "cifar-10-batches-py", per_batch=10)
    data = load_dataset("cifar10", tmp_path)
    assert len(data.train) == 50 and len(data.test) == 10 and data.in_channels == 3
    x, y, _ = data.train[3]
    assert x.shape == (3, 32, 32) and y == 3
    aug = load_dataset("cifar10", tmp_path, augment=True)
    assert aug.train[0][0].shape == (3, 32, 32)


def test_cifar100_uses_fine_labels(tmp_path):
    write_cifar100(tmp_path, n=40)
    data = load_dataset("cifar100", tmp_path)
    assert data.num_classes == 100 and data.train[39][1] == 39


def test_corrupt_cifar_pickle_names_the_file(tmp_path):
    root = write_cifar10(tmp_path, per_batch=4)
    (root / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(UsageError, match="data_batch_3"):
        load_dataset("cifar10", tmp_path)
    with open(root / "data_batch_3", "wb") as f:
        pickle.dump({b"data": np.zeros((4, 10), np.uint8), b"labels": [0] * 4}, f)
    with pytest.raises(UsageError, match="data_batch_3"):
        load_dataset("cifar10", tmp_path)


def _write_png(path, seed):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    x, _ = learnable_images(1, 4, 40, 3, seed)
    Image.fromarray(x[0].transpose(1, 2, 0)).save(path)


def test_imagenet_folder_loader(tmp_path):
    for split in ("train", "val"):
        for k, wnid in enumerate(("n01440764", "n01443537", "n01484850")):
            for j in range(2):
                _write_png(tmp_path / split / wnid / f"{wnid}_{j}.JPEG", k * 10 + j)
    data = load_dataset("imagenet", tmp_path, image_size=32, augment=True)
    assert data.num_classes == 3 and len(data.train) == 6 and len(data.test) == 6
    x, y, _ = data.test[5]
    assert x.shape == (3, 32, 32) and y == 2
    assert data.train[0][0].shape == (3, 32, 32)


def test_cub200_split_files(tmp_path):
    root = tmp_path / "CUB_200_2011"
    names = ["001.Albatross/a.jpg", "001.Albatross/b.jpg", "002.Gull/c.jpg", "002.Gull/d.jpg", "003.Wren/e.jpg"]
    for i, n in enumerate(names):
        _write_png(root / "images" / n, i)
    (root / "images.txt").write_text("".join(f"{i + 1} {n}\n" for i, n in enumerate(names)))
    (root / "image_class_labels.txt").write_text("1 1\n2 1\n3 2\n4 2\n5 3\n")
    (root / "train_test_split.txt").write_text("1 1\n2 0\n3 1\n4 0\n5 1\n")
    data = load_dataset("cub200", tmp_path, image_size=32)
    assert len(data.train) == 3 and len(data.test) == 2
    assert [data.train[i][1] for i in range(3)] == [0, 1, 2]  # 1-based class ids → 0-based
    assert data.test[1][0].shape == (3, 32, 32)
    (root / "train_test_split.txt").write_text("1 1\nbroken line here\n")
    with pytest.raises(UsageError, match=r"train_test_split\.txt"):
        load_dataset("cub200", tmp_path, image_size=32)


def test_corrupt_image_names_the_file(tmp_path):
    for split in ("train", "val"):
        _write_png(tmp_path / split / "n0" / "ok.png", 0)
    (tmp_path / "val" / "n0" / "bad.png").write_bytes(b"not an image")
    data = load_dataset("imagenet", tmp_path, image_size=32)
    with pytest.raises(UsageError, match=r"bad\.png"):
        [data.test[i] for i in range(len(data.test))]


def test_missing_and_unknown_datasets_say_what_to_do(tmp_path):
    with pytest.raises(UsageError, match="train-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path)
    with pytest.raises(UsageError, match="fashion-mnist, mnist, cifar10"):
        load_dataset("svhn", tmp_path)
    rows = {r["name"]: r for r in describe_datasets(tmp_path)}
    assert set(rows) == {"fashion-mnist", "mnist", "cifar10", "cifar100", "imagenet", "cub200"}
    assert not rows["mnist"]["present"]


def test_in_memory_batches_give_the_dataloader_epoch(tmp_path):
    """The in-memory path yields the DataLoader's batches (same items, same order) and so the same training."""
    import torch

    from lskd.data import in_memory
    from lskd.losses import label_smoothing_loss
    from lskd.models import build_model
    from lskd.train import epoch_batches, fit, make_loader

    write_mnist_like(tmp_path, n_train=300, n_test=50)
    data = load_dataset("mnist", tmp_path, train_subset=200)
    tensors = in_memory(data.train)
    assert tensors is not None and tensors[0].shape == (200, 1, 28, 28)
    for a, b in zip(make_loader(data.train, 32, shuffle=True, seed=3, epoch=2),
                    epoch_batches(data.train, 32, shuffle=True, seed=3, epoch=2, tensors=tensors), strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and torch.equal(a[2], b[2])
    cfg = {"epochs": 1, "batch_size": 32, "optim": {"name": "sgd", "lr": 0.05, "schedule": "constant"}}
    weights = []
    for t in (None, tensors):
        torch.manual_seed(0)
        model = build_model("mlp-32", 10, 1)
        fit(model, data.train, lambda net, batch: label_smoothing_loss(net(batch[0]), batch[1], 0.1), cfg,
            torch.device("cpu"), seed=3, tensors=t)
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])
    aug = load_dataset("mnist", tmp_path, train_subset=200, augment=True)
    assert in_memory(aug.train) is None  # augmented items are not fixed: they keep the DataLoader
