"""The schema of a mapping file, as pydantic models (strict types, unknown keys refused).

Every model forbids unknown keys and coerces nothing (a string where a number belongs is an
error). Record paths are checked against the file's ``source.format`` through the validation
context (``{"format": "json" | "xml" | "csv"}``): JSONPath for JSON, XPath for XML, a column
name for CSV. :mod:`adapters.declarative.loader` turns validation errors into ``ConfigError``
naming the file, line and key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from adapters.declarative.select import check_selector
from app.domain import ConfigError
from app.timeutil import zone

__all__ = ["AUTH_KINDS", "PAGINATION_STYLES", "ActionEndpoint", "Auth", "Pagination", "Spec"]

StatusName = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
PriorityName = Literal["low", "normal", "high", "urgent"]
KindName = Literal["reply", "note", "event"]
Scalar = str | int | float | bool


def _selector(value: str, info: ValidationInfo) -> str:
    context = info.context if isinstance(info.context, dict) else {}
    problem = check_selector(value, str(context.get("format", "json")))
    if problem:
        raise ValueError(problem)
    return value


def _time_format(value: str) -> str:
    if value in ("iso", "epoch_s", "epoch_ms") or "%" in value:
        return value
    raise ValueError(
        f"{value!r} is not a timestamp format: use iso, epoch_s, epoch_ms or a strptime "
        "format such as '%Y-%m-%d %H:%M:%S'"
    )


def _zone(value: str) -> str:
    try:
        zone(value)
    except ConfigError as exc:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from exc
    return value


def _path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} must start with '/' (it is relative to source.base_url)")
    return value


Selector = Annotated[str, AfterValidator(_selector)]
TimeFormat = Annotated[str, AfterValidator(_time_format)]
ZoneName = Annotated[str, AfterValidator(_zone)]
UrlPath = Annotated[str, AfterValidator(_path)]
Name = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- source and auth --------------------------------------------------------------------------


class Source(_Model):
    """``[source]``: what the system is and how its payloads are written."""

    title: Name = "In-house system"
    base_url: str | None = None
    format: Literal["json", "xml", "csv"] = "json"
    charset: str | None = None
    csv_delimiter: str | None = None


class NoAuth(_Model):
    kind: Literal["none"]


class BasicAuth(_Model):
    kind: Literal["basic"]
    username: Name
    secret: Name = "password"  # noqa: S105 - the name of a keyring entry


class ApiKeyAuth(_Model):
    """An API key sent in a header (``header = "X-Api-Key"``) or a query parameter."""

    kind: Literal["api_key"]
    secret: Name = "api_key"  # noqa: S105 - the name of a keyring entry
    header: Name | None = None
    query: Name | None = None
    prefix: str = ""


class BearerAuth(_Model):
    kind: Literal["bearer"]
    secret: Name = "token"  # noqa: S105 - the name of a keyring entry


class JwtAuth(_Model):
    kind: Literal["jwt"]
    secret: Name = "jwt_key"  # noqa: S105 - the name of a keyring entry
    issuer: Name
    audience: str | None = None
    subject: str | None = None
    algorithm: Literal["HS256", "RS256"] = "HS256"
    lifetime_s: Annotated[float, Field(gt=30)] = 300.0


class OAuth2Auth(_Model):
    kind: Literal["oauth2"]
    token_url: Name
    client_id: Name
    secret: Name = "client_secret"  # noqa: S105 - the name of a keyring entry
    scope: str | None = None


class OAuth2CodeAuth(_Model):
    """OAuth2 authorization code + PKCE: signed in through the browser (``tabless adapter
    login``); the tokens live in the keyring. ``secret`` names a confidential client's secret."""

    kind: Literal["oauth2_code"]
    authorize_url: Name
    token_url: Name
    client_id: Name
    scope: str | None = None
    secret: Name | None = None


Auth = Annotated[
    NoAuth | BasicAuth | ApiKeyAuth | BearerAuth | JwtAuth | OAuth2Auth | OAuth2CodeAuth,
    Field(discriminator="kind"),
]
AUTH_KINDS = ("none", "basic", "api_key", "bearer", "jwt", "oauth2", "oauth2_code")


# --- pagination -------------------------------------------------------------------------------


class NoPagination(_Model):
    style: Literal["none"]


class PagePagination(_Model):
    style: Literal["page"]
    param: Name = "page"
    start: int = 1
    size_param: str | None = None
    size: Annotated[int, Field(gt=0)] | None = None


class OffsetPagination(_Model):
    style: Literal["offset"]
    param: Name = "offset"
    size_param: str | None = None
    size: Annotated[int, Field(gt=0)] | None = None


class CursorPagination(_Model):
    style: Literal["cursor"]
    param: Name = "cursor"
    cursor: Selector
    size_param: str | None = None
    size: Annotated[int, Field(gt=0)] | None = None


class NextLinkPagination(_Model):
    style: Literal["next_link"]
    next: Selector
    size_param: str | None = None
    size: Annotated[int, Field(gt=0)] | None = None


