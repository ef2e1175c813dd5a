"""``GET /v1/event-types``: every module's declared events and field types ([EXEC-EVENT.1])."""

from __future__ import annotations

import httpx
from tests.support.node import InProcessNode

from consortia.genesis import default_runtime


def test_event_types_lists_every_declared_event_with_its_fields(live: InProcessNode) -> None:
    response = httpx.get(f"{live.url}/v1/event-types", timeout=10)
    assert response.status_code == 200, response.text
    listed = response.json()
    by_key = {(item["module"], item["name"]): item["fields"] for item in listed}
    assert by_key[("assets", "transferred")] == [
        {"name": "symbol", "type": "string"},
        {"name": "sender", "type": "bytes"},
        {"name": "to", "type": "bytes"},
        {"name": "amount", "type": "uint"},
    ]
    declared = {
        (name, event.event_name)
        for name, module in default_runtime().modules.items()
        for event in module.events
    }
    assert set(by_key) == declared
    keys = [(item["module"], item["name"]) for item in listed]
    assert keys == sorted(keys)  # module, then event name: a stable order for clients
