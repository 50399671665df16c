"""The ``spectral-forensics`` command: reproduce, train-gan, spectrum, fit-detector, detect, data list|check.

Every command that writes checks everything first (flags, config, folders, files, counts) inside
reprokit's precheck, so a mistake exits 2 with one line and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reprokit import (
    ArgumentParser,
    UsageError,
    add_run_args,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    existing_dir,
    finish_run,
    run_main,
    start_run,
)
from reprokit.cli import data_dir_from
from spectral_forensics import __version__

DIST, MODULE = "spectral-forensics", "spectral_forensics"
TITLE = "A Closer Look at Fourier Spectrum Discrepancies for CNN-generated Images Detection (CVPR 2021)"


# ------------------------------------------------------------------------------------------ helpers
def _start(args: argparse.Namespace, precheck=None):
    from reprokit.device import configure_threads
    from spectral_forensics.schema import Config

    ctx = start_run(args, dist=DIST, module=MODULE, version=__version__, schema=Config,
                    precheck=precheck, extra_packages=("torch", "numpy", "scikit-learn"))
    configure_threads(ctx.cfg.get("threads"))
    return ctx


def _check_fid(cfg: dict[str, Any]) -> None:
    w = cfg["fid"].get("inception_weights")
    if cfg["fid"]["enabled"] and w and not Path(w).is_file():
        raise UsageError(f"fid.inception_weights={w}: no such file (a torchvision inception_v3 state_dict)")


def _dataset_precheck(cfg: dict[str, Any], run: dict[str, Any], gans: list[str] | None = None) -> None:
    from spectral_forensics.data import check_dataset

    name = run.get("dataset") or cfg["dataset"]
    check_dataset(name, Path(run["data_dir"]) if run.get("data_dir") else None)
    if "stargan" in (cfg["gan"]["gans"] if gans is None else gans):
        _stargan_precheck(cfg, name, run)
    if name == "fashion-mnist" and cfg["data"]["size"] != 32:
        raise UsageError("fashion-mnist images are 32×32 after padding; use --set data.size=32")
    _check_fid(cfg)


def _stargan_precheck(cfg: dict[str, Any], name: str, run: dict[str, Any]) -> None:
    from spectral_forensics.data import check_domains, find_attr_file

    if name != "folder":
        raise UsageError(f"StarGAN needs domain labels: use --dataset folder --data-dir DIR (CelebA with "
                         f"list_attr_celeba.txt, or one subfolder per domain), not dataset {name!r}")
    data_dir = Path(run["data_dir"])
    if check_domains(data_dir) == "attrs":
        f = find_attr_file(data_dir)
        with open(f, errors="replace") as fh:
            head = [next(fh, "") for _ in range(3)]
        names = head[1].split()
        missing = [a for a in cfg["stargan"]["attrs"] if a not in names]
        if missing:
            raise UsageError(f"{f}: no attribute {', '.join(missing)} (stargan.attrs)")
    if cfg["data"]["size"] % 4:
        raise UsageError("StarGAN needs data.size divisible by 4")


def _load_data(ctx, stargan: bool | None = None):
    from spectral_forensics.data import load_real

    d = ctx.cfg["data"]
    want = ("stargan" in ctx.cfg["gan"]["gans"]) if stargan is None else stargan
    return load_real(ctx.dataset, ctx.data_dir, int(d["n_train"]), int(ctx.cfg["detector"]["n_real"]),
                     int(d["size"]), int(d["channels"]), ctx.seed, d.get("centre_crop"),
                     domain_attrs=list(ctx.cfg["stargan"]["attrs"]) if want else None)


def _fid_net(ctx, data):
    """(feature net, its name) for FID, or (None, None) when disabled."""
    f = ctx.cfg["fid"]
    if not f["enabled"]:
        return None, None
    if f.get("inception_weights"):
        from spectral_forensics.evaluate import InceptionFeatures

        f["standardise"] = False
        return InceptionFeatures(Path(f["inception_weights"])).to(ctx.device), "FID (Inception-v3, local weights)"
    from spectral_forensics.evaluate import train_rotation_net

    net = train_rotation_net(data.train, int(f["rotation_steps"]), ctx.seed, ctx.device)
    return net, ("FID (in-package rotation-net features, each standardised by the real images' SD; not "
                 "comparable to Inception FID)")


def _setting(cfg: dict[str, Any], data) -> str:
    g, d = cfg["gan"], cfg["detector"]
    return (f"{', '.join(g['gans'])} at {cfg['data']['size']}×{cfg['data']['size']}×{cfg['data']['channels']}, "
            f"g/d width {g['g_dim']}/{g['d_dim']}, {g['steps']} steps of batch {g['batch_size']}, lr {g['lr']}; "
            f"setups {', '.join(g['setups'])}; detectors trained on {d['n_train']} real + {d['n_train']} BASELINE "
            f"per run, {d['n_runs']} runs, tested on {d['n_fake'] // 2} images per setup")


# ---------------------------------------------------------------------------------------- reproduce
def cmd_reproduce(args: argparse.Namespace) -> int:
    from spectral_forensics import experiments as ex

    ctx = _start(args, _dataset_precheck)
    data = _load_data(ctx)
    net, fid_name = _fid_net(ctx, data)
    if fid_name:
        ctx.cfg["fid"]["_name"] = fid_name
    res = ex.run(ctx.cfg, data, ctx, net)
    claims, metrics = ex.claims_from(res, ctx.cfg)
    import time

    cpu = {"cpu_time_s_this_session": round(time.process_time(), 1)}  # ≈ wall time on an idle core
    figures = ex.draw_figures(res, ctx.run.figures)
    atomic_write_json(ctx.run.path / "results.json", ex.jsonable(res))
    rule = ("Each claim's effect is per paired detector run (the same fitted classifier scores every set); "
            "95% t-CI over runs. reproduced: CI above 0 and mean ≥ the minimum effect; not reproduced: CI "
            "entirely below the minimum effect; otherwise inconclusive. The CI covers detector resampling, "
            "not GAN training seeds (one GAN per setup, as in the paper).")
    sections = [("Detection rates, spectral gap and FID (this run)", ex.rates_table_md(res)
                 + (f"\nFID: {fid_name}, {ctx.cfg['fid']['n']} images vs real.\n" if fid_name else "")),
                ("Verdict rule", rule)]
    finish_run(ctx, dataset=data.name, data_note=data.note, metrics=metrics, claims=claims, title=TITLE,
               setting=_setting(ctx.cfg, data), figures=figures, sections=sections, extra=cpu)
    return 0


def cmd_train_gan(args: argparse.Namespace) -> int:
    from spectral_forensics.experiments import gray255, hf_gap, spectra_of
    from spectral_forensics.models import parse_setup
    from spectral_forensics.spectrum import DzanicSettings
    from spectral_forensics.train import sample_uint8, train_gan

    def pre(cfg, run):
        try:
            parse_setup(args.upsample)
        except ValueError as e:
            raise UsageError(f"--upsample: {e}") from None
        _dataset_precheck(cfg, run, gans=[args.gan])

    ctx = _start(args, pre)
    data = _load_data(ctx, stargan=args.gan == "stargan")
    ckpt = ctx.run.checkpoints / f"gan_{args.gan}_{args.upsample}.pt"
    n = int(ctx.cfg["detector"]["n_fake"])
    if args.gan == "stargan":
        from spectral_forensics.stargan import train_stargan, translate_uint8

        scfg = {**ctx.cfg["stargan"], "ckpt_every": ctx.cfg["gan"]["ckpt_every"]}
        g = train_stargan(data.train, data.train_labels, data.label_mode, args.upsample, scfg, ctx.seed, ctx.device,
                          ckpt, ctx.quiet, ctx.run.log_metrics)
        imgs = translate_uint8(g, data.train, data.train_labels, n, ctx.seed + 777, ctx.device)
    else:
        tcfg = {**ctx.cfg["gan"], "gan": args.gan, **dict(ctx.cfg.get("gan_overrides", {}).get(args.gan, {}))}
        g = train_gan(data.train, args.upsample, tcfg, ctx.seed, ctx.device, ckpt, ctx.quiet, ctx.run.log_metrics)
        imgs = sample_uint8(g, n, ctx.seed + 777, ctx.device)
    settings = DzanicSettings(**ctx.cfg["dzanic"])
    gap = hf_gap(spectra_of(gray255(imgs), settings)["reduced"], spectra_of(gray255(data.real), settings)["reduced"])
    _save_png_grid(imgs[:64], ctx.run.figures / "samples.png")
    buf = io.BytesIO()
    np.savez_compressed(buf, images=imgs)
    atomic_write_bytes(ctx.run.path / "samples.npz", buf.getvalue())
    finish_run(ctx, dataset=data.name, data_note=data.note, claims=[], require_claims=False,
               metrics={"gan": args.gan, "setup": args.upsample, "checkpoint": str(ckpt), "samples": "samples.npz",
                        "hf_gap_db": gap}, figures=[ctx.run.figures / "samples.png"])
    print(f"checkpoint: {ckpt}\nhigh-frequency gap vs real: {gap['mean_db']:+.2f} dB")
    return 0


def _save_png_grid(imgs: np.ndarray, path: Path) -> None:
    from PIL import Image

    k = int(np.sqrt(len(imgs)))
    grid = imgs[:k * k].reshape(k, k, *imgs.shape[1:]).transpose(0, 3, 1, 4, 2)
    grid = grid.reshape(k * imgs.shape[2], k * imgs.shape[3], imgs.shape[1])
    im = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


# ------------------------------------------------------------------------------- user's own folders
def _gray_of_folder(scan, batch_size: int):
    """All images of a scanned folder as grayscale float arrays, batch by batch (bounded memory)."""
    from spectral_forensics.data import iter_folder_batches

    for x, names in iter_folder_batches(scan, batch_size, channels=1):
        yield x[:, 0], names


def _features_of_folder(scan, kind: str, settings, batch_size: int) -> tuple[np.ndarray, list[str]]:
    from spectral_forensics.detectors import extract

    feats, names = [], []
    for g, nm in _gray_of_folder(scan, batch_size):
        f = extract(kind, g, settings)
        ok = np.isfinite(f).all(1)
        for n_, good in zip(nm, ok):
            if not good:
                scan.skipped.append((n_, "non-finite spectral features (a constant image?)"))
        feats.append(f[ok])
        names += [n_ for n_, good in zip(nm, ok) if good]
    return (np.concatenate(feats) if feats else np.empty((0, 0))), names


def _scan(folder: Path, flag: str, size=None):
    from spectral_forensics.data import scan_folder

    scan = scan_folder(folder, size)
    if scan.n_found == 0:
        raise UsageError(f"{flag} {folder}: the folder holds no files")
    if not scan.files:
        raise UsageError(f"{flag} {folder}: none of its {scan.n_found} files is a readable image "
                         f"of at least {scan.size[0]}×{scan.size[1]}" if scan.size else
                         f"{flag} {folder}: none of its {scan.n_found} files is a readable image")
    return scan


def _skipped_csv(skipped: list[tuple[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["file", "reason"])
    w.writerows(skipped)
    return buf.getvalue()


def _user_finish(ctx, metrics: dict[str, Any], note: str, figures=(), sections=None) -> None:
    finish_run(ctx, dataset="image folder", data_note=note, metrics=metrics, claims=[], require_claims=False,
               figures=figures, sections=sections)


def cmd_spectrum(args: argparse.Namespace) -> int:
    import torch

    from spectral_forensics.detectors import extract
    from spectral_forensics.spectrum import DzanicSettings, batched, reduced_spectrum

    state: dict[str, Any] = {}

    def pre(cfg, run):
        scan = _scan(args.images, "--images")
        settings = DzanicSettings(**cfg["dzanic"])
        spectra, dz, names = [], [], []
        for g, nm in _gray_of_folder(scan, int(cfg["user"]["batch_size"])):
            spectra.append(batched(reduced_spectrum, torch.from_numpy(g), 512, dtype=torch.float64).numpy())
            dz.append(extract("dzanic", g, settings))
            names += nm
        if not names:
            raise UsageError(f"--images {args.images}: no image could be decoded")
        state.update(scan=scan, spectra=np.concatenate(spectra), dzanic=np.concatenate(dz), names=names)

    ctx = _start(args, pre)
    scan, spec = state["scan"], state["spectra"]
    radius = np.arange(spec.shape[1], dtype=np.float64)
    buf = io.BytesIO()
    np.savez(buf, files=np.array(state["names"]), radius=radius, reduced_db=spec, dzanic=state["dzanic"])
    atomic_write_bytes(ctx.run.path / "spectra.npz", buf.getvalue())
    mean = spec.mean(0)
    half = 1.96 * spec.std(0, ddof=1) / np.sqrt(len(spec)) if len(spec) > 1 else np.zeros_like(mean)
    rows = ["radius,mean_db,ci95_low_db,ci95_high_db"] + [f"{r:g},{m:.6f},{m - h:.6f},{m + h:.6f}"
                                                           for r, m, h in zip(radius, mean, half)]
    atomic_write_text(ctx.run.path / "mean_spectrum.csv", "\n".join(rows) + "\n")
    atomic_write_text(ctx.run.path / "skipped.csv", _skipped_csv(scan.skipped))
    fig = _mean_spectrum_figure(radius, mean, half, f"{args.images.name}: {len(spec)} images",
                                ctx.run.figures / "mean_spectrum.png")
    h, w = scan.size
    _user_finish(ctx, {"n_read": len(spec), "n_skipped": len(scan.skipped), "size": [h, w],
                       "dzanic_mean": dict(zip(("c", "y_i", "y_f"), state["dzanic"].mean(0).tolist())),
                       "spectra": "spectra.npz"},
                 f"{args.images}: {len(spec)} images read at {h}×{w} (grayscale), {len(scan.skipped)} skipped "
                 "(skipped.csv)", figures=[fig])
    print(f"{len(spec)} images read, {len(scan.skipped)} skipped; spectra: {ctx.run.path / 'spectra.npz'}")
    return 0


def _mean_spectrum_figure(radius, mean, half, title, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(radius, mean, "k")
    ax.fill_between(radius, mean - half, mean + half, color="k", alpha=0.25, label="95% CI")
    ax.set_xlabel("spatial frequency (radius from DC, pixels)")
    ax.set_ylabel("mean log power (dB)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def cmd_fit_detector(args: argparse.Namespace) -> int:
    from spectral_forensics.data import scan_folder
    from spectral_forensics.detectors import Detector
    from spectral_forensics.spectrum import DzanicSettings

    state: dict[str, Any] = {}
    out = Path(args.detector_out)

    def pre(cfg, run):
        if not out.name.endswith(".npz"):
            raise UsageError(f"--out {out}: the detector file must end in .npz")
        if out.exists():
            raise UsageError(f"--out {out} exists; choose another file (nothing was overwritten)")
        if not out.parent.is_dir():
            raise UsageError(f"--out {out}: no such directory {out.parent}")
        if args.real.resolve() == args.fake.resolve():
            raise UsageError("--real and --fake are the same folder")
        probe = [scan_folder(args.real), scan_folder(args.fake)]
        from collections import Counter

        sizes = Counter(s for sc in probe for s in sc.sizes)
        if not sizes:
            raise UsageError(f"no readable images in --real {args.real} or --fake {args.fake}")
        size = sizes.most_common(1)[0][0]
        settings = DzanicSettings(**cfg["dzanic"])
        feats = {}
        for flag, folder in (("--real", args.real), ("--fake", args.fake)):
            scan = _scan(folder, flag, size)
            f, names = _features_of_folder(scan, args.features, settings, int(cfg["user"]["batch_size"]))
            need = int(cfg["user"]["min_images_per_class"])
            if len(names) < need:
                raise UsageError(f"{flag} {folder}: {len(names)} usable images at {size[0]}×{size[1]}; a "
                                 f"classifier needs ≥ {need} per class ({len(scan.skipped)} skipped)")
            feats[flag] = (f, names, scan)
        state.update(size=size, feats=feats, settings=settings)

    ctx = _start(args, pre)
    (fr, _, sr), (ff, _, sf) = state["feats"]["--real"], state["feats"]["--fake"]
    x = np.concatenate([fr, ff])
    y = np.r_[np.zeros(len(fr)), np.ones(len(ff))]
    det = Detector(args.features, args.classifier, state["size"], x, y,
                   {"dzanic": state["settings"].to_dict()}, ctx.seed)
    _, pred = det.predict(x)
    det.save(out)
    atomic_write_text(ctx.run.path / "skipped.csv", _skipped_csv(sr.skipped + sf.skipped))
    metrics = {"detector": str(out), "features": args.features, "classifier": args.classifier,
               "size": list(state["size"]), "n_real": len(fr), "n_fake": len(ff),
               "n_skipped": len(sr.skipped) + len(sf.skipped), "train_accuracy": float((pred == y).mean())}
    _user_finish(ctx, metrics, f"real {args.real} ({len(fr)}), fake {args.fake} ({len(ff)}) at "
                 f"{state['size'][0]}×{state['size'][1]}")
    print(f"detector: {out} ({args.features} + {args.classifier}, {len(fr)} real / {len(ff)} fake, training "
          f"accuracy {metrics['train_accuracy']:.3f})")
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    from spectral_forensics.detectors import Detector

    state: dict[str, Any] = {}

    def pre(cfg, run):
        det = Detector.load(args.detector)
        scan = _scan(args.images, "--images", tuple(det.size))
        from spectral_forensics.spectrum import DzanicSettings

        f, names = _features_of_folder(scan, det.features, DzanicSettings(**det.settings.get("dzanic", {})),
                                       int(cfg["user"]["batch_size"]))
        if not names:
            raise UsageError(f"--images {args.images}: no usable image ({len(scan.skipped)} skipped)")
        if f.shape[1] != det.x_train.shape[1]:
            raise UsageError(f"--images: features of length {f.shape[1]} but the detector was fitted on "
                             f"{det.x_train.shape[1]}")
        scores, labels = det.predict(f)
        state.update(det=det, scan=scan, names=names, scores=scores, labels=labels)

    ctx = _start(args, pre)
    det, scan, names, scores, labels = (state[k] for k in ("det", "scan", "names", "scores", "labels"))
    rows = ["file,score,called_fake"] + [f"{_csv_cell(n)},{s:.6g},{int(lab)}"
                                          for n, s, lab in zip(names, scores, labels)]
    atomic_write_text(ctx.run.path / "scores.csv", "\n".join(rows) + "\n")
    atomic_write_text(ctx.run.path / "skipped.csv", _skipped_csv(scan.skipped))
    rate = float(np.mean(labels))
    metrics = {"detection_rate": rate, "n_read": len(names), "n_skipped": len(scan.skipped),
               "n_called_fake": int(labels.sum()), "detector": str(args.detector), "features": det.features,
               "classifier": det.classifier, "size": list(det.size)}
    _user_finish(ctx, metrics, f"{args.images}: {len(names)} images scored at {det.size[0]}×{det.size[1]}, "
                 f"{len(scan.skipped)} skipped (skipped.csv)")
    print(f"detection rate {rate:.3f} ({int(labels.sum())}/{len(names)} called fake), {len(scan.skipped)} skipped; "
          f"scores: {ctx.run.path / 'scores.csv'}")
    return 0


def _csv_cell(s: str) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow([s])
    return buf.getvalue().strip("\r\n")


def cmd_data(args: argparse.Namespace) -> int:
    from spectral_forensics.data import describe_datasets, load_real

    data_dir = data_dir_from(args)
    if args.data_cmd == "list":
        print(f"{'name':14} {'present':8} format / where")
        for r in describe_datasets(data_dir):
            print(f"{r['name']:14} {'yes' if r['present'] else 'no':8} {r['format']}\n{'':23}{r['where']}")
        return 0
    name = args.dataset or "photos"
    size = 32 if name != "folder" else 128
    d = load_real(name, data_dir, 64, 16, size, 1, 0, 178 if name == "folder" else None)
    print(f"ok: {d.note}; training images {d.train.shape}, real {d.real.shape}")
    return 0


# ------------------------------------------------------------------------------------------- parser
def _user_args(p: argparse.ArgumentParser, out_help: str, out_flag: str = "--out") -> argparse.ArgumentParser:
    p.add_argument("--preset", choices=["smoke", "quick", "paper"], default="quick",
                   help="preset whose dzanic/user settings apply (default quick)")
    p.add_argument(out_flag, dest="out", type=Path, default=None, help=out_help)
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the preset's)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set user.batch_size=64")
    p.add_argument("--device", default="cpu", help="cpu|cuda|auto (default cpu)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(resume=None, dataset=None, data_dir=None)
    return p


def build_parser() -> argparse.ArgumentParser:
    from spectral_forensics.detectors import CLASSIFIERS, FEATURES
    from spectral_forensics.losses import GANS

    p = ArgumentParser(prog=DIST, description="Fourier spectrum discrepancies of CNN-generated images: "
                       "spectra, spectral detectors, GANs with switchable last upsampling (CVPR 2021).")
    p.add_argument("--version", action="version", version=f"{DIST} {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_run_args(sub.add_parser("reproduce", help="train the GAN zoo, measure spectra and detection rates, "
                                "write the report with the claims' verdicts"))
    t = add_run_args(sub.add_parser("train-gan", help="train one GAN with a given last upsampling"))
    t.add_argument("--gan", choices=[*GANS, "stargan"], default="dcgan",
                   help="dcgan | lsgan | wgan-gp | stargan (StarGAN: --dataset folder with domain labels; its "
                   "recipe is the preset's stargan section)")
    t.add_argument("--upsample", default="BASELINE", help="BASELINE | N|B|Z.1.3|5|7 | N|B|Z.3.5 (default BASELINE)")
    s = _user_args(sub.add_parser("spectrum", help="reduced spectra of a folder of images + mean-spectrum figure"),
                   "run directory (default runs/spectral-forensics/<time>-<preset>)")
    s.add_argument("--images", type=existing_dir, required=True, help="folder of images")
    f = _user_args(sub.add_parser("fit-detector", help="fit a spectral detector on real vs fake folders"),
                   "the run directory of this fit (default runs/spectral-forensics/<time>-<preset>)", "--run-dir")
    f.add_argument("--out", dest="detector_out", type=Path, required=True, help="the detector file to write (.npz)")
    f.add_argument("--real", type=existing_dir, required=True, help="folder of real images")
    f.add_argument("--fake", type=existing_dir, required=True, help="folder of generated images")
    f.add_argument("--features", choices=list(FEATURES), default="dzanic")
    f.add_argument("--classifier", choices=list(CLASSIFIERS), default="knn")
    d = _user_args(sub.add_parser("detect", help="score a folder of images with a fitted detector"),
                   "run directory: scores.csv, skipped.csv, summary.json (detection rate), report.md")
    d.add_argument("--detector", type=Path, required=True, help="detector file from fit-detector (.npz)")
    d.add_argument("--images", type=existing_dir, required=True, help="folder of images to score")
    data = sub.add_parser("data", help="datasets: list | check")
    dsub = data.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser("list", help="supported datasets, their format and whether present")
    dl.add_argument("--data-dir", type=Path, default=None)
    dc = dsub.add_parser("check", help="load a dataset and report what was found")
    dc.add_argument("--dataset", default=None, help="photos | fashion-mnist | folder (default photos)")
    dc.add_argument("--data-dir", type=Path, default=None)
    return p


COMMANDS = {"reproduce": cmd_reproduce, "train-gan": cmd_train_gan, "spectrum": cmd_spectrum,
            "fit-detector": cmd_fit_detector, "detect": cmd_detect, "data": cmd_data}


def _main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("KMP_WARNINGS", "0")
    return COMMANDS[args.cmd](args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
