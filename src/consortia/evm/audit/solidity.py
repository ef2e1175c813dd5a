"""Consortia's checks over a Solidity contract's AST (solc's compact JSON)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from consortia.evm.audit.checks import (
    Body,
    Node,
    Source,
    controlled_delegatecall_finding,
    finding,
    run_checks,
    span,
    tx_origin_finding,
    walk,
)
from consortia.evm.audit.report import Finding, Severity
from consortia.evm.compiler import CompiledContract

__all__ = ["SolidityChecks"]

_LOW_LEVEL: Final = frozenset({"call", "delegatecall", "staticcall", "send"})


class SolidityChecks:
    """Consortia's checks over a solc compact AST (standard-JSON ``ast``)."""

    def __init__(self, contract: CompiledContract, source: Source) -> None:
        self.contract = contract
        self.source = source
        unit = contract.ast or {}
        by_id = {n["id"]: n for n, _ in walk(unit) if n.get("nodeType") == "ContractDefinition"}
        main = next((n for n in by_id.values() if n.get("name") == contract.name), None)
        bases = main.get("linearizedBaseContracts", []) if main else []
        self.scopes = [by_id[i] for i in bases if i in by_id]
        self.state_vars = {
            n["id"]: n
            for scope in self.scopes
            for n, _ in walk(scope)
            if n.get("nodeType") == "VariableDeclaration" and n.get("stateVariable")
        }
        self.mutable_state = {
            i for i, n in self.state_vars.items() if n.get("mutability") == "mutable"
        }

    def functions(self) -> Iterator[tuple[Node, Body]]:
        """Each function and modifier with a body, and that body's nodes."""
        for scope in self.scopes:
            for fn, _ in walk(scope):
                if fn.get("nodeType") in ("FunctionDefinition", "ModifierDefinition") and fn.get(
                    "body"
                ):
                    yield fn, list(walk(fn["body"]))

    def is_selfdestruct(self, node: Node) -> bool:
        """A call of ``selfdestruct``."""
        return _is_call_to(node, "selfdestruct")

    def run(self) -> Iterator[Finding]:
        """Every finding of Consortia's checks."""
        return run_checks(self, self._low_level)

    # -- tx.origin

    def tx_origin(self, body: Body) -> Iterator[Finding]:
        """``tx.origin`` used for authorisation in ``body``."""
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
                yield tx_origin_finding(self.source.location(node))

    # -- low-level calls

    def _low_level(self, fn: Node, body: Body) -> Iterator[Finding]:
        params = _parameter_ids(fn) if _is_entry_point(fn) else set()
        for node, ancestors in body:
            member = _low_level_member(node)
            if member is None:
                continue
            kind = member["memberName"]
            if kind == "delegatecall" and self._caller_controlled(member["expression"], params):
                yield controlled_delegatecall_finding(self.source.location(node))
            if not self._result_checked(node, ancestors, body):
                yield finding(
                    "unchecked-call",
                    Severity.MEDIUM,
                    f"the success flag of a low-level {kind} is ignored; a failed call "
                    "goes unnoticed",
                    self.source.location(node),
                )

    @staticmethod
    def _caller_controlled(target: Node, params: set[int]) -> bool:
        for n, _ in walk(target):
            if n.get("nodeType") == "Identifier" and n.get("referencedDeclaration") in params:
                return True
            if _is_member(n, "msg", "sender") or _is_member(n, "msg", "data"):
                return True
        return False

    @staticmethod
    def _result_checked(call: Node, ancestors: tuple[Node, ...], body: Body) -> bool:
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

    def reentrancy(self, fn: Node, body: Body) -> Iterator[Finding]:
        """An external call in ``fn`` followed by a write to state."""
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
        call_end = sum(span(call))
        late = [(n, var) for n, var in writes if span(n)[0] >= call_end]
        if late:
            names = ", ".join(sorted({var for _, var in late}))
            yield finding(
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

    def loops(self, body: Body) -> Iterator[Finding]:
        """Loops in ``body`` whose bound is read from storage."""
        for node, _ in body:
            if node.get("nodeType") not in ("ForStatement", "WhileStatement", "DoWhileStatement"):
                continue
            condition = node.get("condition")
            if condition is None:
                continue
            for n, _ in walk(condition):
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
                    yield finding(
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
