import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES_DIR = ROOT / "packages"


def present_packages() -> list[tuple[str, Path, dict]]:
    """(dist, package dir, parsed pyproject) for every package in packages/."""
    out = []
    for pp in sorted(PACKAGES_DIR.glob("*/pyproject.toml")):
        out.append((pp.parent.name, pp.parent, tomllib.loads(pp.read_text())))
    return out


def module_name(dist: str) -> str:
    return dist.replace("-", "_")
