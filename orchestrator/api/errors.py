"""One error shape for every API failure.

```json
{"error": {"code": "invalid_request", "message": "...",
           "problems": [{"field": "debt.currency", "message": "..."}]}}
```
A 4xx always names what is wrong and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator.api.responses import JSONResponse
from orchestrator.errors import Problem, problems_from


class ApiError(Exception):
    """An error the API answers with; raise it from any endpoint.

    Parameters:
      status: HTTP status.
      code: a stable machine-readable code (``not_found``, ``invalid_request``...).
      message: a sentence for a person, saying what to do next where possible.
      problems: field-level details.
    """

    def __init__(
        self, status: int, code: str, message: str, problems: Sequence[Problem] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = tuple(problems)
        self.headers: dict[str, str] = {}


class ProblemView(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    problems: list[ProblemView]


class ErrorBody(BaseModel):
    """Every 4xx and 5xx the API answers: a stable ``code``, a sentence, field problems."""

    error: ErrorDetail


_MEANING = {
    400: "The body cannot be read: empty, not JSON, not UTF-8, or a malformed header",
    401: "No API key, or not a valid one (or, on webhooks, a signature that does not verify)",
    403: "The key may not do this (the config API needs an ops key)",
    404: "Nothing of that name for this key's tenant",
    409: "A request with the same Idempotency-Key is still in progress; retry",
    413: "The body is over this route's size limit, or holds too many items",
    422: "The request is not valid: every problem with its path; nothing changed",
    503: "A dependency (database, Redis) is unavailable",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of these error statuses, all in :class:`ErrorBody`
    shape."""
    return {status: {"model": ErrorBody, "description": _MEANING[status]} for status in statuses}


def body(code: str, message: str, problems: Iterable[Problem] = ()) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "problems": [{"field": p.path, "message": p.message} for p in problems],
        }
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            body(exc.code, exc.message, exc.problems), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = problems_from(exc.errors(), skip=1)
        return JSONResponse(
            body("invalid_request", "The request is not valid: see problems.", problems),
            status_code=422,
        )

    @app.exception_handler(ValidationError)
    async def _model_validation(_request: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse(
            body(
                "invalid_request",
                "The request is not valid: see problems.",
                problems_from(exc.errors()),
            ),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )
