"""One virtual epoch per deployment.

``ORCHESTRATOR_CLOCK=START@SPEED`` makes each process a :class:`~orchestrator.clock.ScaledClock`
showing START at some real instant, its anchor. Were that the moment each process built its
clock, an API started now and a worker started a minute later (at 288x speed) would disagree by
four virtual hours. So the first process to read a setting records its anchor in Redis, and
every later process of the deployment (same Redis, same namespace, same setting) reads it back:
they all show the same instant. A setting that names its anchor (``START@SPEED@ANCHOR``) needs
no Redis.
"""

from __future__ import annotations

import time
from datetime import timedelta

import redis

from orchestrator.clock import Clock, clock_from_setting

# Virtual time is for demos and reliability runs, which last minutes to hours. Each process
# start refreshes the expiry; a run started the next day with the same setting and namespace
# then begins a new epoch instead of continuing the old one (and finding itself a virtual
# year ahead). A deployment meant to outlive this names its anchor (START@SPEED@ANCHOR).
ANCHOR_TTL = timedelta(days=1)


def anchor_key(namespace: str) -> str:
    """The Redis hash holding each clock setting's anchor (POSIX seconds)."""
    return f"{namespace}:clock:anchors"


def shared_clock(value: str | None, client: redis.Redis, namespace: str) -> Clock:
    """The clock ``value`` (``ORCHESTRATOR_CLOCK``) describes, anchored where the deployment's
    first process anchored it.

    Parameters:
      value: the setting; ``None`` or empty is the wall clock, which needs no anchor.
      client: the deployment's Redis.
      namespace: the deployment's key namespace.
    """
    clock = clock_from_setting(value)  # refuses a malformed setting before anything is stored
    if not value or value.count("@") >= 2:
        return clock
    key = anchor_key(namespace)
    client.hsetnx(key, value, repr(time.time()))
    client.expire(key, ANCHOR_TTL)
    stored = client.hget(key, value)
    anchor = float(stored.decode() if isinstance(stored, bytes) else str(stored))
    return clock_from_setting(value, anchor=anchor)
