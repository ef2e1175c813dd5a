"""The audit gate's analysis: Slither's detectors plus Consortia's own checks.

DESIGN.md §3 ("Contracts"): no contract deploys without an audit. An
:class:`AuditReport` binds findings to the exact source (SHA-256) and code
(Keccak-256 of creation and runtime bytecode) and names every tool version;
it is a :class:`~consortia.codec.Canonical` struct, so its bytes and hash are
well defined and it can be stored on chain. Chain policy, not this module,
decides what a finding means for deployment (``has_high``).

Analysers:

* **Slither** (Solidity only), run as ``slither DIR --solc-standard-json
  --solc solc_wrapper --json -`` on a temporary directory holding the one
  source file (imports are not copied: flatten multi-file sources first).
  Its impact levels map to our severities, ``Optimization`` to informational.
  Slither's Vyper 0.4 support is broken (DESIGN.md §3a), so Vyper gets our
  checks only.
* **Consortia's checks** (:data:`CHECKS_VERSION`), on the compiler's AST and
  the runtime bytecode. They are heuristics, documented in docs/contracts.md:

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
"""

from __future__ import annotations

import enum
import importlib.metadata
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from consortia.codec import U64, Canonical, Hash32, decode, encode
from consortia.crypto import keccak256
from consortia.evm.compiler import (
    SOLC_WRAPPER,
    CompiledContract,
    ContractToolError,
    Language,
    compile_file,
    solc_env,
)

__all__ = [
    "CHECKS_VERSION",
    "DOMAIN_AUDIT_REPORT",
    "AuditFailed",
    "AuditReport",
    "Finding",
    "Severity",
    "SourceLocation",
    "ToolVersion",
    "audit",
    "audit_contract",
    "audit_file",
    "reachable_opcodes",
]

CHECKS_VERSION: Final = "1"
"""Version of Consortia's own checks; bump when a check's behaviour changes."""
DOMAIN_AUDIT_REPORT: Final = b"CONSORTIA/AUDIT-REPORT/v1\x00"
"""Domain tag of :meth:`AuditReport.report_id`."""
SLITHER_TIMEOUT: Final = 300.0
"""Seconds one Slither run may take."""
TOOL_CONSORTIA: Final = "consortia"
TOOL_SLITHER: Final = "slither"


class AuditFailed(ContractToolError):
    """An analyser could not run or produced no usable result (e.g. Slither crashed)."""

    code = "CONTRACT_AUDIT_FAILED"


class Severity(enum.StrEnum):
    """How serious a finding is; policy blocks deployment on ``high``."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFORMATIONAL = "informational"

    @property
    def rank(self) -> int:
        """0 for high … 3 for informational (sort order of findings)."""
        return list(Severity).index(self)


class SourceLocation(Canonical, frozen=True):
    """Where in the source a finding is."""

    file: str
    """The source unit's name."""
    line: U64
    """First line, counted from 1."""
    end_line: U64
    """Last line (equal to ``line`` for one line)."""


class Finding(Canonical, frozen=True):
    """One problem an analyser reports."""

    tool: str
    """``consortia`` or ``slither``."""
    check: str
    """The tool's detector id, e.g. ``reentrancy`` or ``reentrancy-eth``."""
    severity: Severity
    description: str
    location: SourceLocation | None
    """Where in the source, when the analyser knows (None: unknown)."""


class ToolVersion(Canonical, frozen=True):
    """One tool that took part in the audit."""

    name: str
    """``solc``, ``vyper``, ``slither`` or ``consortia-checks``."""
    version: str


