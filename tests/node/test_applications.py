"""Applications named in the genesis ([GENESIS-APPS.1], docs/modules.md "Packaging").

The ``example`` application ships in the source tree and is published by
``pyproject.toml`` as an entry point in ``consortia.applications`` (installed
by ``make setup``). Real node processes start from a genesis naming it, run
its module and its end-of-block hook, and the verifier replays the chain.
A second, clashing application is published the way any distribution is: a
``*.dist-info`` directory with ``entry_points.txt`` on the node's path.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import msgspec
import pytest
from tests.support.node import signed_tx
from tests.support.ports import free_block
from typer.testing import CliRunner

from consortia.apps.example.maturity import Schedule
from consortia.cli.main import app as cli_app
from consortia.codec import decode, encode
from consortia.crypto import PrivateKey
from consortia.execution.applications import ENTRY_POINT_GROUP, installed_names
from consortia.genesis import (
    ApplicationBroken,
    ApplicationConflict,
    ApplicationNotInstalled,
    Genesis,
    InvalidGenesis,
    runtime_for,
    validate_genesis,
)
from consortia.modules.governance.types import Permission
from consortia.node.config import ConfigError, NodeHome
from consortia.node.init import init_network
from consortia.node.processes import NodeProcesses
from consortia.verify.export import write_export
from consortia.verify.verifier import verify_chain, verify_export

CLASH_SOURCE = """
from consortia.apps.example.maturity import MaturityModule
from consortia.execution.applications import Application


class Clash(MaturityModule):
    name = "{module}"


APPLICATION = Application(name="{app}", modules=(Clash(),))
"""


def _publish(where: Path, app: str, module: str) -> Path:
    """Install application ``app`` (one module named ``module``) as a distribution in
    ``where``: a module file and a dist-info with its entry point, nothing else."""
    where.mkdir(parents=True, exist_ok=True)
    package = f"clash_{app.replace('-', '_')}"
    (where / f"{package}.py").write_text(CLASH_SOURCE.format(module=module, app=app))
    info = where / f"{package}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n{app} = {package}:APPLICATION\n"
    )
    return where


def _network(root: Path, applications: tuple[str, ...] = ()) -> NodeProcesses:
    base = free_block(2)
    init_network(
        root,
        validators=1,
        orgs=1,
        suite="sm",
        base_api_port=base,
        base_p2p_port=base + 1,
        applications=applications,
    )
    return NodeProcesses(root)


def _rewrite_applications(root: Path, applications: tuple[str, ...]) -> None:
    """Every copy of the network's genesis, naming ``applications`` instead."""
    for path in root.rglob("genesis.bin"):
        genesis = decode(path.read_bytes(), Genesis)
        path.write_bytes(encode(_with_apps(genesis, applications)))


def _genesis(root: Path) -> Genesis:
    """The network's genesis (every node home holds the same ``genesis.bin``)."""
    return decode(next(root.rglob("genesis.bin")).read_bytes(), Genesis)


def _with_apps(genesis: Genesis, applications: tuple[str, ...]) -> Genesis:
    return msgspec.structs.replace(genesis, applications=applications)


def _allow_maturity(root: Path) -> None:
    """The charter lets every account call the ``maturity`` module (no rule: nobody may)."""
    for path in root.rglob("genesis.bin"):
        genesis = decode(path.read_bytes(), Genesis)
        rules = (*genesis.governance.permissions, Permission(module="maturity", method="*"))
        charter = msgspec.structs.replace(genesis.governance, permissions=rules)
        path.write_bytes(encode(msgspec.structs.replace(genesis, governance=charter)))


def _refused_start(processes: NodeProcesses, env: dict[str, str] | None = None) -> str:
    """Start the only node, see it exit, and return its log."""
    entry = processes.entries[0]
    try:
        with pytest.raises(ConfigError, match="exited with 2"):
            processes.start(entry.name, wait_s=60.0, env=env)
    finally:
        processes.stop_all()
    return (entry.home / "node.log").read_text()


