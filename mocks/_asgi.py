"""The ASGI shell: Starlette in front of a :class:`~realdream.mock.MockService`. No rules here."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from realdream.mock._config import MockConfig
from realdream.mock._http import MockRequest, MockResponse
from realdream.mock._plan import Plan
from realdream.mock._scenarios import documented_response
from realdream.mock._service import MAX_BODY_BYTES, MockService

__all__ = ["create_app", "run_plan"]


def create_app(
    config: MockConfig | None = None,
    *,
    service: MockService | None = None,
    replay: str | os.PathLike[str] | None = None,
) -> Starlette:
    """The mock as an ASGI app; ``app.state.service`` is its :class:`~realdream.mock.MockService`.

    ``replay`` is a folder of recorded cassettes (see ``MockConfig.replay``).
    """
    if replay is not None:
        config = dataclasses.replace(config or MockConfig(), replay=os.fspath(replay))
    if service is None:
        service = MockService(config)
    elif config is not None and config is not service.config:
        raise ValueError("pass config or service, not both")

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.perf_counter()
        request = Request(scope, receive)
        body = await _read_capped(request)
        incoming = MockRequest.build(
            request.method,
            request.url.path,
            request.headers.items(),
            body,
            scheme=request.url.scheme,
        )
        plan = service.handle(incoming)
        try:
            answer = await run_plan(plan)
        except asyncio.CancelledError:
            # uvicorn is shutting down with this request still waiting (a scripted
            # "timeout"): answer 503 rather than dying with a traceback.
            answer = documented_response("503", service.clock())
        service.finished(incoming, answer, time.perf_counter() - t0, plan.delay)
        response = Response(answer.body, status_code=answer.status, headers=dict(answer.headers))
        await response(scope, receive, send)

    # No routes: every method and path reaches the service, which answers 404 and 405 itself
    # (a catch-all Mount would not: Starlette's path pattern stops at a newline, %0A).
    app = Starlette()
    app.router.redirect_slashes = False
    app.router.default = endpoint
    app.state.service = service
    return app


async def _read_capped(request: Request) -> bytes:
    """The body, but never more than one byte past :data:`MAX_BODY_BYTES` (then refused)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            break
    return b"".join(chunks)


async def run_plan(plan: Plan) -> MockResponse:
    """Wait the plan's delay without blocking the loop, then complete it (rendering in a thread)."""
    try:
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        if plan.blocking:
            return await run_in_threadpool(plan.complete)
        return plan.complete()
    except BaseException:
        plan.cancel()
        raise
