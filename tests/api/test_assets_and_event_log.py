"""Asset list, holders and the event log against a real node (issue #6, the explorer's data).

One module-scoped node: the tests create their own assets (symbols unique to
this module), so every listed asset and event is one they made or genesis had.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.node import InProcessNode, signed_tx

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer
from consortia.node.event_log import EventPosition

pytestmark = pytest.mark.slow
_names = itertools.count()


@dataclass(frozen=True)
class Story:
    """An issuer created ``symbol``, issued to three holders and one gave all of it away."""

    symbol: str
    issuer: PrivateKey
    holders: dict[str, int]
    """Address (0x hex) -> balance after the story."""
    tx_ids: dict[str, str]
    """``create``, ``issue-0..2``, ``transfer`` -> transaction id."""


def get(live: InProcessNode, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{live.url}{path}", params=params, timeout=10)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def error_code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def commit(live: InProcessNode, raw: bytes) -> dict[str, Any]:
    response = httpx.post(
        f"{live.url}/v1/transactions", json={"tx": raw.hex()}, params={"wait": 10}, timeout=15
    )
    record = ok(response)
    assert record["receipt"]["status"] == "OK", record
    return record


def address_of(key: PrivateKey) -> str:
    return "0x" + key.public_key().address().hex()


@pytest.fixture(scope="module")
def story(live: InProcessNode) -> Story:
    issuer = PrivateKey.generate(KeyType.SM2)
    symbol = f"EV{next(_names)}"
    tx_ids = {}
    create = Create(symbol, "event log test", 2, SupplyRule.CAPPED, 10_000)
    tx_ids["create"] = commit(live, signed_tx(issuer, 0, "assets", "create", create))["tx_id"]
    keys = [PrivateKey.generate(KeyType.SM2) for _ in range(3)]
    for i, key in enumerate(keys):
        issue = Issue(symbol, key.public_key().address(), 100 * (i + 1))
        tx_ids[f"issue-{i}"] = commit(live, signed_tx(issuer, 1 + i, "assets", "issue", issue))[
            "tx_id"
        ]
    # The first holder gives everything to the second: a zero balance is no holding.
    give = Transfer(symbol, keys[1].public_key().address(), 100)
    tx_ids["transfer"] = commit(live, signed_tx(keys[0], 0, "assets", "transfer", give))["tx_id"]
    holders = {address_of(keys[1]): 300, address_of(keys[2]): 300}
    return Story(symbol, issuer, holders, tx_ids)


@pytest.fixture(scope="module")
def symbols(live: InProcessNode) -> Iterator[list[str]]:
    """Five more assets, created in an order that is not their symbol order."""
    key = PrivateKey.generate(KeyType.P256)
    made = [f"Z{next(_names)}{suffix}" for suffix in ("C", "A", "E", "B", "D")]
    for nonce, symbol in enumerate(made):
        create = Create(symbol, f"asset {symbol}", 0, SupplyRule.FIXED, 10 + nonce)
        commit(live, signed_tx(key, nonce, "assets", "create", create))
    yield made


def walk(live: InProcessNode, path: str, items: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list, following ``next`` as ``after``."""
    found: list[dict[str, Any]] = []
    after = None
    for _ in range(1_000):
        page = ok(get(live, path, **params, **({} if after is None else {"after": after})))
        found.extend(page[items])
        after = page["next"]
        if after is None:
            return found
    raise AssertionError("paging did not end")


def test_assets_are_listed_by_symbol_with_supply(
    live: InProcessNode, story: Story, symbols: list[str]
) -> None:
    page = ok(get(live, "/v1/assets", limit=1_000))
    listed = [a["symbol"] for a in page["assets"]]
    assert listed == sorted(listed)
    assert set(symbols) | {story.symbol} <= set(listed)
    assert page["next"] is None and page["height"] >= 1
    for asset in page["assets"]:
        assert asset == ok(get(live, f"/v1/assets/{asset['symbol']}"))
    mine = {a["symbol"]: a for a in page["assets"]}
    assert mine[story.symbol]["supply"] == 600
    assert mine[story.symbol]["max_supply"] == 10_000
    assert mine[story.symbol]["issuer"] == address_of(story.issuer)
    assert [mine[s]["supply"] for s in symbols] == [10, 11, 12, 13, 14]  # fixed: all at creation

    # Pages of two, each starting after the last symbol of the one before, cover the same list.
    assert [a["symbol"] for a in walk(live, "/v1/assets", "assets", limit=2)] == listed
    first = ok(get(live, "/v1/assets", limit=2))
    assert first["next"] == listed[1]
    start = sorted(symbols)[2]
    after = ok(get(live, "/v1/assets", after=start))
    assert [a["symbol"] for a in after["assets"]] == [s for s in listed if s > start]


