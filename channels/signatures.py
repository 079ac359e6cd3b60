"""The providers' signature algorithms, both directions.

The adapters verify with these and the sandbox signs with them, so both sides of every
scheme live in one module and the tests check them against independent oracles (the
``twilio`` package's ``RequestValidator``, ``cryptography`` directly, a hand-computed HMAC).

Every comparison is constant-time (:func:`hmac.compare_digest`), over bytes: a header is
whatever a stranger sent, and ``compare_digest`` refuses text outside ASCII.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _same(expected: str, given: str) -> bool:
    """Constant-time equality of two texts, whatever characters ``given`` holds."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


# --- Twilio: X-Twilio-Signature ---------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """base64(HMAC-SHA1(auth token, URL + every POST parameter's name and value, sorted by
    name)).

    Source: https://www.twilio.com/docs/usage/security#validating-requests ("sort the list
    of POST variables by the parameter name ... append each parameter name and value to the
    end of the URL with no delimiters").
    """
    # Sorting the pairs orders by name and keeps repeated names in a deterministic order,
    # as Twilio's own helper libraries do.
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """The URL as given, with its scheme's default port added, and with it removed: Twilio
    signs whichever form it called, and proxies disagree about keeping ``:443``."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    if default is None or parts.hostname is None:
        return variants
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    elif parts.port == default:
        variants.append(urlunsplit(parts._replace(netloc=host)))
    return variants


def twilio_valid(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    """True when ``signature`` is Twilio's signature of this URL and form."""
    if not signature:
        return False
    pairs = list(params)
    return any(
        _same(twilio_signature(auth_token, candidate, pairs), signature)
        for candidate in _port_variants(url)
    )


# --- SendGrid: signed Event Webhook (ECDSA P-256, SHA-256) -------------------------------


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """An EC public key from PEM or from base64 DER (the form SendGrid's console shows)."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(stripped.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode(stripped))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an elliptic-curve public key")
    return key


def load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """An EC private key from PEM or base64 DER (PKCS#8)."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(stripped.encode(), password=None)
    else:
        key = serialization.load_der_private_key(base64.b64decode(stripped), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an elliptic-curve private key")
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The base64 DER (SubjectPublicKeyInfo) of a private key's public half."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sendgrid_sign(key: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    """base64(DER ECDSA signature over SHA-256(timestamp + raw body)).

    Source: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
    """
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


def sendgrid_valid(
    key: ec.EllipticCurvePublicKey, timestamp: str | None, body: bytes, signature: str | None
) -> bool:
    """True when ``signature`` signs ``timestamp + body`` under ``key``."""
    if not timestamp or not signature:
        return False
    try:
        key.verify(
            base64.b64decode(signature, validate=True),
            timestamp.encode() + body,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


# --- Our dialer protocol: HMAC-SHA256 over "timestamp.body" (Stripe's scheme) -------------

DIALER_HEADER = "X-Dialer-Signature"


def dialer_sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Dialer-Signature`` header value: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``
    over ``"<t>." + body``; see docs/channels.md."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def dialer_parse(header: str | None) -> tuple[int, list[str]] | None:
    """The timestamp and every ``v1`` signature in a header, or ``None`` when malformed.

    Several ``v1`` values are allowed so a dialer can sign with an old and a new secret
    while they rotate.
    """
    if not header:
        return None
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        # ASCII digits only, and no more than a Unix time has for millennia: ``int()``
        # reads other scripts' digits, and refuses strings past 4,300 digits.
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def dialer_valid(
    secret: str, header: str | None, body: bytes, *, now: float, tolerance: float
) -> bool:
    """True when the header carries a fresh timestamp and a matching signature.

    Parameters:
      now: the injected clock's instant as unix seconds.
      tolerance: seconds a signature stays acceptable, either way (clock skew), which
        bounds how long a captured request could be replayed.
    """
    parsed = dialer_parse(header)
    if parsed is None:
        return False
    timestamp, signatures = parsed
    if abs(now - timestamp) > tolerance:
        return False
    expected = dialer_sign(secret, timestamp, body).split("v1=", 1)[1]
    return any(_same(expected, candidate) for candidate in signatures)


# --- Lob webhooks: HMAC-SHA256 over "timestamp.body" -----------------------------------


def lob_sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``Lob-Signature`` header value: hex HMAC-SHA256, keyed with the webhook's secret,
    over the ``Lob-Signature-Timestamp`` value, a period and the raw body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return mac.hexdigest()


def lob_valid(secret: str, timestamp: str | None, body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is :func:`lob_sign` of this timestamp and body."""
    if not timestamp or not signature:
        return False
    return _same(lob_sign(secret, timestamp, body), signature.strip())


# --- Aliyun RPC-style API: HMAC-SHA1 over the canonicalised query -------------------------


def aliyun_encode(value: str) -> str:
    """Aliyun's percent-encoding: RFC 3986 unreserved characters kept, everything else
    encoded (space is ``%20``, ``~`` stays)."""
    return quote(value, safe="-_.~")


def aliyun_signature(access_key_secret: str, method: str, params: Mapping[str, str]) -> str:
    """Signature of an RPC request: base64(HMAC-SHA1(secret + "&", method + "&" +
    encode("/") + "&" + encode(sorted, encoded query))).

    Source: https://help.aliyun.com/zh/sdk/product-overview/rpc-mechanism ("RPC 机制":
    构造规范化请求字符串, 构造待签名字符串, 计算签名).
    """
    canonical = "&".join(
        f"{aliyun_encode(name)}={aliyun_encode(params[name])}"
        for name in sorted(params)
        if name != "Signature"
    )
    string_to_sign = f"{method.upper()}&{aliyun_encode('/')}&{aliyun_encode(canonical)}"
    digest = hmac.new(
        (access_key_secret + "&").encode(), string_to_sign.encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


# --- Shared secrets (Aliyun callbacks, JPush callbacks) -----------------------------------


def same_secret(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a shared secret."""
    return given is not None and _same(expected, given)


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization: Basic`` header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
