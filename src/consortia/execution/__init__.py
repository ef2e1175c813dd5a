"""Deterministic state machine: transactions in block order → state, receipts, events.

Execution is a pure function of the ordered transactions and the block
context that consensus agreed on (height, proposer, timestamp). Nothing here
reads a clock, draws randomness, uses floats or depends on dict order.
"""
