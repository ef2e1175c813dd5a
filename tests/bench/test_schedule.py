"""Send-rate schedules and workload mixes of ``consortia bench run``."""

from __future__ import annotations

import itertools

import pytest

from consortia.bench.schedule import fixed, kind_pattern, parse_mix, parse_phases, parse_ramp


def test_fixed_rate_is_due_linearly() -> None:
    schedule = fixed(100.0, 10.0)
    assert schedule.due(0) == 0
    assert schedule.due(2.5) == pytest.approx(250)
    assert schedule.due(20) == pytest.approx(1_000)
    assert schedule.rate_at(9.9) == 100 and schedule.rate_at(10) == 0


def test_ramp_rises_linearly_and_sends_its_area() -> None:
    schedule = parse_ramp("100:500", 10.0)
    assert schedule.rate_at(0) == 100
    assert schedule.rate_at(5) == pytest.approx(300)
    assert schedule.due(10) == pytest.approx((100 + 500) / 2 * 10)
    per_second = [schedule.due(t + 1) - schedule.due(t) for t in range(10)]
    assert all(b > a for a, b in itertools.pairwise(per_second))
    falling = parse_ramp("500:0", 4.0)
    assert falling.due(4) == pytest.approx(1_000)


@pytest.mark.parametrize("text", ["100", "1:2:3", "a:5", "-1:5", "0:0", "nan:3", ":"])
def test_bad_ramps_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ramp"):
        parse_ramp(text, 10.0)


def test_phases_follow_one_another() -> None:
    schedule = parse_phases("1000:3, 250:2")
    assert schedule.seconds == 5
    assert schedule.boundaries() == [3]
    assert schedule.due(3) == pytest.approx(3_000)
    assert schedule.due(5) == pytest.approx(3_500)
    assert schedule.rate_at(4) == 250


@pytest.mark.parametrize("text", ["1000", "1000:0", "x:3", "100:3,", "100:-2"])
def test_bad_phases_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="phase"):
        parse_phases(text)


def test_mix_keeps_kind_order_and_drops_zero_weights() -> None:
    assert parse_mix("erc20=1, transfer=3,issue=0") == (("transfer", 3), ("erc20", 1))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("transfer=1,swap=2", "KIND=WEIGHT"),
        ("transfer", "KIND=WEIGHT"),
        ("transfer=1,transfer=2", "twice"),
        ("transfer=1.5", "whole number"),
        ("transfer=-1", ">= 0"),
        ("transfer=0", "positive"),
    ],
)
def test_bad_mixes_are_refused(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_mix(text)


def test_kind_pattern_is_proportional_and_spread() -> None:
    pattern = kind_pattern([("transfer", 60), ("issue", 30), ("erc20", 10)])
    assert len(pattern) == 10
    assert (pattern.count("transfer"), pattern.count("issue"), pattern.count("erc20")) == (6, 3, 1)
    # Spread evenly: no kind waits more than its share for its next slot.
    doubled = pattern * 2
    for kind, gap in (("transfer", 2), ("issue", 4), ("erc20", 10)):
        positions = [i for i, k in enumerate(doubled) if k == kind]
        assert max(b - a for a, b in itertools.pairwise(positions)) <= gap
    assert kind_pattern([("erc20", 7)]) == ["erc20"]
