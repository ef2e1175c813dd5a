"""``consortia bench``: micro-benchmarks and the load benchmark of a live network."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from consortia.cli.client_cmd import (
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    CliFailure,
    handles_errors,
    usage,
)

if TYPE_CHECKING:
    from consortia.bench.load_config import LoadConfig

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
    senders: Annotated[
        int,
        typer.Option(
            min=0,
            help="0: one holder to 1,000 recipients; N: N funded senders in turn to one sink "
            "(the load benchmark's shape).",
        ),
    ] = 0,
    profile: Annotated[bool, typer.Option(help="Add a cProfile breakdown.")] = False,
) -> None:
    """EVM execution per core: ERC-20 transfers per second by block size (one JSON line each)."""
    from consortia.bench import evm_micro

    argv = ["--transfers", str(transfers), "--block-sizes", block_sizes, "--repeat", str(repeat)]
    argv += ["--senders", str(senders)]
    evm_micro.main([*argv, "--profile"] if profile else argv)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:,.3f}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) or "-"
    return str(value)


_NOT_IN_TABLE = frozenset(
    {"command", "argv", "config", "machine", "per_kind", "phases", "timeseries"}
)


def _print_report(report: dict[str, Any], title: str) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        if key not in _NOT_IN_TABLE:
            table.add_row(key, _fmt(value))
    console.print(table)
    kinds: dict[str, dict[str, Any]] = report.get("per_kind", {})
    if len(kinds) > 1:
        columns = ("committed_tps", "acknowledged", "committed", "latency_p50_s", "latency_p99_s")
        by_kind = Table(title="per kind")
        by_kind.add_column("kind")
        for column in (*columns, "rejected_by_code"):
            by_kind.add_column(column, justify="right")
        for kind, figures in kinds.items():
            by_kind.add_row(
                kind,
                *(_fmt(figures[c]) for c in columns),
                _fmt(figures["rejected_by_code"]),
            )
        console.print(by_kind)
    phases: list[dict[str, Any]] = report.get("phases", [])
    if len(phases) > 1:
        phase_columns = (
            "offered_tps",
            "committed_tps",
            "committed_tps_second_half",
            "latency_p99_s",
            "in_flight_at_end",
            "rejected_by_code",
        )
        by_phase = Table(title="per phase")
        by_phase.add_column("seconds")
        for column in phase_columns:
            by_phase.add_column(column, justify="right")
        for phase in phases:
            span = f"{phase['from_s']:g}-{phase['to_s']:g}"
            by_phase.add_row(span, *(_fmt(phase[c]) for c in phase_columns))
        console.print(by_phase)


def _bench_config(
    *,
    workload: str,
    mix: str | None,
    suite: str,
    key_type: str,
    validators: int,
    duration: float | None,
    warmup: float,
    rate: float | None,
    ramp: str | None,
    phases: str | None,
    senders: int,
    batch: int,
    window: int,
    drain: float,
    nodes: str | None,
    api_port: int,
    state_accounts: int = 0,
) -> LoadConfig:
    """The run's configuration; exit 2 ([CLI_BAD_ARGS]) on arguments that cannot run."""
    from consortia.bench.load_config import LoadConfig
    from consortia.bench.schedule import DEFAULT_MIX, WORKLOADS, parse_mix, parse_phases, parse_ramp

    if workload not in WORKLOADS:
        usage(f"--workload must be one of {', '.join(WORKLOADS)}, not {workload!r}", "CLI_BAD_ARGS")
    if suite not in ("sm", "intl"):
        usage(f"--suite must be sm or intl, not {suite!r}", "CLI_BAD_ARGS")
    if key_type not in ("sm2", "p256", "secp256k1"):
        usage(f"--key-type must be sm2, p256 or secp256k1, not {key_type!r}", "CLI_BAD_ARGS")
    if workload == "erc20" and key_type != "secp256k1":
        usage(
            "--workload erc20 sends Ethereum-signed transactions: use --key-type secp256k1",
            "CLI_BAD_ARGS",
        )
    if mix is not None and workload != "mixed":
        usage("--mix applies to --workload mixed only", "CLI_BAD_ARGS")
    if phases is not None and duration is not None:
        usage("--phases sets the run's length: leave out --duration", "CLI_BAD_ARGS")
    if sum(x is not None for x in (rate, ramp, phases)) > 1:
        usage("give at most one of --rate, --ramp and --phases", "CLI_BAD_ARGS")
    if state_accounts < 0:
        usage(f"--state-accounts must be >= 0, not {state_accounts}", "CLI_BAD_ARGS")
    if state_accounts and nodes is not None:
        usage(
            "--state-accounts fills the genesis of the local network: leave out --nodes",
            "CLI_BAD_ARGS",
        )
    seconds = 20.0 if duration is None else duration
    try:
        ramp_rates = None
        if ramp is not None:
            segment = parse_ramp(ramp, max(seconds, 1e-9)).segments[0]
            ramp_rates = (segment.start, segment.end)
        phase_list: tuple[tuple[float, float], ...] = ()
        if phases is not None:
            phase_list = tuple((s.start, s.seconds) for s in parse_phases(phases).segments)
        return LoadConfig(
            workload=workload,
            suite=suite,
            key_type=key_type,
            validators=validators,
            duration_s=seconds,
            warmup_s=warmup,
            rate=rate,
            ramp=ramp_rates,
            phases=phase_list,
            mix=DEFAULT_MIX if mix is None else parse_mix(mix),
            senders=senders,
            batch=batch,
            window=window,
            drain_s=drain,
            nodes=tuple(u.strip().rstrip("/") for u in nodes.split(",") if u.strip())
            if nodes
            else (),
            api_port=api_port,
            state_accounts=state_accounts,
        )
    except ValueError as exc:
        usage(str(exc), "CLI_BAD_ARGS")


