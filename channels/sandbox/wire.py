"""Reading requests the way the imitated providers do (form bodies, Basic and Bearer
credentials) and the few answer shapes they share."""

from __future__ import annotations

import base64
import binascii
import json
import re
from email.parser import BytesParser
from email.policy import HTTP as email_policy
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from channels.signatures import same_secret

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """The form-encoded body (and, for a GET, the query) as ordered pairs."""
    body = (await request.body()).decode("utf-8")
    return list(request.query_params.multi_items()) + parse_qsl(body, keep_blank_values=True)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The user and password of an ``Authorization: Basic`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def basic_matches(request: Request, user: str | None, password: str | None) -> bool:
    """True when the request carries exactly these Basic credentials (both configured)."""
    given = basic_credentials(request)
    if given is None or not user or not password:
        return False
    return same_secret(user, given[0]) and same_secret(password, given[1])


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response that keeps non-ASCII text readable (Aliyun, JPush answer in Chinese)."""
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def json_object(request: Request) -> dict[str, Any] | None:
    """The JSON object in the body, or ``None`` when the body is not one."""
    try:
        data = json.loads(await request.body())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def multipart_form(request: Request) -> tuple[dict[str, str], dict[str, bytes]] | None:
    """A ``multipart/form-data`` body as (text fields, file contents), or ``None`` when the
    body is not one. Read with the standard library's MIME parser."""
    content_type = request.headers.get("content-type", "")
    if (
        not content_type.lower().startswith("multipart/form-data")
        or "boundary=" not in content_type
    ):
        return None
    raw = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=email_policy).parsebytes(raw + await request.body())
    if not message.is_multipart():
        return None
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[name] = data
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files
