"""The composition root: builds a node process from its home and runs it.

The top of the layers below the CLI (docs/architecture.md "Layers"): it
imports the services and adapters of :mod:`consortia.node`, the API and the
console, wires them together at construction, and owns the process's
background tasks. Nothing in ``src/consortia`` imports it but the CLI.
"""
