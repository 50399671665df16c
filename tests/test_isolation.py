"""Every import in packages/<dist>/src resolves to the standard library, the package itself, reprokit,
or a dependency its pyproject declares; never a sibling package."""

import ast
import re
import sys
from importlib import metadata

import pytest
from conftest import module_name, present_packages

PACKAGES = present_packages()
SIBLINGS = {module_name(d) for d, _, _ in PACKAGES}
# Editable installs are not in packages_distributions(): map the workspace's own modules by hand.
IMPORT_TO_DISTS = {**metadata.packages_distributions(), "reprokit": ["reprokit"],
                   **{module_name(d): [d] for d, _, _ in PACKAGES}}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(meta: dict) -> set[str]:
    proj = meta["project"]
    reqs = list(proj.get("dependencies", []))
    for extra in proj.get("optional-dependencies", {}).values():
        reqs += extra
    return {_norm(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in reqs}


def top_level_imports(src) -> dict[str, str]:
    found = {}
    for f in src.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                found.setdefault(n.split(".")[0], f"{f.name}:{node.lineno}")
    return found


def violations(dist: str, src, meta: dict) -> list[str]:
    own = module_name(dist)
    deps = declared(meta)
    bad = []
    for mod, where in top_level_imports(src).items():
        if mod == own or mod in sys.stdlib_module_names or mod == "__future__":
            continue
        if mod in SIBLINGS:
            bad.append(f"{where}: imports sibling package {mod}")
            continue
        providers = {_norm(d) for d in IMPORT_TO_DISTS.get(mod, [])}
        if not providers & deps:
            bad.append(f"{where}: `{mod}` (from {sorted(providers) or 'nowhere'}) is not declared in pyproject")
    return bad


@pytest.mark.parametrize(("dist", "pkg", "meta"), PACKAGES, ids=[p[0] for p in PACKAGES])
def test_imports_resolve_to_declared_dependencies(dist, pkg, meta):
    bad = violations(dist, pkg / "src", meta)
    assert not bad, "\n".join(bad)


def test_the_check_catches_siblings_and_undeclared(tmp_path):
    src = tmp_path / "src" / "fake_pkg"
    src.mkdir(parents=True)
    sibling = next(iter(SIBLINGS), "lskd")
    (src / "a.py").write_text(f"import os\nimport numpy\nimport yaml\nfrom {sibling}.x import y\nimport reprokit\n")
    meta = {"project": {"dependencies": ["reprokit>=0.1", "numpy>=1.24"]}}
    bad = violations("fake-pkg", tmp_path / "src", meta)
    assert any("sibling" in b for b in bad) and any("`yaml`" in b for b in bad)
    assert not any("numpy" in b or "reprokit" in b or "`os`" in b for b in bad)
