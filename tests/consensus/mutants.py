"""Deliberately broken safety rules and commit rules, to check that the Twins sweep finds them.

Each :class:`Mutant` rewrites the source of one method of the real code
(:class:`~consortia.consensus.safety.SafetyRules` or
:class:`~consortia.consensus.blocktree.BlockTree`) by exact text replacements, compiles
it in the method's own module and patches it in for the duration of a ``with`` block.
Every replacement must match exactly once: if the code it mutates changes, the mutant
raises :class:`MutantDrift` instead of silently testing an unchanged method.

The mutants map onto the rules of docs/consensus.md:

* ``no-consecutive-round`` - [CONS-COMMIT.1] commits B on any certified child C, not
  only when ``C.round == B.round + 1``;
* ``no-tc-high-qc-check`` - [CONS-SAFE-VOTE.2] votes after a TC without requiring
  ``B.qc.round >= tc.max_high_qc_round`` (Jolteon's replacement for the locked round);
* ``two-votes-per-round`` - [CONS-SAFE-VOTE.1] ``round > last_voted_round`` weakened
  to ``>=``: a second vote (or a vote after a timeout) in one round;
* ``stale-tc`` - [CONS-SAFE-VOTE.2] accepts any earlier TC, not only the one of round
  ``B.round - 1``;
* ``one-chain-commit`` - [CONS-COMMIT.1] commits a block as soon as it is certified.
"""

from __future__ import annotations
import __future__

import inspect
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from consortia.consensus.blocktree import BlockTree
from consortia.consensus.safety import SafetyRules


class MutantDrift(AssertionError):
    """A mutant's replacement no longer matches the code it mutates exactly once."""


@dataclass(frozen=True)
class Mutant:
    """One-method source mutation of the consensus safety code."""

    name: str
    owner: type
    method: str
    replacements: tuple[tuple[str, str], ...]
    rule: str
    """The rule of docs/consensus.md it breaks."""

    def source(self) -> str:
        """The mutated source of the method (checked to differ exactly as declared)."""
        original = getattr(self.owner, self.method)
        text = textwrap.dedent(inspect.getsource(original))
        for old, new in self.replacements:
            if text.count(old) != 1:
                raise MutantDrift(
                    f"mutant {self.name}: {old!r} occurs {text.count(old)} times in "
                    f"{self.owner.__name__}.{self.method}"
                )
            text = text.replace(old, new)
        return text

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Patch the mutated method into its class, restoring the original on exit."""
        original = self.owner.__dict__[self.method]
        module = sys.modules[original.__module__]
        namespace = dict(vars(module))
        code = compile(
            self.source(),
            f"<mutant {self.name}>",
            "exec",
            flags=__future__.annotations.compiler_flag,
            dont_inherit=True,
        )
        exec(code, namespace)
        setattr(self.owner, self.method, namespace[self.method])
        try:
            yield
        finally:
            setattr(self.owner, self.method, original)


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "no-consecutive-round",
        BlockTree,
        "insert_qc",
        (
            (
                "if header.height == 0 or header.round != header.justify.round + 1:",
                "if header.height == 0:",
            ),
        ),
        "[CONS-COMMIT.1]",
    ),
    Mutant(
        "no-tc-high-qc-check",
        SafetyRules,
        "construct_and_sign_vote",
        (("and qc_round >= tc.max_high_qc_round()", ""),),
        "[CONS-SAFE-VOTE.2]",
    ),
    Mutant(
        "two-votes-per-round",
        SafetyRules,
        "construct_and_sign_vote",
        (
            (
                "if header.round <= data.last_voted_round:",
                "if header.round < data.last_voted_round:",
            ),
        ),
        "[CONS-SAFE-VOTE.1]",
    ),
    Mutant(
        "stale-tc",
        SafetyRules,
        "construct_and_sign_vote",
        (("header.round == tc.round + 1", "header.round > tc.round"),),
        "[CONS-SAFE-VOTE.2]",
    ),
    Mutant(
        "one-chain-commit",
        BlockTree,
        "insert_qc",
        (
            (
                "if header.height == 0 or header.round != header.justify.round + 1:",
                "if header.height == 0:",
            ),
            ("target_id = header.parent_id", "target_id = qc.block_id"),
            ("self._commit(target_id, header.justify,", "self._commit(target_id, qc,"),
        ),
        "[CONS-COMMIT.1]",
    ),
)
"""Every mutant the sweeps must catch."""

MUTANTS_BY_NAME = {m.name: m for m in MUTANTS}
