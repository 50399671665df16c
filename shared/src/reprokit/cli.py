"""The command-line contract shared by every package (DESIGN.md, "The command line").

A package's ``reproduce`` looks like::

    def reproduce(args) -> int:
        ctx = start_run(args, dist="lskd", module="lskd", version=__version__)
        results = experiments.run(ctx.cfg, ctx)                # its own work
        finish_run(ctx, dataset=..., data_note=..., metrics=..., claims=[Claim(...), ...])
        return 0

    def main(argv=None) -> int:
        return run_main(_main, argv)                           # exit 2 on UsageError, 1 on a crash
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reprokit.config import apply_overrides, load_preset
from reprokit.errors import UsageError
from reprokit.logs import setup_logging
from reprokit.report import Claim, Summary, write_report, write_summary
from reprokit.rundir import RunDir
from reprokit.seeding import seed_everything

log = logging.getLogger("reprokit")

PRESETS = ("smoke", "quick", "paper")


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose mistakes are a :class:`UsageError`: one line on stderr, exit 2, no usage dump.

    Subparsers made with ``add_subparsers`` inherit this class.
    """

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _bounded_int(lo: int, name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"expected a {name} integer (≥ {lo}), got {value}")
        return value

    parse.__name__ = f"{name} integer"
    return parse


positive_int = _bounded_int(1, "positive")
nonnegative_int = _bounded_int(0, "non-negative")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def json_arg(text: str) -> Any:
    """A flag whose value is JSON (``--conditions '{"familiar": [1]}'``), parsed at the door."""
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON ({e.msg} at character {e.pos}): {text!r}") from None


def existing_file(*suffixes: str) -> Callable[[str], Path]:
    """An argparse type: a file that exists, is not empty and (when given) ends in one of ``suffixes``."""
    def parse(text: str) -> Path:
        p = Path(text)
        if not p.is_file():
            raise argparse.ArgumentTypeError(f"{text}: no such file")
        if suffixes and not any(p.name.lower().endswith(s.lower()) for s in suffixes):
            raise argparse.ArgumentTypeError(f"{text}: expected a {' or '.join(suffixes)} file")
        if p.stat().st_size == 0:
            raise argparse.ArgumentTypeError(f"{text}: the file is empty")
        return p

    parse.__name__ = "file"
    return parse


def existing_dir(text: str) -> Path:
    p = Path(text)
    if not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such directory")
    return p


def add_run_args(parser: argparse.ArgumentParser, *, presets: Sequence[str] = PRESETS,
                 default_preset: str = "quick", device: bool = True) -> argparse.ArgumentParser:
    """The common flags of every ``reproduce``/``train``-like subcommand."""
    parser.add_argument("--preset", choices=list(presets), default=default_preset,
                        help=f"configuration preset (default: {default_preset})")
    parser.add_argument("--dataset", default=None, help="dataset name (see `data list`); default: the preset's")
    parser.add_argument("--data-dir", default=None, type=Path,
                        help="directory holding the dataset files (default: $REPRO_DATA)")
    parser.add_argument("--out", default=None, type=Path, help="run directory (default: runs/<dist>/<time>-<preset>)")
    if device:
        parser.add_argument("--device", default="auto", help="auto|cpu|cuda|mps (default: auto)")
    parser.add_argument("--seed", default=None, type=int, help="random seed (default: the preset's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set train.epochs=3 (repeatable)")
    parser.add_argument("--resume", default=None, type=Path, metavar="RUN_DIR", help="continue an unfinished run")
    parser.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")
    return parser


def data_dir_from(args: argparse.Namespace) -> Path | None:
    """``--data-dir`` or, when absent, the REPRO_DATA environment variable."""
    d = getattr(args, "data_dir", None) or os.environ.get("REPRO_DATA")
    return Path(d) if d else None


