"""The sandbox as one ASGI application: every provider under its own path prefix, the
control API, and (from the lifespan) the SMTP listener and the callback courier."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.sandbox.aliyun import Aliyun
from channels.sandbox.control import Control
from channels.sandbox.dialer import Dialer
from channels.sandbox.fcm import Fcm
from channels.sandbox.jpush import Jpush
from channels.sandbox.sendgrid import Sendgrid
from channels.sandbox.settings import SandboxSettings
from channels.sandbox.smtp import start_smtp
from channels.sandbox.state import SandboxState
from channels.sandbox.twilio import Twilio
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

    routes = [Route("/_sandbox/health", health)]
    for provider in (Twilio, Aliyun, Sendgrid, Fcm, Jpush, Dialer, Control):
        routes.extend(provider(state).routes())
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = state
    return app