def _wait(predicate: object, timeout_s: float = 30.0) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()  # type: ignore[operator]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_the_example_application_is_an_installed_entry_point() -> None:
    assert "example" in installed_names()


def test_a_node_runs_the_example_application_and_its_block_end_events(tmp_path: Path) -> None:
    root = tmp_path / "net"
    processes = _network(root, ("example",))
    _allow_maturity(root)
    entry = processes.entries[0]
    alice = PrivateKey.from_pem((root / "keys" / "alice.pem").read_bytes())
    with processes:  # starts the node and waits for its API
        with httpx.Client(base_url=entry.api, timeout=30.0) as http:
            height = http.get("/v1/status").json()["height"]
            due = height + 10  # far enough ahead that the block is not past when it commits
            raw = signed_tx(alice, 0, "maturity", "schedule", Schedule(item="bond-7", height=due))
            sent = http.post("/v1/transactions", params={"wait": 20}, json={"tx": raw.hex()})
            assert sent.status_code == 200, sent.text
            committed = sent.json()
            assert committed["receipt"]["status"] == "OK", committed
            # the API decodes the application's arguments with the chain's runtime
            assert committed["tx"]["args_decoded"] == {"item": "bond-7", "height": due}
            # the CLI finds the application's argument type through the chain's genesis
            due_8 = http.get("/v1/status").json()["height"] + 10
            cli = CliRunner().invoke(
                cli_app,
                ["tx", "send", "--module", "maturity", "--method", "schedule",
                 "--args-json", json.dumps({"item": "bond-8", "height": due_8}),
                 "--from", "alice", "--home", str(root), "--json"],
            )  # fmt: skip
            assert cli.exit_code == 0, (cli.stdout, cli.stderr)
            assert json.loads(cli.stdout)["receipt"]["status"] == "OK"

            def matured() -> list[dict[str, object]]:
                page = http.get("/v1/event-log", params={"module": "maturity", "limit": 50})
                events = [e for e in page.json()["events"] if e["name"] == "matured"]
                return events if len(events) >= 2 else []

            events = _wait(matured)
            assert isinstance(events, list)
            found = {e["attributes"]["item"]: e for e in events}
            assert sorted(found) == ["bond-7", "bond-8"]
            assert (found["bond-7"]["height"], found["bond-8"]["height"]) == (due, due_8)
            for event in events:
                assert event["tx_id"] is None
                assert event["attributes"]["owner"] == alice.public_key().address().hex()

            def covered() -> bool:  # a certified header commits to the roots of ``due``
                block = http.get("/v1/blocks/latest").json()
                return bool(block["header"]["state_height"] >= due_8)

            _wait(covered)
            types = http.get("/v1/event-types").json()
            assert {(t["module"], t["name"]) for t in types} >= {
                ("maturity", "scheduled"),
                ("maturity", "matured"),
            }
        processes.stop(entry.name)

    # the verifier re-executes every block, hook included, to the same roots
    export = tmp_path / "chain.export"
    genesis = _genesis(root)
    assert write_export(NodeHome(entry.home).ledger_dir, genesis, export) > due_8
    report = verify_export(export, execute=True)
    assert report.ok, (report.code, report.problem)
    assert report.blocks > due_8


def test_a_genesis_naming_an_uninstalled_application_is_refused_at_start(tmp_path: Path) -> None:
    root = tmp_path / "net"
    processes = _network(root)
    _rewrite_applications(root, ("absent",))
    log = _refused_start(processes)
    assert "[GENESIS_APP_NOT_INSTALLED]" in log
    assert "genesis application 'absent' is not installed" in log
    assert "group 'consortia.applications'" in log
    assert not NodeHome(processes.entries[0].home).ledger_dir.exists()


def test_an_application_clashing_with_a_built_in_is_refused_at_start(tmp_path: Path) -> None:
    plugins = _publish(tmp_path / "plugins", "clash", "assets")
    root = tmp_path / "net"
    processes = _network(root)
    _rewrite_applications(root, ("clash",))
    log = _refused_start(processes, env={"PYTHONPATH": str(plugins)})
    assert "[GENESIS_APP_CONFLICT]" in log
    assert "module 'assets' is already defined by the built-in modules" in log


