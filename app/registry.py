"""Discovers adapters through the ``tabless.adapters`` entry points and builds instances.

The UI learns about adapters only here (names, manifests, capabilities), never by import.
"""

from __future__ import annotations

import functools
import logging
from functools import cache
from importlib.metadata import entry_points

from app.config import SystemEntry
from app.contract import (
    SAVED_PART,
    ActionKind,
    ActionOutcome,
    ActionRequest,
    Adapter,
    AdapterContext,
    Capability,
    CheckResult,
    ConfigField,
    Manifest,
    OutgoingFile,
    PullResult,
)
from app.domain import ConfigError, ErrorContext
from app.secrets import SecretStore

GROUP = "tabless.adapters"
log = logging.getLogger(__name__)

__all__ = [
    "SAVED_PART",
    "ActionKind",
    "ActionOutcome",
    "ActionRequest",
    "Adapter",
    "AdapterContext",
    "Capability",
    "CheckResult",
    "ConfigField",
    "Manifest",
    "OutgoingFile",
    "PullResult",
    "adapter_classes",
    "broken_adapters",
    "build_adapter",
    "manifest_of",
]


_broken: dict[str, str] = {}


@cache
def adapter_classes() -> dict[str, type[Adapter]]:
    """Every installed adapter class by name, validated against its manifest.

    An entry point that fails to load or validate is left out and reported by
    :func:`broken_adapters` (and ``tabless doctor``); it never stops the others.
    """
    found: dict[str, type[Adapter]] = {}
    for point in entry_points(group=GROUP):
        try:
            cls = point.load()
        except Exception as exc:  # a company's broken plugin must not take the app down
            log.error("adapter %s (%s) cannot be loaded: %s", point.name, point.value, exc)
            _broken[point.name] = f"cannot be loaded: {type(exc).__name__}: {exc}"
            continue
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):
            _broken[point.name] = f"entry point {point.value} is not an Adapter subclass"
            continue
        if cls.manifest.name != point.name:
            _broken[point.name] = (
                f"declares name {cls.manifest.name!r} but is registered as {point.name!r}"
            )
            continue
        found[point.name] = cls
    return found


def broken_adapters() -> dict[str, str]:
    """Adapters that are registered but unusable, with the reason."""
    adapter_classes()
    return dict(_broken)


def manifest_of(adapter_name: str) -> Manifest:
    """The manifest of an installed adapter."""
    try:
        return adapter_classes()[adapter_name].manifest
    except KeyError:
        raise ConfigError(
            f"no adapter named {adapter_name!r} is installed "
            f"(installed: {', '.join(sorted(adapter_classes()))})",
        ) from None


def build_adapter(entry: SystemEntry, secrets: SecretStore) -> Adapter:
    """An adapter instance for a configured system; checks required settings first."""
    cls = adapter_classes().get(entry.adapter)
    if cls is None:
        manifest_of(entry.adapter)  # raises the readable error
        raise AssertionError
    for field in cls.manifest.config:
        if field.secret or not field.required or field.default is not None:
            continue
        if field.key not in entry.settings:
            raise ConfigError(
                f"system {entry.id!r} lacks the setting {field.key!r}",
                ErrorContext(system=entry.id, field=field.key),
            )
    for field in cls.manifest.config:
        if field.secret and field.key in entry.settings:
            raise ConfigError(
                f"system {entry.id!r} has its secret {field.key!r} in a configuration file; "
                "secrets belong in the OS keyring (`tabless secret set`)",
                ErrorContext(system=entry.id, field=field.key),
            )
    settings = {f.key: f.default for f in cls.manifest.config if not f.secret}
    settings.update(entry.settings)
    context = AdapterContext(
        system_id=entry.id,
        settings=settings,
        secret=secrets.getter(entry.id),
        naive_zone=entry.naive_zone,
        store_secret=functools.partial(secrets.set, entry.id),
    )
    return cls(context)
