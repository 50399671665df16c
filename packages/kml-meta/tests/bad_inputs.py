"""kml-meta's rows of the cross-package bad-input table (tests/test_bad_input.py): each must exit 2, print one
line on stderr and write nothing."""

from pathlib import Path


def cases(tmp: Path) -> list[tuple[str, list[str]]]:
    import numpy as np
    import torch
    from PIL import Image

    empty_omni = tmp / "empty-omniglot"
    for sub in ("images_background", "images_evaluation"):
        (empty_omni / sub / "Alphabet_A" / "character01").mkdir(parents=True)
    small = tmp / "small-folder"  # 10 classes × 3 images: fewer than 1 shot + 5 queries
    for k in range(10):
        (small / f"c{k}").mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8), 20 * k + i, dtype=np.uint8)).save(small / f"c{k}" / f"{i}.png")
    mini = tmp / "mini"
    (mini / "images").mkdir(parents=True)
    (mini / "train.csv").write_text("filename,label\nn01.jpg,n0\n")
    (mini / "test.csv").write_text("filename,label\n")
    text = tmp / "notes.pt"
    text.write_text("not a checkpoint\n")
    foreign = tmp / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    three_way = tmp / "three-way.pt"  # a kml-meta learner of another task shape
    torch.save({"kind": "kml-meta-learner", "algo": "kml", "model": {}, "cfg": {}, "modes": ["kanjivg"],
                "n_way": 3, "in_channels": 1, "image_size": 28, "regression": False}, three_way)
    s = ["--preset", "smoke", "--quiet"]
    return [
        ("n_way above a mode's classes", ["reproduce", *s, "--set", "task.n_way=8"]),
        ("queries above a class's images", ["reproduce", *s, "--set", "task.n_query=30"]),
        ("unknown mode name", ["reproduce", *s, "--dataset", "kanjivg,klingon"]),
        ("omniglot folder without PNGs", ["train", *s, "--algo", "kml", "--dataset", "omniglot",
                                          "--data-dir", str(empty_omni)]),
        ("own folder with too few images", ["train", *s, "--algo", "protonet", "--dataset", "image-folder",
                                            "--data-dir", str(small)]),
        ("mini-imagenet csv lists a missing image", ["train", *s, "--algo", "maml", "--dataset", "mini-imagenet",
                                                     "--data-dir", str(mini)]),
        ("folders benchmark without --data-dir", ["train", *s, "--algo", "maml", "--dataset", "folders"]),
        ("zero shots", ["reproduce", *s, "--set", "task.n_shot=0"]),
        ("negative meta lr", ["reproduce", *s, "--set", "train.lr=-0.001"]),
        ("two channels", ["reproduce", *s, "--set", "data.channels=2"]),
        ("train fraction 1.5", ["reproduce", *s, "--set", "data.train_frac=1.5"]),
        ("unknown method in the list", ["reproduce", *s, "--set", "methods=[maml,reptile]"]),
        ("unknown transference algo", ["reproduce", *s, "--set", "transference.algos=[xyz]"]),
        ("negative inner steps", ["train", *s, "--algo", "maml", "--set", "inner.steps=-1"]),
        ("unknown --algo", ["train", *s, "--algo", "reptile"]),
        ("protonet on regression", ["train", *s, "--algo", "protonet", "--dataset", "regression-2"]),
        ("missing checkpoint", ["evaluate", *s, "--checkpoint", str(tmp / "missing.pt")]),
        ("text file as checkpoint", ["evaluate", *s, "--checkpoint", str(text)]),
        ("checkpoint of something else", ["evaluate", *s, "--checkpoint", str(foreign)]),
        ("checkpoint of another task shape", ["evaluate", *s, "--checkpoint", str(three_way)]),
        ("transference on one mode", ["transference", *s, "--algo", "maml", "--dataset", "fashion-mnist"]),
        ("transference without algo or checkpoint", ["transference", *s]),
        ("transference probes 0", ["transference", *s, "--algo", "kml", "--set", "transference.probes=0"]),
        ("data check of an unknown dataset", ["data", "check", "--dataset", "no-such-dataset"]),
        ("data check omniglot without PNGs", ["data", "check", "--dataset", "omniglot", "--data-dir", str(empty_omni)]),
    ]
