"""Ledger: transactions, blocks, certificates, receipts, Merkle roots and the block store."""
