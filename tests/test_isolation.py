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
IMPORT_TO_DISTS = metadata.packages_distributions()


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


@pytest.mark.parametrize(("dist", "pkg", "meta"), PACKAGES, ids=[p[0] for p in PACKAGES])
def test_imports_resolve_to_declared_dependencies(dist, pkg, meta):
    own = module_name(dist)
    deps = declared(meta)
    bad = []
    for mod, where in top_level_imports(pkg / "src").items():
        if mod == own or mod in sys.stdlib_module_names or mod == "__future__":
            continue
        if mod in SIBLINGS:
            bad.append(f"{where}: imports sibling package {mod}")
            continue
        providers = {_norm(d) for d in IMPORT_TO_DISTS.get(mod, [])}
        if not providers & deps:
            bad.append(f"{where}: `{mod}` (from {sorted(providers) or 'nowhere'}) is not declared in pyproject")
    assert not bad, "\n".join(bad)