class AuditReport(Canonical, frozen=True):
    """The result of auditing one contract, bound to its source and code hashes."""

    contract: str
    """Contract name."""
    language: str
    """``solidity`` or ``vyper``."""
    source_hash: Hash32
    """SHA-256 of the exact source bytes."""
    bytecode_hash: Hash32
    """Keccak-256 of the creation code (without constructor arguments)."""
    runtime_code_hash: Hash32
    """Keccak-256 of the runtime code (what ``EXTCODEHASH`` returns once deployed)."""
    tools: tuple[ToolVersion, ...]
    """Every tool that ran, sorted by name."""
    findings: tuple[Finding, ...]
    """Sorted by severity (high first), tool, check, then location."""

    @property
    def has_high(self) -> bool:
        """True if any finding is high severity (the default policy refuses deployment)."""
        return any(f.severity is Severity.HIGH for f in self.findings)

    def counts(self) -> dict[Severity, int]:
        """Number of findings per severity (every severity present, maybe 0)."""
        return {s: sum(1 for f in self.findings if f.severity is s) for s in Severity}

    def to_bytes(self) -> bytes:
        """The canonical encoding (docs/spec/encoding.md)."""
        return encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> AuditReport:
        """Decode canonical bytes; raises :class:`~consortia.codec.CodecError` otherwise."""
        return decode(data, cls)

    def report_id(self, hash_fn: Callable[[bytes], bytes]) -> bytes:
        """The report's id under the chain suite's hash: ``hash(DOMAIN || bytes)``."""
        return hash_fn(DOMAIN_AUDIT_REPORT + encode(self))


# ------------------------------------------------------------------ entry points


def audit_file(path: Path, *, slither: bool = True) -> list[AuditReport]:
    """Compile ``path`` (``.sol`` or ``.vy``) and audit each contract in it.

    Raises:
        SourceUnreadable, CompileFailed, CompilerUnavailable: from compiling.
        AuditFailed: Slither could not analyse the source.
    """
    return audit(compile_file(path), slither=slither)


def audit_contract(contract: CompiledContract, *, slither: bool = True) -> AuditReport:
    """Audit one compiled contract (see :func:`audit`)."""
    return audit([contract], slither=slither)[0]


def audit(contracts: Sequence[CompiledContract], *, slither: bool = True) -> list[AuditReport]:
    """Audit compiled contracts; one report each, in the same order.

    Contracts compiled from the same source share one Slither run. ``slither``
    False skips Slither (our checks only; the report then names no Slither).

    Raises:
        AuditFailed: Slither could not analyse a Solidity source.
        CompilerUnavailable: Slither needs the npm compiler and it is missing.
    """
    slither_runs: dict[tuple[str, bytes], list[dict[str, Any]]] = {}
    reports = []
    for contract in contracts:
        tools = [ToolVersion(name="consortia-checks", version=CHECKS_VERSION)]
        if contract.language is Language.SOLIDITY:
            tools.append(ToolVersion(name="solc", version=contract.compiler_version))
        else:
            tools.append(ToolVersion(name="vyper", version=contract.compiler_version))
        findings = list(_own_checks(contract))
        if slither and contract.language is Language.SOLIDITY:
            key = (contract.source_name, contract.source_hash)
            if key not in slither_runs:
                slither_runs[key] = _run_slither(contract)
            findings += _slither_findings(slither_runs[key], contract)
            tools.append(ToolVersion(name="slither", version=_slither_version()))
        reports.append(
            AuditReport(
                contract=contract.name,
                language=contract.language.value,
                source_hash=contract.source_hash,
                bytecode_hash=keccak256(contract.bytecode),
                runtime_code_hash=keccak256(contract.runtime_bytecode),
                tools=tuple(sorted(tools, key=lambda t: t.name)),
                findings=tuple(sorted(set(findings), key=_finding_order)),
            )
        )
    return reports


def _finding_order(f: Finding) -> tuple[int, str, str, int, str]:
    line = f.location.line if f.location is not None else 0
    return (f.severity.rank, f.tool, f.check, line, f.description)


# ---------------------------------------------------------------------- Slither

_SLITHER_SEVERITY: Final = {
    "High": Severity.HIGH,
    "Medium": Severity.MEDIUM,
    "Low": Severity.LOW,
    "Informational": Severity.INFORMATIONAL,
    "Optimization": Severity.INFORMATIONAL,
}


def _slither_version() -> str:
    return importlib.metadata.version("slither-analyzer")


def _slither_executable() -> str:
    beside = Path(sys.executable).with_name("slither")
    return str(beside) if beside.is_file() else "slither"


