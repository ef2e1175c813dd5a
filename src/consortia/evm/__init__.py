"""The EVM adapter (py-evm) and the contract tooling (compile, audit): DESIGN.md §2-3.

Contracts run in py-evm over an Ethereum trie kept beside the chain state;
the trie's root is one entry of that state, so a block's state root commits
to every contract's code and storage.
"""
