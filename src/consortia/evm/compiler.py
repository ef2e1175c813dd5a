"""Compiling contracts: Solidity through the npm ``solc`` package, Vyper through PyPI.

DESIGN.md §3 ("Contracts"): Solidity is compiled by the compiler's wasm build
(npm ``solc``, pinned in package-lock.json) run by ``node`` through
``solc_driver.js`` beside this module, with standard JSON input and output;
Vyper by the ``vyper`` package's Python API. Settings are fixed so the same
source always gives the same bytecode, and are recorded in every
:class:`CompiledContract`: the optimizer on with 200 runs for Solidity, gas
optimisation for Vyper, and the ``cancun`` EVM version, which is the rule set
the chain's EVM executes (``consortia.evm.module``).

Errors (layer root :class:`ContractToolError`, a :class:`NodeError`)::

    ContractToolError          CONTRACT_ERROR
     ├── CompilerUnavailable   CONTRACT_COMPILER_UNAVAILABLE  node or npm solc missing
     ├── SourceUnreadable      CONTRACT_SOURCE_UNREADABLE     no such file, not UTF-8
     ├── CompileFailed         CONTRACT_COMPILE_FAILED        the compiler's own errors
     └── AuditFailed           CONTRACT_AUDIT_FAILED          (audit/slither.py) Slither crashed
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from consortia.errors import NodeError

__all__ = [
    "EVM_VERSION",
    "SOLC_OPTIMIZER_RUNS",
    "SOLC_WRAPPER",
    "CompileFailed",
    "CompiledContract",
    "CompilerUnavailable",
    "ContractToolError",
    "Language",
    "SourceUnreadable",
    "compile_file",
    "compile_solidity",
    "compile_vyper",
    "find_node_modules",
    "solc_env",
    "solc_version",
    "vyper_version",
]

EVM_VERSION: Final = "cancun"
"""The EVM rules contracts are compiled for: those the chain executes."""
SOLC_OPTIMIZER_RUNS: Final = 200
"""Solidity optimizer setting (``enabled``, ``runs``), fixed for reproducible bytecode."""
SOLC_DRIVER: Final = Path(__file__).with_name("solc_driver.js")
"""The node script that runs the npm compiler with native ``solc`` arguments."""
SOLC_WRAPPER: Final = Path(__file__).with_name("solc_wrapper")
"""An executable ``solc`` over :data:`SOLC_DRIVER`, for Slither's ``--solc``."""
SOLC_TIMEOUT: Final = 120.0
"""Seconds one Solidity compilation may take before it counts as failed."""


class ContractToolError(NodeError):
    """The contract toolchain (compile, audit) could not do its job."""

    code = "CONTRACT_ERROR"


class CompilerUnavailable(ContractToolError):
    """``node`` or the npm ``solc`` package is missing (``make setup`` installs both)."""

    code = "CONTRACT_COMPILER_UNAVAILABLE"


class SourceUnreadable(ContractToolError):
    """The contract source file does not exist or is not UTF-8 text."""

    code = "CONTRACT_SOURCE_UNREADABLE"


