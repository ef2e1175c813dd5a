"""The composition root hands each part its collaborators when it builds it (docs/architecture.md
"Wiring"): it never assigns an attribute of an object after building it.

Reads ``src/consortia/server`` with :mod:`ast` and reports every assignment to
an attribute of anything but ``self`` (``driver.on_commit = ...``,
``service.calls = ...``, ``router.p2p = ...``); the last test plants one.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "src" / "consortia" / "server"

ALLOWED = {
    "server.should_exit": "uvicorn's stop flag: how its server is told to stop, not a collaborator",
}


def late_assignments(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every ``<not self>.<attr> = ...`` (plain, annotated or augmented)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            parts = target.elts if isinstance(target, ast.Tuple) else [target]
            for part in parts:
                if isinstance(part, ast.Attribute) and not (
                    isinstance(part.value, ast.Name) and part.value.id == "self"
                ):
                    name = ast.unparse(part)
                    if name not in ALLOWED:
                        found.append((node.lineno, name))
    return found


def test_the_composition_root_assigns_no_collaborator_after_construction() -> None:
    found = {
        path.name: late for path in sorted(SERVER.glob("*.py")) if (late := late_assignments(path))
    }
    assert found == {}


def test_a_planted_late_assignment_is_reported(tmp_path: Path) -> None:
    planted = tmp_path / "assembly.py"
    planted.write_text(
        "def build(driver, node):\n"
        "    self_ok = 1\n"
        "    driver.on_commit = node.on_commit\n"
        "    node.service.calls: object = None\n",
        encoding="utf-8",
    )
    assert late_assignments(planted) == [(3, "driver.on_commit"), (4, "node.service.calls")]
