"""Key registration cannot seize an account (issue #16, Found 4).

[GOV-KEYS.1] an org admin's ``register_account`` only creates new accounts:
an address with state (account record, balances) is refused with
``GOV_ACCOUNT_EXISTS``. [GOV-KEYS.2] the address must be the own address of
every registered key, or an org-allocated address of the admin's
organisation (``GOV_ADDRESS_NOT_OWNED``). [GOV-KEYS.3] ``revoke_key`` never
removes the last key (``GOV_LAST_KEY``). [GOV-RECOVER.1] a lost key is
replaced by a voted ``recover_account`` proposal.

Chain (helpers.py)::

    committee g1 (1)  g2 (1)  g3 (2)   default thresholds 2/3, 2/3
    org1: admin a1                     alice issues CNY
    victim: an address holding 500 CNY that has never signed
"""

from __future__ import annotations

from tests.execution.chain import address, key, make_tx

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.accounts.types import AccountKey, AddKey, account_key
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer, definition_key
from consortia.modules.governance.types import (
    Choice,
    ProposalKind,
    RecoverAccount,
    RegisterAccount,
    RevokeKey,
    Status,
    org_account_address,
)

from .helpers import ADMIN, ALICE, BOB, G1, G2, G3, Gov

VICTIM = key(KeyType.SM2, 400)
EMPLOYEE = key(KeyType.SM2, 401)
NEW_KEY = key(KeyType.P256, 402)
OFFICER_1, OFFICER_2 = key(KeyType.SM2, 403), key(KeyType.SECP256K1, 404)


def akey(k: PrivateKey) -> AccountKey:
    return AccountKey(key_type=k.key_type.value, public_key=k.public_key().to_bytes())


def fund(gov: Gov, to: bytes, amount: int = 500) -> None:
    """Alice creates CNY (once) and issues ``amount`` to ``to``."""
    if gov.chain.read(lambda v: v.get(definition_key("CNY"))) is None:
        create = Create("CNY", "yuan", 2, SupplyRule.UNLIMITED, 0)
        assert gov.send(ALICE, "assets", "create", create).receipt.status == "OK"
    assert gov.send(ALICE, "assets", "issue", Issue("CNY", to, amount)).receipt.status == "OK"


def changed_keys(before: dict[bytes, bytes], after: dict[bytes, bytes]) -> set[bytes]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_admin_cannot_seize_a_dormant_funded_account(gov: Gov) -> None:
    """The attack of the issue: register_account(X, [admin's key]) on a funded, unused X."""
    victim = address(VICTIM)
    fund(gov, victim)
    assert gov.chain.account(victim) is None  # never signed: no account record
    before = gov.chain.dump()
    for keys in ((akey(ADMIN),), (akey(VICTIM), akey(ADMIN)), (akey(VICTIM),)):
        out = gov.send(ADMIN, "governance", "register_account", RegisterAccount(victim, keys))
        assert out.receipt.status == "GOV_ACCOUNT_EXISTS", out.receipt.message
        assert "a balance of CNY" in out.receipt.message
        assert victim.hex() in out.receipt.message
    # Nothing changed but the admin's nonce.
    assert changed_keys(before, gov.chain.dump()) == {account_key(address(ADMIN))}
    # The admin cannot spend the victim's funds ...
    steal = make_tx(
        ADMIN, 0, "assets", "transfer", Transfer("CNY", address(ADMIN), 500), sender=victim
    )
    assert gov.chain.run(steal).receipt.status == "TX_UNAUTHORIZED"
    # ... and the owner still can.
    out = gov.send(VICTIM, "assets", "transfer", Transfer("CNY", address(BOB), 200))
    assert out.receipt.status == "OK", out.receipt.message
    assert gov.chain.balance(victim, "CNY") == 300
    assert gov.chain.balance(address(BOB), "CNY") == 200


def test_admin_cannot_register_an_existing_account(gov: Gov) -> None:
    """Not even one of its own organisation: an account changes its own keys."""
    who = address(EMPLOYEE)
    register = RegisterAccount(who, (akey(EMPLOYEE),))
    assert gov.send(ADMIN, "governance", "register_account", register).receipt.status == "OK"
    again = RegisterAccount(who, (akey(EMPLOYEE),))
    out = gov.send(ADMIN, "governance", "register_account", again)
    assert out.receipt.status == "GOV_ACCOUNT_EXISTS"
    assert "already has an account" in out.receipt.message
    grab = RegisterAccount(address(ALICE), (akey(ALICE),))  # a genesis account, no organisation
    assert gov.send(ADMIN, "governance", "register_account", grab).receipt.status == (
        "GOV_ACCOUNT_EXISTS"
    )
    account = gov.chain.account(address(ALICE))
    assert account is not None and account.keys == (akey(ALICE),)


