"""``consortia init``, ``consortia node start|join`` and ``consortia devnet up|status``."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from consortia.errors import NodeError
from consortia.node.config import ConfigError, PeerConfig

if TYPE_CHECKING:
    from consortia.node.network_file import NodeEntry

# Creating a network (keys, certificates, genesis) and running nodes load far more
# than the rest of the CLI needs: each command imports what it uses (docs/cli.md).

node_app = typer.Typer(help="Run a node.", no_args_is_help=True)
devnet_app = typer.Typer(help="A local network on this machine.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

HomeOption = Annotated[Path, typer.Option("--home", help="Network directory.")]
SuiteOption = Annotated[str, typer.Option("--suite", help="Crypto suite: sm or intl.")]


def _fail(exc: NodeError) -> typer.Exit:
    err.print(f"error: {exc.message} [{exc.code}]", markup=False, highlight=False)
    return typer.Exit(2)


def init_command(
    validators: Annotated[int, typer.Option(help="Number of validators.")] = 4,
    orgs: Annotated[int, typer.Option(help="Number of organisations.")] = 4,
    suite: SuiteOption = "sm",
    home: HomeOption = Path(".devnet"),
    chain_id: Annotated[str, typer.Option(help="Chain id.")] = "consortia-devnet",
    base_port: Annotated[int, typer.Option(help="API port of the first node.")] = 8545,
    reset: Annotated[bool, typer.Option(help="Replace an existing network.")] = False,
    charter: Annotated[
        Path | None,
        typer.Option(help="Charter TOML (docs/governance.md); default: one admin per org."),
    ] = None,
    app: Annotated[
        list[str] | None,
        typer.Option(
            "--app",
            help="An application the chain runs (an installed consortia.applications "
            "entry point); repeat for several.",
        ),
    ] = None,
) -> None:
    """Create a new network: genesis, keys and one home per node."""
    from consortia.node.init import init_network

    try:
        entries = init_network(
            home,
            validators=validators,
            orgs=orgs,
            suite=suite,
            chain_id=chain_id,
            base_api_port=base_port,
            overwrite=reset,
            charter=charter,
            applications=app or (),
        )
    except NodeError as exc:
        raise _fail(exc) from None
    for entry in entries:
        console.print(f"{entry.name}: home {entry.home}  api {entry.api}")


@node_app.command("start")
def node_start(home: Annotated[Path, typer.Option("--home", help="Node home.")]) -> None:
    """Run one node in the foreground until Ctrl-C."""
    from consortia.server.runner import run_node

    try:
        run_node(home)
    except NodeError as exc:
        raise _fail(exc) from None


def _peer(text: str) -> PeerConfig:
    name, sep, address = text.partition("=")
    host, colon, port = address.rpartition(":")
    if not sep or not colon or not name or not host or not port.isdigit():
        raise typer.BadParameter(f"{text!r} is not NAME=HOST:PORT")
    return PeerConfig(name=name, host=host, port=int(port))


@node_app.command("join")
def node_join(
    home: Annotated[Path, typer.Option("--home", help="New node home (must not exist).")],
    name: Annotated[str, typer.Option("--name", help="Node name, unique in the chain.")],
    org: Annotated[str, typer.Option("--org", help="Organisation the node belongs to.")],
    org_dir: Annotated[
        Path, typer.Option("--org-dir", help="The organisation's directory (`org new`).")
    ],
    genesis: Annotated[Path, typer.Option("--genesis", help="The chain's genesis.bin.")],
    ca_bundle: Annotated[
        Path, typer.Option("--ca-bundle", help="CA certificates of the current members.")
    ],
    peer: Annotated[
        list[str], typer.Option("--peer", help="Bootstrap peer NAME=HOST:PORT (repeat).")
    ],
    p2p_port: Annotated[int, typer.Option("--p2p-port", min=1, max=65535)],
    api_port: Annotated[int, typer.Option("--api-port", min=1, max=65535)],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    weight: Annotated[int, typer.Option("--weight", min=1, help="Voting weight.")] = 1,
    network: Annotated[
        Path | None, typer.Option("--network", help="Also list the node in this devnet.")
    ] = None,
) -> None:
    """Create a node that joins a running chain; prints its add_validator payload (JSON)."""
    from consortia.api.jsonable import to_plain
    from consortia.node.network_file import NodeEntry, add_to_network
    from consortia.node.onboarding import join_network

    try:
        payload = join_network(
            home,
            name=name,
            organisation=org,
            org_dir=org_dir,
            genesis_file=genesis,
            ca_bundle=ca_bundle,
            peers=tuple(_peer(p) for p in peer),
            host=host,
            p2p_port=p2p_port,
            api_port=api_port,
            weight=weight,
        )
        if network is not None:
            entry = NodeEntry(name, home, f"http://{host}:{api_port}", f"{host}:{p2p_port}")
            add_to_network(network, entry)
    except NodeError as exc:
        raise _fail(exc) from None
    print(json.dumps(to_plain(payload)))


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _node_height(api: str) -> int | None:
    from consortia.node.processes import node_status

    status = node_status(api)
    height = None if status is None else status.get("height")
    return height if isinstance(height, int) else None


def _running_pid(entry: NodeEntry) -> int | None:
    try:
        pid = int((entry.home / "node.pid").read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


@devnet_app.command("up")
def devnet_up(
    validators: Annotated[int, typer.Option(help="Validators (new network only).")] = 4,
    suite: SuiteOption = "sm",
    home: HomeOption = Path(".devnet"),
    reset: Annotated[bool, typer.Option(help="Start afresh, deleting the old network.")] = False,
) -> None:
    """Start (or restart with its data) a local network in the foreground; Ctrl-C stops it."""
    from consortia.node.init import init_network, read_network
    from consortia.node.processes import NodeProcesses

    try:
        if reset or not (home / "network.json").exists():
            init_network(home, validators=validators, orgs=validators, suite=suite, overwrite=True)
        entries = read_network(home)
    except NodeError as exc:
        raise _fail(exc) from None
    for entry in entries:
        if _running_pid(entry) is not None:
            raise _fail(ConfigError(f"{entry.name} is already running (pid file in {entry.home})"))
        for address in (entry.api.removeprefix("http://"), entry.p2p):
            host, port = address.rsplit(":", 1)
            if not _port_free(host, int(port)):
                raise _fail(ConfigError(f"port {port} for {entry.name} is in use"))
    network = NodeProcesses(home)
    try:
        network.start_all()
        console.print(f"Consortia devnet in {home}: {len(entries)} validators", highlight=False)
        for entry in entries:
            console.print(
                f"  {entry.name}  pid {network.pid(entry.name)}  API {entry.api}  "
                f"API docs {entry.api}/docs  log {entry.home / 'node.log'}",
                highlight=False,
                soft_wrap=True,
            )
        console.print(f"Console: {entries[0].api}/console/", highlight=False)
        console.print("Press Ctrl-C to stop.")
        while not network.exited():
            time.sleep(0.5)
        err.print(f"error: node(s) {', '.join(network.exited())} exited; see their node.log")
        raise typer.Exit(1)
    except NodeError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        network.stop_all()


@devnet_app.command("status")
def devnet_status(
    home: HomeOption = Path(".devnet"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show each node of the local network: pid, API URL and height."""
    from consortia.node.network_file import read_network

    try:
        entries = read_network(home)
    except NodeError as exc:
        raise _fail(exc) from None
    rows: list[dict[str, Any]] = [
        {
            "name": e.name,
            "pid": _running_pid(e),
            "api": e.api,
            "height": _node_height(e.api),
        }
        for e in entries
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    table = Table(title=f"Consortia devnet ({home})")
    for column in ("node", "pid", "API", "height"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            "-" if row["pid"] is None else str(row["pid"]),
            row["api"],
            "-" if row["height"] is None else str(row["height"]),
        )
    console.print(table)
