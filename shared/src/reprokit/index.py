"""``reports/index.md`` and a static ``reports/index.html``: one row per paper, from the newest
finished run of each package under the runs root. Packages that do not exist are "not built yet"."""

from __future__ import annotations

import argparse
import base64
import html
import json
from pathlib import Path
from typing import Any

from reprokit.io import atomic_write_text


def latest_summary(runs_root: Path, dist: str, preset: str | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The newest finished run (has summary.json) of ``dist``, optionally of one preset."""
    found = []
    for p in (runs_root / dist).glob("*/summary.json"):
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if d.get("claims") and (preset is None or d.get("preset") == preset):  # a reproduce run
            found.append((p.stat().st_mtime, p.parent, d))
    if not found:
        return None
    _, path, d = max(found, key=lambda t: t[0])
    return path, d


def collect_rows(papers: list[tuple[str, str]], packages_root: Path, runs_root: Path,
                 preset: str | None = "quick") -> list[dict[str, Any]]:
    rows = []
    for dist, title in papers:
        row: dict[str, Any] = {"dist": dist, "title": title}
        if not (packages_root / dist).is_dir():
            row["status"] = "not built yet"
        elif (hit := latest_summary(runs_root, dist, preset)) is None:
            row["status"] = "no finished run"
        else:
            row["status"] = "ok"
            row["run_dir"], row["summary"] = hit
        rows.append(row)
    return rows


def _claim_lines(d: dict[str, Any]) -> list[dict[str, str]]:
    return [{"id": c["id"], "statement": c["statement"], "paper": c["paper"],
             "ours": c.get("ours") or json.dumps(c["evidence"]), "verdict": c["verdict"]} for c in d["claims"]]


def render_markdown(rows: list[dict[str, Any]], out_dir: Path) -> str:
    lines = ["# Reproduction index", "",
             "| paper | claim | paper's figure | this run | verdict | data | runtime |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['dist']}: {r['title']} | {r['status']} | | | | | |")
            continue
        d = r["summary"]
        for i, c in enumerate(_claim_lines(d)):
            head = f"{r['dist']}: {r['title']}" if i == 0 else ""
            data = d["data_note"] if i == 0 else ""
            rt = f"{d['runtime_s']:.0f} s" if i == 0 else ""
            cells = [head, f"{c['id']}: {c['statement']}", c["paper"], c["ours"], f"**{c['verdict']}**", data, rt]
            lines.append("| " + " | ".join(s.replace("|", "\\|").replace("\n", " ") for s in cells) + " |")
    lines.append("")
    for r in rows:
        if r["status"] == "ok":
            rel = Path(r["run_dir"]).resolve()
            try:
                rel = rel.relative_to(out_dir.resolve().parent)
            except ValueError:
                pass
            lines.append(f"- {r['dist']}: full report `{rel}/report.md`")
    return "\n".join(lines) + "\n"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}" style="max-width:420px">'


def render_html(rows: list[dict[str, Any]]) -> str:
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Reproduction index</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}"
             ".reproduced{color:#070}.not{color:#a00}.inconclusive{color:#a60}</style></head><body>",
             "<h1>Reproduction index</h1><table><tr><th>paper</th><th>claim</th><th>paper's figure</th>"
             "<th>this run</th><th>verdict</th><th>data</th><th>runtime</th></tr>"]
    for r in rows:
        if r["status"] != "ok":
            parts.append(f"<tr><td>{e(r['dist'])}: {e(r['title'])}</td><td colspan=6>{e(r['status'])}</td></tr>")
            continue
        d = r["summary"]
        claims = _claim_lines(d)
        for i, c in enumerate(claims):
            cls = {"reproduced": "reproduced", "not reproduced": "not"}.get(c["verdict"], "inconclusive")
            head = (f"<td rowspan={len(claims)}>{e(r['dist'])}: {e(r['title'])}</td>" if i == 0 else "")
            tail = (f"<td rowspan={len(claims)}>{e(d['data_note'])}</td>"
                    f"<td rowspan={len(claims)}>{d['runtime_s']:.0f} s</td>" if i == 0 else "")
            parts.append(f"<tr>{head}<td>{e(c['id'])}: {e(c['statement'])}</td><td>{e(c['paper'])}</td>"
                         f"<td>{e(c['ours'])}</td><td class='{cls}'><b>{e(c['verdict'])}</b></td>{tail}</tr>")
    parts.append("</table>")
    for r in rows:
        if r["status"] != "ok":
            continue
        figs = [Path(r["run_dir"]) / f for f in r["summary"].get("figures", [])]
        figs = [f for f in figs if f.suffix == ".png" and f.is_file()]
        if figs:
            parts.append(f"<h2>{e(r['dist'])}</h2>" + "".join(_img(f) for f in figs))
    parts.append("</body></html>")
    return "\n".join(parts)


def build_index(papers: list[tuple[str, str]], packages_root: Path, runs_root: Path, out_dir: Path,
                preset: str | None = "quick") -> list[dict[str, Any]]:
    rows = collect_rows(papers, packages_root, runs_root, preset)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "index.md", render_markdown(rows, out_dir))
    atomic_write_text(out_dir / "index.html", render_html(rows))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--papers", type=Path, required=True, help="TSV file: dist<TAB>title per line")
    p.add_argument("--packages-root", type=Path, default=Path("packages"))
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--out", type=Path, default=Path("reports"))
    p.add_argument("--preset", default="quick")
    a = p.parse_args(argv)
    papers = [tuple(line.split("\t", 1)) for line in a.papers.read_text().splitlines() if line.strip()]
    rows = build_index(papers, a.packages_root, a.runs, a.out, a.preset)
    for r in rows:
        print(f"{r['dist']:20s} {r['status']}")
    print(f"wrote {a.out / 'index.md'} and {a.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
