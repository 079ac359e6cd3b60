"""The provider sandbox: one local server that imitates every provider we speak to.

It accepts the same requests as Twilio, Aliyun SMS, SendGrid, FCM, JPush, our dialer
protocol (over HTTP, each under its own path prefix) and SMTP (on its own port); validates
them as the provider would; records each accepted message to a JSON Lines log; fails on
demand; and posts the providers' delivery callbacks, correctly signed, back to the
orchestrator. The demo and the end-to-end tests run against it with no internet.

Start it with ``orchestrator sandbox`` (:func:`channels.sandbox.command.sandbox`) or, in
tests, with :func:`channels.sandbox.server.running_sandbox`.
"""

from channels.sandbox.app import create_app
from channels.sandbox.server import RunningSandbox, running_sandbox
from channels.sandbox.settings import OutcomeRates, SandboxSettings

__all__ = ["OutcomeRates", "RunningSandbox", "SandboxSettings", "create_app", "running_sandbox"]
