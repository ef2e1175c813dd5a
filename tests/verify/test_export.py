"""An export verifies whole or not at all ([VERIFY-EXPORT.2]; issue #16 item 5).

The chain of these tests (8 blocks, heights 0..7; the genesis block has no
certificate)::

    header | b0 | b1 | ... | b7 | trailer(8, id(b7))

Each test damages the file the way an incomplete copy or an attacker would
(cut at a frame boundary, cut inside a frame, counts off, trailer naming
another block, another genesis) and checks the library and the command line
refuse it with a stable code, while an explicit ``--up-to`` prefix verifies.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.verify.chain import FRAME_LENGTH, ChainBuilder, Record, export_frames
from typer.testing import CliRunner

from consortia.bench.workload import signed
from consortia.cli.main import app
from consortia.codec import decode, encode
from consortia.ledger.types import Transaction, block_id
from consortia.modules.assets.types import Create, SupplyRule
from consortia.verify.errors import ExportError
from consortia.verify.export import (
    ExportHeader,
    ExportTrailer,
    load_export,
    read_export,
    write_export,
)
from consortia.verify.verifier import verify_chain, verify_export

BLOCKS = 8


def _tx(builder: ChainBuilder, nonce: int) -> Transaction:
    args = Create(
        symbol=f"T{nonce}",
        name=f"T{nonce}",
        decimals=0,
        supply_rule=SupplyRule.UNLIMITED,
        max_supply=0,
    )
    key = builder.user_keys[0]
    return decode(signed(key, "consortia-devnet", nonce, "create", args, 1_000), Transaction)


def _export(root: Path) -> tuple[Path, bytes]:
    """An honest export of an 8-block chain built in ``root``; returns (file, genesis id)."""
    builder = ChainBuilder(root)
    for nonce in range(BLOCKS - 1):
        builder.add((_tx(builder, nonce),) if nonce % 2 == 0 else ())
    genesis_id = block_id(builder.hash, builder.records[0][0].header)
    ledger = Path(builder.env.path())
    builder.close()
    path = root / "chain.export"
    assert write_export(ledger, builder.genesis, path) == BLOCKS
    return path, genesis_id


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    return _export(tmp_path_factory.mktemp("honest"))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """Another chain with the same chain id (its own keys, so another genesis)."""
    return _export(tmp_path_factory.mktemp("foreign"))


def _frame(record: object) -> bytes:
    data = encode(record)
    return FRAME_LENGTH.pack(len(data)) + data


def _write(tmp: Path, frames: list[bytes], name: str = "damaged.export") -> Path:
    path = tmp / name
    path.write_bytes(b"".join(frames))
    return path


def _header(frames: list[bytes]) -> ExportHeader:
    return decode(frames[0][FRAME_LENGTH.size :], ExportHeader)


def _trailer(frames: list[bytes]) -> ExportTrailer:
    return decode(frames[-1][FRAME_LENGTH.size :], ExportTrailer)


runner = CliRunner()


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------ the whole file


def test_an_honest_export_verifies_whole_and_names_its_genesis(honest: tuple[Path, bytes]) -> None:
    path, genesis_id = honest
    report = verify_export(path)
    assert report.ok, report.problem
    assert (report.blocks, report.source_blocks, report.up_to) == (BLOCKS, BLOCKS, None)
    assert report.genesis_id == genesis_id
    export = load_export(path.read_bytes())
    assert export.trailer.blocks == BLOCKS
    assert export.trailer.last_id == report.last_id
    code, out, _ = _cli("verify", "--export", str(path), "--no-execute")
    assert code == 0, out
    assert "VERIFIED: the whole export, blocks 0..7, trailer checked" in out
    assert f"genesis: 0x{genesis_id.hex()}" in out


def test_truncated_at_a_frame_boundary_fails(honest: tuple[Path, bytes], tmp_path: Path) -> None:
    """The issue's case: the last 5 blocks (and the trailer) gone verified as a shorter chain."""
    frames = export_frames(honest[0].read_bytes())
    cut = _write(tmp_path, frames[: 1 + BLOCKS - 5])
    report = verify_export(cut, execute=False)
    assert not report.ok
    assert report.code == "VERIFY_EXPORT_INCOMPLETE"
    assert report.first_bad_height == BLOCKS - 5
    assert "ends after 3 of the 8 blocks" in report.problem
    code, out, _ = _cli("verify", "--export", str(cut), "--no-execute")
    assert code == 1
    assert "FAILED at height 3 [VERIFY_EXPORT_INCOMPLETE]" in out
    assert "VERIFIED" not in out


