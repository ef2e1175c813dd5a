"""Consortia: a consortium blockchain platform.

Layers (dependencies point one way, see docs/architecture.md):
``apps -> execution -> state/ledger -> codec/crypto``; ``consensus`` and
``network`` know blocks and votes, never applications; ``node`` wires them.
"""

__version__ = "0.1.0"
