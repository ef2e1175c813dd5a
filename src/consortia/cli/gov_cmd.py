"""``consortia gov``, ``consortia org`` and ``consortia role``: governance from the command line.

``gov propose KIND --payload-json '{...}'`` builds the kind's payload struct
from JSON (bytes and addresses as hex), as ``tx send`` does for arguments.
``gov call MODULE METHOD`` proposes a ``call_module``: a module's
governance-only method, run as the governance authority once the vote passes
([EXT-GOV-CALL.1]).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from consortia.api.jsonable import from_plain, parse_hex, to_plain
from consortia.cli.client_cmd import (
    DEFAULT_HOME,
    Context,
    FromOpt,
    HomeOpt,
    JsonOpt,
    KeyringOpt,
    NodeOpt,
    WaitOpt,
    args_type_of,
    cell,
    handles_errors,
    out,
    report_transaction,
    show_fields,
    usage,
)
from consortia.codec import decode, encode
from consortia.execution.text import display_text
from consortia.modules.governance.types import (
    PAYLOAD_TYPES,
    PERMISSIONS_KEY,
    ROLES_KEY,
    CallModule,
    CastVote,
    Choice,
    DeclaredRoles,
    Permissions,
    ProposalKind,
    Propose,
    Role,
)

gov_app = typer.Typer(
    help="Propose, vote on and inspect governance proposals.", no_args_is_help=True
)
org_app = typer.Typer(help="Member organisations and the committee.", no_args_is_help=True)
role_app = typer.Typer(help="Roles of accounts and what each role may call.", no_args_is_help=True)


@gov_app.command("propose")
@handles_errors
def gov_propose(
    kind: Annotated[ProposalKind, typer.Argument(help="Proposal kind.")],
    payload_json: Annotated[
        str, typer.Option("--payload-json", help="The kind's payload as a JSON object.")
    ],
    from_: FromOpt,
    deadline: Annotated[
        int | None, typer.Option("--deadline", help="Last height votes are accepted.")
    ] = None,
    blocks: Annotated[
        int, typer.Option("--blocks", min=0, help="Deadline = current height + BLOCKS.")
    ] = 1_000,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a proposal (governors only); its id is in the proposal_created event."""
    try:
        data = json.loads(payload_json)
    except ValueError as exc:
        usage(f"--payload-json is not JSON: {exc}", "CLI_BAD_ARGS")
    payload = from_plain(data, PAYLOAD_TYPES[kind])
    ctx = Context(home, node, as_json, keyring)
    signer = ctx.signer(from_)
    with ctx.client() as client:
        until = deadline if deadline is not None else client.status().height + blocks
        args = Propose(kind=kind, payload=encode(payload), deadline_height=until)
        record = client.send(signer, "governance", "propose", args, wait=wait, check=False)
    report_transaction(ctx, record)


def _call_args(
    ctx: Context, module: str, method: str, args_hex: str | None, args_json: str | None
) -> bytes:
    """The canonical argument bytes of ``module.method`` from exactly one of the two options.

    ``--args-json`` needs the method's argument type: a built-in module's, or an
    application's named in the chain's genesis and installed with this CLI
    (:func:`args_type_of`); otherwise pass ``--args-hex``.
    """
    if (args_hex is None) == (args_json is None):
        usage("give exactly one of --args-hex and --args-json", "CLI_BAD_ARGS")
    if args_hex is not None:
        return parse_hex(args_hex)
    assert args_json is not None
    try:
        data = json.loads(args_json)
    except ValueError as exc:
        usage(f"--args-json is not JSON: {exc}", "CLI_BAD_ARGS")
    return encode(from_plain(data, args_type_of(ctx, module, method)))


