"""The GenericTicketConnectorSOAP wire protocol: SOAP 1.1 envelopes, sessions, typed errors.

Envelopes are built with the hardened XML helpers (never by string concatenation) and answers
parsed with them. Znuny reports failures with HTTP 200 and an ``<Error>`` inside the response
element; they become typed errors here: ``*.AuthFail`` → :class:`AuthError` (after one fresh
session, as sessions expire), everything else → :class:`RemoteError` with Znuny's code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from adapters._formats import xml
from adapters._http import HttpSettings, build_client, request
from app.domain import AuthError, DecodeError, ErrorContext, RemoteError

NS = "http://www.otrs.org/TicketConnector/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
PATH = "/otrs/nph-genericinterface.pl/Webservice/{webservice}"

Fields = Sequence[tuple[str, Any]]
"""Request parameters in order; a value may be a string, a number or nested ``Fields``."""


def q(name: str) -> str:
    """``name`` in the TicketConnector namespace (Clark notation)."""
    return f"{{{NS}}}{name}"


def _fill(parent: xml.Element, fields: Fields) -> None:
    for name, value in fields:
        if isinstance(value, list | tuple):
            _fill(xml.subelement(parent, q(name)), value)
        else:
            xml.subelement(parent, q(name), str(value))


def build_envelope(operation: str, fields: Fields) -> bytes:
    """A SOAP 1.1 request envelope for ``operation`` with ``fields`` (UTF-8)."""
    root = xml.element(f"{{{SOAP}}}Envelope")
    xml.subelement(root, f"{{{SOAP}}}Header")
    body = xml.subelement(root, f"{{{SOAP}}}Body")
    _fill(xml.subelement(body, q(operation)), fields)
    return xml.serialize(root)


def find(node: xml.Element, name: str) -> xml.Element | None:
    """The child ``name`` in the TicketConnector namespace (or without one)."""
    found = node.find(q(name))
    return found if found is not None else node.find(name)


def text(node: xml.Element, name: str, *, strip: bool = True) -> str:
    """Text of the child ``name`` (namespaced or not); empty when absent."""
    found = find(node, name)
    if found is None or found.text is None:
        return ""
    return str(found.text).strip() if strip else str(found.text)


def every(node: xml.Element, name: str) -> list[xml.Element]:
    """All children ``name`` (namespaced or not), in document order."""
    return [*xml.children(node, q(name)), *xml.children(node, name)]


def operation_of(answer: xml.Element) -> str:
    """``TicketGet`` for a ``<TicketGetResponse>`` element."""
    name = xml.tag(answer).rpartition("}")[2]
    return name.removesuffix("Response")


def parse_answer(data: bytes, charset: str | None, operation: str | None, ctx: ErrorContext) -> Any:
    """The ``<OperationResponse>`` element; raises the typed error an ``<Error>`` carries.

    ``operation`` None: any operation's answer (a saved one); ``operation_of`` names it.
    """
    root = xml.parse_xml(data, declared_charset=charset, context=ctx, ids=False)
    body = root.find(f"{{{SOAP}}}Body")
    what = f"the {operation} answer" if operation else "the answer"
    if body is None or len(body) == 0:
        raise DecodeError(f"{what} has no SOAP Body", ctx)
    answer = body[0]
    if xml.tag(answer) == f"{{{SOAP}}}Fault":
        reason = xml.findtext(answer, "faultstring", "SOAP fault")
        raise RemoteError(f"Znuny answered {operation or 'it'} with a SOAP fault: {reason}", ctx)
    operation = operation or operation_of(answer)
    error = find(answer, "Error")
    if error is not None:
        code = text(error, "ErrorCode") or f"{operation}.Error"
        message = text(error, "ErrorMessage") or code
        details = {"znuny_code": code}
        if code.endswith(".AuthFail") or code.endswith(".InvalidSessionID"):
            raise AuthError(f"Znuny refused the login: {message} ({code})", ctx, details=details)
        raise RemoteError(f"Znuny: {message} ({code})", ctx, details=details)
    return answer


class ZnunyClient:
    """One Znuny web service over HTTP; keeps one SessionID, renewed when it expires."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: Callable[[], str],
        *,
        webservice: str,
        system: str,
        http: HttpSettings | None = None,
    ) -> None:
        self.system = system
        self.username = username
        self._password = password
        self.path = PATH.format(webservice=webservice)
        self.http = http or HttpSettings()
        self._client = build_client(
            base_url, settings=self.http, headers={"Content-Type": "text/xml; charset=UTF-8"}
        )
        self._session: str | None = None
        self._session_lock = asyncio.Lock()
        self.sessions_created = 0

    def ctx(self, stream: str, record_id: str | None = None) -> ErrorContext:
        """Error context naming this system."""
        return ErrorContext(system=self.system, stream=stream, record_id=record_id)

    async def _post(self, operation: str, fields: Fields, ctx: ErrorContext, *, retry: bool) -> Any:
        response = await request(
            self._client,
            "POST",
            self.path,
            context=ctx,
            settings=self.http,
            retry=retry,
            content=build_envelope(operation, fields),
            headers={"SOAPAction": f'"{NS}{operation}"'},
        )
        return await asyncio.to_thread(
            parse_answer, response.content, response.charset_encoding, operation, ctx
        )

    async def _session_id(self, stale: str | None = None) -> str:
        async with self._session_lock:
            if self._session is None or self._session == stale:
                answer = await self._post(
                    "SessionCreate",
                    [("UserLogin", self.username), ("Password", self._password())],
                    self.ctx("session"),
                    retry=True,
                )
                session = text(answer, "SessionID")
                if not session:
                    raise DecodeError(
                        "SessionCreate answered without a SessionID", self.ctx("session")
                    )
                self._session = session
                self.sessions_created += 1
            return self._session

    async def call(
        self, operation: str, fields: Fields, ctx: ErrorContext, *, retry: bool = True
    ) -> Any:
        """``operation`` with the session; one new session when Znuny says AuthFail."""
        session = await self._session_id()
        try:
            return await self._post(operation, [("SessionID", session), *fields], ctx, retry=retry)
        except AuthError:
            session = await self._session_id(stale=session)  # expired: log in again, once
            return await self._post(operation, [("SessionID", session), *fields], ctx, retry=retry)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
