"""The shared HTTP machinery over real HTTP(S) on 127.0.0.1: error excerpts, the remote's own
explanation, network reasons, TLS verification (on by default; a CA bundle path honoured)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from adapters._http import (
    BODY_EXCERPT_CHARS,
    HttpSettings,
    build_client,
    http2_available,
    network_reason,
    request,
)
from app.domain import (
    AuthError,
    DecodeError,
    ErrorContext,
    RemoteError,
    TablessError,
    UnreachableError,
)
from sandbox.server import free_socket

CTX = ErrorContext(system="demo", stream="tickets")
FAST = HttpSettings(retries=0, read_timeout=0.3)


async def _json_404(request: Request) -> Response:
    return JSONResponse({"error": "RecordNotFound", "description": "Not found"}, 404)


async def _nested_422(request: Request) -> Response:
    return JSONResponse({"error": {"code": "invalid", "message": "status is not allowed"}}, 422)


async def _gbk_xml_500(request: Request) -> Response:
    body = (
        '<?xml version="1.0" encoding="GBK"?>\n'
        "<error><code>500</code><message>数据库繁忙</message></error>"
    )
    return Response(body.encode("gbk"), 500, media_type="text/xml; charset=GBK")


async def _long_401(request: Request) -> Response:
    return PlainTextResponse("x" * 5000, 401, headers={"Set-Cookie": "session=very-secret"})


async def _html_502(request: Request) -> Response:
    return Response("<html><body><h1>Bad gateway</h1></body></html>", 502, media_type="text/html")


async def _slow(request: Request) -> Response:
    await asyncio.sleep(1.5)
    return PlainTextResponse("late")


async def _ok(request: Request) -> Response:
    return PlainTextResponse("hello")


async def _big(request: Request) -> Response:
    return PlainTextResponse("x" * 5000)  # with Content-Length


async def _big_stream(request: Request) -> Response:
    sent: list[int] = []

    async def chunks() -> Any:
        for _ in range(1000):  # 1,000 KB without Content-Length: refused after ~5 KB
            sent.append(1)
            yield b"y" * 1024

    return StreamingResponse(chunks(), media_type="application/json")


APP = Starlette(
    routes=[
        Route("/json404", _json_404),
        Route("/nested422", _nested_422),
        Route("/xml500", _gbk_xml_500),
        Route("/long401", _long_401),
        Route("/html502", _html_502),
        Route("/slow", _slow),
        Route("/ok", _ok),
        Route("/big", _big),
        Route("/bigstream", _big_stream),
    ]
)


def fail(url: str, path: str, settings: HttpSettings = FAST) -> TablessError:
    async def main() -> TablessError:
        async with build_client(url, settings=settings) as client:
            try:
                await request(client, "GET", path, context=CTX, settings=settings)
            except TablessError as exc:
                return exc
        raise AssertionError(f"GET {path} did not fail")

    return asyncio.run(main())


def test_json_error_fields_reach_the_message_and_the_body_is_kept(serve: Any) -> None:
    url = serve(APP)
    error = fail(url, "/json404")
    assert isinstance(error, RemoteError) and error.status_code == 404
    assert error.message == "404 — the system answered with an error: RecordNotFound: Not found"
    assert error.details["body"] == '{"error":"RecordNotFound","description":"Not found"}'
    nested = fail(url, "/nested422")
    assert nested.message.endswith(": status is not allowed")


def test_xml_error_message_is_read_in_its_own_encoding(serve: Any) -> None:
    error = fail(serve(APP), "/xml500")
    assert isinstance(error, RemoteError) and error.status_code == 500
    assert error.message == "500 — the system answered with an error: 数据库繁忙"


def test_the_body_excerpt_is_short_and_never_holds_headers(serve: Any) -> None:
    url = serve(APP)
    error = fail(url, "/long401")
    assert isinstance(error, AuthError)
    assert error.message == "401 — the credentials were rejected"  # plain text: no fields
    assert len(error.details["body"]) == BODY_EXCERPT_CHARS
    assert "very-secret" not in repr(error.details) and "very-secret" not in str(error)
    html = fail(url, "/html502")
    assert html.message == "502 — the system answered with an error"
    assert "Bad gateway" in html.details["body"]


def test_network_reasons_are_words(serve: Any) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    refused = fail(closed, "/ok")
    assert isinstance(refused, UnreachableError)
    assert refused.message == "the system is unreachable: connection refused"
    assert refused.details["reason"] == "connection refused"
    slow = fail(serve(APP), "/slow")
    assert isinstance(slow, UnreachableError) and slow.details["reason"] == "timed out"
    dns = httpx.ConnectError("lookup failed")
    dns.__cause__ = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert network_reason(dns) == "host not found"


# --- TLS ----------------------------------------------------------------------------------


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tabless test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """HTTPS on 127.0.0.1 with a certificate from a private CA: (url, CA bundle path)."""
    ca, cert, key = _certificates(tmp_path)
    sock = free_socket()
    config = uvicorn.Config(APP, log_level="warning", ssl_certfile=str(cert), ssl_keyfile=str(key))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    ready = threading.Event()
    while not server.started and thread.is_alive():
        ready.wait(0.01)
    yield f"https://127.0.0.1:{sock.getsockname()[1]}", ca
    server.should_exit = True
    thread.join(timeout=10)


def get(url: str, settings: HttpSettings) -> httpx.Response:
    async def main() -> httpx.Response:
        async with build_client(url, settings=settings) as client:
            return await request(client, "GET", "/ok", context=CTX, settings=settings)

    return asyncio.run(main())


def test_tls_is_verified_by_default(tls_server: tuple[str, Path]) -> None:
    url, _ca = tls_server
    assert HttpSettings().verify is True
    with pytest.raises(UnreachableError) as caught:
        get(url, HttpSettings(retries=0))
    assert caught.value.details["reason"] == "TLS certificate verify failed"
    assert caught.value.message == "the system is unreachable: TLS certificate verify failed"
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert any(isinstance(c, ssl.SSLCertVerificationError) for c in _chain(caught.value))


def test_a_ca_bundle_path_is_honoured_and_http2_is_offered(tls_server: tuple[str, Path]) -> None:
    url, ca = tls_server
    response = get(url, HttpSettings(retries=0, verify=str(ca)))
    assert response.status_code == 200 and response.text == "hello"
    assert http2_available()  # offered through ALPN; uvicorn answers in HTTP/1.1
    assert response.http_version == "HTTP/1.1"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def test_answers_over_the_size_limit_are_refused_while_streaming(serve: Any) -> None:
    url = serve(APP)
    small = HttpSettings(retries=0, max_response_bytes=4096)
    declared = fail(url, "/big", small)
    streamed = fail(url, "/bigstream", small)
    for error in (declared, streamed):
        assert isinstance(error, DecodeError)
        assert "larger than the limit of 4,096 bytes" in error.message
        assert error.context.system == "demo" and error.context.stream == "tickets"
    assert "5,000 bytes" in declared.message  # refused from Content-Length, unread

    async def within() -> str:
        async with build_client(url, settings=small) as client:
            response = await request(client, "GET", "/ok", context=CTX, settings=small)
            return response.text

    assert asyncio.run(within()) == "hello"  # smaller answers are read as usual


def test_a_read_answer_is_freed_without_waiting_for_the_garbage_collector(serve: Any) -> None:
    """httpx's stream wrapper points back at its response; ``request`` drops that cycle, so a
    page's body goes when the adapter drops it — not in a collection that frees many pages at
    once while the event loop waits."""
    import gc
    import weakref

    url = serve(APP)

    async def fetch() -> tuple[weakref.ref[httpx.Response], str]:
        async with build_client(url) as client:
            response = await request(client, "GET", "/ok", context=CTX)
            return weakref.ref(response), response.text

    gc.disable()
    try:
        gone, text = asyncio.run(fetch())
        assert text == "hello"
        assert gone() is None  # freed by reference counting alone
    finally:
        gc.enable()
