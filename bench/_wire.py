"""A minimal HTTP/1.1 load generator for benchmarks: keep-alive connections over asyncio streams.

For measuring a server, not for talking to real systems (the product uses httpx): no TLS, no
redirects, no chunked request bodies, plain ``127.0.0.1``. Each request is written as bytes
built once before the clock starts; a response is read by its ``Content-Length`` or chunks.
Through httpx the same upload cost the generator ~1.9 ms of CPU, here ~0.3 ms: CPU the
server under test, which shares the machine's cores, gets instead.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Reply:
    """A response: status code, body, and the seconds from writing the request to the last
    byte of the response (not counting the wait for a free connection)."""

    status: int
    body: bytes
    seconds: float


def request_bytes(method: str, url: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """The request as it goes on the wire (``url``: absolute, e.g. ``http://127.0.0.1:8/x``)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connections:
    """Up to ``size`` keep-alive connections to ``host:port``; ``send`` waits for a free one."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self._free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None]
        self._free = asyncio.Queue()
        for _ in range(size):
            self._free.put_nowait(None)  # opened on first use

    @classmethod
    def to(cls, url: str, size: int) -> Connections:
        """Connections to the server of ``url``."""
        parts = urlsplit(url)
        assert parts.scheme == "http" and parts.hostname and parts.port, url
        return cls(parts.hostname, parts.port, size)

    async def send(self, raw: bytes) -> Reply:
        """Send one request (:func:`request_bytes`) and read its response."""
        stream = await self._free.get()
        try:
            if stream is None:
                stream = await asyncio.open_connection(self.host, self.port)
            reader, writer = stream
            started = time.perf_counter()
            writer.write(raw)
            status, body, keep = await _read_reply(reader)
            reply = Reply(status, body, time.perf_counter() - started)
        except BaseException:
            if stream is not None:
                stream[1].close()
            self._free.put_nowait(None)
            raise
        if keep:
            self._free.put_nowait(stream)
        else:
            writer.close()
            self._free.put_nowait(None)
        return reply

    async def close(self) -> None:
        """Close every open connection."""
        while not self._free.empty():
            stream = self._free.get_nowait()
            if stream is not None:
                stream[1].close()


async def _read_reply(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection", "").lower() != "close"
