"""A complete, consistent set of provider credentials for the sandbox world.

The demo and the end-to-end tests put these in the environment of every process (the
orchestrator's adapters and the sandbox read the same variables), so signatures made on one
side verify on the other. Fresh random values each time; nothing here is a real secret.
"""

from __future__ import annotations

import json
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from channels.signatures import public_key_b64


def sandbox_credentials() -> dict[str, str]:
    """Environment variables for every adapter and the sandbox."""
    sendgrid = ec.generate_private_key(ec.SECP256R1())
    google = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    service_account = {
        "type": "service_account",
        "project_id": "sandbox-lender-app",
        "private_key_id": secrets.token_hex(8),
        "private_key": _pem(google),
        "client_email": "push@sandbox-lender-app.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return {
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "ALIYUN_ACCESS_KEY_ID": "LTAI" + secrets.token_hex(8),
        "ALIYUN_ACCESS_KEY_SECRET": secrets.token_urlsafe(24),
        "ALIYUN_CALLBACK_TOKEN": secrets.token_urlsafe(24),
        "SENDGRID_API_KEY": "SG." + secrets.token_urlsafe(32),
        "SENDGRID_WEBHOOK_PRIVATE_KEY": _pem(sendgrid),
        "SENDGRID_WEBHOOK_PUBLIC_KEY": public_key_b64(sendgrid),
        "FCM_SERVICE_ACCOUNT_JSON": json.dumps(service_account),
        "JPUSH_APP_KEY": secrets.token_hex(12),
        "JPUSH_MASTER_SECRET": secrets.token_hex(12),
        "DIALER_SECRET": secrets.token_urlsafe(32),
        "LOB_API_KEY": "test_" + secrets.token_hex(16),
        "LOB_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "WECHAT_APP_SECRET": secrets.token_hex(16),
        "WECHAT_CALLBACK_TOKEN": secrets.token_urlsafe(16),
    }


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