def _run_slither(contract: CompiledContract) -> list[dict[str, Any]]:
    """Slither's detector results for the contract's source file."""
    env = solc_env()
    with tempfile.TemporaryDirectory(prefix="consortia-slither-") as tmp:
        work = Path(tmp) / "src"
        work.mkdir()
        (work / contract.source_name).write_bytes(contract.source)
        cmd = [
            _slither_executable(),
            str(work),
            "--solc-standard-json",
            "--solc",
            str(SOLC_WRAPPER),
            "--json",
            "-",
        ]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                cwd=tmp,
                env=env,
                timeout=SLITHER_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AuditFailed(f"slither did not run: {exc}") from None
    try:
        output: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise AuditFailed(f"slither failed (exit {done.returncode}): {tail}") from None
    if not output.get("success", False):
        raise AuditFailed(f"slither failed: {output.get('error') or done.stderr.strip()[-300:]}")
    detectors: list[dict[str, Any]] = output.get("results", {}).get("detectors", [])
    return detectors


def _element_contract(element: dict[str, Any]) -> str | None:
    """Name of the contract a Slither result element belongs to, if any."""
    if element.get("type") == "contract":
        return str(element.get("name"))
    parent = element.get("type_specific_fields", {}).get("parent", {})
    while parent:
        if parent.get("type") == "contract":
            return str(parent.get("name"))
        parent = parent.get("type_specific_fields", {}).get("parent", {})
    return None


def _slither_findings(
    results: Iterable[dict[str, Any]], contract: CompiledContract
) -> list[Finding]:
    """Slither results that concern ``contract`` (or no contract, e.g. the pragma)."""
    findings = []
    for result in results:
        elements: list[dict[str, Any]] = result.get("elements", [])
        owners = {name for e in elements if (name := _element_contract(e)) is not None}
        if owners and contract.name not in owners:
            continue
        location = None
        if elements:
            lines = elements[0].get("source_mapping", {}).get("lines", [])
            if lines:
                location = SourceLocation(
                    file=contract.source_name, line=min(lines), end_line=max(lines)
                )
        findings.append(
            Finding(
                tool=TOOL_SLITHER,
                check=str(result.get("check", "?")),
                severity=_SLITHER_SEVERITY.get(str(result.get("impact")), Severity.INFORMATIONAL),
                description=" ".join(str(result.get("description", "")).split()),
                location=location,
            )
        )
    return findings


# -------------------------------------------------------------------- bytecode

_PUSH1: Final = 0x60
_PUSH32: Final = 0x7F
_JUMPDEST: Final = 0x5B
_SELFDESTRUCT: Final = 0xFF
_TERMINATORS: Final = frozenset({0x00, 0x56, 0xF3, 0xFD, 0xFE, 0xFF})
"""STOP, JUMP, RETURN, REVERT, INVALID, SELFDESTRUCT: what follows is dead until a JUMPDEST."""


def _strip_metadata(code: bytes) -> bytes:
    """Drop a trailing CBOR metadata block (solc; length in the last two bytes)."""
    if len(code) < 2:
        return code
    size = int.from_bytes(code[-2:], "big")
    start = len(code) - 2 - size
    if size > 0 and start >= 0 and 0x80 <= code[start] <= 0xBF:
        return code[:start]
    return code


def reachable_opcodes(code: bytes) -> Iterator[tuple[int, int]]:
    """``(offset, opcode)`` of each instruction that can execute in ``code``.

    A linear sweep that skips PUSH immediates, ignores the CBOR metadata tail
    and treats bytes after a terminating instruction as data until the next
    JUMPDEST (the only place a jump can land), so data sections and
    metadata are not mistaken for instructions.
    """
    code = _strip_metadata(code)
    live = True
    i = 0
    while i < len(code):
        op = code[i]
        if op == _JUMPDEST:
            live = True
        if live:
            yield i, op
            if op in _TERMINATORS:
                live = False
        if _PUSH1 <= op <= _PUSH32:
            i += op - _PUSH1 + 1
        i += 1


# ------------------------------------------------------------------ AST helpers

Node = dict[str, Any]


