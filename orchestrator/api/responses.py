"""JSON responses rendered by orjson (fast, and it knows datetimes and decimals-as-strings)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette import responses


class JSONResponse(responses.JSONResponse):
    """Starlette's JSON response (so the OpenAPI document declares routes' models as JSON),
    rendered by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
