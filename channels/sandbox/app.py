"""The sandbox as one ASGI application: every provider under its own path prefix, the
control API, and (from the lifespan) the SMTP listener and the callback courier."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.aliyun import Aliyun
from channels.sandbox.control import Control
from channels.sandbox.dialer import Dialer
from channels.sandbox.fcm import Fcm
from channels.sandbox.jpush import Jpush
from channels.sandbox.lob import Lob
from channels.sandbox.sendgrid import Sendgrid
from channels.sandbox.settings import SandboxSettings
from channels.sandbox.smtp import start_smtp
from channels.sandbox.state import SandboxState
from channels.sandbox.twilio import Twilio
from channels.sandbox.wechat import Wechat
from channels.sandbox.wire import json_answer
from orchestrator.clock import Clock, SystemClock


def create_app(settings: SandboxSettings, *, clock: Clock | None = None) -> Starlette:
    """Build the sandbox app. Its state is ``app.state.sandbox`` (a :class:`SandboxState`).

    Parameters:
      settings: listeners, log, callback root, seed, outcomes, credentials.
      clock: stamps and expiries; the system clock by default.
    """
    state = SandboxState.build(settings, clock or SystemClock())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        smtp = await start_smtp(state, settings.host, settings.smtp_port)
        await state.courier.start()
        try:
            yield
        finally:
            smtp.close()
            await state.courier.stop()

    async def health(request: Request) -> Response:
        return json_answer(200, {"ok": True, "smtp_port": state.smtp_port})

    async def client_gone(request: Request, exc: Exception) -> Response:
        # The client gave up (a latency fault past its timeout) before we read its request:
        # like a real provider, we never saw the message. Nothing is wrong on our side, so no
        # traceback; the answer goes nowhere.
        return Response(status_code=499)

    routes = [Route("/_sandbox/health", health)]
    for provider in (Twilio, Aliyun, Sendgrid, Fcm, Jpush, Dialer, Lob, Wechat, Control):
        routes.extend(provider(state).routes())
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={ClientDisconnect: client_gone}
    )
    app.state.sandbox = state
    return app
