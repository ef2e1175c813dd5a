"""``consortia bench run`` refuses arguments it cannot run with one line and exit code 2."""

from __future__ import annotations

import pytest
from tests.support.ports import free_block
from typer.testing import CliRunner

from consortia.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workload", "swap"], "--workload must be one of transfer, issue, erc20, mixed"),
        (["--key-type", "ed25519"], "--key-type must be sm2, p256 or secp256k1"),
        (["--workload", "erc20", "--key-type", "sm2"], "use --key-type secp256k1"),
        (["--suite", "nist"], "--suite must be sm or intl"),
        (["--ramp", "100"], "ramp '100' must be START:END"),
        (["--ramp", "fast:500"], "is not a number"),
        (["--ramp", "0:0"], "never sends"),
        (["--rate", "100", "--ramp", "1:2"], "at most one of --rate, --ramp and --phases"),
        (["--rate", "0"], "rate must be a number > 0"),
        (["--phases", "100:10", "--duration", "5"], "leave out --duration"),
        (["--phases", "100"], "must be RATE:SECONDS"),
        (["--mix", "transfer=1"], "--mix applies to --workload mixed only"),
        (["--workload", "mixed", "--mix", "transfer=1,swap=1"], "KIND=WEIGHT"),
        (["--workload", "mixed", "--senders", "2"], "at least one sender per kind"),
        (["--duration", "2", "--warmup", "3"], "warm-up must be shorter"),
        (["--state-accounts", "-5"], "--state-accounts must be >= 0, not -5"),
        (
            ["--nodes", "http://127.0.0.1:1", "--state-accounts", "10"],
            "--state-accounts fills the genesis of the local network: leave out --nodes",
        ),
    ],
)
def test_bad_arguments(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["bench", "run", *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert message in result.stderr
    assert result.stderr.rstrip().endswith("[CLI_BAD_ARGS]")


def test_unreachable_node_exits_3() -> None:
    port = free_block(1)
    result = runner.invoke(app, ["bench", "run", "--nodes", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 3, result.output
    assert result.stderr.rstrip().endswith("[BENCH_NODE_UNREACHABLE]")
    assert "Traceback" not in result.stderr
