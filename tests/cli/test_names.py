"""Asset names through the CLI ([EXEC-TEXT.1]): refused before sending, refused by the
node when sent raw, and shown escaped when a node returns one anyway (data from
before the rule, or a hostile node)."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.support.node import InProcessNode
from typer.testing import CliRunner

from consortia.codec import encode
from consortia.ledger.types import TxBody
from consortia.sdk import Client, Signer

pytestmark = pytest.mark.slow
runner = CliRunner()

FORGED = "yuan\r\n[/]forged"
"""CR/LF starts a new table line; ``[/]`` is rich markup that crashed the renderer."""


def cli(live: InProcessNode, *args: str, node: str | None = None) -> Any:
    extra = [] if node is None else ["--node", node]
    return runner.invoke(app_(), [*args, "--home", str(live.root), *extra], env={"COLUMNS": "120"})


def app_() -> Any:
    from consortia.cli.main import app

    return app


def create(live: InProcessNode, symbol: str, name: str) -> Any:
    return cli(
        live,
        "asset",
        "create",
        symbol,
        "--name",
        name,
        "--decimals",
        "2",
        "--supply-rule",
        "capped",
        "--max-supply",
        "100",
        "--from",
        "alice",
        "--json",
    )


@pytest.mark.parametrize(
    ("symbol", "name", "message"),
    [
        ("NUL", "yu\x00an", "name contains U+0000 (control character) at index 2"),
        ("RLO", "\u202enauy", "name contains U+202E RIGHT-TO-LEFT OVERRIDE (format character)"),
        ("CRLF", FORGED, "name contains U+000D (control character) at index 4"),
        ("BLANK", "   ", "name is blank"),
    ],
)
def test_create_refuses_a_bad_name_without_sending(
    live: InProcessNode, symbol: str, name: str, message: str
) -> None:
    result = create(live, symbol, name)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert json.loads(result.stdout)["error"]["code"] == "TX_BAD_NAME"
    assert message in result.stderr and "Traceback" not in result.stderr
    shown = cli(live, "asset", "show", symbol, "--json")
    assert shown.exit_code == 4 and json.loads(shown.stdout)["error"]["code"] == "ASSET_NOT_FOUND"


def test_create_normalises_the_name_to_nfc(live: InProcessNode) -> None:
    result = create(live, "CAFE", "Cafe\u0301")  # e + combining acute: NFD
    assert result.exit_code == 0, (result.stdout, result.stderr)
    shown = json.loads(cli(live, "asset", "show", "CAFE", "--json").stdout)
    assert shown["name"] == "Caf\u00e9"


def test_the_node_refuses_a_raw_bad_name(live: InProcessNode) -> None:
    """A client that skips the CLI's check: the chain refuses, nothing is created."""
    signer = Signer(live.key("bob"))
    with Client(live.url) as client:
        status = client.status()
        nonce = client.account(signer.address).nonce
        body = TxBody(
            chain_id=status.chain_id,
            sender=signer.address,
            nonce=nonce,
            module="assets",
            method="create",
            args=encode(["RAW", FORGED, 2, "capped", 100, True]),
            gas_limit=200_000,
            expiry_height=status.height + 100,
        )
        record = client.submit(signer.sign(body), wait=20)
        assert record.receipt is not None
        assert record.receipt.status == "TX_BAD_NAME"
        assert record.receipt.message == "name contains U+000D (control character) at index 4"
        assert record.tx.args_decoded is None  # the explorer view does not choke on it
    shown = cli(live, "asset", "show", "RAW", "--json")
    assert json.loads(shown.stdout)["error"]["code"] == "ASSET_NOT_FOUND"


class _Rewriting(BaseHTTPRequestHandler):
    """Forwards to the live node, replacing the name in asset documents (a hostile node)."""

    upstream = ""
    name = ""

    def do_GET(self) -> None:
        with urllib.request.urlopen(self.upstream + self.path) as answer:
            body = answer.read()
            kind = answer.headers.get("content-type", "application/json")
        if self.path.startswith("/v1/assets/"):
            document = json.loads(body)
            document["name"] = self.name
            body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def hostile(live: InProcessNode) -> Iterator[tuple[str, type[_Rewriting]]]:
    handler = type("Handler", (_Rewriting,), {"upstream": live.url.rstrip("/")})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        (FORGED, "yuan\\u{000D}\\u{000A}[/]forged"),
        ("\u202enauy", "\\u{202E}nauy"),
        ("a\x00\u2066b\u200bc", "a\\u{0000}\\u{2066}b\\u{200B}c"),
    ],
)
def test_asset_show_escapes_a_stored_name(
    live: InProcessNode, hostile: tuple[str, type[_Rewriting]], name: str, escaped: str
) -> None:
    url, handler = hostile
    assert create(live, "SHOWN", "shown").exit_code in (0, 1)  # once per module; exists after
    handler.name = name
    result = cli(live, "asset", "show", "SHOWN", node=url)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    name_lines = [line for line in lines if line.startswith("│ name")]
    assert len(name_lines) == 1 and escaped in name_lines[0], result.stdout
    # Every other row is one of the document's own fields: nothing forged.
    rows = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
    assert rows == [
        "symbol",
        "name",
        "issuer",
        "decimals",
        "supply_rule",
        "max_supply",
        "burnable",
        "supply",
        "supply (units)",
    ]
    assert not (set(result.stdout) - {"\n"}) & (set(name) - set(escaped))
