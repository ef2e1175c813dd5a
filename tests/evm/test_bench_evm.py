"""The EVM micro-benchmark measures what it claims: every transfer executes and commits."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from consortia.bench.evm_micro import measure
from consortia.cli.main import app


def test_every_transfer_of_the_benchmark_commits() -> None:
    # measure() raises if any transaction fails, so a broken run cannot report a rate.
    result = measure(transfers=40, block_size=20, recipients=7, profile=True)
    assert result["transfers"] == 40 and result["transfers_per_s"] > 0
    assert set(result["profile"]) >= {"trie root and persist", "EVM opcode execution"}


def test_the_cli_runs_the_load_benchmarks_shape() -> None:
    result = CliRunner().invoke(
        app,
        ["bench", "evm", "--transfers", "12", "--block-sizes", "6", "--senders", "3"],
    )
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["transfers"] == 12 and line["block_size"] == 6 and line["senders"] == 3


def test_the_cli_refuses_a_negative_sender_count() -> None:
    result = CliRunner().invoke(app, ["bench", "evm", "--senders", "-1"])
    assert result.exit_code == 2 and "Traceback" not in result.output
