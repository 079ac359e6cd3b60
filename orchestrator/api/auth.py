"""Bearer API keys: every ``/v1`` call names its tenant by its key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.api.dependencies import StoreDep
from orchestrator.api.errors import ApiError
from orchestrator.tenancy import Principal, Role, authenticate

_bearer = HTTPBearer(auto_error=False, description="A tenant API key: `Bearer co_...`")


def principal(
    request: Request,
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("Send your API key as `Authorization: Bearer co_...`.")
    with store.engine.connect() as conn:
        found = authenticate(conn, credentials.credentials)
    if found is None:
        raise _unauthorized("The API key is not valid (unknown, malformed or revoked).")
    request.state.principal = found
    return found


def ops_principal(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role is not Role.OPS:
        raise ApiError(
            403, "forbidden", "This needs an ops key (`orchestrator tenants key --ops`)."
        )
    return who


def _unauthorized(message: str) -> ApiError:
    error = ApiError(401, "unauthorized", message)
    error.headers["WWW-Authenticate"] = "Bearer"
    return error


Caller = Annotated[Principal, Depends(principal)]
OpsCaller = Annotated[Principal, Depends(ops_principal)]