def test_only_the_trailer_missing_fails(honest: tuple[Path, bytes], tmp_path: Path) -> None:
    frames = export_frames(honest[0].read_bytes())
    report = verify_export(_write(tmp_path, frames[:-1]), execute=False)
    assert report.code == "VERIFY_EXPORT_INCOMPLETE"
    assert "without a trailer" in report.problem


@pytest.mark.parametrize("keep", [3, 70])
def test_truncated_mid_frame_fails(honest: tuple[Path, bytes], tmp_path: Path, keep: int) -> None:
    """Cut inside the length prefix (3 bytes) or inside the record (70 bytes) of block 4."""
    frames = export_frames(honest[0].read_bytes())
    cut = _write(tmp_path, [*frames[:5], frames[5][:keep]])
    report = verify_export(cut, execute=False)
    assert report.code == "VERIFY_EXPORT_INCOMPLETE"
    assert report.first_bad_height == 4
    assert "ends inside" in report.problem
    code, out, _ = _cli("verify", "--export", str(cut), "--json", "--no-execute")
    assert code == 1
    document = json.loads(out)
    assert document["ok"] is False and document["code"] == "VERIFY_EXPORT_INCOMPLETE"


def test_a_header_alone_fails(honest: tuple[Path, bytes], tmp_path: Path) -> None:
    frames = export_frames(honest[0].read_bytes())
    alone = _write(tmp_path, frames[:1])
    report = verify_export(alone)
    assert report.code == "VERIFY_EXPORT_INCOMPLETE" and report.blocks == 0
    code, out, _ = _cli("verify", "--export", str(alone))
    assert code == 1 and "VERIFY_EXPORT_INCOMPLETE" in out


def test_a_header_declaring_no_block_fails(honest: tuple[Path, bytes], tmp_path: Path) -> None:
    frames = export_frames(honest[0].read_bytes())
    empty = msgspec.structs.replace(_header(frames), blocks=0)
    path = _write(tmp_path, [_frame(empty), _frame(ExportTrailer(blocks=0, last_id=bytes(32)))])
    report = verify_export(path)
    assert report.code == "VERIFY_EXPORT_INCOMPLETE"
    assert "declares 0 blocks" in report.problem
    assert _cli("verify", "--export", str(path))[0] == 1


def test_an_empty_file_and_an_empty_chain_fail(tmp_path: Path, honest: tuple[Path, bytes]) -> None:
    empty = tmp_path / "empty.export"
    empty.write_bytes(b"")
    assert verify_export(empty).code == "VERIFY_EXPORT_INCOMPLETE"
    genesis = _header(export_frames(honest[0].read_bytes())).genesis
    report = verify_chain(genesis, [])
    assert report.code == "VERIFY_CHAIN_INCOMPLETE" and not report.ok


@pytest.mark.parametrize("delta", [10, -1])
def test_a_miscounted_header_fails(honest: tuple[Path, bytes], tmp_path: Path, delta: int) -> None:
    frames = export_frames(honest[0].read_bytes())
    wrong = msgspec.structs.replace(_header(frames), blocks=BLOCKS + delta)
    path = _write(tmp_path, [_frame(wrong), *frames[1:]])
    report = verify_export(path, execute=False)
    assert report.code == "VERIFY_EXPORT_INCOMPLETE", report.problem
    code, out, _ = _cli("verify", "--export", str(path), "--no-execute")
    assert code == 1 and "VERIFY_EXPORT_INCOMPLETE" in out


