"""The ``summary.json`` schema and the ``report.md`` writer.

A claim's verdict is one of :data:`VERDICTS`; it must come from the numbers of the run (its
``evidence``), never be written by hand.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reprokit.io import atomic_write_json, atomic_write_text, dumps_json

VERDICTS = ("reproduced", "not reproduced", "inconclusive")
REQUIRED_KEYS = ("package", "version", "preset", "dataset", "data_note", "seed", "runtime_s", "metrics", "claims")
CLAIM_KEYS = ("id", "statement", "paper", "verdict", "evidence")


def verdict_from_test(holds: bool | None) -> str:
    """``True`` → reproduced, ``False`` → not reproduced, ``None`` (the run cannot decide) → inconclusive."""
    if holds is None:
        return "inconclusive"
    return "reproduced" if holds else "not reproduced"


def paired_t_ci(effects: Any, level: float = 0.95) -> dict[str, float]:
    """Mean of per-seed (or per-fold) paired effects with its Student-t confidence interval.

    ``mean ± t_{(1+level)/2, n-1} · sd / √n``; with one value (or zero spread) the interval is the point
    itself only when n ≥ 2 and sd = 0, and undefined (nan) when n < 2.
    """
    import numpy as np
    from scipy import stats

    x = np.asarray(effects, dtype=float).ravel()
    n = int(x.size)
    mean = float(x.mean()) if n else float("nan")
    if n < 2:
        return {"mean": mean, "low": float("nan"), "high": float("nan"), "sd": float("nan"), "n": n}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n)
    return {"mean": mean, "low": float(mean - half), "high": float(mean + half), "sd": sd, "n": n}


def verdict_from_ci(low: float, high: float, estimate: float, min_effect: float) -> str:
    """DESIGN.md's rule for an effect whose paper direction is positive (flip signs beforehand otherwise).

    reproduced: the CI excludes zero (low > 0) and the estimate reaches ``min_effect``;
    not reproduced: the whole CI lies below ``min_effect`` (high < min_effect), reversed effects included;
    inconclusive: anything else, and whenever the CI is undefined (nan).
    """
    import math

    if any(math.isnan(v) for v in (low, high, estimate)):
        return "inconclusive"
    if low > 0 and estimate >= min_effect:
        return "reproduced"
    if high < min_effect:
        return "not reproduced"
    return "inconclusive"


def ci_outcome(low: float, high: float, min_effect: float) -> str:
    """A few words for the report: where the CI lies against 0 and the smallest effect that counts."""
    if high < 0:
        return "reversed (CI below 0)"
    if low > 0:
        return "CI above 0" + ("" if low >= min_effect else f", lower bound under {min_effect}")
    return "CI includes 0"


@dataclass
class Claim:
    id: str
    statement: str
    paper: str  # the paper's figure or wording
    verdict: str
    evidence: dict[str, Any]
    ours: str = ""  # this run's figure, in one line, for the report table
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass
class Summary:
    package: str
    version: str
    preset: str
    dataset: str
    data_note: str
    seed: int
    runtime_s: float
    metrics: dict[str, Any]
    claims: list[Claim]
    title: str = ""
    setting: str = ""  # one line: the scale of this run (model, epochs, subjects...)
    figures: list[str] = field(default_factory=list)  # paths relative to the run directory
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["claims"] = [asdict(c) for c in self.claims]
        return d


def validate_summary(d: dict[str, Any], require_claims: bool = True) -> None:
    """Raise ``ValueError`` unless ``d`` follows the schema of DESIGN.md.

    A ``reproduce`` summary needs at least one claim; ``require_claims=False`` admits the claimless
    summary of a ``train``/``evaluate`` run.
    """
    missing = [k for k in REQUIRED_KEYS if k not in d]
    if missing:
        raise ValueError(f"summary lacks {missing}")
    if not isinstance(d["claims"], list) or (require_claims and not d["claims"]):
        raise ValueError("summary needs at least one claim")
    for c in d["claims"]:
        miss = [k for k in CLAIM_KEYS if k not in c]
        if miss:
            raise ValueError(f"claim {c.get('id')!r} lacks {miss}")
        if c["verdict"] not in VERDICTS:
            raise ValueError(f"claim {c['id']!r}: verdict {c['verdict']!r} not in {VERDICTS}")
        if not isinstance(c["evidence"], dict) or not c["evidence"]:
            raise ValueError(f"claim {c['id']!r}: a verdict needs its evidence (numbers)")
    if not isinstance(d["runtime_s"], (int, float)) or d["runtime_s"] < 0:
        raise ValueError("runtime_s must be a non-negative number")


def write_summary(run_path: str | os.PathLike, summary: Summary | dict[str, Any],
                  require_claims: bool = True) -> Path:
    d = summary.to_dict() if isinstance(summary, Summary) else dict(summary)
    validate_summary(d, require_claims=require_claims)
    return atomic_write_json(Path(run_path) / "summary.json", d)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and len(v) <= 6:
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return dumps_json(v, indent=None)
    return str(v)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_report(summary: Summary | dict[str, Any], sections: list[tuple[str, str]] | None = None) -> str:
    """Markdown: header, the claims table (paper | this run | verdict), evidence, metrics, figures.

    ``sections`` are extra (heading, markdown body) pairs a package adds, e.g. the paper's table
    printed beside this run's.
    """
    d = summary.to_dict() if isinstance(summary, Summary) else dict(summary)
    title = d.get("title") or d["package"]
    lines = [
        f"# {title}: reproduction report",
        "",
        f"- package: `{d['package']}` {d['version']}, preset `{d['preset']}`, seed {d['seed']}",
        f"- dataset: {d['dataset']}",
        f"- data: {d['data_note']}",
    ]
    if d.get("setting"):
        lines.append(f"- setting: {d['setting']}")
    lines += [f"- runtime: {d['runtime_s']:.1f} s", ""]
    if d["claims"]:
        lines += ["## Claims", "", "| # | claim | paper | this run | verdict |", "|---|---|---|---|---|"]
    for c in d["claims"]:
        ours = c.get("ours") or _fmt(c["evidence"])
        lines.append(f"| {_cell(c['id'])} | {_cell(c['statement'])} | {_cell(c['paper'])} | {_cell(ours)} "
                     f"| **{c['verdict']}** |")
    if d["claims"]:
        lines += ["", "### Evidence", ""]
    for c in d["claims"]:
        lines.append(f"**{c['id']}**: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in c["evidence"].items()))
        if c.get("note"):
            lines.append(f"  _{c['note']}_")
        lines.append("")
    for heading, body in sections or []:
        lines += [f"## {heading}", "", body.rstrip(), ""]
    if d["metrics"]:
        lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(_fmt(v))} |" for k, v in d["metrics"].items()]
        lines.append("")
    if d.get("figures"):
        lines += ["## Figures", ""]
        lines += [f"![{Path(f).stem}]({f})" for f in d["figures"]]
        lines.append("")
    return "\n".join(lines)


def write_report(run_path: str | os.PathLike, summary: Summary | dict[str, Any],
                 sections: list[tuple[str, str]] | None = None) -> Path:
    return atomic_write_text(Path(run_path) / "report.md", render_report(summary, sections))
