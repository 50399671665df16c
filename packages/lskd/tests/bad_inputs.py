"""lskd's rows of the cross-package bad-input table (tests/test_bad_input.py): each must exit 2,
print one line and write nothing."""

from pathlib import Path


def cases(tmp: Path) -> list[tuple[str, list[str]]]:
    import torch

    text = tmp / "notes.pt"
    text.write_text("not a checkpoint\n")
    foreign = tmp / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    teacher = tmp / "teacher.pt"  # the fields lskd checks, for cases that must fail on something else
    torch.save({"kind": "teacher", "model": "cnn", "num_classes": 10, "in_channels": 1, "state_dict": {}}, teacher)
    cifar_teacher = tmp / "cifar-teacher.pt"
    torch.save({"kind": "teacher", "model": "cnn", "num_classes": 100, "in_channels": 3, "state_dict": {}},
               cifar_teacher)
    student = tmp / "student.pt"
    torch.save({"kind": "student", "model": "cnn", "num_classes": 10, "in_channels": 1, "state_dict": {}}, student)
    smoke = ["--preset", "smoke", "--quiet"]
    return [
        ("epochs not an int (issue #8)", ["reproduce", *smoke, "--set", "teacher.epochs=abc",
                                          "--out", str(tmp / "o3")]),
        ("negative temperature (issue #8)", ["reproduce", *smoke, "--set", "grid.temperatures=[-1]",
                                             "--out", str(tmp / "o4")]),
        ("α = 1", ["grid", *smoke, "--set", "grid.alphas=[0.0, 1.0]"]),
        ("batch size 0", ["reproduce", *smoke, "--set", "data.batch_size=0"]),
        ("unknown KD kind", ["reproduce", *smoke, "--set", "student.kd=both"]),
        ("unknown model", ["reproduce", *smoke, "--set", "teacher.model=vgg99"]),
        ("negative lr", ["train-teacher", *smoke, "--set", "teacher.optim.lr=-0.1"]),
        ("--alpha 1.5", ["train-teacher", *smoke, "--alpha", "1.5"]),
        ("--alpha not a number", ["train-teacher", *smoke, "--alpha", "x"]),
        ("missing teacher", ["train-student", *smoke, "--teacher", str(tmp / "missing.pt")]),
        ("text file as teacher", ["train-student", *smoke, "--teacher", str(text)]),
        ("checkpoint of something else", ["train-student", *smoke, "--teacher", str(foreign)]),
        ("teacher of another dataset", ["train-student", *smoke, "--teacher", str(cifar_teacher)]),
        ("a student as teacher", ["train-student", *smoke, "--teacher", str(student)]),
        ("temperature 0", ["train-student", *smoke, "--teacher", str(teacher), "--temperature", "0"]),
        ("kd weight 2", ["train-student", *smoke, "--teacher", str(teacher), "--kd-weight", "2"]),
        ("diffusion without checkpoints", ["diffusion", *smoke]),
        ("diffusion with two classes", ["diffusion", *smoke, "--teacher", str(teacher), "--classes", "0,1"]),
        ("diffusion class out of range", ["diffusion", *smoke, "--teacher", str(teacher), "--classes", "0,1,42"]),
        ("MNIST not in --data-dir", ["reproduce", *smoke, "--dataset", "mnist", "--data-dir", str(tmp)]),
        ("data check of an unknown dataset", ["data", "check", "--dataset", "no-such-set"]),
    ]