def _walk(node: Any, ancestors: tuple[Node, ...] = ()) -> Iterator[tuple[Node, tuple[Node, ...]]]:
    """Every AST node under ``node`` (depth first, source order) with its ancestors."""
    if isinstance(node, dict):
        if "nodeType" in node or "ast_type" in node:
            yield node, ancestors
            ancestors = (*ancestors, node)
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _walk(value, ancestors)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, ancestors)


def _span(node: Node) -> tuple[int, int]:
    """Byte offset and length of a node (``src`` is ``offset:length:file``)."""
    offset, length, _ = str(node.get("src", "0:0:0")).split(":", 2)
    return int(offset), int(length)


class _Source:
    """Turns AST byte offsets into line numbers of one source unit."""

    def __init__(self, contract: CompiledContract) -> None:
        self.name = contract.source_name
        self.data = contract.source

    def location(self, node: Node) -> SourceLocation:
        if "lineno" in node:  # Vyper nodes carry lines themselves
            line = int(node["lineno"])
            return SourceLocation(file=self.name, line=line, end_line=int(node["end_lineno"]))
        offset, length = _span(node)
        line = self.data.count(b"\n", 0, offset) + 1
        end = line + self.data.count(b"\n", offset, offset + max(length - 1, 0))
        return SourceLocation(file=self.name, line=line, end_line=end)


def _own_checks(contract: CompiledContract) -> Iterator[Finding]:
    source = _Source(contract)
    checks: _SolidityChecks | _VyperChecks
    if contract.language is Language.SOLIDITY:
        checks = _SolidityChecks(contract, source)
    else:
        checks = _VyperChecks(contract, source)
    yield from checks.run()


def _finding(
    check: str, severity: Severity, description: str, where: SourceLocation | None
) -> Finding:
    return Finding(
        tool=TOOL_CONSORTIA, check=check, severity=severity, description=description, location=where
    )


def _selfdestruct_finding(
    contract: CompiledContract, where: SourceLocation | None
) -> Iterator[Finding]:
    for offset, op in reachable_opcodes(contract.runtime_bytecode):
        if op == _SELFDESTRUCT:
            yield _finding(
                "selfdestruct",
                Severity.HIGH,
                f"{contract.name}: the runtime code contains SELFDESTRUCT "
                f"(first at byte {offset}); the contract can be destroyed or drain its balance",
                where,
            )
            return


# -------------------------------------------------------------------- Solidity

_LOW_LEVEL: Final = frozenset({"call", "delegatecall", "staticcall", "send"})


Body = list[tuple[Node, tuple[Node, ...]]]


def _run_checks(
    checks: _SolidityChecks | _VyperChecks, low_level: Callable[[Node, Body], Iterator[Finding]]
) -> Iterator[Finding]:
    """The per-function checks of either language, then the contract-wide selfdestruct one."""
    first_selfdestruct = None
    for fn, body in checks.functions():
        yield from checks._tx_origin(body)
        yield from low_level(fn, body)
        yield from checks._reentrancy(fn, body)
        yield from checks._loops(body)
        for node, _ in body:
            if first_selfdestruct is None and checks.is_selfdestruct(node):
                first_selfdestruct = checks.source.location(node)
    yield from _selfdestruct_finding(checks.contract, first_selfdestruct)


