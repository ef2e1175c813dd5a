"""What Consortia's own checks share across Solidity and Vyper.

The checks (:data:`CHECKS_VERSION`) run on the compiler's AST and the runtime
bytecode. They are heuristics, documented in docs/contracts.md:

============================  ==========  ===============================================
check                         severity    flags
============================  ==========  ===============================================
``selfdestruct``              high        a reachable SELFDESTRUCT opcode in the runtime
                                          code (PUSH data and dead code skipped)
``controlled-delegatecall``   high        ``delegatecall`` whose target expression uses a
                                          parameter of a public/external function,
                                          ``msg.sender`` or ``msg.data``
``tx-origin-auth``            high        ``tx.origin`` in a ``require``/``assert``/``if``
                                          condition, other than ``tx.origin == msg.sender``
``unchecked-call``            medium      ``call``/``delegatecall``/``staticcall``/``send``
                                          whose success flag is discarded or never read
``reentrancy``                high        an external call (low-level ``call`` or a call to
                                          another contract) followed, later in the same
                                          function, by a state write; functions with a
                                          ``nonReentrant`` modifier are exempt
``unbounded-loop``            medium      a loop whose condition reads storage (a storage
                                          array's ``length`` or a state variable); for
                                          Vyper, ``low``: loops over storage arrays are
                                          bounded by the array's declared maximum
============================  ==========  ===============================================

Each language's checks (``solidity``, ``vyper``) implement
:class:`LanguageChecks`; :func:`run_checks` drives them function by function,
then adds the contract-wide ``selfdestruct`` finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final, Protocol

from consortia.evm.audit.reachability import SELFDESTRUCT, reachable_opcodes
from consortia.evm.audit.report import Finding, Severity, SourceLocation
from consortia.evm.compiler import CompiledContract

__all__ = [
    "CHECKS_VERSION",
    "Body",
    "LanguageChecks",
    "Node",
    "Source",
    "controlled_delegatecall_finding",
    "finding",
    "run_checks",
    "span",
    "tx_origin_finding",
    "walk",
]

CHECKS_VERSION: Final = "1"
"""Version of Consortia's own checks; bump when a check's behaviour changes."""
TOOL_CONSORTIA: Final = "consortia"

Node = dict[str, Any]
"""One AST node (solc's compact JSON or Vyper's ``ast_dict``)."""
Body = list[tuple[Node, tuple[Node, ...]]]
"""A function body's nodes, each with its ancestors (as :func:`walk` yields them)."""


def walk(node: Any, ancestors: tuple[Node, ...] = ()) -> Iterator[tuple[Node, tuple[Node, ...]]]:
    """Every AST node under ``node`` (depth first, source order) with its ancestors."""
    if isinstance(node, dict):
        if "nodeType" in node or "ast_type" in node:
            yield node, ancestors
            ancestors = (*ancestors, node)
        for value in node.values():
            if isinstance(value, dict | list):
                yield from walk(value, ancestors)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, ancestors)


def span(node: Node) -> tuple[int, int]:
    """Byte offset and length of a node (``src`` is ``offset:length:file``)."""
    offset, length, _ = str(node.get("src", "0:0:0")).split(":", 2)
    return int(offset), int(length)


class Source:
    """Turns AST byte offsets into line numbers of one source unit."""

    def __init__(self, contract: CompiledContract) -> None:
        self.name = contract.source_name
        self.data = contract.source

    def location(self, node: Node) -> SourceLocation:
        """Where ``node`` is: its first and last line."""
        if "lineno" in node:  # Vyper nodes carry lines themselves
            line = int(node["lineno"])
            return SourceLocation(file=self.name, line=line, end_line=int(node["end_lineno"]))
        offset, length = span(node)
        line = self.data.count(b"\n", 0, offset) + 1
        end = line + self.data.count(b"\n", offset, offset + max(length - 1, 0))
        return SourceLocation(file=self.name, line=line, end_line=end)


def finding(
    check: str, severity: Severity, description: str, where: SourceLocation | None
) -> Finding:
    """A finding of Consortia's checks."""
    return Finding(
        tool=TOOL_CONSORTIA, check=check, severity=severity, description=description, location=where
    )


def tx_origin_finding(where: SourceLocation) -> Finding:
    """``tx-origin-auth``: ``tx.origin`` in a condition (same words for both languages)."""
    return finding(
        "tx-origin-auth",
        Severity.HIGH,
        "tx.origin used for authorisation; any contract the owner calls can act "
        "as the owner (use msg.sender)",
        where,
    )


def controlled_delegatecall_finding(where: SourceLocation) -> Finding:
    """``controlled-delegatecall``: a delegatecall target the caller chooses."""
    return finding(
        "controlled-delegatecall",
        Severity.HIGH,
        "delegatecall to an address the caller chooses: the caller can run any "
        "code with this contract's storage and balance",
        where,
    )


def _selfdestruct_finding(
    contract: CompiledContract, where: SourceLocation | None
) -> Iterator[Finding]:
    for offset, op in reachable_opcodes(contract.runtime_bytecode):
        if op == SELFDESTRUCT:
            yield finding(
                "selfdestruct",
                Severity.HIGH,
                f"{contract.name}: the runtime code contains SELFDESTRUCT "
                f"(first at byte {offset}); the contract can be destroyed or drain its balance",
                where,
            )
            return


class LanguageChecks(Protocol):
    """One language's checks, as :func:`run_checks` drives them."""

    contract: CompiledContract
    source: Source

    def functions(self) -> Iterator[tuple[Node, Body]]:
        """Each function and its body's nodes."""
        ...

    def is_selfdestruct(self, node: Node) -> bool:
        """A call of ``selfdestruct``."""
        ...

    def tx_origin(self, body: Body) -> Iterator[Finding]:
        """``tx-origin-auth`` findings in one body."""
        ...

    def reentrancy(self, fn: Node, body: Body) -> Iterator[Finding]:
        """``reentrancy`` findings in one function."""
        ...

    def loops(self, body: Body) -> Iterator[Finding]:
        """``unbounded-loop`` findings in one body."""
        ...


def run_checks(
    checks: LanguageChecks, low_level: Callable[[Node, Body], Iterator[Finding]]
) -> Iterator[Finding]:
    """The per-function checks of either language, then the contract-wide selfdestruct one."""
    first_selfdestruct = None
    for fn, body in checks.functions():
        yield from checks.tx_origin(body)
        yield from low_level(fn, body)
        yield from checks.reentrancy(fn, body)
        yield from checks.loops(body)
        for node, _ in body:
            if first_selfdestruct is None and checks.is_selfdestruct(node):
                first_selfdestruct = checks.source.location(node)
    yield from _selfdestruct_finding(checks.contract, first_selfdestruct)