@bench_app.command("run")
@handles_errors
def bench_run(
    workload: Annotated[
        str,
        typer.Option(
            help="transfer, issue, erc20 (Ethereum-signed, via JSON-RPC) or mixed (see --mix)."
        ),
    ] = "transfer",
    mix: Annotated[
        str | None,
        typer.Option(
            help="Weights of a mixed run [default: transfer=60,issue=30,erc20=10].",
            show_default=False,
        ),
    ] = None,
    suite: Annotated[str, typer.Option(help="sm or intl.")] = "sm",
    key_type: Annotated[
        str, typer.Option(help="sm2, p256 or secp256k1 (native senders; erc20 is secp256k1).")
    ] = "sm2",
    validators: Annotated[int, typer.Option(help="Validators of the local network.")] = 1,
    duration: Annotated[
        float | None, typer.Option(help="Seconds of load [default: 20].", show_default=False)
    ] = None,
    warmup: Annotated[float, typer.Option(help="Seconds excluded at the start.")] = 3.0,
    rate: Annotated[float | None, typer.Option(help="Open loop: transactions per second.")] = None,
    ramp: Annotated[
        str | None,
        typer.Option(help="Open loop: START:END tx/s, rising linearly over the run."),
    ] = None,
    phases: Annotated[
        str | None,
        typer.Option(help="Open loop: RATE:SECONDS,... fixed rates one after another."),
    ] = None,
    senders: Annotated[int, typer.Option(help="Sender accounts.")] = 200,
    batch: Annotated[int, typer.Option(help="Most transactions per request.")] = 200,
    window: Annotated[int, typer.Option(help="Closed loop: most transactions in flight.")] = 2_000,
    drain: Annotated[
        float, typer.Option(help="Most seconds to wait for commits after the load.")
    ] = 60.0,
    nodes: Annotated[
        str | None, typer.Option(help="Comma-separated API URLs of a running network.")
    ] = None,
    api_port: Annotated[
        int, typer.Option(help="First API port of the local network (P2P: +1000).")
    ] = 18545,
    state_accounts: Annotated[
        int,
        typer.Option(
            help="Filler accounts in the local network's genesis (state of that many accounts)."
        ),
    ] = 0,
    out: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Write the PNG plot here [default: next to --out, with .png].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Committed throughput, commit latency and resources of a network under load."""
    from consortia.bench.errors import BenchSetupFailed, BenchUnreachable
    from consortia.bench.load import run_load
    from consortia.bench.plot import write_plot

    config = _bench_config(
        workload=workload,
        mix=mix,
        suite=suite,
        key_type=key_type,
        validators=validators,
        duration=duration,
        warmup=warmup,
        rate=rate,
        ramp=ramp,
        phases=phases,
        senders=senders,
        batch=batch,
        window=window,
        drain=drain,
        nodes=nodes,
        api_port=api_port,
        state_accounts=state_accounts,
    )
    try:
        report = run_load(config)
    except BenchUnreachable as exc:
        raise CliFailure(exc.code, exc.message, EXIT_UNREACHABLE) from exc
    except BenchSetupFailed as exc:
        raise CliFailure(exc.code, exc.message, EXIT_FAILED) from exc
    _print_report(report, f"consortia bench run: {workload}, {suite} suite, {key_type} keys")
    if out is not None:
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        console.print(f"report written to {out}")
    plot_path = plot if plot is not None else None if out is None else out.with_suffix(".png")
    if plot_path is not None:
        write_plot(report, plot_path)
        console.print(f"plot written to {plot_path}")


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