def test_asset_list_rejects_bad_parameters(live: InProcessNode) -> None:
    for params in ({"limit": 0}, {"limit": 1_001}, {"after": "lower"}, {"after": "A" * 33}):
        assert error_code(get(live, "/v1/assets", **params)) == (400, "API_BAD_REQUEST"), params


def test_holders_are_positive_balances_by_address(live: InProcessNode, story: Story) -> None:
    path = f"/v1/assets/{story.symbol}/holders"
    page = ok(get(live, path))
    assert page["symbol"] == story.symbol and page["next"] is None
    assert {h["address"]: h["amount"] for h in page["holders"]} == story.holders
    addresses = [h["address"] for h in page["holders"]]
    assert addresses == sorted(addresses)
    assert page["scanned"] >= len(story.holders)
    one_by_one = walk(live, path, "holders", limit=1)
    assert one_by_one == page["holders"]
    assert ok(get(live, path, after=addresses[0]))["holders"] == page["holders"][1:]


def test_holders_resume_exactly_when_the_scan_bound_cuts_a_page(
    live: InProcessNode, story: Story, symbols: list[str]
) -> None:
    """Pages that read 1, 2 or 3 balances each find the same holders as one unbounded read."""
    reader = live.node.service.reader
    whole = reader.holders(story.symbol, None, 1_000, 1_000_000)
    assert whole.next is None
    for bound in (1, 2, 3):
        found: list[tuple[bytes, int]] = []
        after = None
        for _ in range(10_000):
            page = reader.holders(story.symbol, after, 1_000, bound)
            assert page.scanned <= bound
            found.extend(page.holders)
            after = page.next
            if after is None:
                break
        assert tuple(found) == whole.holders, bound


def test_holders_errors(live: InProcessNode, story: Story) -> None:
    assert error_code(get(live, "/v1/assets/NOPE9/holders")) == (404, "ASSET_NOT_FOUND")
    path = f"/v1/assets/{story.symbol}/holders"
    assert error_code(get(live, path, after="zz")) == (400, "API_BAD_HEX")
    assert error_code(get(live, path, after="0x1234")) == (400, "API_BAD_REQUEST")
    assert error_code(get(live, path, limit=0)) == (400, "API_BAD_REQUEST")


def test_event_log_lists_the_story_newest_first(live: InProcessNode, story: Story) -> None:
    page = ok(get(live, "/v1/event-log", module="assets", limit=500))
    events = page["events"]
    assert all(e["module"] == "assets" for e in events)
    positions = [(e["height"], e["index"], e["event"]) for e in events]
    assert positions == sorted(positions, reverse=True) and len(set(positions)) == len(positions)
    mine = [e for e in events if e["attributes"].get("symbol") == story.symbol]
    assert [(e["name"], e["tx_id"]) for e in mine] == [
        ("transferred", story.tx_ids["transfer"]),
        ("issued", story.tx_ids["issue-2"]),
        ("issued", story.tx_ids["issue-1"]),
        ("issued", story.tx_ids["issue-0"]),
        ("created", story.tx_ids["create"]),
    ]
    transferred = mine[0]
    assert transferred["attributes"]["amount"] == "100"
    record = ok(get(live, f"/v1/transactions/{transferred['tx_id']}"))
    assert (record["height"], record["index"]) == (transferred["height"], transferred["index"])
    assert page["to_height"] == page["height"] >= transferred["height"]

    issued = ok(get(live, "/v1/event-log", module="assets", name="issued", limit=500))["events"]
    assert issued == [e for e in events if e["name"] == "issued"]
    nothing = ok(get(live, "/v1/event-log", module="no-such-module"))
    assert nothing["events"] == [] and nothing["next"] is None