def test_admin_cannot_claim_the_address_of_a_key_it_does_not_register(gov: Gov) -> None:
    """A fresh address derived from someone else's key: only that key may be registered."""
    victim = address(VICTIM)
    before = gov.chain.dump()
    for keys in ((akey(ADMIN),), (akey(VICTIM), akey(ADMIN)), (akey(ADMIN), akey(VICTIM))):
        out = gov.send(ADMIN, "governance", "register_account", RegisterAccount(victim, keys))
        assert out.receipt.status == "GOV_ADDRESS_NOT_OWNED", out.receipt.message
        assert f"may not be registered for {victim.hex()}" in out.receipt.message
    assert changed_keys(before, gov.chain.dump()) == {account_key(address(ADMIN))}
    assert gov.chain.account(victim) is None
    # The key's holder opens its own account as before ([ACCT-CREATE.1]).
    out = gov.send(VICTIM, "accounts", "add_key", AddKey(akey(NEW_KEY)))
    assert out.receipt.status == "OK", out.receipt.message
    # Registering exactly the address's own key makes it a member, and nothing more.
    fresh = address(EMPLOYEE)
    register = RegisterAccount(fresh, (akey(EMPLOYEE),))
    out = gov.send(ADMIN, "governance", "register_account", register)
    assert out.receipt.status == "OK", out.receipt.message
    assert gov.member(fresh).organisation == "org1"


def test_admin_registers_an_org_allocated_account(gov: Gov) -> None:
    """[GOV-KEYS.2]: an address the organisation allocates may hold any keys."""
    treasury = org_account_address("org1", b"treasury")
    keys = (akey(OFFICER_1), akey(OFFICER_2))
    # A salt that does not give this address, or another organisation's allocation: refused.
    for address_, salt in (
        (treasury, b"payroll"),
        (org_account_address("org2", b"treasury"), b"treasury"),
    ):
        args = RegisterAccount(address_, keys, salt=salt)
        out = gov.send(ADMIN, "governance", "register_account", args)
        assert out.receipt.status == "GOV_ADDRESS_NOT_OWNED", out.receipt.message
    args = RegisterAccount(treasury, keys, salt=b"treasury")
    out = gov.send(ADMIN, "governance", "register_account", args)
    assert out.receipt.status == "OK", out.receipt.message
    (event,) = out.receipt.events
    assert dict(event.attributes) == {
        "account": treasury.hex(),
        "organisation": "org1",
        "keys": "2",
    }
    fund(gov, treasury)
    for nonce, officer in enumerate((OFFICER_1, OFFICER_2)):
        pay = make_tx(
            officer, nonce, "assets", "transfer", Transfer("CNY", address(BOB), 10), sender=treasury
        )
        assert gov.chain.run(pay).receipt.status == "OK"
    # Allocated once: the same salt again is an existing account.
    out = gov.send(ADMIN, "governance", "register_account", args)
    assert out.receipt.status == "GOV_ACCOUNT_EXISTS"


def test_register_refuses_duplicate_keys(gov: Gov) -> None:
    args = RegisterAccount(
        org_account_address("org1", b"x"), (akey(OFFICER_1), akey(OFFICER_1)), salt=b"x"
    )
    out = gov.send(ADMIN, "governance", "register_account", args)
    assert out.receipt.status == "ACCOUNTS_KEY_EXISTS"


def test_revoke_never_removes_the_last_key(gov: Gov) -> None:
    """[GOV-KEYS.3]: defensive revocation yes, locking the owner out no."""
    who = address(EMPLOYEE)
    register = RegisterAccount(who, (akey(EMPLOYEE),))
    assert gov.send(ADMIN, "governance", "register_account", register).receipt.status == "OK"
    revoke = RevokeKey(who, EMPLOYEE.public_key().to_bytes())
    before = gov.chain.dump()
    out = gov.send(ADMIN, "governance", "revoke_key", revoke)
    assert out.receipt.status == "GOV_LAST_KEY"
    assert "last" in out.receipt.message and who.hex() in out.receipt.message
    assert changed_keys(before, gov.chain.dump()) == {account_key(address(ADMIN))}
    out = gov.send(EMPLOYEE, "accounts", "add_key", AddKey(akey(NEW_KEY)))
    assert out.receipt.status == "OK"  # the owner still signs
    # With a second key the compromised one can be revoked.
    assert gov.send(ADMIN, "governance", "revoke_key", revoke).receipt.status == "OK"
    account = gov.chain.account(who)
    assert account is not None and account.keys == (akey(NEW_KEY),)