class _SolidityChecks:
    """Consortia's checks over a solc compact AST (standard-JSON ``ast``)."""

    def __init__(self, contract: CompiledContract, source: _Source) -> None:
        self.contract = contract
        self.source = source
        unit = contract.ast or {}
        by_id = {n["id"]: n for n, _ in _walk(unit) if n.get("nodeType") == "ContractDefinition"}
        main = next((n for n in by_id.values() if n.get("name") == contract.name), None)
        bases = main.get("linearizedBaseContracts", []) if main else []
        self.scopes = [by_id[i] for i in bases if i in by_id]
        self.state_vars = {
            n["id"]: n
            for scope in self.scopes
            for n, _ in _walk(scope)
            if n.get("nodeType") == "VariableDeclaration" and n.get("stateVariable")
        }
        self.mutable_state = {
            i for i, n in self.state_vars.items() if n.get("mutability") == "mutable"
        }

    def functions(self) -> Iterator[tuple[Node, list[tuple[Node, tuple[Node, ...]]]]]:
        """Each function and modifier with a body, and that body's nodes."""
        for scope in self.scopes:
            for fn, _ in _walk(scope):
                if fn.get("nodeType") in ("FunctionDefinition", "ModifierDefinition") and fn.get(
                    "body"
                ):
                    yield fn, list(_walk(fn["body"]))

    def is_selfdestruct(self, node: Node) -> bool:
        """A call of ``selfdestruct``."""
        return _is_call_to(node, "selfdestruct")

    def run(self) -> Iterator[Finding]:
        """Every finding of Consortia's checks."""
        return _run_checks(self, self._low_level)

    # -- tx.origin

    def _tx_origin(self, body: list[tuple[Node, tuple[Node, ...]]]) -> Iterator[Finding]:
        for node, ancestors in body:
            if not _is_member(node, "tx", "origin"):
                continue
            comparison = next(
                (a for a in reversed(ancestors) if a.get("nodeType") == "BinaryOperation"), None
            )
            if comparison is not None and comparison.get("operator") in ("==", "!="):
                other = comparison["rightExpression"]
                if other is node:
                    other = comparison["leftExpression"]
                if _is_member(other, "msg", "sender"):
                    continue  # tx.origin == msg.sender: "no contract caller", not authorisation
            if any(_is_condition(a, (*ancestors[i + 1 :], node)) for i, a in enumerate(ancestors)):
                yield _finding(
                    "tx-origin-auth",
                    Severity.HIGH,
                    "tx.origin used for authorisation; any contract the owner calls can act "
                    "as the owner (use msg.sender)",
                    self.source.location(node),
                )

    # -- low-level calls

    def _low_level(self, fn: Node, body: list[tuple[Node, tuple[Node, ...]]]) -> Iterator[Finding]:
        params = _parameter_ids(fn) if _is_entry_point(fn) else set()
        for node, ancestors in body:
            member = _low_level_member(node)
            if member is None:
                continue
            kind = member["memberName"]
            if kind == "delegatecall" and self._caller_controlled(member["expression"], params):
                yield _finding(
                    "controlled-delegatecall",
                    Severity.HIGH,
                    "delegatecall to an address the caller chooses: the caller can run any "
                    "code with this contract's storage and balance",
                    self.source.location(node),
                )
            if not self._result_checked(node, ancestors, body):
                yield _finding(
                    "unchecked-call",
                    Severity.MEDIUM,
                    f"the success flag of a low-level {kind} is ignored; a failed call "
                    "goes unnoticed",
                    self.source.location(node),
                )

    @staticmethod
    def _caller_controlled(target: Node, params: set[int]) -> bool:
        for n, _ in _walk(target):
            if n.get("nodeType") == "Identifier" and n.get("referencedDeclaration") in params:
                return True
            if _is_member(n, "msg", "sender") or _is_member(n, "msg", "data"):
                return True
        return False

    @staticmethod
    def _result_checked(
        call: Node, ancestors: tuple[Node, ...], body: list[tuple[Node, tuple[Node, ...]]]
    ) -> bool:
        parent = ancestors[-1] if ancestors else {}
        kind = parent.get("nodeType")
        if kind == "ExpressionStatement":
            return False
        target_id: Any = None
        if kind == "VariableDeclarationStatement":
            declarations = parent.get("declarations") or [None]
            if declarations[0] is None:
                return False
            target_id = declarations[0]["id"]
            uses_needed = 1
        elif kind == "Assignment" and parent.get("rightHandSide") is call:
            lhs = parent["leftHandSide"]
            if lhs.get("nodeType") == "TupleExpression":
                lhs = (lhs.get("components") or [None])[0]
            if lhs is None:
                return False
            target_id = lhs.get("referencedDeclaration")
            uses_needed = 2  # the assignment's own left-hand side is one reference
        else:
            return True  # used directly: require(x.send(1)), if (!ok) …, return …
        uses = sum(
            1
            for n, _ in body
            if n.get("nodeType") == "Identifier" and n.get("referencedDeclaration") == target_id
        )
        return uses >= uses_needed

    # -- reentrancy

    def _reentrancy(self, fn: Node, body: list[tuple[Node, tuple[Node, ...]]]) -> Iterator[Finding]:
        if fn.get("nodeType") != "FunctionDefinition" or fn.get("kind") == "constructor":
            return
        if fn.get("stateMutability") in ("view", "pure"):
            return
        guards = [str(m.get("modifierName", {}).get("name", "")) for m in fn.get("modifiers", [])]
        if any("nonreentrant" in g.lower() for g in guards):
            return
        calls = [n for n, _ in body if self._is_external_call(n)]
        if not calls:
            return
        writes = [(n, var) for n, _ in body if (var := self._state_write(n)) is not None]
        call = calls[0]
        call_end = sum(_span(call))
        late = [(n, var) for n, var in writes if _span(n)[0] >= call_end]
        if late:
            names = ", ".join(sorted({var for _, var in late}))
            yield _finding(
                "reentrancy",
                Severity.HIGH,
                f"{fn.get('name') or fn.get('kind')}: external call before a write to state "
                f"({names}); a re-entering callee sees stale state "
                "(write first, or guard with nonReentrant)",
                self.source.location(call),
            )

    @staticmethod
    def _is_external_call(node: Node) -> bool:
        member = _low_level_member(node)
        if member is not None:
            return member["memberName"] in ("call", "delegatecall")
        if node.get("nodeType") != "FunctionCall":
            return False
        callee = node.get("expression", {})
        types = callee.get("typeDescriptions", {})
        identifier = str(types.get("typeIdentifier", ""))
        type_string = str(types.get("typeString", ""))
        if not identifier.startswith("t_function_external"):
            return False
        return " view " not in f"{type_string} " and " pure " not in f"{type_string} "

    def _state_write(self, node: Node) -> str | None:
        """The state variable ``node`` writes, if it is a write to state."""
        kind = node.get("nodeType")
        if kind == "Assignment":
            target = node["leftHandSide"]
        elif kind == "UnaryOperation" and node.get("operator") in ("++", "--", "delete"):
            target = node["subExpression"]
        elif kind == "FunctionCall" and node.get("expression", {}).get("memberName") in (
            "push",
            "pop",
        ):
            target = node["expression"]["expression"]
        else:
            return None
        base = _base_identifier(target)
        if base is not None and base.get("referencedDeclaration") in self.state_vars:
            return str(base.get("name"))
        return None

    # -- loops

    def _loops(self, body: list[tuple[Node, tuple[Node, ...]]]) -> Iterator[Finding]:
        for node, _ in body:
            if node.get("nodeType") not in ("ForStatement", "WhileStatement", "DoWhileStatement"):
                continue
            condition = node.get("condition")
            if condition is None:
                continue
            for n, _ in _walk(condition):
                storage_length = (
                    n.get("nodeType") == "MemberAccess"
                    and n.get("memberName") == "length"
                    and "storage"
                    in str(n["expression"].get("typeDescriptions", {}).get("typeString"))
                )
                state_bound = (
                    n.get("nodeType") == "Identifier"
                    and n.get("referencedDeclaration") in self.mutable_state
                )
                if storage_length or state_bound:
                    yield _finding(
                        "unbounded-loop",
                        Severity.MEDIUM,
                        "loop bound read from storage: it grows with the data and can exceed "
                        "the block gas limit, locking the function",
                        self.source.location(node),
                    )
                    break


