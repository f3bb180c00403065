"""The package layering: walks every `import` in src/recon (top-level and inside functions) and fails on an
edge from a top-level package to one in its own or a higher layer, and on a cycle between top-level packages."""

from __future__ import annotations

import ast
from pathlib import Path

import recon

SRC = Path(recon.__file__).parent

# Lowest first. A package imports only packages of strictly lower layers (`recon` itself, the root package,
# may be imported by all). Siblings in one layer do not import each other.
LAYERS: list[set[str]] = [
    {"errors"},
    {"runs", "stats", "resources"},
    {"econ"},
    {"grading"},
    {"data"},
    {"inference"},
    {"evaluation", "games", "distill"},
    {"training"},
    {"report"},
    {"pipeline"},
    {"cli"},
]
LAYER = {name: index for index, names in enumerate(LAYERS) for name in names}


def top_level(module: str) -> str | None:
    """`recon.games.stats` → `games`; None for the root package itself and for other packages."""
    parts = module.split(".")
    return parts[1] if parts[0] == "recon" and len(parts) > 1 else None


def is_module(name: str) -> bool:
    return (SRC / f"{name}.py").is_file() or (SRC / name / "__init__.py").is_file()


def imports(path: Path) -> list[tuple[str, int]]:
    """(imported recon module, line) of every import statement in `path`, relative imports resolved."""
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *([base] if base else [])])
            # `from recon import stats` imports the module recon.stats (`from recon import lazy_exports`: the root)
            found += [(f"{base}.{alias.name}" if base == "recon" and is_module(alias.name) else base, node.lineno)
                      for alias in node.names]  # fmt: skip
    return [(name, line) for name, line in found if name == "recon" or name.startswith("recon.")]


def edges() -> dict[tuple[str, str], str]:
    """{(importing top-level package, imported one): 'file:line' of one such import}."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        source = top_level(".".join(path.relative_to(SRC.parent).with_suffix("").parts))
        if source is None:
            continue
        for module, line in imports(path):
            target = top_level(module)
            if target is not None and target != source:
                out.setdefault((source, target), f"{path.relative_to(SRC.parent)}:{line}")
    return out


def test_every_top_level_package_has_a_layer():
    packages = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}  # fmt: skip
    assert packages - set(LAYER) == set(), "add the new package to LAYERS"


def test_no_module_imports_a_package_of_its_own_or_a_higher_layer():
    upward = [f"{where}: {a} (layer {LAYER[a]}) imports {b} (layer {LAYER[b]})"
              for (a, b), where in edges().items() if LAYER[b] >= LAYER[a]]  # fmt: skip
    assert upward == [], "\n".join(upward)


def test_no_cycle_between_top_level_packages():
    graph: dict[str, set[str]] = {}
    for a, b in edges():
        graph.setdefault(a, set()).add(b)
    state: dict[str, str] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" → ".join([*path[path.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == [], cycles


def test_the_walk_sees_imports_inside_functions():
    # training/run.py imports the evaluator inside a function; the walk must see it
    assert ("training", "evaluation") in edges()
