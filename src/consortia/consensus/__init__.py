"""Two-chain HotStuff (Jolteon / DiemBFT v4) consensus.

Gelashvili, Kokoris-Kogias, Sonnino, Spiegelman, Xiang: "Jolteon and Ditto:
Network-Adaptive Efficient Consensus with Asynchronous Fallback"
(arXiv 2106.10362), §3 (Jolteon). Protocol, messages and invariants:
docs/consensus.md. The core (:mod:`consortia.consensus.core`) is synchronous
and deterministic: the node feeds it events and carries out the actions it
returns, so the same code runs in a real node and in simulated networks.
"""