@dataclass
class RunContext:
    """What a package's experiment needs from the command line, resolved once."""

    run: RunDir
    cfg: dict[str, Any]
    dist: str
    version: str
    preset: str
    seed: int
    dataset: str | None
    data_dir: Path | None
    quiet: bool
    resumed: bool
    device: Any = None  # torch.device when the package uses torch
    started: float = field(default_factory=time.time)
    previous_runtime_s: float = 0.0

    @property
    def runtime_s(self) -> float:
        return self.previous_runtime_s + time.time() - self.started


def _resolved_run_section(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    seed = args.seed if args.seed is not None else int(cfg.get("seed", 0))
    return {
        "preset": args.preset,
        "seed": seed,
        "dataset": args.dataset or cfg.get("dataset"),
        "data_dir": str(data_dir_from(args)) if data_dir_from(args) else None,
        "device": getattr(args, "device", None),
    }


def start_run(args: argparse.Namespace, *, dist: str, module: str, version: str, torch: bool = True,
              extra_packages: Sequence[str] = (), schema: type | None = None,
              precheck: Callable[[dict[str, Any], dict[str, Any]], None] | None = None) -> RunContext:
    """Resolve preset + overrides, create (or resume) the run directory, set up logging and seeds.

    The saved ``config.yaml`` holds the package's config plus a ``run`` section (preset, seed,
    dataset, data_dir, device); ``--resume`` restores both from it, so a resumed run computes
    exactly what the killed one would have.

    ``precheck(cfg, run_section)`` runs on the resolved config before anything is written: it
    raises ``UsageError`` for bad input (unknown dataset, missing files, impossible settings), so
    a user mistake leaves no run directory behind. ``schema`` (a :class:`reprokit.schema.ConfigModel`)
    checks the config's types, ranges and relations first, in the same step.
    """
    resumed = args.resume is not None
    if resumed:
        if args.overrides:
            raise UsageError("--set cannot be combined with --resume: a resumed run keeps its saved config")
        run = RunDir.resume(args.resume)
        saved = run.load_config()
        runsec = saved.pop("run", {})
        cfg = saved
        args.preset = runsec.get("preset", args.preset)
        previous = previous_runtime(run.read_metrics())
    else:
        from reprokit.schema import nullable_in

        cfg = apply_overrides(load_preset(module, args.preset), args.overrides,
                              nullable_in(schema) if schema is not None else None)
        runsec = _resolved_run_section(args, cfg)
        previous = 0.0
        run = None
    if args.out is not None and not resumed:
        RunDir.check_out(args.out)
    if schema is not None:
        from reprokit.schema import validate_config

        validate_config(cfg, schema)
    if precheck is not None:
        precheck(cfg, runsec)

    device = None
    dist_info = None
    if torch:
        from reprokit.device import resolve_device
        from reprokit.distributed import init_distributed, launched_by_torchrun

        local_rank = int(os.environ.get("LOCAL_RANK", 0)) if launched_by_torchrun() else None
        device = resolve_device(runsec.get("device") or "auto", local_rank)
        dist_info = init_distributed(device.type)

    if run is None:
        run = _create_rundir_on_all_ranks(dist, args.preset, args.out, dist_info)
        if dist_info is None or dist_info.is_main:
            run.save_config({**cfg, "run": runsec})

    setup_logging(run.log_file if (dist_info is None or dist_info.is_main) else None, quiet=args.quiet)
    seed = int(runsec["seed"])
    seed_everything(seed + (dist_info.rank if dist_info is not None else 0))
    if dist_info is None or dist_info.is_main:
        extra = {}
        if device is not None:
            from reprokit.device import describe_device

            extra = {"device_info": describe_device(device)}
        run.write_env(seed, str(device) if device is not None else "cpu (numpy)", [dist, *extra_packages], extra)
        run.log_metrics({"event": "session_start", "resumed": resumed})
    log.info("%s %s: run directory %s (%s)", dist, "resumed" if resumed else "started", run.path, args.preset)
    data_dir = Path(runsec["data_dir"]) if runsec.get("data_dir") else None
    return RunContext(run=run, cfg=cfg, dist=dist, version=version, preset=args.preset, seed=seed,
                      dataset=runsec.get("dataset"), data_dir=data_dir,
                      quiet=args.quiet, resumed=resumed, device=device, previous_runtime_s=previous)


def previous_runtime(rows: list[dict[str, Any]]) -> float:
    """Seconds spent in earlier sessions of a run: from each session_start to that session's last line.

    A killed session wrote no end marker, so its last logged metric is the best bound we have.
    """
    total, start, last = 0.0, None, None
    for r in rows:
        t = r.get("time")
        if t is None:
            continue
        if r.get("event") == "session_start":
            if start is not None:
                total += last - start
            start = t
        last = t
    if start is not None:
        total += last - start
    return total


def _create_rundir_on_all_ranks(dist: str, preset: str, out: Path | None, dist_info) -> RunDir:
    """Rank 0 creates the directory; under torchrun the other ranks receive its path."""
    if dist_info is None or not dist_info.enabled:
        return RunDir.create(dist, preset, out)
    import torch.distributed as tdist

    holder = [str(RunDir.create(dist, preset, out).path) if dist_info.is_main else None]
    tdist.broadcast_object_list(holder, src=0)
    return RunDir(holder[0])


def finish_run(ctx: RunContext, *, dataset: str, data_note: str, metrics: dict[str, Any], claims: list[Claim],
               title: str = "", setting: str = "", figures: Sequence[str | Path] = (),
               sections: list[tuple[str, str]] | None = None, extra: dict[str, Any] | None = None,
               require_claims: bool = True) -> Summary:
    """Write ``summary.json`` and ``report.md`` (rank 0 only) and return the summary.

    ``reproduce`` must give claims; a ``train``/``evaluate`` run passes ``claims=[]`` with
    ``require_claims=False`` so that it, too, is marked finished.
    """
    rel = [_relative_to_run(ctx.run.path, f) for f in figures]
    summary = Summary(package=ctx.dist, version=ctx.version, preset=ctx.preset, dataset=dataset,
                      data_note=data_note, seed=ctx.seed, runtime_s=round(ctx.runtime_s, 2), metrics=metrics,
                      claims=claims, title=title, setting=setting, figures=rel, extra=extra or {})
    from reprokit.distributed import is_main_process

    if is_main_process():
        ctx.run.log_metrics({"event": "session_end", "runtime_s": time.time() - ctx.started})
        write_report(ctx.run.path, summary, sections)
        write_summary(ctx.run.path, summary, require_claims=require_claims)  # last: marks the run finished
        log.info("report: %s", ctx.run.path / "report.md")
    return summary


def _relative_to_run(run_path: Path, figure: str | Path) -> str:
    """A figure's path relative to the run directory, whether given absolute, relative to the working
    directory (``ctx.run.figures / "x.png"`` with a relative runs root) or already relative to the run."""
    p = Path(figure)
    if p.is_absolute() or p.exists():
        try:
            return str(p.resolve().relative_to(run_path.resolve()))
        except ValueError as e:
            raise ValueError(f"figure {figure} is not inside the run directory {run_path}") from e
    return str(p)


def _end_distributed() -> None:
    """Under torchrun, end the process group cleanly once the command is done (all ranks, barrier first)."""
    if "torch.distributed" in sys.modules:
        from reprokit.distributed import cleanup

        cleanup()


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Call ``main(argv)`` and turn the outcome into the exit code of DESIGN.md.

    UsageError → one line on stderr, exit 2; an unexpected exception → a one-line message, the
    traceback in the log, exit 1; Ctrl-C → 130.
    """
    try:
        rc = main(argv)
        _end_distributed()
        return 0 if rc is None else int(rc)
    except UsageError as e:
        one_line = " ".join(part.strip() for part in str(e).splitlines() if part.strip())
        print(f"error: {one_line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:  # argparse's own exit (2 for bad flags, 0 for --help)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception as e:
        log.exception("internal error")
        print(f"internal error: {type(e).__name__}: {e} (please report it; the traceback is in the run log)",
              file=sys.stderr)
        if os.environ.get("REPRO_DEBUG"):
            raise
        return 1
