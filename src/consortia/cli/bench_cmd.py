"""``consortia bench``: micro-benchmarks and the load benchmark of a live network."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

bench_app = typer.Typer(help="Benchmarks (results as tables and JSON).", no_args_is_help=True)
console = Console()


@bench_app.command("crypto")
def bench_crypto(
    seconds: Annotated[float, typer.Option(help="Seconds per measurement.")] = 1.0,
) -> None:
    """Sign/verify per second for every key type, hash and cipher throughput (median of 3)."""
    import sys

    from consortia.bench import crypto_micro

    sys.argv = [sys.argv[0], str(seconds)]
    crypto_micro.main()


@bench_app.command("state")
def bench_state(
    keys: Annotated[int, typer.Option(help="Keys to insert.")] = 1_000_000,
    batch: Annotated[int, typer.Option(help="Keys per version.")] = 5_000,
    hash_name: Annotated[str, typer.Option("--hash", help="sha256, sm3 or sm3-hashlib.")] = "sm3",
) -> None:
    """State updates per second, proof size and memory of the authenticated state."""
    from consortia.bench import state_micro

    state_micro.main(["--keys", str(keys), "--batch", str(batch), "--hash", hash_name])


@bench_app.command("evm")
def bench_evm(
    transfers: Annotated[int, typer.Option(help="ERC-20 transfers per run.")] = 2_000,
    block_sizes: Annotated[
        str, typer.Option("--block-sizes", help="Transfers per block, comma-separated.")
    ] = "1,100,1000",
    repeat: Annotated[int, typer.Option(help="Runs per block size (median kept).")] = 3,
    profile: Annotated[bool, typer.Option(help="Add a cProfile breakdown.")] = False,
) -> None:
    """EVM execution per core: ERC-20 transfers per second by block size (one JSON line each)."""
    from consortia.bench import evm_micro

    argv = ["--transfers", str(transfers), "--block-sizes", block_sizes, "--repeat", str(repeat)]
    evm_micro.main([*argv, "--profile"] if profile else argv)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:,.3f}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


@bench_app.command("run")
def bench_run(
    workload: Annotated[
        str, typer.Option(help="transfer, issue, or erc20 (Ethereum-signed, via JSON-RPC).")
    ] = "transfer",
    suite: Annotated[str, typer.Option(help="sm or intl.")] = "sm",
    key_type: Annotated[str, typer.Option(help="sm2, p256 or secp256k1.")] = "sm2",
    validators: Annotated[int, typer.Option(help="Validators of the local network.")] = 1,
    duration: Annotated[float, typer.Option(help="Seconds of load.")] = 20.0,
    warmup: Annotated[float, typer.Option(help="Seconds excluded at the start.")] = 3.0,
    rate: Annotated[float | None, typer.Option(help="Open loop: transactions per second.")] = None,
    senders: Annotated[int, typer.Option(help="Sender accounts.")] = 200,
    nodes: Annotated[str | None, typer.Option(help="Comma-separated node API URLs.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
) -> None:
    """Committed throughput, commit latency and resources of a network under load."""
    from consortia.bench.load import LoadConfig, run_load

    if workload not in ("transfer", "issue", "erc20"):
        raise typer.BadParameter(
            "workload must be transfer, issue or erc20", param_hint="--workload"
        )
    if workload == "erc20" and key_type != "secp256k1":
        raise typer.BadParameter(
            "erc20 sends Ethereum-signed transactions: use --key-type secp256k1",
            param_hint="--key-type",
        )
    if key_type not in ("sm2", "p256", "secp256k1"):
        raise typer.BadParameter("key type must be sm2, p256 or secp256k1", param_hint="--key-type")
    config = LoadConfig(
        workload=workload,
        suite=suite,
        key_type=key_type,
        validators=validators,
        duration_s=duration,
        warmup_s=warmup,
        rate=rate,
        senders=senders,
        nodes=tuple(u.strip() for u in nodes.split(",")) if nodes else (),
    )
    report = run_load(config)
    table = Table(title=f"consortia bench run: {workload}, {suite} suite, {key_type} keys")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        if key not in ("config", "machine", "command"):
            table.add_row(key, _fmt(value))
    console.print(table)
    if out is not None:
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        console.print(f"report written to {out}")


@bench_app.command("failover")
def bench_failover(
    validators: Annotated[int, typer.Option(help="Validators of the local network.")] = 4,
    suite: Annotated[str, typer.Option(help="sm or intl.")] = "sm",
    trials: Annotated[int, typer.Option(help="Leader kills to time.")] = 5,
    out: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
) -> None:
    """Seconds from killing the current leader (SIGKILL) to the next commit."""
    from consortia.bench.failover import run_failover

    report = run_failover(validators=validators, suite=suite, trials=trials)
    table = Table(title=f"consortia bench failover: {validators} validators, {suite} suite")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key, _fmt(value))
    console.print(table)
    if out is not None:
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
