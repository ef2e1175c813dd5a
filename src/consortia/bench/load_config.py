"""What a ``consortia bench run`` runs: :class:`LoadConfig`, checked when built."""

from __future__ import annotations

import math
from dataclasses import dataclass

from consortia.bench.schedule import DEFAULT_MIX, KINDS, WORKLOADS, Schedule, Segment
from consortia.crypto import KeyType

__all__ = ["LoadConfig", "key_type_of"]


@dataclass(frozen=True)
class LoadConfig:
    """What to run; ``ValueError`` on a combination that cannot run."""

    workload: str = "transfer"
    """``transfer``, ``issue``, ``erc20`` or ``mixed``."""
    suite: str = "sm"
    """Crypto suite of the local network (``sm`` or ``intl``)."""
    key_type: str = "sm2"
    """Key type of native senders (ERC-20 senders are always secp256k1)."""
    validators: int = 1
    """Validators of the local network."""
    duration_s: float = 20.0
    """Seconds of sending (a phased schedule sets its own length)."""
    warmup_s: float = 3.0
    """Seconds at the start left out of every figure but the time series."""
    rate: float | None = None
    """Open loop at a fixed rate (transactions per second)."""
    ramp: tuple[float, float] | None = None
    """Open loop rising (or falling) linearly from the first rate to the second."""
    phases: tuple[tuple[float, float], ...] = ()
    """Open loop in phases of (rate, seconds)."""
    mix: tuple[tuple[str, int], ...] = DEFAULT_MIX
    """Weights of the kinds in a ``mixed`` run."""
    senders: int = 200
    """Sender accounts (split between the kinds by weight)."""
    batch: int = 200
    """Most transactions sent in one request."""
    window: int = 2_000
    """Closed loop: most acknowledged transactions not yet committed."""
    drain_s: float = 60.0
    """Most seconds to wait for acknowledged transactions to commit after sending."""
    nodes: tuple[str, ...] = ()
    """API URLs of a running network (no local network is started)."""
    api_port: int = 18545
    """First API port of the local network (P2P ports start 1,000 higher)."""
    state_accounts: int = 0
    """Filler accounts in the local network's genesis (``filler``), so state starts this big."""

    def __post_init__(self) -> None:
        if self.workload not in WORKLOADS:
            raise ValueError(f"workload must be one of {', '.join(WORKLOADS)}")
        if self.key_type not in ("sm2", "p256", "secp256k1"):
            raise ValueError("key type must be sm2, p256 or secp256k1")
        if self.workload == "erc20" and self.key_type != "secp256k1":
            raise ValueError("erc20 sends Ethereum-signed transactions: use --key-type secp256k1")
        if sum(x is not None and x != () for x in (self.rate, self.ramp, self.phases or None)) > 1:
            raise ValueError("give at most one of --rate, --ramp and --phases")
        if self.rate is not None and not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError("rate must be a number > 0")
        if self.validators < 1 or self.senders < 1 or self.batch < 1 or self.window < 1:
            raise ValueError("validators, senders, batch and window must be at least 1")
        if not self.duration_s > 0 or self.warmup_s < 0 or self.drain_s < 0:
            raise ValueError("duration must be > 0; warm-up and drain >= 0")
        if self.warmup_s >= self.load_seconds:
            raise ValueError("the warm-up must be shorter than the run")
        if self.workload == "mixed" and not self.kinds:
            raise ValueError("the mix has no kind with a positive weight")
        if self.senders < len(self.kinds):
            raise ValueError(f"need at least one sender per kind ({len(self.kinds)})")
        if self.state_accounts < 0:
            raise ValueError("state accounts must be >= 0")
        if self.state_accounts and self.nodes:
            raise ValueError("state accounts go into a local network's genesis, not --nodes")

    @property
    def kinds(self) -> tuple[tuple[str, int], ...]:
        """(kind, weight) of every kind sent."""
        if self.workload == "mixed":
            return tuple((k, w) for k, w in self.mix if k in KINDS and w > 0)
        return ((self.workload, 1),)

    @property
    def schedule(self) -> Schedule | None:
        """The open-loop send rate over time (None: closed loop)."""
        if self.rate is not None:
            return Schedule((Segment(self.duration_s, self.rate, self.rate),))
        if self.ramp is not None:
            return Schedule((Segment(self.duration_s, *self.ramp),))
        if self.phases:
            return Schedule(tuple(Segment(s, r, r) for r, s in self.phases))
        return None

    @property
    def load_seconds(self) -> float:
        """Seconds of sending."""
        schedule = self.schedule
        return self.duration_s if schedule is None else schedule.seconds


def key_type_of(kind: str, native: str) -> KeyType:
    """Key type of a kind's senders: Ethereum-signed ERC-20 transfers need secp256k1."""
    return KeyType.SECP256K1 if kind == "erc20" else KeyType(native)
