"""What Twilio's Messages and Calls adapters share: the account, the REST error vocabulary,
the request signature on every webhook, and how our attempt ref rides the callback URL.

Sources:
- REST API authentication and base URL: https://www.twilio.com/docs/usage/requests-to-twilio
- Webhook security: https://www.twilio.com/docs/usage/security#validating-requests
- Error dictionary: https://www.twilio.com/docs/api/errors (21211, 21610, 21614, 30003,
  30005, 30006, 30007, 20429)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from channels.base import AdapterSettings, Receipt, WebhookRequest, secret
from channels.http_adapter import HttpAdapter
from channels.signatures import twilio_valid
from channels.transport import json_body
from orchestrator.domain import DeliveryStatus
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


class TwilioAdapter(HttpAdapter):
    """Base for Twilio adapters: credentials, the REST call and webhook verification."""

    settings: TwilioSettings
    resource: ClassVar[str]  # "Messages" or "Calls"
    statuses: ClassVar[Mapping[str, DeliveryStatus]]  # Twilio's status names → ours

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

    def call_resource(self, method: str, **kwargs: Any) -> httpx.Response:
        """Call the account's resource with HTTP Basic auth (Account SID : auth token)."""
        return self.request(
            method, self.resource_url, auth=(self.account_sid, self.auth_token), **kwargs
        )

    def create(self, form: Mapping[str, str | list[str]], what: str) -> Receipt:
        """Create the resource (a message, a call) and read the sid and status it answers.

        Parameters:
          form: the resource's parameters.
          what: what is created, for the error when Twilio answers without a sid.
        """
        response = self.call_resource("POST", data=form)
        if response.status_code not in (200, 201):
            raise self.error(response)
        body = json_body(response)
        sid = body.get("sid")
        if not sid:
            raise PermanentError(self.name, "no_sid", f"Twilio answered without a {what} sid")
        status = self.statuses.get(str(body.get("status")), DeliveryStatus.QUEUED)
        return Receipt(self.name, str(sid), status)

    def error_details(
        self, response: httpx.Response, body: dict[str, Any]
    ) -> tuple[str | None, str]:
        """Twilio's body: ``{"code": 21211, "message": …, "more_info": …, "status": 400}``."""
        code = str(body.get("code") or response.status_code)
        return code, str(body.get("message") or response.text[:200])

    def refused(self, code: str, message: str, body: dict[str, Any]) -> ProviderError:
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
