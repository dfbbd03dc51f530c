"""The adapter contract, for adapters (ours and a company's own packages): see
:mod:`app.contract`, where the core reads it from without importing adapters."""

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
    Drift,
    DriftKind,
    Manifest,
    OutgoingFile,
    PullResult,
)

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
    "Drift",
    "DriftKind",
    "Manifest",
    "OutgoingFile",
    "PullResult",
]
