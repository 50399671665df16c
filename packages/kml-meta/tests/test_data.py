"""Every loader on folders in the real layout written here; the offline renderers; task sampling."""

import numpy as np
import pytest
from conftest import glyph, save_png, write_image_folder, write_mnist_like

from kml_meta import data as D
from kml_meta.render import draw_strokes, parse_path
from kml_meta.tasks import sample_task
from kml_meta.train import Benchmark
from reprokit import UsageError

DCFG = {"image_size": 16, "channels": 1, "train_frac": 0.5, "max_per_class": None,
        "rendered": {"max_classes": 12, "per_class": 6, "max_strokes": 6}}


def test_parse_path_lines_and_curves():
    polys = parse_path("M10,20 l5,0 L15,30 Z M0,0 C0,10 10,10 10,0 s10,-10 10,0", samples=5)
    assert len(polys) == 2
    assert np.allclose(polys[0], [[10, 20], [15, 20], [15, 30], [10, 20]])
    assert np.allclose(polys[1][0], [0, 0]) and np.allclose(polys[1][4], [10, 0]) and np.allclose(polys[1][-1], [20, 0])
    # the cubic's midpoint (t = 0.5) of (0,0) (0,10) (10,10) (10,0) is (5, 7.5)
    assert np.allclose(polys[1][2], [5, 7.5])
    # S reflects the previous control point (10,10) about (10,0): (10,-10); its midpoint is (15, -7.5)
    assert np.allclose(polys[1][6], [15, -7.5])
    with pytest.raises(ValueError):
        parse_path("M10")


def test_draw_strokes_puts_ink_where_the_stroke_is():
    img = draw_strokes([np.array([[10.0, 54.5], [99.0, 54.5]])], 28, 2.0)
    assert img.shape == (28, 28)
    assert img[14].mean() > 100 and img[2].max() == 0


def test_offline_modes_render_and_split():
    k = D.load_mode("kanjivg", None, DCFG, 0)
    assert k.images.shape == (72, 1, 16, 16) and 0 <= k.images.min() and k.images.max() <= 1
    assert len(k.splits["train"]) == 6 and len(k.splits["test"]) == 6
    assert set(k.splits["train"]).isdisjoint(k.splits["test"])
    assert k.images.reshape(72, -1).std(1).min() > 0.05  # every rendering has ink
    e = D.load_mode("openmoji", None, DCFG, 0)
    assert e.images.shape == (72, 1, 16, 16) and e.images.reshape(72, -1).std(1).min() > 0.02
    again = D.load_mode("kanjivg", None, DCFG, 0)
    assert np.array_equal(again.images, k.images)  # same seed, same renderings
    d = D.load_mode("digits", None, DCFG, 0)
    assert d.images.shape == (1797, 1, 16, 16) and len(d.splits["test"]) == 5
    from sklearn.datasets import load_digits

    ref = load_digits()
    x, y = D._digits_arrays()  # read from sklearn's own data file without importing sklearn
    assert np.array_equal(x, ref.images) and np.array_equal(y, ref.target)


def test_omniglot_layout_background_is_train(omniglot_dir):
    m = D.load_mode("omniglot", omniglot_dir.parent, DCFG, 0)
    assert m.images.shape == (128, 1, 16, 16)
    assert len(m.splits["train"]) == 8 and len(m.splits["test"]) == 8
    assert all(m.count(c) == 8 for c in m.splits["train"])
    m2 = D.load_mode("omniglot", omniglot_dir, DCFG, 0)  # the folder itself works too
    assert np.array_equal(m2.labels, m.labels)


def test_omniglot_without_pngs_is_refused(tmp_path):
    (tmp_path / "images_background" / "A" / "c1").mkdir(parents=True)
    (tmp_path / "images_evaluation" / "A" / "c1").mkdir(parents=True)
    with pytest.raises(UsageError, match="no PNG"):
        D.load_mode("omniglot", tmp_path, DCFG, 0)


def test_mini_imagenet_csv_layout(tmp_path):
    root = tmp_path / "mini-imagenet"
    for split, classes in (("train", range(6)), ("val", range(6, 8)), ("test", range(8, 14))):
        rows = ["filename,label"]
        for c in classes:
            for i in range(7):
                name = f"n{c:08d}{i:08d}.jpg"
                save_png(root / "images" / name, glyph(c, i), rgb=True)
                rows.append(f"{name},n{c:08d}")
        (root / f"{split}.csv").write_text("\n".join(rows) + "\n")
    m = D.load_mode("mini-imagenet", tmp_path, {**DCFG, "channels": 3}, 0)
    assert m.images.shape == (84, 3, 16, 16)
    assert len(m.splits["train"]) == 6 and len(m.splits["test"]) == 6


