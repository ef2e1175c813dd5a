"""Model-based test: ``StateTree`` against a plain dict of versions.

Each step applies a random batch (with deletes and colliding keys), and
invariants compare every kept version's contents, root (against a naive
recomputation and against a second tree fed the same contents through a
different history), proofs and tampered proofs.
"""

from __future__ import annotations

import shutil
import tempfile

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from consortia.state import (
    EMPTY_ROOT,
    StateError,
    StateProof,
    StateTree,
    VersionNotFound,
    verify_proof,
)

from .conftest import naive_root, open_env, sha256
from .tamper import tampered

POOL = [
    b"",
    b"a",
    b"ab",
    b"abc",
    b"b",
    b"\x00",
    b"\x00\x00",
    b"\xff" * 256,
    *(b"acct/%d" % i for i in range(12)),
]
keys = st.sampled_from(POOL) | st.binary(max_size=3)
values = st.none() | st.binary(max_size=6)
batches = st.dictionaries(keys, values, max_size=12)


class StateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="state-test-")
        self.env = open_env(self.dir)
        self.tree = StateTree(self.env, sha256)
        # Shadow tree: same contents, reached by one-key-at-a-time versions.
        self.shadow = StateTree(self.env, sha256, name=b"shadow")
        self.shadow_version = -1
        self.versions: dict[int, dict[bytes, bytes]] = {}
        self.roots: dict[int, bytes] = {}
        self.oldest = 0
        self.seen: set[bytes] = set(POOL)

    def teardown(self) -> None:
        self.env.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def latest(self) -> int:
        return max(self.versions) if self.versions else -1

    @rule(updates=batches)
    def apply(self, updates: dict[bytes, bytes | None]) -> None:
        version = self.latest + 1
        contents = dict(self.versions.get(version - 1, {}))
        for key, value in updates.items():
            self.seen.add(key)
            if value is None:
                contents.pop(key, None)
            else:
                contents[key] = value
        with self.env.begin(write=True) as txn:
            root = self.tree.apply(txn, version, updates)
            # The shadow gets the same updates in reverse key order, one per version.
            for key in sorted(updates, reverse=True):
                self.shadow_version += 1
                self.shadow.apply(txn, self.shadow_version, {key: updates[key]})
            if not updates:
                self.shadow_version += 1
                self.shadow.apply(txn, self.shadow_version, {})
            shadow_root = self.shadow.root(txn, self.shadow_version)
        self.versions[version] = contents
        self.roots[version] = root
        assert root == naive_root(sha256, contents)
        assert root == shadow_root

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def prune(self, data: st.DataObject) -> None:
        keep = data.draw(st.integers(self.oldest, self.latest))
        with self.env.begin(write=True) as txn:
            self.tree.prune(txn, keep)
        for version in range(self.oldest, keep):
            del self.versions[version]
        self.oldest = keep
        with self.env.begin() as txn:
            for version in range(keep):
                for call in (
                    lambda v=version: self.tree.root(txn, v),
                    lambda v=version: self.tree.get(txn, b"a", v),
                    lambda v=version: self.tree.prove(txn, b"a", v),
                ):
                    try:
                        call()
                    except VersionNotFound:
                        pass
                    else:
                        raise AssertionError(f"version {version} readable after prune")

    @precondition(lambda self: self.versions)
    @rule(data=st.data(), key=keys)
    def prove(self, data: st.DataObject, key: bytes) -> None:
        version = data.draw(st.sampled_from(sorted(self.versions)))
        contents = self.versions[version]
        value = contents.get(key)
        root = self.roots[version]
        with self.env.begin() as txn:
            proof = self.tree.prove(txn, key, version)
        decoded = StateProof.from_bytes(proof.to_bytes())
        assert decoded == proof
        assert verify_proof(sha256, root, key, value, decoded)
        for what, bad in tampered(proof):
            assert not verify_proof(sha256, root, key, value, bad), what
        wrong_root = bytes((root[0] ^ 1,)) + root[1:]
        assert not verify_proof(sha256, wrong_root, key, value, proof)
        assert not verify_proof(sha256, root, key, (value or b"") + b"!", proof)
        if value is not None:
            assert not verify_proof(sha256, root, key, None, proof)
            other = key + b"?"
            assert not verify_proof(sha256, root, other, value, proof)
        for present_key in contents:
            # No proof, of inclusion or exclusion, ever shows absence of a present key.
            # (An exclusion proof ending at another key's leaf does prove *that* leaf.)
            assert not verify_proof(sha256, root, present_key, None, proof)

    @precondition(lambda self: self.versions)
    @rule(data=st.data(), prefix=st.sampled_from([b"", b"a", b"acct/", b"\x00", b"zz"]))
    def iterate(self, data: st.DataObject, prefix: bytes) -> None:
        version = data.draw(st.sampled_from(sorted(self.versions)))
        expected = sorted((k, v) for k, v in self.versions[version].items() if k.startswith(prefix))
        with self.env.begin() as txn:
            assert list(self.tree.iterate(txn, version, prefix)) == expected

    @invariant()
    def gets_match_every_kept_version(self) -> None:
        with self.env.begin() as txn:
            assert self.tree.latest_version(txn) == (self.latest if self.versions else None)
            for version, contents in self.versions.items():
                assert self.tree.root(txn, version) == self.roots[version]
                for key in self.seen:
                    assert self.tree.get(txn, key, version) == contents.get(key)
            latest = self.versions.get(self.latest, {})
            for key in self.seen:
                assert self.tree.get(txn, key) == latest.get(key)

    @invariant()
    def empty_state_has_empty_root(self) -> None:
        for version, contents in self.versions.items():
            if not contents:
                assert self.roots[version] == EMPTY_ROOT


StateMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStateTree = StateMachine.TestCase


def test_state_error_is_raised_for_missing_node_after_damage() -> None:
    """A node deleted behind the tree's back surfaces as StateError, not KeyError."""
    directory = tempfile.mkdtemp(prefix="state-test-")
    env = open_env(directory)
    try:
        tree = StateTree(env, sha256)
        with env.begin(write=True) as txn:
            tree.apply(txn, 0, {b"k%d" % i: b"v" for i in range(100)})
        nodes = env.open_db(b"state.nodes")
        with env.begin(write=True) as txn:
            txn.drop(nodes, delete=False)
        with env.begin() as txn:
            try:
                tree.prove(txn, b"k1", 0)
            except StateError:
                pass
            else:
                raise AssertionError("missing node not reported")
    finally:
        env.close()
        shutil.rmtree(directory, ignore_errors=True)
