"""Consortia's checks over a Vyper contract's AST (Vyper's ``ast_dict``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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

__all__ = ["VyperChecks"]


class VyperChecks:
    """Consortia's checks over Vyper's ``ast_dict``."""

    def __init__(self, contract: CompiledContract, source: Source) -> None:
        self.contract = contract
        self.source = source
        self.module = contract.ast or {}

    def functions(self) -> Iterator[tuple[Node, Body]]:
        """Each function and its body's nodes."""
        for fn, _ in walk(self.module):
            if fn.get("ast_type") == "FunctionDef":
                yield fn, list(walk(fn.get("body", [])))

    def is_selfdestruct(self, node: Node) -> bool:
        """A call of ``selfdestruct``."""
        return _vy_call_to(node, "selfdestruct")

    def run(self) -> Iterator[Finding]:
        """Every finding of Consortia's checks."""
        return run_checks(self, self._raw_calls)

    def tx_origin(self, body: Body) -> Iterator[Finding]:
        """``tx.origin`` used for authorisation in ``body``."""
        for node, ancestors in body:
            if not _vy_attr(node, "tx", "origin"):
                continue
            compare = next((a for a in reversed(ancestors) if a.get("ast_type") == "Compare"), None)
            if compare is not None:
                other = compare["right"] if compare["left"] is node else compare["left"]
                if _vy_attr(other, "msg", "sender"):
                    continue
            if any(a.get("ast_type") in ("Assert", "If") for a in ancestors):
                yield tx_origin_finding(self.source.location(node))

    def _raw_calls(self, fn: Node, body: Body) -> Iterator[Finding]:
        args = {str(a.get("arg")) for a in fn.get("args", {}).get("args", [])}
        external = _vy_decorated(fn, "external")
        for node, ancestors in body:
            if not _vy_call_to(node, "raw_call"):
                continue
            keywords = {k.get("arg"): k.get("value", {}) for k in node.get("keywords", [])}
            delegate = keywords.get("is_delegate_call", {}).get("value") is True
            target = (node.get("args") or [{}])[0]
            if delegate and (
                (external and any(_vy_name(n) in args for n, _ in walk(target)))
                or any(_vy_attr(n, "msg", "sender") for n, _ in walk(target))
            ):
                yield controlled_delegatecall_finding(self.source.location(node))
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
                yield finding(
                    "unchecked-call",
                    Severity.MEDIUM,
                    "raw_call with revert_on_failure=False whose success flag is never read",
                    self.source.location(node),
                )

    def reentrancy(self, fn: Node, body: Body) -> Iterator[Finding]:
        """An external call in ``fn`` followed by a write to state."""
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
        call_end = sum(span(calls[0]))
        late = set()
        for n, _ in body:
            if n.get("ast_type") in ("Assign", "AugAssign", "AnnAssign") and span(n)[0] >= call_end:
                root = _vy_self_attr(n.get("target", {}))
                if root is not None:
                    late.add(root)
        if late:
            yield finding(
                "reentrancy",
                Severity.HIGH,
                f"{fn.get('name')}: external call before a write to state "
                f"({', '.join(sorted(late))}); a re-entering callee sees stale state "
                "(write first, or use @nonreentrant)",
                self.source.location(calls[0]),
            )

    def loops(self, body: Body) -> Iterator[Finding]:
        """Loops in ``body`` whose bound is read from storage."""
        for node, _ in body:
            if node.get("ast_type") != "For":
                continue
            if any(_vy_attr(n, "self", n.get("attr", "")) for n, _ in walk(node.get("iter", {}))):
                yield finding(
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
