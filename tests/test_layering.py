"""Imports run downward only (DESIGN.md §2, docs/architecture.md "Layers").

Reads every module under ``src/consortia`` with :mod:`ast`, every import
statement at any depth (function-local and ``TYPE_CHECKING`` ones too), and
checks each import between two packages against the layer order below. The
violations that exist today are listed in :data:`KNOWN_VIOLATIONS` and
:data:`KNOWN_CYCLES`, each with the part of issue #17 that removes it: a new
violation fails the test, and so does a listed one that is gone (delete its
line), so the list can only shrink.

The checker is plain functions over a directory, so the last tests plant an
upward import in a throw-away package and see it reported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "consortia"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"consortia", "errors", "recursion"}),  # the package root, the error base
    frozenset({"codec", "crypto"}),
    frozenset({"state", "ledger"}),
    frozenset({"consensus"}),  # blocks and votes; commits blocks that execution then applies
    frozenset({"execution", "network"}),  # the block transition; the wire between validators
    frozenset({"modules", "evm"}),
    frozenset({"apps", "privacy", "interop", "mpc", "genesis", "mempool", "sdk"}),
    frozenset({"node", "verify", "services"}),  # the verifier beside node, never importing it
    frozenset({"console"}),
    frozenset({"api"}),
    frozenset({"server", "bench"}),  # the composition root and the load generator
    frozenset({"cli"}),
)
"""Packages (``consortia.<name>``, or a top-level module's name) from the bottom up.

A module may import from a strictly lower layer; two packages of one layer
know nothing of each other unless :data:`PEERS` says so."""

PEERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("consortia", "recursion"),  # the root package pins the recursion limit on import
        ("evm", "modules"),  # the deployment gate reads governance's approvals
    }
)
"""Allowed imports within one layer, (importer, imported): one direction only."""

RESTRICTED: Mapping[str, frozenset[str]] = {
    # consensus and network know blocks and votes, never applications
    "consensus": frozenset(
        {"consortia", "errors", "recursion", "codec", "crypto", "state", "ledger"}
    ),
    "network": frozenset(
        {"consortia", "errors", "recursion", "codec", "crypto", "state", "ledger", "consensus"}
    ),
}
"""Packages that may import only from the listed ones, whatever their layer."""

WIRE_MODULES: frozenset[str] = frozenset({"consortia.api.schemas", "consortia.api.jsonable"})
"""The wire types: the sdk may import these (and they, like the sdk, nothing above it)."""

KNOWN_VIOLATIONS: Mapping[tuple[str, str], str] = {}
"""Upward imports that exist today, (importer, imported module): remove, never add."""

KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()
"""Import cycles between modules that exist today: remove, never add."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One import that breaks the layer order."""

    importer: str
    """The importing module."""
    imported: str
    """The imported module (or package, when no module of that name exists)."""
    line: int
    """Line of the import statement in the importer."""
    reason: str


def module_files(package_dir: Path) -> dict[str, Path]:
    """Every module under ``package_dir`` by dotted name (a package by its ``__init__``)."""
    top = package_dir.name
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (top, *path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imports_of(module: str, path: Path, known: Mapping[str, Path]) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in ``path``, at any depth.

    ``from a.b import c`` names ``a.b.c`` when that is a module, else ``a.b``;
    relative imports are resolved against ``module``.
    """
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                keep = len(anchor) - node.level + (1 if is_package else 0)
                base = ".".join(anchor[:keep] + ([base] if base else []))
            names = {f"{base}.{a.name}" for a in node.names}
            for name in sorted({n if n in known else base for n in names}):
                yield name, node.lineno


def package_of(module: str) -> str:
    """``consortia.x.y`` → ``x``; the root package itself → ``consortia``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _rank(package: str) -> int | None:
    for rank, layer in enumerate(LAYERS):
        if package in layer:
            return rank
    return None


def edge_problem(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported``, or None if it may."""
    source = "sdk" if importer in WIRE_MODULES else package_of(importer)
    target = package_of(imported)
    source_rank, target_rank = _rank(source), _rank(target)
    if source_rank is None or target_rank is None:
        missing = source if source_rank is None else target
        return f"package {missing!r} has no layer: place it in LAYERS"
    if source == package_of(importer) == target:
        return None
    if source == "sdk" and imported in WIRE_MODULES:
        return None
    allowed = RESTRICTED.get(source)
    if allowed is not None and target not in allowed:
        return f"{source} may import only {', '.join(sorted(allowed))}"
    if target_rank < source_rank or (source, target) in PEERS:
        return None
    if target_rank == source_rank:
        return f"{source} and {target} share a layer and are not listed as peers"
    return f"upward import: {source} (layer {source_rank}) -> {target} (layer {target_rank})"


def find_violations(package_dir: Path) -> list[Violation]:
    """Every import under ``package_dir`` (a top package) that breaks the layer order."""
    modules = module_files(package_dir)
    top = package_dir.name
    found = []
    for module, path in modules.items():
        for imported, line in imports_of(module, path, modules):
            if imported != top and not imported.startswith(top + "."):
                continue  # the standard library and third parties
            reason = edge_problem(module, imported)
            if reason is not None:
                found.append(Violation(module, imported, line, reason))
    return found


def find_cycles(package_dir: Path) -> list[frozenset[str]]:
    """Groups of modules that import each other in a cycle (Tarjan's SCCs of size > 1)."""
    modules = module_files(package_dir)
    graph = {
        module: sorted({m for m, _ in imports_of(module, path, modules) if m in modules})
        for module, path in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in graph:  # iterative Tarjan: deep chains need no recursion
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            successors = graph[node]
            if child < len(successors):
                work.append((node, child + 1))
                nxt = successors[child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(frozenset(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return cycles


def test_imports_run_downward_only() -> None:
    """[ARCH-LAYERS.1] No import outside the allow-list goes up or sideways."""
    found = find_violations(SOURCE)
    new = [v for v in found if (v.importer, v.imported) not in KNOWN_VIOLATIONS]
    assert not new, "imports against the layer order:\n" + "\n".join(
        f"  {v.importer}:{v.line} imports {v.imported}: {v.reason}" for v in new
    )
    gone = set(KNOWN_VIOLATIONS) - {(v.importer, v.imported) for v in found}
    assert not gone, f"fixed, so delete from KNOWN_VIOLATIONS: {sorted(gone)}"


def test_no_import_cycles() -> None:
    """[ARCH-LAYERS.2] No module imports itself through others, beyond the allow-list."""
    found = set(find_cycles(SOURCE))
    assert not found - KNOWN_CYCLES, (
        f"new import cycles: {[sorted(c) for c in found - KNOWN_CYCLES]}"
    )
    assert not KNOWN_CYCLES - found, (
        f"fixed, so delete from KNOWN_CYCLES: {[sorted(c) for c in KNOWN_CYCLES - found]}"
    )


def test_verifier_imports_nothing_from_node() -> None:
    """The verifier shares the block transition in execution/, not the node's code."""
    modules = module_files(SOURCE)
    from_node = [
        (module, imported)
        for module, path in modules.items()
        if package_of(module) == "verify"
        for imported, _ in imports_of(module, path, modules)
        if imported.startswith("consortia.node")
    ]
    assert from_node == []


def _plant(root: Path, files: Mapping[str, str]) -> Path:
    """A throw-away ``consortia`` package holding ``files`` (relative path → source)."""
    package = root / "consortia"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for directory in [package, *[p for p in package.rglob("*") if p.is_dir()]]:
        (directory / "__init__.py").touch()
    return package


def test_planted_upward_import_is_reported(tmp_path: Path) -> None:
    """A function-local ``codec -> node`` import fails the check, with its line."""
    package = _plant(
        tmp_path,
        {
            "codec/wire.py": "import json\n\n\ndef f():\n    from consortia.node import service\n",
            "node/service.py": "from consortia.codec.wire import f\n",
        },
    )
    found = find_violations(package)
    assert [(v.importer, v.imported, v.line) for v in found] == [
        ("consortia.codec.wire", "consortia.node.service", 5)
    ]
    assert found[0].reason.startswith("upward import: codec")
    assert find_cycles(package) == [frozenset({"consortia.codec.wire", "consortia.node.service"})]


def test_planted_rules_beyond_rank(tmp_path: Path) -> None:
    """Consensus reaching an application, the verifier reaching node, the sdk the server."""
    package = _plant(
        tmp_path,
        {
            "consensus/core.py": "from consortia.execution.executor import Runtime\n",
            "verify/check.py": "if True:\n    import consortia.node.replay\n",
            "sdk/client.py": "from consortia.api import schemas\nfrom consortia.api import app\n",
            "execution/executor.py": "",
            "node/replay.py": "",
            "api/schemas.py": "",
            "api/app.py": "",
            "newthing/x.py": "from . import y\n",
            "newthing/y.py": "",
        },
    )
    found = {(v.importer, v.imported) for v in find_violations(package)}
    assert found == {
        ("consortia.consensus.core", "consortia.execution.executor"),
        ("consortia.verify.check", "consortia.node.replay"),
        ("consortia.sdk.client", "consortia.api.app"),
        ("consortia.newthing.x", "consortia.newthing.y"),  # an unplaced package is reported
    }