def test_a_miscounted_trailer_fails(honest: tuple[Path, bytes], tmp_path: Path) -> None:
    frames = export_frames(honest[0].read_bytes())
    wrong = msgspec.structs.replace(_trailer(frames), blocks=BLOCKS + 10)
    path = _write(tmp_path, [*frames[:-1], _frame(wrong)])
    report = verify_export(path, execute=False)
    assert report.code == "VERIFY_EXPORT_INCOMPLETE"
    assert "trailer counts 18 blocks" in report.problem
    assert _cli("verify", "--export", str(path), "--no-execute")[0] == 1


def test_a_trailer_naming_another_last_block_fails(
    honest: tuple[Path, bytes], tmp_path: Path
) -> None:
    frames = export_frames(honest[0].read_bytes())
    wrong = msgspec.structs.replace(_trailer(frames), last_id=bytes(32))
    path = _write(tmp_path, [*frames[:-1], _frame(wrong)])
    report = verify_export(path, execute=False)
    assert report.code == "VERIFY_EXPORT_TRAILER_MISMATCH"
    assert report.first_bad_height == BLOCKS - 1
    code, out, _ = _cli("verify", "--export", str(path), "--no-execute")
    assert code == 1 and "VERIFY_EXPORT_TRAILER_MISMATCH" in out


def test_bytes_after_the_trailer_fail(honest: tuple[Path, bytes], tmp_path: Path) -> None:
    path = tmp_path / "extra.export"
    path.write_bytes(honest[0].read_bytes() + b"\x00")
    assert verify_export(path, execute=False).code == "VERIFY_EXPORT_MALFORMED"


def test_a_v1_export_is_refused_precisely(honest: tuple[Path, bytes], tmp_path: Path) -> None:
    """v1: the same header and untagged block records, no trailer."""
    frames = export_frames(honest[0].read_bytes())
    header = msgspec.structs.replace(_header(frames), format="consortia-export/v1")
    path = _write(tmp_path, [_frame(header), *frames[1:-1]])
    report = verify_export(path)
    assert report.code == "VERIFY_EXPORT_VERSION"
    assert "'consortia-export/v1' is not supported" in report.problem
    code, _, err = _cli("verify", "--export", str(path))
    assert code == 2 and "[VERIFY_EXPORT_VERSION]" in err


# ------------------------------------------------------------------ the genesis pin


def test_a_foreign_genesis_fails_with_the_pin(
    honest: tuple[Path, bytes], foreign: tuple[Path, bytes]
) -> None:
    ours, pinned = honest[1], honest[1]
    path, theirs = foreign
    assert theirs != ours
    unpinned = verify_export(path, execute=False)
    assert unpinned.ok and unpinned.genesis_id == theirs  # valid, but not our chain
    report = verify_export(path, execute=False, genesis_id=pinned)
    assert report.code == "VERIFY_GENESIS_MISMATCH" and report.first_bad_height == 0
    code, out, _ = _cli("verify", "--export", str(path), "--genesis", "0x" + pinned.hex())
    assert code == 1
    assert "VERIFY_GENESIS_MISMATCH" in out and f"genesis: 0x{theirs.hex()}" in out
    good = _cli("verify", "--export", str(honest[0]), "--genesis", pinned.hex(), "--no-execute")
    assert good[0] == 0


def test_a_malformed_pin_is_a_usage_error(honest: tuple[Path, bytes]) -> None:
    code, _, err = _cli("verify", "--export", str(honest[0]), "--genesis", "0xabc")
    assert code == 2 and "[CLI_BAD_HEX]" in err


# ------------------------------------------------------------------ explicit prefixes


