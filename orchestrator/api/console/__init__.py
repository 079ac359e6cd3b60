"""The ops console (``/console``): server-rendered pages for named ops users.

Every page reads and changes through the same service functions as the API
(:mod:`orchestrator.api.config`'s :func:`~orchestrator.api.config.store_change`,
:mod:`orchestrator.timeline`, :mod:`orchestrator.intake.accounts`, the template library);
no rule is implemented twice. :mod:`.session` holds what a page needs: the signed-in person
(``PersonDep``), permissions (``require``), CSRF-checked forms (``read_form``) and the shell
(``render`` with ``base.html``, the navigation in ``NAV``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from orchestrator.api.console import (
    accounts,
    configs,
    messages,
    overview,
    results,
    signin,
    users,
    visits,
)
from orchestrator.api.console.session import HEADERS, ConsoleRefused, SignInNeeded, sign_in_url

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    """Add the console's routes, its static files and its error pages to ``app``."""
    # The config editors' ``/console/{name}`` last: the fixed paths before it win.
    for module in (signin, overview, accounts, visits, messages, results, users, configs):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(SignInNeeded)
    async def _sign_in(_request: Request, exc: SignInNeeded) -> RedirectResponse:
        return RedirectResponse(sign_in_url(exc.after), status_code=303, headers=HEADERS)

    @app.exception_handler(ConsoleRefused)
    async def _refused(request: Request, exc: ConsoleRefused) -> HTMLResponse:
        return signin.refused(request, exc)
