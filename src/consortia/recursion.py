"""The interpreter's recursion limit, pinned for every Consortia process ([API-JSON.2]).

``py_ecc`` (imported by py-evm and eth-account) raises the limit to 100,000
when it is first imported. C code that recurses on its input (the standard
library's ``json``, msgspec, ``repr``) checks only that limit, and 100,000
levels overflow the 8 MiB C stack: one deeply nested JSON body segfaulted a
validator (issue #16). Measured on the main thread: a 100,000-deep array makes
``json.loads`` and ``msgspec.json.decode`` raise ``RecursionError`` at limits of
12,288 and 20,000, and crash the process at 30,000.

:func:`pin_recursion_limit` imports ``py_ecc`` (its import runs once per
process, so nothing can raise the limit again by importing it later) and sets
:data:`RECURSION_LIMIT`. ``consortia/__init__.py`` calls it, so the node, the
CLI, the SDK and the tools all get it before any of their own imports.
"""

from __future__ import annotations

import sys
from typing import Final

RECURSION_LIMIT: Final = 12_288
"""py-evm's own need (``eth.EVM_RECURSION_LIMIT``: 1,024 nested calls of about 12 frames);
py-evm raises the limit to at least this on import, so it never changes it again."""


def pin_recursion_limit() -> None:
    """Run the imports that raise the recursion limit, then set it to :data:`RECURSION_LIMIT`."""
    import py_ecc  # noqa: F401  (raises the limit to 100,000 at its first import)

    sys.setrecursionlimit(RECURSION_LIMIT)