@gov_app.command("call")
@handles_errors
def gov_call(
    module: Annotated[str, typer.Argument(help="Module of the governance-only method.")],
    method: Annotated[str, typer.Argument(help="The method (its module declares it).")],
    from_: FromOpt,
    args_hex: Annotated[
        str | None,
        typer.Option("--args-hex", help="The method's arguments: canonical bytes in hex."),
    ] = None,
    args_json: Annotated[
        str | None,
        typer.Option(
            "--args-json",
            help="The arguments as JSON (a built-in or the chain's application module).",
        ),
    ] = None,
    deadline: Annotated[
        int | None, typer.Option("--deadline", help="Last height votes are accepted.")
    ] = None,
    blocks: Annotated[
        int, typer.Option("--blocks", min=0, help="Deadline = current height + BLOCKS.")
    ] = 1_000,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose a call of a module's governance-only method (governors only).

    The chain checks the method and decodes the arguments when the proposal is
    made; once the vote passes, the method runs as the governance authority.
    """
    ctx = Context(home, node, as_json, keyring)
    payload = CallModule(
        module=module, method=method, args=_call_args(ctx, module, method, args_hex, args_json)
    )
    signer = ctx.signer(from_)
    with ctx.client() as client:
        until = deadline if deadline is not None else client.status().height + blocks
        args = Propose(
            kind=ProposalKind.CALL_MODULE, payload=encode(payload), deadline_height=until
        )
        record = client.send(signer, "governance", "propose", args, wait=wait, check=False)
    report_transaction(ctx, record)


@gov_app.command("vote")
@handles_errors
def gov_vote(
    proposal_id: Annotated[int, typer.Argument(help="Proposal id.", min=0)],
    choice: Annotated[Choice, typer.Argument(help="yes, no or abstain.")],
    from_: FromOpt,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Vote (governors only); a later vote replaces an earlier one."""
    ctx = Context(home, node, as_json, keyring)
    signer = ctx.signer(from_)
    with ctx.client() as client:
        args = CastVote(proposal_id=proposal_id, choice=choice)
        record = client.send(signer, "governance", "vote", args, wait=wait, check=False)
    report_transaction(ctx, record)


@gov_app.command("show")
@handles_errors
def gov_show(
    proposal_id: Annotated[int, typer.Argument(help="Proposal id.", min=0)],
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    as_json: JsonOpt = False,
) -> None:
    """A proposal: payload, status, tally, votes and history."""
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        found = client.proposal(proposal_id)

    def human() -> None:
        fields = {k: v for k, v in to_plain(found).items() if k not in ("votes", "history")}
        show_fields(f"proposal {found.id}", fields)
        for h in found.history:
            out.print(f"  {h.height:>6}  {h.action:<9} {h.actor}  {h.detail}")

    ctx.emit(found, human)


@gov_app.command("list")
@handles_errors
def gov_list(
    status: Annotated[
        str | None, typer.Option(help="Only open, executed, failed or expired.")
    ] = None,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    as_json: JsonOpt = False,
) -> None:
    """Proposals, newest first."""
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        listed = client.proposals(status)

    def human() -> None:
        table = Table("id", "kind", "status", "yes/no/abstain of total", "deadline")
        for p in listed.proposals:
            t = p.tally
            votes = f"{t.yes}/{t.no}/{t.abstain} of {t.total}"
            table.add_row(str(p.id), cell(p.kind), cell(p.status), votes, str(p.deadline_height))
        out.print(table)

    ctx.emit(listed, human)


@org_app.command("new")
@handles_errors
def org_new(
    name: Annotated[str, typer.Argument(help="Organisation name.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for its CA and admin key.")],
    suite: Annotated[str, typer.Option("--suite", help="The chain's suite: sm or intl.")] = "sm",
) -> None:
    """Create a new organisation's CA and admin key; prints its add_organisation payload."""
    from consortia.node.onboarding import create_organisation

    print(json.dumps(to_plain(create_organisation(out, name, suite))))


@org_app.command("list")
@handles_errors
def org_list(node: NodeOpt = None, home: HomeOpt = DEFAULT_HOME, as_json: JsonOpt = False) -> None:
    """Organisations and the governing committee."""
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        found = client.organisations()

    def human() -> None:
        table = Table("organisation", "admins")
        for o in found.organisations:
            table.add_row(cell(o.name), Text("\n".join(display_text(a) for a in o.admins)))
        out.print(table)
        for g in found.committee:
            out.print(f"governor {g.address} weight {g.weight}")

    ctx.emit(found, human)


@org_app.command("show")
@handles_errors
def org_show(
    name: Annotated[str, typer.Argument(help="Organisation name.")],
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    as_json: JsonOpt = False,
) -> None:
    """One organisation: admins and CA certificate."""
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        found = [o for o in client.organisations().organisations if o.name == name]
    if not found:
        usage(f"no organisation {name!r}", "GOV_ORG_NOT_FOUND")
    ctx.emit(found[0], lambda: show_fields(f"organisation {name}", to_plain(found[0])))


@role_app.command("show")
@handles_errors
def role_show(
    who: Annotated[str, typer.Argument(help="Address, key name or PEM path.")],
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An account's roles, organisation and committee weight."""
    ctx = Context(home, node, as_json, keyring)
    address = ctx.address(who)
    with ctx.client() as client:
        found = client.roles(address)
    ctx.emit(found, lambda: show_fields(f"roles of {found.address}", to_plain(found)))


@role_app.command("list")
@handles_errors
def role_list(node: NodeOpt = None, home: HomeOpt = DEFAULT_HOME, as_json: JsonOpt = False) -> None:
    """Each role (built in and declared) and the permission table (read from state)."""
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        record = client.state(PERMISSIONS_KEY)
        declared_record = client.state(ROLES_KEY)
    rules: list[dict[str, Any]] = []
    if record.value is not None:
        table = decode(parse_hex(record.value), Permissions)
        rules = [
            {"module": r.module, "method": r.method, "roles": list(r.roles)} for r in table.rules
        ]
    names = [r.value for r in Role]
    if declared_record.value is not None:
        declared = decode(parse_hex(declared_record.value), DeclaredRoles)
        names += [d.name for d in declared.roles]
    document = {"roles": names, "permissions": rules, "version": record.version}

    def human() -> None:
        out.print("roles: " + ", ".join(names))
        table = Table("module.method", "who may call")
        for rule in rules:
            table.add_row(
                cell(f"{rule['module']}.{rule['method']}"), ", ".join(rule["roles"]) or "anyone"
            )
        out.print(table)

    ctx.emit(document, human)