def test_up_to_verifies_an_explicit_prefix(honest: tuple[Path, bytes], tmp_path: Path) -> None:
    frames = export_frames(honest[0].read_bytes())
    cut = _write(tmp_path, frames[: 1 + BLOCKS - 5])  # heights 0..2 present
    report = verify_export(cut, up_to=2)
    assert report.ok and report.blocks == 3 and report.up_to == 2
    code, out, _ = _cli("verify", "--export", str(cut), "--up-to", "2")
    assert code == 0
    assert "PREFIX blocks 0..2 of the 8 in the export (--up-to 2)" in out
    assert "NOT checked" in out
    code, out, _ = _cli("verify", "--export", str(cut), "--up-to", "2", "--json")
    document = json.loads(out)
    assert code == 0 and document["whole"] is False and document["last_height"] == 2
    # Past the cut, or past the end, the prefix is not there.
    assert verify_export(cut, up_to=4, execute=False).code == "VERIFY_EXPORT_INCOMPLETE"
    beyond = verify_export(honest[0], up_to=BLOCKS, execute=False)
    assert beyond.code == "VERIFY_CHAIN_INCOMPLETE" and "beyond the export" in beyond.problem


def test_verify_chain_up_to_stops_reading(honest: tuple[Path, bytes]) -> None:
    header, blocks = read_export(honest[0])
    consumed = []

    def records() -> Iterator[Record]:
        for b in blocks:
            consumed.append(b.block.header.height)
            yield b.block, b.certificate

    report = verify_chain(header.genesis, records(), up_to=1)
    blocks.close()
    assert report.ok and report.blocks == 2 and consumed == [0, 1]
    short = verify_chain(header.genesis, [], up_to=1)
    assert short.code == "VERIFY_CHAIN_INCOMPLETE"


# ------------------------------------------------------------------ hostile bytes


def test_a_forged_frame_length_costs_no_memory(honest: tuple[Path, bytes]) -> None:
    """A header claiming 200 MB in a 10-byte file, and one past the limit."""
    tracemalloc.start()
    try:
        with pytest.raises(ExportError) as short:
            load_export(FRAME_LENGTH.pack(200 * 1024 * 1024) + b"\x93" * 6)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert short.value.code == "VERIFY_EXPORT_INCOMPLETE"
    assert peak < 4 * 1024 * 1024
    with pytest.raises(ExportError) as huge:
        load_export(FRAME_LENGTH.pack(0xFFFFFFFF))
    assert huge.value.code == "VERIFY_EXPORT_MALFORMED"
    frames = export_frames(honest[0].read_bytes())
    with pytest.raises(ExportError) as block:
        load_export(frames[0] + FRAME_LENGTH.pack(65 * 1024 * 1024))
    assert block.value.code == "VERIFY_EXPORT_MALFORMED" and block.value.height == 0


