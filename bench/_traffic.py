"""An ASGI wrapper counting requests and bytes (headers and bodies, both ways) per path prefix."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Traffic:
    """Counts what crosses the wire of ``app``; ``prefix_of`` groups paths for the report."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.prefixes = prefixes
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()

    def _group(self, path: str) -> str:
        return next((p for p in self.prefixes if path.startswith(p)), "other")

    def reset(self) -> None:
        """Start counting from zero."""
        self.requests.clear()
        self.bytes.clear()

    def total(self) -> tuple[int, int]:
        """(requests, bytes) over every path."""
        return sum(self.requests.values()), sum(self.bytes.values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        group = self._group(scope["path"])
        self.requests[group] += 1
        self.bytes[group] += (
            len(scope["path"])
            + len(scope.get("query_string", b""))
            + sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        )

        async def counting_receive() -> Message:
            message = await receive()
            self.bytes[group] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: Any = message.get("headers", [])
                self.bytes[group] += 16 + sum(len(k) + len(v) + 4 for k, v in headers)
            elif message["type"] == "http.response.body":
                self.bytes[group] += len(message.get("body", b""))
            await send(message)

        await self.app(scope, counting_receive, counting_send)
