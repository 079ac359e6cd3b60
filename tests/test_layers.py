"""The floor plan holds: a package imports only from its own layer and the layers below it.

The layers, highest first, are docs/architecture.md's picture of the packages. Packages on
one line are peers: neither may import the other. An import anywhere in a module counts,
including one inside a function or under ``TYPE_CHECKING``: a dependency deferred is still
a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Highest first. Each entry is a line of peers; a name is a package or a module.
LAYERS: list[list[str]] = [
    ["orchestrator.__main__"],
    ["orchestrator.cli"],
    ["orchestrator.demo"],
    ["channels.sandbox"],
    ["orchestrator.api"],
    [
        "orchestrator.dispatch",
        "orchestrator.inbound",
        "orchestrator.outbound",
        "orchestrator.simulation",
    ],
    ["orchestrator.services"],
    ["orchestrator.planning", "orchestrator.reporting"],
    ["orchestrator.intake"],
    ["orchestrator.tasks"],
    ["orchestrator.configuration"],
    ["channels"],
    ["orchestrator.messages"],
    [
        "orchestrator.ledger",
        "orchestrator.links",
        "orchestrator.timeline",
        "orchestrator.retention",
        "orchestrator.tenancy",
        "orchestrator.isolation",
        "orchestrator.outbox",
        "orchestrator.ops_users",
    ],
    ["orchestrator.compliance", "orchestrator.store"],
    ["orchestrator.epoch", "orchestrator.metrics"],
    [
        "orchestrator.clock",
        "orchestrator.domain",
        "orchestrator.errors",
        "orchestrator.liveness",
        "orchestrator.logs",
        "orchestrator.metrics_dir",
        "orchestrator.settings",
    ],
    ["orchestrator.channel_types"],
    ["orchestrator.tracing"],
]


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("orchestrator", "channels"):
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue  # Alembic's scripts, run by Alembic
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules ``name`` imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {target for target in found if target.split(".")[0] in ("orchestrator", "channels")}


def _place(module: str) -> tuple[int, str] | None:
    """(layer index, component) of the longest layer entry that contains ``module``."""
    best: tuple[int, str] | None = None
    for index, peers in enumerate(LAYERS):
        for component in peers:
            inside = module == component or module.startswith(component + ".")
            if inside and (best is None or len(component) > len(best[1])):
                best = (index, component)
    return best


def test_every_module_has_a_place_on_the_plan() -> None:
    unplaced = sorted(m for m in MODULES if m != "orchestrator" and _place(m) is None)
    assert unplaced == [], f"add these to LAYERS (and docs/architecture.md): {unplaced}"


def _violations() -> list[str]:
    found = []
    for module, path in sorted(MODULES.items()):
        here = _place(module)
        if here is None:
            continue
        for target in sorted(_imports(module, path)):
            there = _place(target) if target != "orchestrator" else (len(LAYERS), "orchestrator")
            if there is None or there[1] == here[1]:
                continue
            if there[0] < here[0]:
                found.append(f"{module} imports {target}: {there[1]} is above {here[1]}")
            elif there[0] == here[0]:
                found.append(f"{module} imports {target}: peers {here[1]} and {there[1]}")
    return found


def test_no_layer_imports_a_higher_one_or_a_peer() -> None:
    assert _violations() == []


def _cycles() -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), the import circles."""
    graph = {m: sorted(t for t in _imports(m, p) if t in MODULES) for m, p in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                group.append(item)
                if item == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_import_circles() -> None:
    assert _cycles() == []
