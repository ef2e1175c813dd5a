"""StateView: buffered block writes over the tree, with nested checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lmdb
import pytest

from consortia.codec import encode
from consortia.crypto import sm3
from consortia.execution import gas
from consortia.execution.errors import OutOfGas
from consortia.execution.gas import GasMeter
from consortia.execution.state_view import StateView
from consortia.modules.assets.types import Balance
from consortia.state import StateTree, VersionNotFound

from .chain import open_env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[lmdb.Environment]:
    environment = open_env(tmp_path / "db")
    yield environment
    environment.close()


@pytest.fixture
def tree(env: lmdb.Environment) -> StateTree:
    """A tree whose version 0 holds a/1, a/2, a/3 and b/1."""
    t = StateTree(env, sm3)
    with env.begin(write=True) as txn:
        t.apply(txn, 0, {b"a/1": b"one", b"a/2": b"two", b"a/3": b"three", b"b/1": b"bee"})
    return t


def test_reads_fall_through_to_the_tree(env: lmdb.Environment, tree: StateTree) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        assert view.get(b"a/1") == b"one"
        assert view.get(b"missing") is None


def test_no_version_reads_nothing(env: lmdb.Environment, tree: StateTree) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, None)
        assert view.get(b"a/1") is None
        assert list(view.iterate(b"")) == []


def test_block_writes_shadow_the_tree_and_changes_lists_them(
    env: lmdb.Environment, tree: StateTree
) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        view.set(b"a/1", b"uno")
        view.delete(b"a/2")
        view.set(b"c/1", b"new")
        assert view.get(b"a/1") == b"uno"
        assert view.get(b"a/2") is None
        assert view.changes() == {b"a/1": b"uno", b"a/2": None, b"c/1": b"new"}


def test_rollback_discards_only_the_innermost_layer(env: lmdb.Environment, tree: StateTree) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        view.set(b"x", b"block")
        view.checkpoint()
        view.set(b"x", b"outer")
        view.set(b"y", b"outer")
        view.checkpoint()
        view.set(b"x", b"inner")
        view.delete(b"a/1")
        assert view.get(b"x") == b"inner"
        assert view.get(b"a/1") is None
        view.rollback()
        assert view.get(b"x") == b"outer"
        assert view.get(b"a/1") == b"one"
        view.rollback()
        assert view.get(b"x") == b"block"
        assert view.get(b"y") is None
        assert view.changes() == {b"x": b"block"}


def test_release_merges_into_the_layer_below(env: lmdb.Environment, tree: StateTree) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        view.checkpoint()
        view.set(b"x", b"outer")
        view.checkpoint()
        view.set(b"x", b"inner")
        view.delete(b"a/3")
        view.release()
        # The inner writes now belong to the outer layer: rolling it back drops both.
        assert view.get(b"x") == b"inner"
        view.checkpoint()
        view.rollback()
        assert view.get(b"x") == b"inner"
        view.rollback()
        assert view.get(b"x") is None
        assert view.get(b"a/3") == b"three"
        view.checkpoint()
        view.set(b"z", b"kept")
        view.release()
        assert view.changes() == {b"z": b"kept"}


def test_changes_refuses_an_open_checkpoint(env: lmdb.Environment, tree: StateTree) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        view.checkpoint()
        with pytest.raises(AssertionError):
            view.changes()


def test_iterate_merges_overlay_and_tree_in_key_order(
    env: lmdb.Environment, tree: StateTree
) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        view.set(b"a/0", b"zero")  # new key before the tree's
        view.delete(b"a/2")  # deleted in the block
        view.checkpoint()
        view.set(b"a/2", b"back")  # re-created in a layer above the delete
        view.set(b"a/4", b"four")
        view.delete(b"a/3")
        view.set(b"b/2", b"other prefix")
        assert list(view.iterate(b"a/")) == [
            (b"a/0", b"zero"),
            (b"a/1", b"one"),
            (b"a/2", b"back"),
            (b"a/4", b"four"),
        ]
        view.rollback()
        assert list(view.iterate(b"a/")) == [
            (b"a/0", b"zero"),
            (b"a/1", b"one"),
            (b"a/3", b"three"),
        ]
        assert [k for k, _ in view.iterate(b"")] == [b"a/0", b"a/1", b"a/3", b"b/1"]


def test_structs_round_trip(env: lmdb.Environment, tree: StateTree) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        view.put_struct(b"bal", Balance(amount=7))
        assert view.get_struct(b"bal", Balance) == Balance(amount=7)
        assert view.get_struct(b"nothing", Balance) is None


def test_meter_charges_reads_writes_and_deletes(env: lmdb.Environment, tree: StateTree) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        view.meter = GasMeter(limit=10_000)
        view.get(b"a/1")
        view.set(b"k", b"12345")
        view.delete(b"k")
        assert view.meter.used == (
            gas.STATE_READ + gas.STATE_WRITE + 5 * gas.PER_WRITTEN_BYTE + gas.STATE_WRITE
        )
        view.meter = GasMeter(limit=gas.STATE_WRITE)
        with pytest.raises(OutOfGas):
            view.set(b"k", b"x")
        view.meter = None
        view.set(b"free", b"no meter, no charge")


def test_a_missing_version_is_refused_when_the_view_opens(
    env: lmdb.Environment, tree: StateTree
) -> None:
    with env.begin() as txn, pytest.raises(VersionNotFound):
        StateView(tree, txn, 5)


def test_a_decoded_struct_is_reused_until_its_bytes_change(
    env: lmdb.Environment, tree: StateTree
) -> None:
    with env.begin(write=True) as txn:
        tree.apply(txn, 1, {b"bal": encode(Balance(amount=7))})
    with env.begin() as txn:
        view = StateView(tree, txn, 1)
        first = view.get_struct(b"bal", Balance)
        assert first == Balance(amount=7) and view.get_struct(b"bal", Balance) is first
        view.checkpoint()
        view.put_struct(b"bal", Balance(amount=8))
        assert view.get_struct(b"bal", Balance) == Balance(amount=8)
        view.rollback()
        assert view.get_struct(b"bal", Balance) == Balance(amount=7)


# transaction(): the checkpoint as a context manager ---------------------------


class _Refused(Exception):
    """Stands for any failure inside a transaction."""


def test_transaction_keeps_its_writes_on_success(env: lmdb.Environment, tree: StateTree) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        with view.transaction() as inside:
            assert inside is view
            view.set(b"x", b"kept")
            view.delete(b"a/1")
        assert view.get(b"x") == b"kept"
        assert view.changes() == {b"x": b"kept", b"a/1": None}


def test_transaction_rolls_back_on_an_exception_and_reraises_it(
    env: lmdb.Environment, tree: StateTree
) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        view.set(b"x", b"block")
        with pytest.raises(_Refused), view.transaction():
            view.set(b"x", b"lost")
            view.delete(b"a/1")
            raise _Refused
        assert view.get(b"x") == b"block"
        assert view.get(b"a/1") == b"one"
        # No layer is left open: changes() would refuse one.
        assert view.changes() == {b"x": b"block"}


def test_nested_transactions_roll_back_only_the_failing_one(
    env: lmdb.Environment, tree: StateTree
) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        with view.transaction():
            view.set(b"outer", b"1")
            with pytest.raises(_Refused), view.transaction():
                view.set(b"inner", b"lost")
                view.set(b"outer", b"overwritten")
                raise _Refused
            assert view.get(b"outer") == b"1" and view.get(b"inner") is None
            with view.transaction():
                view.set(b"inner", b"kept")
        assert view.changes() == {b"outer": b"1", b"inner": b"kept"}


def test_a_failing_outer_transaction_drops_its_released_inner_one(
    env: lmdb.Environment, tree: StateTree
) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        with pytest.raises(_Refused), view.transaction():
            with view.transaction():
                view.set(b"inner", b"released into the outer layer")
            assert view.get(b"inner") is not None
            raise _Refused
        assert view.get(b"inner") is None
        assert view.changes() == {}


def test_transaction_rolls_back_on_out_of_gas(env: lmdb.Environment, tree: StateTree) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        view.meter = GasMeter(limit=gas.STATE_WRITE + gas.PER_WRITTEN_BYTE)
        with pytest.raises(OutOfGas), view.transaction():
            view.set(b"x", b"1")
            view.set(b"y", b"2")  # over the limit
        view.meter = None
        assert view.get(b"x") is None
        assert view.changes() == {}


def test_a_layer_left_open_inside_a_transaction_is_an_error(
    env: lmdb.Environment, tree: StateTree
) -> None:
    with env.begin() as txn:
        view = StateView(tree, txn, 0)
        with pytest.raises(AssertionError, match="out of order"), view.transaction():
            view.checkpoint()  # never closed: the transaction must not merge it silently
