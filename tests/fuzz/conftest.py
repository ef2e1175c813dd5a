"""Shared pieces of the fuzz suite: budgets, deterministic settings and one live node.

Budgets. Every fuzzer draws its example count from :func:`budget`: a small
default that keeps the whole group within about a minute of CI on two cores,
or ``CONSORTIA_FUZZ_EXAMPLES`` when a developer or a soak run wants more
(``CONSORTIA_FUZZ_EXAMPLES=5000 .venv/bin/pytest -n 0 tests/fuzz``). Runs are
derandomized and keep no example database, so CI sees the same inputs every
time and a failure reproduces by re-running the same command.

The node. Fuzzers that talk to a node share one single-validator network per
xdist worker, started as a real child process (``tests.support.network``), so
a request that crashes the interpreter kills the node, not pytest, and the
test sees a dead node instead of vanishing. All fuzz tests that use it carry
``xdist_group("fuzz-node")`` so one worker runs them against one node.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.schemas import OpenApiSchema
from tests.support.network import LiveNetwork, live_network

BUDGET_ENV = "CONSORTIA_FUZZ_EXAMPLES"
"""Environment variable: examples per fuzz target (overrides every default budget)."""


def budget(default: int) -> int:
    """Examples for one fuzz target: ``default``, or ``$CONSORTIA_FUZZ_EXAMPLES`` when set."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    return int(raw) if raw else default


def fuzz_settings(default_examples: int) -> settings:
    """Deterministic hypothesis settings for one fuzz target.

    ``derandomize`` fixes the seed per test, ``database=None`` keeps earlier
    runs from changing what this one tries, and ``deadline=None`` because a
    loaded CI machine answers slowly without anything being wrong.
    """
    return settings(
        max_examples=budget(default_examples),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        # The node fixture is shared on purpose: every example hits the same live node.
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
            # schemathesis's negative mode filters hard on operations with few parameters.
            HealthCheck.filter_too_much,
        ],
    )


@dataclass
class FuzzNode:
    """The live node the network fuzzers hit: its base URL and its network."""

    url: str
    network: LiveNetwork
    http: httpx.Client
    """One client for every request (building one per request costs more than the request)."""

    @property
    def name(self) -> str:
        return self.network.names[0]

    @property
    def log_file(self) -> Path:
        return self.network.home(0) / "node.log"

    def alive(self) -> bool:
        """The node process is still running."""
        return self.network.processes.pid(self.name) is not None

    def revive(self) -> None:
        """Start the node again if an earlier test killed it (that test has failed already)."""
        if not self.alive():
            self.network.processes.start(self.name)

    def log_offset(self) -> int:
        """Current size of the node's log, to read only what a test made it write."""
        return self.log_file.stat().st_size if self.log_file.exists() else 0

    def log_since(self, offset: int) -> str:
        """What the node logged after ``offset``."""
        with self.log_file.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def assert_no_traceback(self, offset: int) -> None:
        """Bad input is refused with a code, never logged as a crash."""
        text = self.log_since(offset)
        assert "Traceback" not in text, f"the node logged a traceback:\n{text[-4000:]}"

    def height(self) -> int:
        """Current height from ``/v1/status`` (-1 when the node does not answer)."""
        return self.network.height(0)

    def assert_healthy(self, since_height: int, timeout_s: float = 30.0) -> None:
        """The process is alive, answers, and commits past ``since_height``."""
        assert self.alive(), "the node process died during fuzzing"
        deadline = time.monotonic() + timeout_s
        while (height := self.height()) <= since_height:
            assert self.alive(), "the node process died during fuzzing"
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the node stopped committing: height {height}, was {since_height}"
                )
            time.sleep(0.1)


@pytest.fixture(scope="session")
def fuzz_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzNode]:
    """One single-validator node process on loopback, shared by the network fuzzers."""
    with live_network(tmp_path_factory.mktemp("fuzz-node")) as network:
        url = network.api(0)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("fuzz node did not start serving")
            time.sleep(0.1)
        # One connection per request: a reused keep-alive connection that the server
        # times out while the client is descheduled looks like a dropped request.
        with httpx.Client(timeout=60, headers={"connection": "close"}) as http:
            yield FuzzNode(url=url, network=network, http=http)


@pytest.fixture(scope="module")
def committing(fuzz_node: FuzzNode) -> Iterator[FuzzNode]:
    """After a module's fuzzing the node is alive and still commits blocks."""
    fuzz_node.revive()
    start = fuzz_node.height()
    yield fuzz_node
    fuzz_node.assert_healthy(since_height=start)


@pytest.fixture
def node(committing: FuzzNode) -> Iterator[FuzzNode]:
    """The shared fuzz node, alive at the start of each test; at its end the process still
    runs and logged no traceback (the module's end checks that blocks are still committed)."""
    committing.revive()
    offset = committing.log_offset()
    yield committing
    assert committing.alive(), "the node process died during this test"
    committing.assert_no_traceback(offset)


@pytest.fixture(scope="session")
def openapi(fuzz_node: FuzzNode) -> OpenApiSchema:
    """The node's own ``/openapi.json``, loaded by schemathesis once per session."""
    return schemathesis.openapi.from_url(f"{fuzz_node.url}/openapi.json")