_DEEP = b"\x92\xa1x" + b"\x91" * 100_000 + b"\xc0"  # ["x", [[[...]]]]: msgspec's depth limit


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00\x01",
        b"\x00\x00\x00\x01\xc1",
        b"\x00\x00\x00\x02\x91\x05",
        bytes(range(256)),
        FRAME_LENGTH.pack(len(_DEEP)) + _DEEP,
    ],
)
def test_garbage_is_refused_with_the_verifiers_error(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(ExportError):
        load_export(data)
    path = tmp_path / "garbage.export"
    path.write_bytes(data)
    code, out, err = _cli("verify", "--export", str(path))
    assert code == 1 and "VERIFY_EXPORT_" in out and "Traceback" not in out + err


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_exports_raise_only_export_errors(
    honest: tuple[Path, bytes], data: st.DataObject
) -> None:
    """Flip, cut or splice bytes anywhere: load_export returns or raises ExportError only."""
    original = honest[0].read_bytes()
    where = data.draw(st.integers(0, len(original) - 1))
    how = data.draw(st.sampled_from(["flip", "cut", "splice"]))
    if how == "flip":
        mutated = bytearray(original)
        mutated[where] ^= data.draw(st.integers(1, 255))
        blob = bytes(mutated)
    elif how == "cut":
        blob = original[:where]
    else:
        blob = original[:where] + data.draw(st.binary(max_size=16)) + original[where:]
    try:
        export = load_export(io.BytesIO(blob))
    except ExportError:
        return
    assert len(export.blocks) == export.header.blocks == export.trailer.blocks


# ------------------------------------------------------------------ a real export, a real node


def test_export_and_verify_against_a_real_node(tmp_path: Path) -> None:
    """`consortia verify --rpc` on a live node, then `consortia export`/`verify` as processes."""
    from tests.support.node import ThreadNode

    node = ThreadNode(tmp_path / "net")
    node.start()
    try:
        deadline = time.monotonic() + 30
        while node.status()["height"] < 3:
            assert time.monotonic() < deadline, "the node did not reach height 3"
            time.sleep(0.1)
        code, out, _ = _cli("verify", "--rpc", node.url, "--json")
        whole = json.loads(out)
        assert code == 0 and whole["ok"] and whole["whole"], whole
        assert whole["source_blocks"] == whole["blocks"] >= 4
        genesis_id = whole["genesis_id"]
        code, out, _ = _cli("verify", "--rpc", node.url, "--genesis", genesis_id)
        assert code == 0
        assert "the node's committed height when verification began" in out
        assert f"genesis: {genesis_id}" in out
        code, out, _ = _cli("verify", "--rpc", node.url, "--up-to", "1")
        assert code == 0 and "PREFIX blocks 0..1 of the node's committed 0.." in out
        code, out, _ = _cli("verify", "--rpc", node.url, "--up-to", str(10**9))
        assert code == 1 and "VERIFY_CHAIN_INCOMPLETE" in out
        code, out, _ = _cli("verify", "--rpc", node.url, "--genesis", "11" * 32)
        assert code == 1 and "VERIFY_GENESIS_MISMATCH" in out
    finally:
        node.stop()
    export = tmp_path / "chain.export"
    consortia = [str(Path(sys.executable).parent / "consortia")]
    made = subprocess.run(
        [*consortia, "export", "--home", str(node.home), "--out", str(export)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    checked = subprocess.run(
        [*consortia, "verify", "--export", str(export), "--genesis", genesis_id],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "VERIFIED: the whole export" in checked.stdout
    cut = tmp_path / "cut.export"
    cut.write_bytes(b"".join(export_frames(export.read_bytes())[:-3]))
    failed = subprocess.run(
        [*consortia, "verify", "--export", str(cut)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert failed.returncode == 1 and "VERIFY_EXPORT_INCOMPLETE" in failed.stdout


# ------------------------------------------------------------------ a hostile node


@pytest.mark.parametrize(
    ("path", "body", "what"),
    [
        (b"/v1/genesis/raw", b"[" * 100_000 + b"]" * 100_000, "unexpected answer"),
        (b"/v1/genesis/raw", b'{"other": 1}', "unexpected answer"),
        (b"/v1/genesis/raw", b'{"genesis": "zz"}', "not hex"),
        (b"/v1/genesis/raw", b'{"genesis": "00"}', "invalid Genesis encoding"),
        (b"/v1/status", b'{"height": ' + b"1" * 70_000 + b"}", "exceeds 65536 bytes"),
        (b"/v1/status", b'{"height": -1}', "height -1"),
    ],
    ids=["nested", "missing-field", "bad-hex", "not-canonical", "oversized", "negative"],
)
def test_a_hostile_node_answer_is_refused_with_a_code(
    honest: tuple[Path, bytes], path: bytes, body: bytes, what: str
) -> None:
    """A real HTTP server on loopback: an honest genesis, then one answer an attacker chose."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    genesis = encode(_header(export_frames(honest[0].read_bytes())).genesis)
    honest_genesis = b'{"genesis": "' + genesis.hex().encode() + b'"}'

    class Hostile(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = body if self.path.encode() == path else honest_genesis
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(answer)  # the verifier may stop reading at its cap

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        code, out, err = _cli("verify", "--rpc", url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert code == 1, out + err
    assert "[VERIFY_NODE_REPLY_MALFORMED]" in out and what in out, out
    assert "Traceback" not in out + err