class LinkHeaderPagination(_Model):
    style: Literal["link_header"]
    size_param: str | None = None
    size: Annotated[int, Field(gt=0)] | None = None


Pagination = Annotated[
    NoPagination
    | PagePagination
    | OffsetPagination
    | CursorPagination
    | NextLinkPagination
    | LinkHeaderPagination,
    Field(discriminator="style"),
]
PAGINATION_STYLES = ("none", "page", "offset", "cursor", "next_link", "link_header")


# --- endpoints --------------------------------------------------------------------------------


class Incremental(_Model):
    """How a pull asks only for what changed: ``param`` = the bookmark in ``format``/``zone``."""

    param: Name
    field: Literal["updated_at", "created_at"] = "updated_at"
    format: TimeFormat = "iso"
    zone: ZoneName = "UTC"
    lookback_s: Annotated[int, Field(ge=0)] = 0


class ListEndpoint(_Model):
    """``conditional``: revalidate the first page with the ETag / Last-Modified last seen."""

    path: UrlPath
    records: Selector | None = None
    params: dict[str, Scalar] = {}
    pagination: Pagination = NoPagination(style="none")
    incremental: Incremental | None = None
    conditional: bool = False


class DetailEndpoint(_Model):
    path: UrlPath
    record: Selector | None = None


class MessagesEndpoint(_Model):
    """Messages from their own endpoint (``path``) or inside the ticket record (no ``path``)."""

    path: UrlPath | None = None
    records: Selector | None = None
    params: dict[str, Scalar] = {}
    pagination: Pagination = NoPagination(style="none")


class ActionEndpoint(_Model):
    """A write: ``{body}``, ``{status}``, ``{id}`` in ``path`` and ``body`` values are filled in."""

    method: Literal["POST", "PUT", "PATCH"] = "POST"
    path: UrlPath
    encoding: Literal["json", "form"] = "json"
    body: dict[str, Any] = {}
    result_id: Selector | None = None
    idempotency_header: str | None = None


class StatusEndpoint(ActionEndpoint):
    """``values``: unified status -> native value sent (default: ``[status.values]`` reversed)."""

    values: dict[StatusName, Name] = {}


class Endpoints(_Model):
    list_: ListEndpoint = Field(alias="list")
    detail: DetailEndpoint | None = None
    messages: MessagesEndpoint | None = None
    reply: ActionEndpoint | None = None
    note: ActionEndpoint | None = None
    status: StatusEndpoint | None = None


class Push(_Model):
    """``[push]``: a change channel (``sse``, ``long_poll`` or ``websocket``) at ``path``.

    Long-poll asks ``path?{param}=<version>`` and reads ``version_key`` (a top-level JSON key)
    from the answer; SSE signals on ``event`` (any event when unset).
    """

    kind: Literal["sse", "long_poll", "websocket"]
    path: UrlPath
    event: Name | None = None
    param: Name = "after"
    version_key: Name = "version"
    wait_s: Annotated[float, Field(gt=0, le=300)] = 25.0


# --- field mappings ---------------------------------------------------------------------------


class PersonFields(_Model):
    name: Selector | None = None
    email: Selector | None = None
    phone: Selector | None = None
    external_id: Selector | None = None


class ExtraField(_Model):
    """``[[ticket.extra]]``: a system-specific fact shown with the ticket."""

    name: Name
    path: Selector


class TicketFields(_Model):
    id: Selector
    subject: Selector
    status: Selector
    created_at: Selector
    updated_at: Selector
    priority: Selector | None = None
    queue: Selector | None = None
    tags: Selector | None = None
    tags_separator: str = ","
    deleted: Selector | None = None
    requester: PersonFields | None = None
    assignee: PersonFields | None = None
    extra: list[ExtraField] = []


class MessageFields(_Model):
    """A message is a note when ``internal`` is truthy (or ``public`` falsy), or by ``kind``
    through ``kinds``; with none of the three every message is a public reply."""

    id: Selector
    body: Selector
    created_at: Selector
    public: Selector | None = None
    internal: Selector | None = None
    kind: Selector | None = None
    kinds: dict[str, KindName] = {}
    author: PersonFields | None = None


class StatusMap(_Model):
    values: dict[str, StatusName]
    default: StatusName | None = None


class PriorityMap(_Model):
    values: dict[str, PriorityName]
    default: PriorityName | None = None


class Timestamps(_Model):
    """How timestamps are written; ``zone`` reads naive ones (default: the system's zone)."""

    format: TimeFormat = "iso"
    zone: ZoneName | None = None


class Spec(_Model):
    """A whole mapping file."""

    version: Literal[1]
    source: Source = Source()
    auth: Auth = NoAuth(kind="none")
    endpoints: Endpoints
    push: Push | None = None
    ticket: TicketFields
    message: MessageFields | None = None
    status: StatusMap
    priority: PriorityMap | None = None
    timestamps: Timestamps = Timestamps()