class CompileFailed(ContractToolError):
    """The compiler rejected the source; ``messages`` are its error messages, in order."""

    code = "CONTRACT_COMPILE_FAILED"

    def __init__(self, message: str, messages: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.messages = messages


class Language(enum.StrEnum):
    """Source languages of contracts."""

    SOLIDITY = "solidity"
    VYPER = "vyper"


@dataclass(frozen=True)
class CompiledContract:
    """One compiled contract, with everything deployment and the audit need."""

    name: str
    """Contract name (Solidity ``contract X``; for Vyper the file's stem)."""
    language: Language
    compiler_version: str
    """Full compiler version, e.g. ``0.8.37+commit.f401782d.Emscripten.clang``."""
    settings: dict[str, Any]
    """The compiler settings used (optimizer, EVM version), as JSON."""
    source_name: str
    """The source unit's name (file name) in compiler messages and AST locations."""
    source: bytes = field(repr=False)
    """The exact source bytes compiled."""
    source_hash: bytes
    """SHA-256 of :attr:`source`."""
    abi: list[dict[str, Any]] = field(repr=False)
    """The contract's ABI (JSON)."""
    bytecode: bytes = field(repr=False)
    """Creation (init) code, without constructor arguments."""
    runtime_bytecode: bytes = field(repr=False)
    """The code left at the contract's address after deployment."""
    ast: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """The compiler's AST of the source unit (solc standard-JSON ``ast``; Vyper
    ``ast_dict``), shared by every contract of the same file."""

    def artifact(self) -> dict[str, Any]:
        """The JSON artifact ``consortia contract compile --out`` writes (no AST)."""
        return {
            "contractName": self.name,
            "language": self.language.value,
            "compiler": self.compiler_version,
            "settings": self.settings,
            "sourceName": self.source_name,
            "sourceHash": "0x" + self.source_hash.hex(),
            "abi": self.abi,
            "bytecode": "0x" + self.bytecode.hex(),
            "deployedBytecode": "0x" + self.runtime_bytecode.hex(),
        }


# ------------------------------------------------------------------ sources


def _read_source(source: Path | str | bytes, default_name: str) -> tuple[bytes, str, Path | None]:
    """Source bytes, unit name and directory (for imports) of a path or source text."""
    if isinstance(source, Path):
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise SourceUnreadable(f"cannot read {source}: {exc.strerror or exc}") from None
        return data, source.name, source.resolve().parent
    if isinstance(source, str):
        return source.encode(), default_name, None
    return bytes(source), default_name, None


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceUnreadable(f"{name} is not UTF-8 text: {exc}") from None


def compile_file(path: Path) -> list[CompiledContract]:
    """Compile ``path`` as Solidity (``.sol``) or Vyper (``.vy``) by its suffix.

    Raises:
        SourceUnreadable: unknown suffix, missing file, not UTF-8.
        CompileFailed, CompilerUnavailable: see :func:`compile_solidity`.
    """
    if path.suffix == ".sol":
        return compile_solidity(path)
    if path.suffix == ".vy":
        return compile_vyper(path)
    raise SourceUnreadable(f"{path}: expected a .sol (Solidity) or .vy (Vyper) file")


# ----------------------------------------------------------------- Solidity


def find_node_modules() -> Path | None:
    """The ``node_modules`` directory holding npm ``solc``, or None.

    ``CONSORTIA_NODE_MODULES`` names it explicitly; otherwise the first
    ``node_modules/solc`` found walking up from this package (the repository
    root of a development install) or from the working directory.
    """
    explicit = os.environ.get("CONSORTIA_NODE_MODULES")
    if explicit:
        return Path(explicit) if (Path(explicit) / "solc").is_dir() else None
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for directory in (start, *start.parents):
            if (directory / "node_modules" / "solc" / "package.json").is_file():
                return directory / "node_modules"
    return None


def solc_env() -> dict[str, str]:
    """The environment to run :data:`SOLC_WRAPPER` or the driver in (``NODE_PATH`` set).

    Raises:
        CompilerUnavailable: no ``node`` on PATH or no npm ``solc`` installed.
    """
    if shutil.which("node") is None:
        raise CompilerUnavailable("node is not installed (run `make setup`)")
    modules = find_node_modules()
    if modules is None:
        raise CompilerUnavailable("the npm package solc is not installed (run `make setup`)")
    env = dict(os.environ)
    env["NODE_PATH"] = str(modules)
    return env


def _run_driver(args: list[str], stdin: str, cwd: Path) -> str:
    env = solc_env()
    try:
        done = subprocess.run(
            ["node", str(SOLC_DRIVER), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=SOLC_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CompileFailed(f"solc did not finish within {SOLC_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        raise CompilerUnavailable(f"solc driver failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


_solc_version: str | None = None


def solc_version() -> str:
    """Full version of the npm compiler (``0.8.37+commit.…``), asked once per process."""
    global _solc_version
    if _solc_version is None:
        out = _run_driver(["--version"], "", Path.cwd())
        _solc_version = out.strip().rpartition("Version: ")[2]
    return _solc_version


def solc_settings() -> dict[str, Any]:
    """The recorded part of the standard-JSON settings (optimizer, EVM version)."""
    return {
        "optimizer": {"enabled": True, "runs": SOLC_OPTIMIZER_RUNS},
        "evmVersion": EVM_VERSION,
    }


def _hex_code(obj: str, contract: str) -> bytes:
    if "__$" in obj:
        raise CompileFailed(
            f"contract {contract} needs library linking, which is not supported",
            (f"{contract}: unlinked library placeholder in bytecode",),
        )
    return bytes.fromhex(obj)


def compile_solidity(
    source: Path | str | bytes, *, name: str = "Contract.sol"
) -> list[CompiledContract]:
    """Compile Solidity; one record per deployable contract defined in the source.

    Parameters:
        source: a :class:`~pathlib.Path` to a ``.sol`` file (imports resolve
            relative to its directory), or the source itself as text or bytes.
        name: the unit name used for source text (ignored for a path).

    Returns:
        The contracts, interfaces and abstract contracts excluded, in the order
        the compiler lists them (by name).

    Raises:
        SourceUnreadable: the file cannot be read or is not UTF-8.
        CompileFailed: the compiler reported errors (warnings are ignored).
        CompilerUnavailable: node or the npm ``solc`` package is missing.
    """
    data, unit, directory = _read_source(source, name)
    text = _text(data, unit)
    request = {
        "language": "Solidity",
        "sources": {unit: {"content": text}},
        "settings": {
            **solc_settings(),
            "outputSelection": {
                "*": {
                    "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"],
                    "": ["ast"],
                }
            },
        },
    }
    cwd = directory if directory is not None else Path.cwd()
    args = ["--standard-json"]
    if directory is not None:
        args += ["--base-path", str(directory), "--allow-paths", str(directory)]
    raw = _run_driver(args, json.dumps(request), cwd)
    try:
        output: dict[str, Any] = json.loads(raw)
    except json.JSONDecodeError:
        raise CompileFailed(f"solc returned no JSON output: {raw[:200]!r}") from None
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        messages = tuple(
            str(e.get("formattedMessage") or e.get("message", "")).strip() for e in errors
        )
        first = str(errors[0].get("message", "compilation failed"))
        raise CompileFailed(f"{unit}: {first}", messages)
    version = solc_version()
    ast = output.get("sources", {}).get(unit, {}).get("ast")
    contracts: list[CompiledContract] = []
    for contract_name, body in sorted(output.get("contracts", {}).get(unit, {}).items()):
        evm = body.get("evm", {})
        creation = _hex_code(evm.get("bytecode", {}).get("object", ""), contract_name)
        if not creation:
            continue
        contracts.append(
            CompiledContract(
                name=contract_name,
                language=Language.SOLIDITY,
                compiler_version=version,
                settings=solc_settings(),
                source_name=unit,
                source=data,
                source_hash=hashlib.sha256(data).digest(),
                abi=body.get("abi", []),
                bytecode=creation,
                runtime_bytecode=_hex_code(
                    evm.get("deployedBytecode", {}).get("object", ""), contract_name
                ),
                ast=ast,
            )
        )
    return contracts


# -------------------------------------------------------------------- Vyper


def vyper_version() -> str:
    """Version of the installed Vyper compiler (``0.4.3+commit.…``)."""
    import vyper  # type: ignore[import-untyped]

    return str(vyper.__long_version__)


def vyper_settings() -> dict[str, Any]:
    """The recorded Vyper settings (optimisation, EVM version)."""
    return {"optimize": "gas", "evmVersion": EVM_VERSION}


def compile_vyper(
    source: Path | str | bytes, *, name: str = "Contract.vy"
) -> list[CompiledContract]:
    """Compile one Vyper module; the contract is named after the file's stem.

    Parameters:
        source: a :class:`~pathlib.Path` to a ``.vy`` file, or the source text/bytes.
        name: the unit name used for source text (ignored for a path).

    Returns:
        A one-element list (a Vyper file is one contract).

    Raises:
        SourceUnreadable: the file cannot be read or is not UTF-8.
        CompileFailed: Vyper rejected the source.
    """
    import vyper
    from vyper.compiler.settings import (  # type: ignore[import-untyped]
        OptimizationLevel,
        Settings,
    )
    from vyper.exceptions import VyperException  # type: ignore[import-untyped]

    data, unit, _ = _read_source(source, name)
    text = _text(data, unit)
    settings = Settings(evm_version=EVM_VERSION, optimize=OptimizationLevel.GAS)
    try:
        out = vyper.compile_code(
            text,
            contract_path=unit,
            output_formats=["abi", "bytecode", "bytecode_runtime", "ast_dict"],
            settings=settings,
        )
    except VyperException as exc:
        detail = str(exc).strip()
        first = f"line {exc.lineno}: {exc.message}" if exc.lineno else str(exc.message)
        raise CompileFailed(f"{unit}: {type(exc).__name__}: {first}", (detail,)) from None
    return [
        CompiledContract(
            name=Path(unit).stem,
            language=Language.VYPER,
            compiler_version=vyper_version(),
            settings=vyper_settings(),
            source_name=unit,
            source=data,
            source_hash=hashlib.sha256(data).digest(),
            abi=list(out["abi"]),
            bytecode=bytes.fromhex(str(out["bytecode"]).removeprefix("0x")),
            runtime_bytecode=bytes.fromhex(str(out["bytecode_runtime"]).removeprefix("0x")),
            ast=out["ast_dict"].get("ast"),
        )
    ]