def test_event_log_pages_follow_the_cursor_without_gaps(live: InProcessNode, story: Story) -> None:
    whole = ok(get(live, "/v1/event-log", limit=500))
    assert whole["next"] is None  # the test chain is far shorter than one page's 1,000 blocks
    paged: list[dict[str, Any]] = []
    before = None
    for _ in range(1_000):
        params = {"limit": 2} | ({} if before is None else {"before": before})
        page = ok(get(live, "/v1/event-log", **params))
        paged.extend(page["events"])
        before = page["next"]
        if before is None:
            break
    # Blocks committed meanwhile are newer than the first page's cursor: never in later pages.
    assert paged[-len(whole["events"]) :] == whole["events"]
    last = whole["events"][-1]
    cursor = f"{last['height']}-{last['index']}-{last['event']}"
    assert ok(get(live, "/v1/event-log", before=cursor))["events"] == []


def test_event_log_reads_a_bounded_number_of_blocks(live: InProcessNode, story: Story) -> None:
    reader = live.node.service.reader
    page = reader.event_log(before=None, limit=100, max_blocks=1)
    assert page.from_height == page.to_height == page.height
    assert page.next == EventPosition(page.height, 0, 0)
    walked = []
    position: EventPosition | None = EventPosition(page.height + 1, 0, 0)
    while position is not None:
        step = reader.event_log(before=position, limit=100, max_blocks=3)
        assert step.to_height - step.from_height < 3
        walked.extend(step.events)
        position = step.next
    everything = reader.event_log(
        before=EventPosition(page.height + 1, 0, 0), limit=10_000, max_blocks=10**9
    )
    assert tuple(walked) == everything.events


def test_event_log_rejects_bad_parameters(live: InProcessNode) -> None:
    for params in (
        {"limit": 0},
        {"limit": 501},
        {"module": "bad module"},
        {"name": "x" * 65},
        {"before": "12"},
        {"before": "1-2-x"},
        {"before": f"{2**64}-0-0"},
    ):
        assert error_code(get(live, "/v1/event-log", **params)) == (400, "API_BAD_REQUEST"), params


def test_fuzzed_query_parameters_never_break_the_node(live: InProcessNode, story: Story) -> None:
    """Any text in any parameter: 200 or a coded 4xx error, never a 5xx."""
    routes = {
        "/v1/assets": ("after", "limit"),
        f"/v1/assets/{story.symbol}/holders": ("after", "limit"),
        "/v1/event-log": ("module", "name", "before", "limit"),
    }
    text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.integers(
        min_value=-(2**70), max_value=2**70
    ).map(str)
    with httpx.Client(base_url=live.url, timeout=10) as client:

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(route=st.sampled_from(sorted(routes)), data=st.data())
        def query(route: str, data: st.DataObject) -> None:
            names = data.draw(st.lists(st.sampled_from(routes[route]), unique=True))
            params = {name: data.draw(text) for name in names}
            response = client.get(route, params=params)
            assert response.status_code < 500, (params, response.text)
            if response.status_code != 200:
                assert response.json()["error"]["code"].startswith(("API_", "ASSET_")), params

        query()


def test_event_positions_round_trip_as_cursors() -> None:
    position = EventPosition(12, 3, 0)
    assert EventPosition.parse(position.cursor()) == position
    assert EventPosition(2, 0, 0) < EventPosition(2, 0, 1) < EventPosition(2, 1, 0)
    for text in ("", "1-2", "1-2-3-4", "-1-2-3", "1-2-3\n", " 1-2-3"):
        with pytest.raises(ValueError):
            EventPosition.parse(text)


def test_openapi_documents_the_new_routes(live: InProcessNode) -> None:
    doc = ok(get(live, "/openapi.json"))
    for path in ("/v1/assets", "/v1/assets/{symbol}/holders", "/v1/event-log"):
        operation = doc["paths"][path]["get"]
        assert operation["summary"] and "500" in operation["responses"]
    schemas = doc["components"]["schemas"]
    assert {"AssetListJson", "HoldersJson", "EventLogJson"} <= set(schemas)
