"""Applications: named bundles of modules that a chain's genesis selects.

An application (post-trade, digital currency, IoT, ...) is a set of native
modules, and the later versions of them its software carries, published by a
Python distribution as an entry point in the group :data:`ENTRY_POINT_GROUP`.
The genesis names the applications a chain runs (``Genesis.applications``),
so every validator runs the same modules; ``consortia.genesis.runtime_for``
resolves the names through :func:`installed_application`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Final

from consortia.execution.module import Module

ENTRY_POINT_GROUP: Final = "consortia.applications"
"""The entry-point group under which a distribution publishes its applications."""


@dataclass(frozen=True, slots=True)
class Application:
    """What one application contributes to a chain's runtime."""

    name: str
    """The name the genesis uses (the entry point's name)."""
    modules: tuple[Module, ...]
    """Its modules at their first version."""
    upgrades: Mapping[tuple[str, str], Module] = field(default_factory=dict)
    """Later versions of its modules this software carries, by (module, version)."""


class ApplicationNotFound(LookupError):
    """No installed distribution publishes the application."""


class BadApplication(TypeError):
    """An entry point loads, but not to an :class:`Application` of its name."""


def installed_application(name: str) -> Application:
    """The application published as entry point ``name`` in :data:`ENTRY_POINT_GROUP`.

    The entry point names an :class:`Application` object (``pkg.module:APPLICATION``).

    Raises:
        ApplicationNotFound: no installed distribution publishes ``name``.
        BadApplication: the entry point fails to load, loads something else, or
            an application whose ``name`` differs from the entry point's.
    """
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise ApplicationNotFound(name)
    point = next(iter(found))
    try:
        loaded = point.load()
    except Exception as exc:  # an import error of the application's own code
        raise BadApplication(f"entry point {point.value!r} does not load: {exc!r}") from None
    if not isinstance(loaded, Application):
        raise BadApplication(f"entry point {point.value!r} is not an Application")
    if loaded.name != name:
        raise BadApplication(f"entry point {point.value!r} names application {loaded.name!r}")
    return loaded


def installed_names() -> list[str]:
    """The names of every application installed in this Python environment, sorted."""
    return sorted({point.name for point in entry_points(group=ENTRY_POINT_GROUP)})
