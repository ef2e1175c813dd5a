"""The audit gate's analysis: Slither's detectors plus Consortia's own checks.

DESIGN.md §3 ("Contracts"): no contract deploys without an audit. An
:class:`~consortia.evm.audit.report.AuditReport` binds findings to the exact
source (SHA-256) and code (Keccak-256 of creation and runtime bytecode) and
names every tool version; it is a :class:`~consortia.codec.Canonical` struct,
so its bytes and hash are well defined and it can be stored on chain. Chain
policy, not this package, decides what a finding means for deployment
(``has_high``).

One module per concept; import from the module that defines the thing (this
file imports nothing, so the on-chain code that needs only the report types
loads neither the Slither driver nor the checks):

* ``report``: the on-chain types (``AuditReport``, ``Finding``, ``Severity``).
  Imports only the codec.
* ``runner``: ``audit``, ``audit_contract``, ``audit_file``: compile, run
  every analyser, assemble the reports.
* ``slither``: the Slither subprocess (Solidity only) and its findings.
* ``reachability``: which bytecode instructions can execute.
* ``checks``: what Consortia's checks of both languages share (AST walk,
  source lines, the per-function driver, the selfdestruct check).
* ``solidity``, ``vyper``: Consortia's checks over each compiler's AST.
"""