def test_cub_aircraft_fc100_image_folder_idx(tmp_path):
    write_image_folder(tmp_path / "CUB_200_2011" / "images", classes=10, per_class=6, rgb=True, ext=".jpg")
    cub = D.load_mode("cub", tmp_path, DCFG, 0)
    assert len(cub.labels) == 60 and list(cub.splits["train"]) == [0, 1, 2, 3, 4]  # numbered order

    data = tmp_path / "fgvc-aircraft-2013b" / "data"
    lines = {s: [] for s in ("train", "val", "test")}
    for v in range(10):
        for i in range(6):
            img_id = f"{v:03d}{i:04d}"
            save_png(data / "images" / f"{img_id}.jpg", glyph(v, i), rgb=True)
            lines[("train", "val", "test")[i % 3]].append(f"{img_id} Boeing 7{v}7-200")
    for s, ls in lines.items():
        (data / f"images_variant_{s}.txt").write_text("\n".join(ls) + "\n")
    air = D.load_mode("aircraft", tmp_path, DCFG, 0)
    assert len(air.labels) == 60 and len(air.by_class) == 10 and air.count(0) == 6

    for s, cls in (("train", range(5)), ("val", range(5, 7)), ("test", range(7, 12))):
        write_image_folder(tmp_path / "FC100" / s, classes=0)
        for c in cls:
            for i in range(6):
                save_png(tmp_path / "FC100" / s / f"c{c}" / f"{i}.png", glyph(c, i), rgb=True)
    fc = D.load_mode("fc100", tmp_path, DCFG, 0)
    assert len(fc.splits["train"]) == 5 and len(fc.splits["test"]) == 5

    write_image_folder(tmp_path / "mine", classes=10, per_class=7)
    own = D.load_mode("image-folder", tmp_path / "mine", DCFG, 0)
    assert own.images.shape == (70, 1, 16, 16)

    write_mnist_like(tmp_path / "mnist")
    mn = D.load_mode("mnist", tmp_path, DCFG, 0)
    assert len(mn.labels) == 160 and mn.count(3) == 16
    fm = D.load_mode("fashion-mnist", tmp_path / "mnist", {**DCFG, "max_per_class": 5}, 0)
    assert all(fm.count(c) == 5 for c in range(10))


def test_folders_benchmark_is_one_mode_per_subfolder(tmp_path):
    write_image_folder(tmp_path / "letters", classes=10, per_class=7)
    write_image_folder(tmp_path / "shapes", classes=10, per_class=7)
    names = D.mode_names("folders", tmp_path)
    assert names == ["folder:letters", "folder:shapes"]
    modes = D.load_benchmark(names, tmp_path, DCFG, {"n_way": 5, "n_shot": 1, "n_query": 5}, 0)
    assert [m.name for m in modes] == names


def test_check_mode_names_mode_and_counts(omniglot_dir):
    m = D.load_mode("omniglot", omniglot_dir, DCFG, 0)
    with pytest.raises(UsageError, match=r"'omniglot'.*8 classes, fewer than n_way=10"):
        D.check_mode(m, 10, 1, 1)
    with pytest.raises(UsageError, match=r"'omniglot'.*8 images, fewer than n_shot \+ n_query = 9"):
        D.check_mode(m, 5, 4, 5)
    with pytest.raises(UsageError, match="unknown dataset or mode 'no-such'"):
        D.mode_names("kanjivg,no-such")


def test_sample_task_shapes_labels_and_disjoint(omniglot_dir):
    m = D.load_mode("omniglot", omniglot_dir, DCFG, 0)
    t = sample_task(m, "train", 5, 2, 3, np.random.default_rng(0))
    assert t.xs.shape == (10, 1, 16, 16) and t.xq.shape == (15, 1, 16, 16)
    assert sorted(t.ys.tolist()) == sorted(list(range(5)) * 2) and sorted(t.yq.tolist()) == sorted(list(range(5)) * 3)
    flat_s = {tuple(x.flatten().tolist()) for x in t.xs}
    assert not any(tuple(x.flatten().tolist()) in flat_s for x in t.xq)  # no image in both sets
    b = Benchmark([m], {"n_way": 5, "n_shot": 1, "n_query": 2})
    a1, a2 = b.eval_tasks(3, 4), b.eval_tasks(3, 4)
    assert all(np.array_equal(x.xs, y.xs) for x, y in zip(a1, a2))  # paired: same tasks for every method


def test_regression_modes_follow_their_families():
    from kml_meta.tasks import regression_function

    rng = np.random.default_rng(0)
    x = np.linspace(-5, 5, 11)
    lin = regression_function("linear", rng)(x)
    assert np.allclose(np.diff(lin, 2), 0)  # straight line
    quad = regression_function("quadratic", rng)(x)
    assert np.allclose(np.diff(quad, 3), 0) and not np.allclose(np.diff(quad, 2), 0)
    f = regression_function("l1-norm", rng)
    right, left = np.diff(f(np.linspace(3.5, 5, 5))), np.diff(f(np.linspace(-5, -3.5, 5)))  # |c| ≤ 3
    assert np.allclose(right, right[0]) and np.allclose(left, -right[0])  # slopes ±s on either side of c
    b = Benchmark(list(D.REGRESSION_MODES), {"n_way": 5, "n_shot": 5, "n_query": 10})
    t = b.sample("train", rng, 0)
    assert t.xs.shape == (5, 1) and t.yq.shape == (10, 1) and b.regression
