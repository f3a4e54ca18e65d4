"""The event names an endpoint may subscribe to: each face registers its own at install time.

The endpoint API checks subscriptions against this registry, so it knows every face's events
without importing any face.
"""

from __future__ import annotations

from collections.abc import Iterable

_KNOWN: set[str] = set()


def register(names: Iterable[str]) -> None:
    """Add a face's event names (again changes nothing)."""
    _KNOWN.update(names)


def known() -> frozenset[str]:
    """Every registered event name."""
    return frozenset(_KNOWN)
