"""Stand-in for the in-house quality-inspection service (Python, JSON REST, JWT bearer).

The service keeps *inspections*: QA review cases about support conversations. This module serves
the same API in the style of a FastAPI application, with fault injection, for the demo, the tests
and the benchmarks.

Authentication
--------------
Every ``/api/v1`` call carries ``Authorization: Bearer <JWT>``. The CLIENT signs the token with
the shared key (HS256); the service verifies it with PyJWT. Claims:

- ``iss`` (required) must equal the configured client id;
- ``iat`` and ``exp`` (required); ``exp - iat`` may not exceed ``max_token_lifetime_s`` (300 s
  unless configured lower);
- ``aud`` (optional) must be ``"quality-api"`` when present; ``nbf``, ``sub``, ``jti`` optional.

A rejected token answers ``401`` with a FastAPI-style body ``{"detail": "...", "code": "..."}``
and ``WWW-Authenticate: Bearer error="invalid_token"``. Codes: ``missing_token`` (no or non-bearer
header), ``bad_signature`` (wrong key), ``token_expired``, ``token_too_long`` (lifetime above the
limit), ``invalid_issuer`` (unknown client id), ``invalid_audience``, ``invalid_token`` (malformed,
wrong algorithm, claim missing, not yet valid).

Endpoints
---------
``GET /api/v1/me``
    ``{"client_id", "client_name", "token_expires_at", "server_time", "api_version"}``.

``GET /api/v1/inspections?updated_after=<ISO-8601>&after_id=<id>&limit=<n>``
    Keyset pagination ordered by ``(updated_at, id)``. Without ``updated_after`` the listing
    starts at the beginning. With ``updated_after`` and ``after_id`` it returns items whose
    ``(updated_at, id)`` is greater than the pair; with ``updated_after`` alone, items updated
    strictly after it (a value without offset is read as UTC). ``limit`` 1–200, default 50.
    Answer: ``{"items": [<inspection>...], "next": {"updated_after", "after_id"} | null}``;
    ``next`` is null exactly when no item follows the page. Deleted inspections stay listed as
    tombstones (``"deleted": true``) so that syncs learn about them. Every change gives the
    inspection an ``updated_at`` strictly greater than any before (microsecond precision), so a
    keyset position never skips a later change.

``GET /api/v1/inspections/{id}``
    One inspection (also a tombstone); ``404 {"detail": ...}`` when it never existed.

``POST /api/v1/inspections/{id}/notes`` ``{"body": str, "visibility": "internal" | "agent"}``
    Adds a review note (``visibility`` defaults to ``"internal"``; ``"agent"`` shares it with the
    reviewed agent — nothing here ever reaches the customer). ``201`` with the note. An
    ``Idempotency-Key`` header makes the call safe to repeat: the same key answers ``200`` with
    the same note (header ``Idempotent-Replayed: true``) and adds nothing; the same key with a
    different request answers ``409``.

``PATCH /api/v1/inspections/{id}`` ``{"status"?: str, "score"?: int | null}``
    Changes status and/or score; answers the updated inspection. A bad value answers ``422`` with
    ``{"detail": [{"type", "loc", "msg", "input"}]}`` like FastAPI. Writes to a deleted
    inspection answer ``404``.

Inspection
----------
``{"id": int, "ticket_ref": "ZD-35012", "subject", "status", "score": int | null,
"reviewer": {"id", "name", "email"} | null, "customer": {"id", "name", "email", "phone"},
"tags": [str], "created_at", "updated_at", "deleted": bool, "notes": [<note>...]}``; times are
ISO-8601 with ``+00:00``. Statuses: ``queued`` (waiting for a reviewer), ``in_review``,
``awaiting_agent`` (feedback sent, the reviewed agent must acknowledge), ``accepted`` (passed),
``rejected`` (failed; needs follow-up), ``archived``. A note is
``{"id", "kind": "customer_message" | "review", "author": {"name", "email"}, "body",
"visibility", "created_at"}``; the first note is the original customer message of the inspected
conversation (``kind: "customer_message"``, visibility ``"agent"``).

Test hooks: :meth:`QualityStandIn.update_inspection`, :meth:`~QualityStandIn.add_note`,
:meth:`~QualityStandIn.delete_inspection`, :meth:`~QualityStandIn.corrupt` (malformed JSON for one
record; :meth:`~QualityStandIn.repair` undoes it), :meth:`~QualityStandIn.expire_tokens` (every
token seen so far now counts as expired), ``token_uses`` / ``rejections`` (what auth saw) and
``fail_after_write`` (the next N writes are committed, then answered with 502, as when a gateway
loses the response).
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.dataset import AGENTS, QA_NOTES, TOPICS_EN, TOPICS_ZH, Agent, SeedTicket, by_system
from sandbox.faults import FaultMiddleware, FaultPlan

DEMO_CLIENT_ID = "tabless-desk"
DEMO_JWT_KEY = "demo-quality-shared-key-2f9c1e7a4b6d8053"  # >= 32 bytes: RFC 7518 §3.2
AUDIENCE = "quality-api"
API_VERSION = "1.4.0"
STATUSES = ("queued", "in_review", "awaiting_agent", "accepted", "rejected", "archived")
VISIBILITIES = ("internal", "agent")
MAX_PAGE = 200
DEFAULT_PAGE = 50
PASS_SCORE = 80
# The data set speaks unified statuses; the service has its own.
_SEED_STATUS = {
    "new": "queued",
    "open": "in_review",
    "pending": "awaiting_agent",
    "on_hold": "rejected",
    "solved": "accepted",
    "closed": "archived",
}


@dataclass(slots=True)
class Note:
    id: int
    kind: str  # "customer_message" | "review"
    author_name: str
    author_email: str | None
    body: str
    visibility: str
    created_at: datetime


@dataclass(slots=True)
class Customer:
    id: int
    name: str
    email: str
    phone: str


@dataclass(slots=True)
class Inspection:
    id: int
    ticket_ref: str
    subject: str
    status: str
    score: int | None
    reviewer: Agent | None
    customer: Customer
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    notes: list[Note] = field(default_factory=list)
    deleted: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)  # corrupt() test hook


@dataclass(frozen=True, slots=True)
class _Idempotent:
    inspection_id: int
    body: str
    visibility: str
    note_id: int


class AuthProblem(Exception):
    """A rejected bearer token: ``code`` is the machine-readable reason."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class ValidationProblem(Exception):
    """A FastAPI-style 422: a list of ``{"type", "loc", "msg", "input"}`` errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _invalid(kind: str, loc: list[str | int], msg: str, value: Any) -> ValidationProblem:
    return ValidationProblem([{"type": kind, "loc": loc, "msg": msg, "input": value}])


def _enum_msg(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return "Input should be " + ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


class QualityStandIn:
    """The quality-inspection service over the shared data set's ``quality`` tickets."""

    name = "quality"

    def __init__(
        self,
        tickets: list[SeedTicket],
        *,
        client_id: str = DEMO_CLIENT_ID,
        jwt_key: str = DEMO_JWT_KEY,
        client_name: str = "Tabless workstation",
        max_token_lifetime_s: int = 300,
    ) -> None:
        self.client_id = client_id
        self.jwt_key = jwt_key
        self.client_name = client_name
        self.max_token_lifetime_s = max_token_lifetime_s
        self.fail_after_write = 0
        self.token_uses: dict[str, int] = {}  # jti of every accepted token -> requests
        self.rejections: list[str] = []  # code of every rejected token, in order
        self._expired_ids: set[str] = set()
        self._idempotency: dict[str, _Idempotent] = {}
        self._lock = threading.RLock()
        self.inspections: dict[int, Inspection] = {}
        for seed in by_system(tickets, "quality"):
            inspection = self._from_seed(seed)
            self.inspections[inspection.id] = inspection
        self._next_note_id = 1 + max(
            (n.id for i in self.inspections.values() for n in i.notes), default=700_000
        )
        self._last_stamp = max(
            (i.updated_at for i in self.inspections.values()), default=datetime.now(UTC)
        )
        self.plan = FaultPlan()
        self.app: ASGIApp = FaultMiddleware(self._starlette(), self.plan)

    # -- data ---------------------------------------------------------------------------------

    @staticmethod
    def _from_seed(seed: SeedTicket) -> Inspection:
        status = _SEED_STATUS[seed.status]
        if status in ("accepted", "rejected"):  # a verdict agrees with the score
            score = seed.qa_score or 0
            status = "accepted" if score >= PASS_SCORE else "rejected"
        first = seed.entries[0]
        notes = [
            Note(
                first.id,
                "customer_message",
                first.author_name,
                first.author_email,
                first.body,
                "agent",
                first.created_at,
            )
        ]
        if status != "queued":  # a queued case has not been reviewed yet
            review = seed.entries[-1]
            notes.append(
                Note(
                    review.id,
                    "review",
                    review.author_name,
                    review.author_email,
                    review.body,
                    "internal",
                    review.created_at,
                )
            )
        c = seed.customer
        return Inspection(
            id=seed.id,
            ticket_ref=f"ZD-{35001 + (seed.id * 37) % 140}",
            subject=seed.subject,
            status=status,
            score=None if status == "queued" else seed.qa_score,
            reviewer=seed.assignee if status != "queued" else None,
            customer=Customer(c.id, c.name, c.email, c.phone),
            tags=list(seed.tags),
            created_at=seed.created_at,
            updated_at=notes[-1].created_at if status != "queued" else seed.created_at,
            notes=notes,
        )

    def _stamp(self) -> datetime:
        """A change time strictly after every earlier one."""
        now = datetime.now(UTC)
        if now <= self._last_stamp:
            now = self._last_stamp + timedelta(microseconds=1)
        self._last_stamp = now
        return now

    def _get(self, inspection_id: int, *, writable: bool = False) -> Inspection:
        inspection = self.inspections.get(inspection_id)
        if inspection is None or (writable and inspection.deleted):
            raise HTTPException(404, f"Inspection {inspection_id} not found")
        return inspection

    def serialize(self, inspection: Inspection) -> dict[str, Any]:
        """The wire form of one inspection."""
        r = inspection.reviewer
        c = inspection.customer
        item: dict[str, Any] = {
            "id": inspection.id,
            "ticket_ref": inspection.ticket_ref,
            "subject": inspection.subject,
            "status": inspection.status,
            "score": inspection.score,
            "reviewer": None if r is None else {"id": r.id, "name": r.name, "email": r.email},
            "customer": {"id": c.id, "name": c.name, "email": c.email, "phone": c.phone},
            "tags": list(inspection.tags),
            "created_at": _iso(inspection.created_at),
            "updated_at": _iso(inspection.updated_at),
            "deleted": inspection.deleted,
            "notes": [self._note_json(n) for n in inspection.notes],
        }
        item.update(inspection.overrides)
        return item

    @staticmethod
    def _note_json(note: Note) -> dict[str, Any]:
        return {
            "id": note.id,
            "kind": note.kind,
            "author": {"name": note.author_name, "email": note.author_email},
            "body": note.body,
            "visibility": note.visibility,
            "created_at": _iso(note.created_at),
        }

    # -- test helpers -------------------------------------------------------------------------

    def update_inspection(self, inspection_id: int, **fields: Any) -> None:
        """Change ``subject``, ``status``, ``score``, ``reviewer`` (Agent or None), ``tags``."""
        allowed = {"subject", "status", "score", "reviewer", "tags"}
        if unknown := set(fields) - allowed:
            raise ValueError(f"unknown inspection fields: {sorted(unknown)}")
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"unknown status {fields['status']!r}")
        with self._lock:
            inspection = self._get(inspection_id, writable=True)
            for key, value in fields.items():
                setattr(inspection, key, value)
            inspection.updated_at = self._stamp()

    def add_note(
        self,
        inspection_id: int,
        body: str,
        *,
        author: Agent = AGENTS[3],
        visibility: str = "internal",
    ) -> int:
        """A reviewer adds a note (as a colleague would); returns the note id."""
        with self._lock:
            inspection = self._get(inspection_id, writable=True)
            return self._append_note(inspection, body, visibility, author.name, author.email).id

    def delete_inspection(self, inspection_id: int) -> None:
        """Soft-delete: the inspection stays listed as a tombstone."""
        with self._lock:
            inspection = self._get(inspection_id, writable=True)
            inspection.deleted = True
            inspection.updated_at = self._stamp()

    def corrupt(self, inspection_id: int, **raw: Any) -> None:
        """Serve ``raw`` JSON values for this record (a malformed record), without touching it."""
        with self._lock:
            self._get(inspection_id).overrides.update(raw)

    def repair(self, inspection_id: int) -> None:
        """Serve the record as stored again (undo :meth:`corrupt`)."""
        with self._lock:
            self._get(inspection_id).overrides.clear()

    def expire_tokens(self) -> int:
        """Every token accepted so far is now rejected as expired (as if the clock jumped)."""
        with self._lock:
            self._expired_ids.update(self.token_uses)
            return len(self._expired_ids)

    def notes_of(self, inspection_id: int) -> list[Note]:
        """The notes of one inspection, as stored."""
        with self._lock:
            return list(self._get(inspection_id).notes)

    def _append_note(
        self, inspection: Inspection, body: str, visibility: str, name: str, email: str | None
    ) -> Note:
        stamp = self._stamp()
        note = Note(self._next_note_id, "review", name, email, body, visibility, stamp)
        self._next_note_id += 1
        inspection.notes.append(note)
        inspection.updated_at = stamp
        return note

    # -- demo ---------------------------------------------------------------------------------

    def connection(self, base_url: str) -> dict[str, Any]:
        """What the demo needs to connect the ``quality`` adapter to this stand-in."""
        return {
            "adapter": "quality",
            "title": "Quality inspection",
            "settings": {"base_url": base_url, "client_id": self.client_id},
            "secrets": {"jwt_key": self.jwt_key},
            "naive_zone": "UTC",
        }

    def simulate_activity(self, rng: random.Random) -> None:
        """One realistic change: a review note, a verdict, or a newly queued inspection."""
        with self._lock:
            live = [i for i in self.inspections.values() if not i.deleted]
            reviewing = [i for i in live if i.status in ("queued", "in_review")]
            roll = rng.random()
            if reviewing and roll < 0.45:
                inspection = rng.choice(reviewing)
                reviewer = inspection.reviewer or rng.choice(AGENTS)
                inspection.reviewer, inspection.status = reviewer, "in_review"
                self._append_note(
                    inspection, rng.choice(QA_NOTES), "internal", reviewer.name, reviewer.email
                )
            elif reviewing and roll < 0.8:
                inspection = rng.choice(reviewing)
                reviewer = inspection.reviewer or rng.choice(AGENTS)
                score = rng.randrange(55, 101)
                inspection.reviewer, inspection.score = reviewer, score
                inspection.status = "accepted" if score >= PASS_SCORE else "rejected"
                self._append_note(
                    inspection,
                    f"{rng.choice(QA_NOTES)} (score {score})",
                    "agent",
                    reviewer.name,
                    reviewer.email,
                )
            else:
                self._queue_new(rng, live)

    def _queue_new(self, rng: random.Random, live: list[Inspection]) -> None:
        customer = (
            rng.choice(live).customer
            if live
            else Customer(1001, "王芳", "wang.fang@example.cn", "+86 13800000000")
        )
        subject, body, _reply, tags = rng.choice(TOPICS_ZH + TOPICS_EN)
        order = rng.randrange(100000, 999999)
        new_id = max(self.inspections, default=0) + 1
        stamp = self._stamp()
        note = Note(
            self._next_note_id,
            "customer_message",
            customer.name,
            customer.email,
            body.format(n=order),
            "agent",
            stamp,
        )
        self._next_note_id += 1
        self.inspections[new_id] = Inspection(
            id=new_id,
            ticket_ref=f"ZD-{35001 + (new_id * 37) % 140}",
            subject=f"QA review #{order}: {subject.format(n=order)}",
            status="queued",
            score=None,
            reviewer=None,
            customer=customer,
            tags=list(tags),
            created_at=stamp,
            updated_at=stamp,
            notes=[note],
        )

    # -- auth ---------------------------------------------------------------------------------

    def verify(self, header: str | None) -> dict[str, Any]:
        """The claims of a valid bearer token; raises :class:`AuthProblem`."""
        try:
            claims = self._verify(header)
        except AuthProblem as problem:
            with self._lock:
                self.rejections.append(problem.code)
            raise
        with self._lock:
            jti = str(claims.get("jti", ""))
            self.token_uses[jti] = self.token_uses.get(jti, 0) + 1
        return claims

    def _verify(self, header: str | None) -> dict[str, Any]:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthProblem("missing_token", "Not authenticated")
        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                self.jwt_key,
                algorithms=["HS256"],
                issuer=self.client_id,
                options={"require": ["iss", "iat", "exp"], "verify_aud": False},
                leeway=5,
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthProblem("token_expired", "Token has expired") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthProblem("bad_signature", "Signature verification failed") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthProblem("invalid_issuer", "Unknown client id (iss)") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthProblem("invalid_token", f"Token lacks the {exc.claim!r} claim") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthProblem("invalid_token", f"Invalid token: {exc}") from exc
        audience = claims.get("aud")
        if audience is not None and AUDIENCE not in (
            audience if isinstance(audience, list) else [audience]
        ):
            raise AuthProblem("invalid_audience", f"Token audience must be {AUDIENCE!r}")
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > self.max_token_lifetime_s:
            raise AuthProblem(
                "token_too_long",
                f"Token lifetime {lifetime:.0f} s exceeds the limit of "
                f"{self.max_token_lifetime_s} s",
            )
        with self._lock:
            if str(claims.get("jti", "")) in self._expired_ids:
                raise AuthProblem("token_expired", "Token has expired")
        return claims

    # -- HTTP ---------------------------------------------------------------------------------

    def _starlette(self) -> Starlette:
        routes = [
            Route("/api/v1/me", self._me, methods=["GET"]),
            Route("/api/v1/inspections", self._list, methods=["GET"]),
            Route("/api/v1/inspections/{inspection_id:int}", self._one, methods=["GET"]),
            Route("/api/v1/inspections/{inspection_id:int}", self._patch, methods=["PATCH"]),
            Route(
                "/api/v1/inspections/{inspection_id:int}/notes", self._post_note, methods=["POST"]
            ),
        ]
        return Starlette(
            routes=routes,
            exception_handlers={
                HTTPException: self._http_error,
                AuthProblem: self._auth_error,
                ValidationProblem: self._validation_error,
            },
        )

    @staticmethod
    async def _http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @staticmethod
    async def _auth_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthProblem)
        return JSONResponse(
            {"detail": exc.detail, "code": exc.code},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    @staticmethod
    async def _validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationProblem)
        return JSONResponse({"detail": exc.errors}, status_code=422)

    def _write_answer(self, body: Any, status_code: int, **headers: str) -> Response:
        """The answer of a committed write, or a 502 when a lost response is being simulated."""
        with self._lock:
            if self.fail_after_write > 0:
                self.fail_after_write -= 1
                return JSONResponse({"detail": "Bad gateway"}, status_code=502)
        return JSONResponse(body, status_code=status_code, headers=headers or None)

    async def _me(self, request: Request) -> Response:
        claims = self.verify(request.headers.get("Authorization"))
        return JSONResponse(
            {
                "client_id": claims["iss"],
                "client_name": self.client_name,
                "token_expires_at": _iso(datetime.fromtimestamp(float(claims["exp"]), UTC)),
                "server_time": _iso(datetime.now(UTC)),
                "api_version": API_VERSION,
            }
        )

    async def _list(self, request: Request) -> Response:
        self.verify(request.headers.get("Authorization"))
        query = request.query_params
        limit = self._int_param(query.get("limit"), "limit", 1, MAX_PAGE) or DEFAULT_PAGE
        after_id = self._int_param(query.get("after_id"), "after_id", 0, None)
        after = self._time_param(query.get("updated_after"))
        with self._lock:
            ordered = sorted(self.inspections.values(), key=lambda i: (i.updated_at, i.id))
            if after is not None and after_id is not None:
                ordered = [i for i in ordered if (i.updated_at, i.id) > (after, after_id)]
            elif after is not None:
                ordered = [i for i in ordered if i.updated_at > after]
            page = ordered[: limit + 1]
            items = [self.serialize(i) for i in page[:limit]]
            last = page[limit - 1] if len(page) > limit else None
        next_position = (
            None if last is None else {"updated_after": _iso(last.updated_at), "after_id": last.id}
        )
        return JSONResponse({"items": items, "next": next_position})

    async def _one(self, request: Request) -> Response:
        self.verify(request.headers.get("Authorization"))
        with self._lock:
            return JSONResponse(self.serialize(self._get(request.path_params["inspection_id"])))

    async def _patch(self, request: Request) -> Response:
        self.verify(request.headers.get("Authorization"))
        body = await self._json_body(request)
        changes: dict[str, Any] = {}
        if "status" in body:
            if body["status"] not in STATUSES:
                raise _invalid("enum", ["body", "status"], _enum_msg(STATUSES), body["status"])
            changes["status"] = body["status"]
        if "score" in body:
            score = body["score"]
            if score is not None and (
                isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100
            ):
                raise _invalid(
                    "int_range",
                    ["body", "score"],
                    "Input should be an integer from 0 to 100, or null",
                    score,
                )
            changes["score"] = score
        with self._lock:
            inspection = self._get(request.path_params["inspection_id"], writable=True)
            if changes:
                for key, value in changes.items():
                    setattr(inspection, key, value)
                inspection.updated_at = self._stamp()
            answer = self.serialize(inspection)
        return self._write_answer(answer, 200)

    async def _post_note(self, request: Request) -> Response:
        claims = self.verify(request.headers.get("Authorization"))
        body = await self._json_body(request)
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise _invalid(
                "string_too_short",
                ["body", "body"],
                "String should have at least 1 character",
                text,
            )
        visibility = body.get("visibility", "internal")
        if visibility not in VISIBILITIES:
            raise _invalid("enum", ["body", "visibility"], _enum_msg(VISIBILITIES), visibility)
        key = request.headers.get("Idempotency-Key")
        inspection_id: int = request.path_params["inspection_id"]
        with self._lock:
            inspection = self._get(inspection_id, writable=True)
            seen = self._idempotency.get(key) if key else None
            if seen is not None:
                if (seen.inspection_id, seen.body, seen.visibility) != (
                    inspection_id,
                    text,
                    visibility,
                ):
                    raise HTTPException(409, "Idempotency-Key reused with a different request")
                note = next(n for n in inspection.notes if n.id == seen.note_id)
                return self._write_answer(
                    self._note_json(note), 200, **{"Idempotent-Replayed": "true"}
                )
            author = str(claims.get("sub") or claims["iss"])
            name = self.client_name if author == self.client_id else author
            note = self._append_note(inspection, text, visibility, name, None)
            if key:
                self._idempotency[key] = _Idempotent(inspection_id, text, visibility, note.id)
        return self._write_answer(self._note_json(note), 201)

    @staticmethod
    async def _json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _invalid(
                "json_invalid", ["body", 0], "JSON decode error", raw.decode("utf-8", "replace")
            ) from None
        if not isinstance(body, dict):
            raise _invalid(
                "model_attributes_type",
                ["body"],
                "Input should be a valid dictionary or object",
                body,
            )
        return body

    @staticmethod
    def _int_param(raw: str | None, name: str, low: int, high: int | None) -> int | None:
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            raise _invalid(
                "int_parsing", ["query", name], "Input should be a valid integer", raw
            ) from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise _invalid("int_range", ["query", name], f"Input should be {bound}", raw)
        return value

    @staticmethod
    def _time_param(raw: str | None) -> datetime | None:
        if raw is None:
            return None
        try:
            # a "+" left unencoded in a query string arrives as a space
            moment = datetime.fromisoformat(raw.replace(" ", "+").replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(
                "datetime_from_date_parsing",
                ["query", "updated_after"],
                "Input should be a valid datetime",
                raw,
            ) from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
