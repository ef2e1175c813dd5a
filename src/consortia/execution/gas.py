"""Gas: a deterministic bound on the work one transaction may cause.

Consortium chains charge no fees here; gas only caps work per transaction and
per block. Costs are integers fixed by this schedule ([EXEC-GAS.1]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from consortia.execution.errors import OutOfGas

TX_BASE: Final = 1_000
"""Every transaction (signature, nonce, receipt)."""
PER_TX_BYTE: Final = 10
STATE_READ: Final = 100
STATE_WRITE: Final = 500
PER_WRITTEN_BYTE: Final = 5
EVENT: Final = 200


@dataclass(slots=True)
class GasMeter:
    """Counts gas used against a limit."""

    limit: int
    used: int = 0

    def charge(self, amount: int, what: str) -> None:
        """Add ``amount``; raise :class:`OutOfGas` naming ``what`` past the limit."""
        self.used += amount
        if self.used > self.limit:
            raise OutOfGas(f"out of gas at {what}: used {self.used} of limit {self.limit}")
