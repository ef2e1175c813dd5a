"""Per-client limits on EVM calls ([API-CLIENT-LIMIT.1]): in flight and rate, keyed by client."""

from __future__ import annotations

import pytest

from consortia.api.client_limits import (
    ClientBusy,
    ClientId,
    ClientLimits,
    RateLimited,
    client_of,
)

ALICE = ClientId("ip:192.0.2.1")
BOB = ClientId("ip:192.0.2.2")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_in_flight_limit_per_client_and_refusal_changes_nothing() -> None:
    clock = Clock()
    limits = ClientLimits(rate=100.0, in_flight=2, clock=clock)
    with limits.admit(ALICE), limits.admit(ALICE):
        with (
            pytest.raises(ClientBusy, match=r"ip:192\.0\.2\.1 already has 2") as busy,
            limits.admit(ALICE),
        ):
            pass
        assert busy.value.code == "API_CLIENT_BUSY" and busy.value.http_status == 429
        with limits.admit(BOB):  # another client is not affected
            pass
    with limits.admit(ALICE):  # slots come back when calls end, even by an exception
        pass
    with pytest.raises(ValueError), limits.admit(ALICE):
        raise ValueError
    with limits.admit(ALICE), limits.admit(ALICE):
        pass


def test_rate_is_a_bucket_of_one_seconds_worth() -> None:
    clock = Clock()
    limits = ClientLimits(rate=4.0, in_flight=100, clock=clock)
    for _ in range(4):
        with limits.admit(ALICE):
            pass
    with (
        pytest.raises(RateLimited, match=r"faster than 4 per second; retry in 0\.25 s") as fast,
        limits.admit(ALICE),
    ):
        pass
    assert fast.value.code == "API_RATE_LIMITED" and fast.value.http_status == 429
    with limits.admit(BOB):
        pass
    clock.now += 0.25  # one token back
    with limits.admit(ALICE):
        pass
    with pytest.raises(RateLimited), limits.admit(ALICE):
        pass
    clock.now += 60  # refills to the bucket's size, no more
    for _ in range(4):
        with limits.admit(ALICE):
            pass
    with pytest.raises(RateLimited), limits.admit(ALICE):
        pass


def test_slow_rates_still_allow_one_call() -> None:
    clock = Clock()
    limits = ClientLimits(rate=0.5, in_flight=1, clock=clock)
    with limits.admit(ALICE):
        pass
    with pytest.raises(RateLimited, match=r"retry in 2\.00 s"), limits.admit(ALICE):
        pass
    clock.now += 2
    with limits.admit(ALICE):
        pass


def test_client_is_the_peer_address() -> None:
    assert client_of({"type": "http", "client": ("203.0.113.7", 5555)}) == "ip:203.0.113.7"
    assert client_of({"type": "http", "client": None}) == "ip:unknown"
