"""Step 2: the networks, the loss, out-of-sample codes reproducing the step-1 codes, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dcsh import train
from dcsh.data import CrossModalData
from dcsh.models import ImageCNN, TextCNN

CFG = {"step2": {"epochs": 25, "batch_size": 32, "lr": 0.01, "weight_decay": 0.0, "image_width": 8,
                 "mlp_hidden": 64, "text_filters": 16, "shared_trunk": True},
       "text": {"embed_dim": 16, "embeddings": None, "freeze_embeddings": False}}


def learnable(n=160, k=4, size=16, seed=0):
    """Class k = a bright square in quadrant k + noise; text = class word + noise words."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    img = rng.integers(0, 60, (n, 3, size, size))
    h = size // 2
    for i, c in enumerate(y):
        r, cc = divmod(int(c), 2)
        img[i, :, r * h:(r + 1) * h, cc * h:(cc + 1) * h] += 180
    ids = np.zeros((n, 6), dtype=np.int64)
    ids[:, 0] = y + 1
    ids[:, 1:4] = rng.integers(k + 1, k + 20, (n, 3))
    lab = np.eye(k, dtype=np.uint8)[y]
    codes = np.where(np.random.default_rng(99).random((k, 8)) > 0.5, 1, -1).astype(np.int8)[y]  # per class
    data = CrossModalData(name="toy", note="", labels=lab, text_ids=ids, text_bow=np.zeros((n, 2), np.float32),
                          vocab=["<pad>", *[f"w{j}" for j in range(k + 20)]],
                          images=np.clip(img, 0, 255).astype(np.uint8))
    return data, {8: codes}


def test_hash_loss_by_hand():
    out = {2: torch.tensor([[0.5, -0.5]]), 3: torch.tensor([[1.0, 1.0, 0.0]])}
    tgt = {2: torch.tensor([[1.0, -1.0]]), 3: torch.tensor([[1.0, -1.0, 1.0]])}
    assert float(train.hash_loss(out, tgt)) == pytest.approx((0.25 + 0.25) / 2 + (0 + 4 + 1) / 3)


def test_text_cnn_ignores_padding():
    torch.manual_seed(0)
    m = TextCNN(30, [8], embed_dim=8, filters=4).eval()
    a = torch.tensor([[3, 5, 7, 0, 0, 0]])
    b = torch.tensor([[3, 5, 7, 0, 0, 0, 0, 0, 0]])
    np.testing.assert_allclose(m(a)[8].detach().numpy(), m(b)[8].detach().numpy(), atol=1e-6)
    empty = m(torch.zeros((1, 4), dtype=torch.long))[8]
    assert torch.isfinite(empty).all()


def test_image_cnn_shapes():
    m = ImageCNN([16, 32], width=4)
    out = m(torch.zeros(2, 3, 32, 32))
    assert out[16].shape == (2, 16) and out[32].shape == (2, 32) and (out[32].abs() <= 1).all()


def test_out_of_sample_codes_reproduce_step1_codes():
    """Stated rate: after training, the networks reproduce ≥ 95 % of the training items' bits."""
    data, codes = learnable()
    hf = train.fit(data, codes, CFG, seed=0)
    ci, ct = train.encode_data(hf, data)
    assert (ci[8] == codes[8]).mean() >= 0.95
    assert (ct[8] == codes[8]).mean() >= 0.95
    held, hcodes = learnable(seed=1)  # new items of the same classes: out-of-sample
    hi, ht = train.encode_data(hf, held)
    assert (hi[8] == hcodes[8]).mean() >= 0.9 and (ht[8] == hcodes[8]).mean() >= 0.9
    assert hf.history[-1]["image_loss"] < hf.history[0]["image_loss"]


def test_same_seed_same_networks():
    data, codes = learnable(n=64)
    cfg = {**CFG, "step2": {**CFG["step2"], "epochs": 2}}
    a = train.encode_data(train.fit(data, codes, cfg, seed=5), data)
    b = train.encode_data(train.fit(data, codes, cfg, seed=5), data)
    np.testing.assert_array_equal(a[0][8], b[0][8])
    np.testing.assert_array_equal(a[1][8], b[1][8])


def test_embeddings_initialise_the_text_cnn(tmp_path):
    from dcsh.data import read_embeddings

    data, _ = learnable(n=16)
    f = tmp_path / "glove.txt"
    f.write_text("w0 " + " ".join(["0.5"] * 16) + "\nnotinvocab " + " ".join(["1"] * 16) + "\n")
    E, hits = read_embeddings(f, data.vocab, 16)
    assert hits == 1 and np.isnan(E[2, 0]) and (E[1] == 0.5).all()
    _, txt = train.build_models(data, [8], CFG, E)
    np.testing.assert_allclose(txt.embed.weight[1].detach().numpy(), 0.5)
    assert float(txt.embed.weight[0].detach().abs().sum()) == 0.0