def _is_member(node: Any, base: str, member: str) -> bool:
    return (
        isinstance(node, dict)
        and node.get("nodeType") == "MemberAccess"
        and node.get("memberName") == member
        and node.get("expression", {}).get("nodeType") == "Identifier"
        and node["expression"].get("name") == base
    )


def _is_call_to(node: Node, name: str) -> bool:
    callee = node.get("expression", {})
    return (
        node.get("nodeType") == "FunctionCall"
        and callee.get("nodeType") == "Identifier"
        and callee.get("name") == name
    )


def _is_condition(node: Node, path: tuple[Node, ...]) -> bool:
    """True if ``path`` (the nodes below ``node``) runs through a condition of ``node``."""
    child = path[0] if path else None
    kind = node.get("nodeType")
    if kind in ("IfStatement", "WhileStatement", "Conditional"):
        return child is node.get("condition")
    if kind == "FunctionCall" and (_is_call_to(node, "require") or _is_call_to(node, "assert")):
        return child in node.get("arguments", [])[:1]
    return False


def _low_level_member(node: Node) -> Node | None:
    """The ``addr.call``-style member access a FunctionCall node calls, if any."""
    if node.get("nodeType") != "FunctionCall":
        return None
    callee = node.get("expression", {})
    if callee.get("nodeType") == "FunctionCallOptions":
        callee = callee.get("expression", {})
    if callee.get("nodeType") != "MemberAccess" or callee.get("memberName") not in _LOW_LEVEL:
        return None
    base_type = str(callee["expression"].get("typeDescriptions", {}).get("typeString", ""))
    return callee if base_type.startswith("address") else None


