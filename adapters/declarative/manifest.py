"""What the declarative adapter is; an instance's capabilities come from its mapping file."""

from __future__ import annotations

from adapters.base import Capability, ConfigField, Manifest
from adapters.declarative.spec import Spec

NAME = "declarative"
VERSION = "1.0.0"

MANIFEST = Manifest(
    name=NAME,
    version=VERSION,
    title="Mapping file (no code)",
    capabilities=frozenset({Capability.FULL_SYNC}),
    config=(
        ConfigField("mapping", str, title="Mapping file (TOML) describing the system"),
        ConfigField(
            "base_url",
            str,
            title="Address of the system (overrides the mapping file's source.base_url)",
            required=False,
        ),
    ),
)


SECRET_TITLES = {
    "basic": "Password",
    "api_key": "API key",
    "bearer": "Access token",
    "jwt": "JWT signing key",
    "oauth2": "OAuth client secret",
}


def manifest_for(spec: Spec) -> Manifest:
    """The manifest of an instance: reply, note and status only where the file has endpoints."""
    endpoints = spec.endpoints
    capabilities = {Capability.FULL_SYNC}
    if endpoints.list_.incremental is not None:
        capabilities.add(Capability.INCREMENTAL_SYNC)
    if endpoints.reply is not None:
        capabilities.add(Capability.REPLY)
    if endpoints.note is not None:
        capabilities.add(Capability.INTERNAL_NOTE)
    if endpoints.status is not None:
        capabilities.add(Capability.STATUS)
    config = MANIFEST.config
    secret = getattr(spec.auth, "secret", None)  # the keyring entry the file names (forms ask)
    if secret:
        title = SECRET_TITLES.get(spec.auth.kind, "Secret")
        config += (ConfigField(secret, str, title=title, secret=True),)
    return Manifest(
        name=NAME,
        version=VERSION,
        title=spec.source.title,
        capabilities=frozenset(capabilities),
        config=config,
    )
