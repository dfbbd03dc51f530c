"""Fault injection for every stand-in: latency, error statuses, 429 with Retry-After, hangs.

Tests set faults over HTTP (``POST /_sandbox/faults``) or directly on ``FaultPlan``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class FaultPlan:
    """What the next requests suffer. ``fail_next`` statuses are consumed one per request."""

    latency_s: float = 0.0
    fail_next: list[int] = field(default_factory=list)
    retry_after_s: float = 1.0
    hang_next: int = 0  # requests that never answer (the client times out)
    down: bool = False  # every request fails with 503
    requests_seen: int = 0
    path_prefix: str = ""  # faults apply only to paths starting with this

    def update(self, values: dict[str, Any]) -> None:
        """Set fields from a JSON object (unknown keys are ignored)."""
        for key, value in values.items():
            if key in {
                "latency_s",
                "fail_next",
                "retry_after_s",
                "hang_next",
                "down",
                "path_prefix",
            }:
                setattr(self, key, value)


class FaultMiddleware:
    """ASGI middleware applying a :class:`FaultPlan`, plus the ``/_sandbox/faults`` endpoint."""

    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/_sandbox/faults":
            request = Request(scope, receive)
            if request.method == "POST":
                self.plan.update(json.loads(await request.body() or b"{}"))
            body = {k: v for k, v in self.plan.__dict__.items()}
            await JSONResponse(body)(scope, receive, send)
            return
        self.plan.requests_seen += 1
        if not path.startswith(self.plan.path_prefix):
            await self.app(scope, receive, send)
            return
        if self.plan.latency_s:
            await asyncio.sleep(self.plan.latency_s)
        if self.plan.hang_next > 0:
            self.plan.hang_next -= 1
            await asyncio.sleep(3600)
        if self.plan.down:
            await Response("down for maintenance", status_code=503)(scope, receive, send)
            return
        if self.plan.fail_next:
            status = self.plan.fail_next.pop(0)
            headers = {"Retry-After": str(self.plan.retry_after_s)} if status == 429 else {}
            await JSONResponse(
                {"error": "injected fault", "status": status}, status_code=status, headers=headers
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)