def _base_identifier(node: Node) -> Node | None:
    """The variable at the root of ``a.b[c].d``-style expressions."""
    while True:
        kind = node.get("nodeType")
        if kind == "Identifier":
            return node
        if kind == "IndexAccess":
            node = node["baseExpression"]
        elif kind == "MemberAccess":
            node = node["expression"]
        else:
            return None


def _parameter_ids(fn: Node) -> set[int]:
    return {int(p["id"]) for p in fn.get("parameters", {}).get("parameters", [])}


def _is_entry_point(fn: Node) -> bool:
    """A function anyone can call directly with arguments of their choice."""
    return fn.get("nodeType") == "FunctionDefinition" and fn.get("visibility") in (
        "public",
        "external",
    )


# ----------------------------------------------------------------------- Vyper


class _VyperChecks:
    """Consortia's checks over Vyper's ``ast_dict``."""

    def __init__(self, contract: CompiledContract, source: _Source) -> None:
        self.contract = contract
        self.source = source
        self.module = contract.ast or {}

    def functions(self) -> Iterator[tuple[Node, list[tuple[Node, tuple[Node, ...]]]]]:
        """Each function and its body's nodes."""
        for fn, _ in _walk(self.module):
            if fn.get("ast_type") == "FunctionDef":
                yield fn, list(_walk(fn.get("body", [])))

    def is_selfdestruct(self, node: Node) -> bool:
        """A call of ``selfdestruct``."""
        return _vy_call_to(node, "selfdestruct")

    def run(self) -> Iterator[Finding]:
        """Every finding of Consortia's checks."""
        return _run_checks(self, self._raw_calls)

    def _tx_origin(self, body: list[tuple[Node, tuple[Node, ...]]]) -> Iterator[Finding]:
        for node, ancestors in body:
            if not _vy_attr(node, "tx", "origin"):
                continue
            compare = next((a for a in reversed(ancestors) if a.get("ast_type") == "Compare"), None)
            if compare is not None:
                other = compare["right"] if compare["left"] is node else compare["left"]
                if _vy_attr(other, "msg", "sender"):
                    continue
            if any(a.get("ast_type") in ("Assert", "If") for a in ancestors):
                yield _finding(
                    "tx-origin-auth",
                    Severity.HIGH,
                    "tx.origin used for authorisation; any contract the owner calls can act "
                    "as the owner (use msg.sender)",
                    self.source.location(node),
                )

    def _raw_calls(self, fn: Node, body: list[tuple[Node, tuple[Node, ...]]]) -> Iterator[Finding]:
        args = {str(a.get("arg")) for a in fn.get("args", {}).get("args", [])}
        external = _vy_decorated(fn, "external")
        for node, ancestors in body:
            if not _vy_call_to(node, "raw_call"):
                continue
            keywords = {k.get("arg"): k.get("value", {}) for k in node.get("keywords", [])}
            delegate = keywords.get("is_delegate_call", {}).get("value") is True
            target = (node.get("args") or [{}])[0]
            if delegate and (
                (external and any(_vy_name(n) in args for n, _ in _walk(target)))
                or any(_vy_attr(n, "msg", "sender") for n, _ in _walk(target))
            ):
                yield _finding(
                    "controlled-delegatecall",
                    Severity.HIGH,
                    "delegatecall to an address the caller chooses: the caller can run any "
                    "code with this contract's storage and balance",
                    self.source.location(node),
                )
            if keywords.get("revert_on_failure", {}).get("value") is not False:
                continue
            parent = ancestors[-1] if ancestors else {}
            checked = True
            if parent.get("ast_type") == "Expr":
                checked = False
            elif parent.get("ast_type") in ("AnnAssign", "Assign"):
                target_name = _vy_name(parent.get("target", {}))
                uses = sum(1 for n, _ in body if _vy_name(n) == target_name)
                checked = target_name is not None and uses >= 2
            if not checked:
                yield _finding(
                    "unchecked-call",
                    Severity.MEDIUM,
                    "raw_call with revert_on_failure=False whose success flag is never read",
                    self.source.location(node),
                )

    def _reentrancy(self, fn: Node, body: list[tuple[Node, tuple[Node, ...]]]) -> Iterator[Finding]:
        if _vy_decorated(fn, "nonreentrant") or _vy_decorated(fn, "deploy"):
            return
        calls = [
            n
            for n, _ in body
            if n.get("ast_type") == "ExtCall"
            or (_vy_call_to(n, "raw_call") and not _vy_is_delegate(n))
        ]
        if not calls:
            return
        call_end = sum(_span(calls[0]))
        late = set()
        for n, _ in body:
            if (
                n.get("ast_type") in ("Assign", "AugAssign", "AnnAssign")
                and _span(n)[0] >= call_end
            ):
                root = _vy_self_attr(n.get("target", {}))
                if root is not None:
                    late.add(root)
        if late:
            yield _finding(
                "reentrancy",
                Severity.HIGH,
                f"{fn.get('name')}: external call before a write to state "
                f"({', '.join(sorted(late))}); a re-entering callee sees stale state "
                "(write first, or use @nonreentrant)",
                self.source.location(calls[0]),
            )

    def _loops(self, body: list[tuple[Node, tuple[Node, ...]]]) -> Iterator[Finding]:
        for node, _ in body:
            if node.get("ast_type") != "For":
                continue
            if any(_vy_attr(n, "self", n.get("attr", "")) for n, _ in _walk(node.get("iter", {}))):
                yield _finding(
                    "unbounded-loop",
                    Severity.LOW,
                    "loop bound read from storage: bounded by the declared maximum, but its "
                    "gas grows with the stored data",
                    self.source.location(node),
                )