def _propose_recovery(gov: Gov, payload: RecoverAccount) -> int:
    out = gov.propose(G1, ProposalKind.RECOVER_ACCOUNT, payload)
    assert out.receipt.status == "OK", out.receipt.message
    return int(dict(out.receipt.events[-1].attributes)["id"])


def test_recovery_proposal_replaces_a_lost_key(gov: Gov) -> None:
    """[GOV-RECOVER.1] end to end: propose, vote, executed; new key spends, old key refused."""
    who = address(EMPLOYEE)
    register = RegisterAccount(who, (akey(EMPLOYEE),))
    assert gov.send(ADMIN, "governance", "register_account", register).receipt.status == "OK"
    fund(gov, who)
    assert (
        gov.send(EMPLOYEE, "assets", "transfer", Transfer("CNY", address(BOB), 1)).receipt.status
        == "OK"
    )
    nonce = gov.chain.nonce(who)
    assert nonce == 1

    payload = RecoverAccount(address=who, keys=(akey(NEW_KEY),), reason="device lost")
    pid = _propose_recovery(gov, payload)
    assert gov.vote(G1, pid).receipt.status == "OK"
    assert gov.proposal(pid).status is Status.OPEN  # 1 of 4: nothing happens yet
    account = gov.chain.account(who)
    assert account is not None and account.keys == (akey(EMPLOYEE),)
    assert gov.vote(G2, pid, Choice.NO).receipt.status == "OK"
    out = gov.vote(G3, pid)  # 3 of 4 voted, yes 3 of 4
    assert out.receipt.status == "OK", out.receipt.message
    names = [e.name for e in out.receipt.events]
    assert names == ["vote_cast", "account_recovered", "proposal_executed"]
    recovered = dict(out.receipt.events[1].attributes)
    assert recovered == {"id": str(pid), "account": who.hex(), "keys": "1"}
    proposal = gov.proposal(pid)
    assert proposal.status is Status.EXECUTED
    assert [h.action for h in proposal.history] == [
        "proposed",
        "voted",
        "voted",
        "voted",
        "executed",
    ]

    account = gov.chain.account(who)
    assert account is not None
    assert account.keys == (akey(NEW_KEY),) and account.nonce == nonce
    old = make_tx(EMPLOYEE, nonce, "assets", "transfer", Transfer("CNY", address(BOB), 1))
    assert gov.chain.run(old).receipt.status == "TX_UNAUTHORIZED"
    new = make_tx(
        NEW_KEY, nonce, "assets", "transfer", Transfer("CNY", address(BOB), 99), sender=who
    )
    assert gov.chain.run(new).receipt.status == "OK"
    assert gov.chain.balance(who, "CNY") == 400


def test_recovery_of_a_dormant_address_and_of_nothing(gov: Gov) -> None:
    """A funded address that never signed gets its account; an unused one has nothing to
    recover (the proposal fails, state untouched)."""
    victim = address(VICTIM)
    fund(gov, victim)
    proposal = gov.pass_(ProposalKind.RECOVER_ACCOUNT, RecoverAccount(victim, (akey(NEW_KEY),)))
    assert proposal.status is Status.EXECUTED, proposal.outcome
    pay = make_tx(NEW_KEY, 0, "assets", "transfer", Transfer("CNY", address(BOB), 5), sender=victim)
    assert gov.chain.run(pay).receipt.status == "OK"

    nobody = address(key(KeyType.SM2, 499))
    before = gov.chain.read(lambda v: v.get(account_key(nobody)))
    proposal = gov.pass_(ProposalKind.RECOVER_ACCOUNT, RecoverAccount(nobody, (akey(NEW_KEY),)))
    assert proposal.status is Status.FAILED
    assert proposal.outcome.startswith("GOV_BAD_PAYLOAD: ")
    assert "nothing to recover" in proposal.outcome
    assert before is None and gov.chain.account(nobody) is None


def test_recovery_with_a_bad_key_set_is_refused_when_proposed(gov: Gov) -> None:
    dup = RecoverAccount(address(ALICE), (akey(NEW_KEY), akey(NEW_KEY)))
    out = gov.propose(G1, ProposalKind.RECOVER_ACCOUNT, dup)
    assert out.receipt.status == "ACCOUNTS_KEY_EXISTS"


def test_only_governors_propose_recovery(gov: Gov) -> None:
    """An org admin alone cannot use the recovery path either."""
    payload = RecoverAccount(address(ALICE), (akey(ADMIN),))
    out = gov.propose(ADMIN, ProposalKind.RECOVER_ACCOUNT, payload)
    assert out.receipt.status == "TX_PERMISSION_DENIED"
    account = gov.chain.account(address(ALICE))
    assert account is not None and account.keys == (akey(ALICE),)