def test_two_applications_defining_one_module_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(_publish(tmp_path / "plugins", "twin", "maturity")))
    root = tmp_path / "net"
    _network(root)
    genesis = _genesis(root)
    with pytest.raises(
        ApplicationConflict, match="module 'maturity' is already defined by 'example'"
    ):
        runtime_for(_with_apps(genesis, ("example", "twin")))
    # and init refuses it before writing a network
    with pytest.raises(ApplicationConflict):
        init_network(
            tmp_path / "other", validators=1, orgs=1, suite="sm", applications=("twin", "example")
        )
    assert not (tmp_path / "other").exists()


def test_init_refuses_an_uninstalled_application(tmp_path: Path) -> None:
    with pytest.raises(ApplicationNotInstalled) as caught:
        init_network(tmp_path / "net", validators=1, orgs=1, suite="sm", applications=("absent",))
    assert caught.value.code == "GENESIS_APP_NOT_INSTALLED"
    assert not (tmp_path / "net").exists()


@pytest.mark.parametrize(
    ("applications", "message"),
    [
        (("example", "example"), "applications[1]: 'example' is out of order or repeated"),
        (("zeta", "example"), "applications[1]: 'example' is out of order or repeated"),
        (("Example",), "applications[0]: 'Example' is not an application name"),
    ],
)
def test_application_names_are_sorted_unique_and_well_formed(
    tmp_path: Path, applications: tuple[str, ...], message: str
) -> None:
    _network(tmp_path / "net")
    genesis = _with_apps(_genesis(tmp_path / "net"), applications)
    with pytest.raises(
        InvalidGenesis, match=message.replace("[", r"\[").replace("]", r"\]")
    ) as caught:
        validate_genesis(genesis)
    assert caught.value.code == "GENESIS_INVALID"


def test_the_verifier_refuses_a_chain_whose_application_is_missing(tmp_path: Path) -> None:
    _network(tmp_path / "net")
    genesis = _with_apps(_genesis(tmp_path / "net"), ("absent",))
    report = verify_chain(genesis, [])
    assert report.code == "VERIFY_APP_UNAVAILABLE"
    assert "genesis application 'absent' is not installed" in report.problem
    assert "[GENESIS_APP_NOT_INSTALLED]" in report.problem


def test_init_app_writes_the_applications_into_the_genesis(tmp_path: Path) -> None:
    made = CliRunner().invoke(
        cli_app,
        [
            "init",
            "--validators",
            "1",
            "--orgs",
            "1",
            "--app",
            "example",
            "--home",
            str(tmp_path / "a"),
        ],
    )
    assert made.exit_code == 0, (made.stdout, made.stderr)
    assert _genesis(tmp_path / "a").applications == ("example",)
    refused = CliRunner().invoke(
        cli_app,
        [
            "init",
            "--validators",
            "1",
            "--orgs",
            "1",
            "--app",
            "absent",
            "--home",
            str(tmp_path / "b"),
        ],
    )
    assert refused.exit_code == 2
    assert "[GENESIS_APP_NOT_INSTALLED]" in refused.stderr
    assert not (tmp_path / "b").exists()


def test_an_entry_point_that_is_not_an_application_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins = tmp_path / "plugins"
    info = plugins / "broken_app-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken_app\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbroken = json:dumps\n")
    monkeypatch.syspath_prepend(str(plugins))
    _network(tmp_path / "net")
    genesis = _with_apps(_genesis(tmp_path / "net"), ("broken",))
    with pytest.raises(ApplicationBroken) as caught:
        runtime_for(genesis)
    assert caught.value.code == "GENESIS_APP_INVALID"
    assert caught.value.message == (
        "genesis application 'broken': entry point 'json:dumps' is not an Application"
    )
