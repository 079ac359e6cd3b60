"""What Twilio's Messages and Calls adapters share: the account, the REST error vocabulary,
the request signature on every webhook, and how our attempt ref rides the callback URL.

Sources:
- REST API authentication and base URL: https://www.twilio.com/docs/usage/requests-to-twilio
- Webhook security: https://www.twilio.com/docs/usage/security#validating-requests
- Error dictionary: https://www.twilio.com/docs/api/errors (21211, 21610, 21614, 30003,
  30005, 30006, 30007, 20429)
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from channels.base import Adapter, AdapterSettings, WebhookRequest, secret
from channels.signatures import twilio_valid
from channels.transport import call, json_body, retryable_status
from orchestrator.errors import PermanentError, ProviderError, SignatureError

# Error codes that say the number itself cannot receive: mark the contact point invalid.
INVALID_ADDRESS_CODES = frozenset(
    {
        "21211",  # invalid 'To' phone number
        "21614",  # 'To' number is not a valid mobile number
        "30005",  # unknown destination handset
        "30006",  # landline or unreachable carrier
    }
)
# The recipient replied STOP to this sender earlier: an opt-out for the channel.
OPTED_OUT_CODES = frozenset({"21610"})
ATTEMPT_REF_PARAM = "attempt_ref"


class TwilioSettings(AdapterSettings):
    """Settings shared by Twilio's adapters.

    Parameters:
      base_url: ``https://api.twilio.com`` in production; the sandbox's ``…/twilio`` prefix
        in the demo and tests.
      account_sid_env / auth_token_env: names of the environment variables holding the
        Account SID and its auth token (the token also signs every webhook).
    """

    base_url: str = "https://api.twilio.com"
    account_sid_env: str = "TWILIO_ACCOUNT_SID"
    auth_token_env: str = "TWILIO_AUTH_TOKEN"  # noqa: S105 - a variable name


class TwilioAdapter(Adapter):
    """Base for Twilio adapters: credentials, the REST call and webhook verification."""

    settings: TwilioSettings
    resource: ClassVar[str]  # "Messages" or "Calls"

    def __init__(self, settings: AdapterSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        assert isinstance(self.settings, TwilioSettings)
        self.account_sid = secret(
            self.settings.account_sid_env, setting=f"{self.name}.account_sid_env"
        )
        self.auth_token = secret(
            self.settings.auth_token_env, setting=f"{self.name}.auth_token_env"
        )

    @property
    def resource_url(self) -> str:
        base = self.settings.base_url.rstrip("/")
        return f"{base}/2010-04-01/Accounts/{self.account_sid}/{self.resource}.json"

    def request(self, method: str, **kwargs: Any) -> httpx.Response:
        """Call the account's resource with HTTP Basic auth (Account SID : auth token)."""
        return call(
            self.name,
            self.http,
            method,
            self.resource_url,
            auth=(self.account_sid, self.auth_token),
            timeout=self.settings.timeout_seconds,
            **kwargs,
        )

    def error(self, response: httpx.Response) -> ProviderError:
        """Translate a non-2xx answer. Twilio's body: ``{"code": 21211, "message": …,
        "more_info": …, "status": 400}``."""
        body = json_body(response)
        code = str(body.get("code") or response.status_code)
        transient = retryable_status(self.name, response, now=self.clock.now(), code=code)
        if transient is not None:
            return transient
        message = str(body.get("message") or response.text[:200])
        return PermanentError(
            self.name,
            code,
            message,
            invalid_address=code in INVALID_ADDRESS_CODES,
            opted_out=code in OPTED_OUT_CODES,
        )

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Twilio-Signature`` over the full URL and the sorted form parameters."""
        params = request.form() if request.method.upper() == "POST" else []
        if not twilio_valid(
            self.auth_token, request.url, params, request.header("x-twilio-signature")
        ):
            raise SignatureError(f"{self.name}: X-Twilio-Signature does not match")


def status_callback(callback_url: str | None, attempt_ref: str) -> str | None:
    """Our webhook URL with the attempt ref as a query parameter; Twilio calls it back
    verbatim (and signs it), so every status report names its attempt."""
    if not callback_url:
        return None
    separator = "&" if urlsplit(callback_url).query else "?"
    return f"{callback_url}{separator}{urlencode({ATTEMPT_REF_PARAM: attempt_ref})}"


def attempt_ref_of(url: str) -> str | None:
    """The attempt ref carried in a callback URL's query, if any."""
    for name, value in parse_qsl(urlsplit(url).query):
        if name == ATTEMPT_REF_PARAM:
            return value
    return None


def last_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """A form as a dict, the last value winning for a repeated name."""
    return dict(pairs)