def _vy_name(node: Any) -> str | None:
    if isinstance(node, dict) and node.get("ast_type") == "Name":
        return str(node.get("id"))
    return None


def _vy_attr(node: Any, base: str, attr: str) -> bool:
    return (
        isinstance(node, dict)
        and node.get("ast_type") == "Attribute"
        and node.get("attr") == attr
        and _vy_name(node.get("value")) == base
    )


def _vy_call_to(node: Node, name: str) -> bool:
    return node.get("ast_type") == "Call" and _vy_name(node.get("func")) == name


def _vy_is_delegate(node: Node) -> bool:
    return any(
        k.get("arg") == "is_delegate_call" and k.get("value", {}).get("value") is True
        for k in node.get("keywords", [])
    )


def _vy_decorated(fn: Node, name: str) -> bool:
    for decorator in fn.get("decorator_list", []):
        if _vy_name(decorator) == name:
            return True
        if decorator.get("ast_type") == "Call" and _vy_name(decorator.get("func")) == name:
            return True
    return False


def _vy_self_attr(node: Node) -> str | None:
    """``x`` if ``node`` is ``self.x`` or ``self.x[...]…``."""
    while node.get("ast_type") == "Subscript":
        node = node.get("value", {})
    if node.get("ast_type") == "Attribute" and _vy_name(node.get("value")) == "self":
        return str(node.get("attr"))
    if node.get("ast_type") == "Attribute":
        return _vy_self_attr(node.get("value", {}))
    return None
