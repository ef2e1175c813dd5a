"""StateView against a naive model: a stack of full copies of the key-value map.

The model keeps one complete dict per open layer (the block's at the bottom):
``checkpoint`` pushes a copy, ``rollback`` pops, ``release`` pops and keeps the
popped copy as the new top. Every read and every prefix iteration of the view
must equal the model's top; ``changes()`` outside checkpoints, applied to the
tree as the next version, must give exactly the model's map.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from consortia.crypto import sm3
from consortia.execution.state_view import StateView
from consortia.state import StateTree

from .chain import open_env

KEYS = st.sampled_from([b"a", b"a/1", b"a/2", b"ab", b"b/1", b"b/2", b"c"])
VALUES = st.sampled_from([b"0", b"1", b"long value" * 3])
PREFIXES = st.sampled_from([b"", b"a", b"a/", b"b/", b"c", b"z"])
BASE = {b"a/1": b"tree", b"b/1": b"tree", b"c": b"tree"}


class StateViewMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory()
        self.env = open_env(Path(self._tmp.name) / "db")
        self.tree = StateTree(self.env, sm3)
        with self.env.begin(write=True) as txn:
            self.tree.apply(txn, 0, BASE)
        self.version = 0
        self.model: list[dict[bytes, bytes]] = [dict(BASE)]
        self.txn = self.env.begin(write=True)
        self.view = StateView(self.tree, self.txn, self.version)

    def teardown(self) -> None:
        self.txn.abort()
        self.env.close()
        self._tmp.cleanup()

    @rule(key=KEYS, value=VALUES)
    def set(self, key: bytes, value: bytes) -> None:
        self.view.set(key, value)
        self.model[-1][key] = value

    @rule(key=KEYS)
    def delete(self, key: bytes) -> None:
        self.view.delete(key)
        self.model[-1].pop(key, None)

    @precondition(lambda self: len(self.model) < 5)
    @rule()
    def checkpoint(self) -> None:
        self.view.checkpoint()
        self.model.append(dict(self.model[-1]))

    @precondition(lambda self: len(self.model) > 1)
    @rule()
    def rollback(self) -> None:
        self.view.rollback()
        self.model.pop()

    @precondition(lambda self: len(self.model) > 1)
    @rule()
    def release(self) -> None:
        self.view.release()
        top = self.model.pop()
        self.model[-1] = top

    @precondition(lambda self: len(self.model) == 1)
    @rule()
    def commit_block(self) -> None:
        """Apply ``changes()`` as the next version and start a new block over it."""
        changes = self.view.changes()
        self.version += 1
        self.tree.apply(self.txn, self.version, changes)
        assert dict(self.tree.iterate(self.txn, self.version)) == self.model[0]
        self.view = StateView(self.tree, self.txn, self.version)

    @rule(prefix=PREFIXES)
    def iterate(self, prefix: bytes) -> None:
        expected = sorted((k, v) for k, v in self.model[-1].items() if k.startswith(prefix))
        assert list(self.view.iterate(prefix)) == expected

    @invariant()
    def reads_match(self) -> None:
        for key in [b"a", b"a/1", b"a/2", b"ab", b"b/1", b"b/2", b"c", b"missing"]:
            assert self.view.get(key) == self.model[-1].get(key)


StateViewMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStateViewMachine = StateViewMachine.TestCase
