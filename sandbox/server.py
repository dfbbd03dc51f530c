"""Serve an ASGI app on 127.0.0.1 and a free port, in a background thread (tests, demo, bench)."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import uvicorn


def free_socket() -> socket.socket:
    """A listening TCP socket on 127.0.0.1 with a port chosen by the OS."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


class ServerThread:
    """Runs ``app`` with uvicorn in a daemon thread until :meth:`stop`."""

    def __init__(self, app: Any, *, sock: socket.socket | None = None) -> None:
        self.sock = sock or free_socket()
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="auto",
            timeout_graceful_shutdown=1,  # a hung fault-injected request must not hold teardown
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"sandbox:{self.port}", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self.sock]))

    def start(self) -> ServerThread:
        """Start serving and wait until the server accepts connections."""
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            threading.Event().wait(0.01)
        raise RuntimeError(f"sandbox server on port {self.port} did not start")

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve_many(apps: dict[str, Any]) -> dict[str, str]:
    """Serve several apps in the current loop (the demo's sandbox process); returns their URLs."""
    urls: dict[str, str] = {}
    for name, app in apps.items():
        sock = free_socket()
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        urls[name] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return urls
