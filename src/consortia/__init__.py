"""Consortia: a consortium blockchain platform.

Layers (dependencies point one way, see docs/architecture.md):
``apps -> execution -> state/ledger -> codec/crypto``; ``consensus`` and
``network`` know blocks and votes, never applications; ``node`` wires them.
"""

import os

__version__ = "0.1.0"

# py-evm and trie hash through eth-hash, which picks its first installed backend
# at the first hash (pycryptodome: 7x slower per call than pysha3); an operator's
# own ETH_HASH_BACKEND wins. See consortia.crypto.hashing.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

# py_ecc raises the recursion limit past what the C stack holds; see consortia.recursion.
from consortia.recursion import pin_recursion_limit

pin_recursion_limit()
