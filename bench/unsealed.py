"""The benchmarks' switch for sealing: run the same code with personal data stored unsealed.

What sealing costs is the difference between two runs of a benchmark that differ in one
thing: the keyring. ``on`` is the service as it runs (AES-256-GCM envelope encryption,
keyed-hash lookups); ``off`` is the null cipher
(:func:`orchestrator.store.keys.unseal_this_process_for_benchmarks`): the same column types
and statements, values stored as ``0x00`` + UTF-8 and addresses looked up as themselves, as
before sealing existed. Only this harness turns it on; the service's settings refuse any
attempt (``ORCHESTRATOR_ENCRYPT_AT_REST=false`` stops a process at start).

- :func:`sealing` puts this process (and the processes it forks afterwards) in a mode;
- a spawned child takes the mode as an argument and calls :func:`enter` itself;
- ``python -m bench.unsealed --port P --workers N`` is ``orchestrator api`` with the null
  cipher in each of its worker processes (uvicorn spawns them).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from orchestrator.store.keys import reseal_this_process, unseal_this_process_for_benchmarks

if TYPE_CHECKING:
    from fastapi import FastAPI

MODES = ("on", "off")
CHOICES = ("on", "off", "both")
HELP = (
    "personal data sealed at rest (on, as in production), stored unsealed through the "
    "benchmarks' null cipher (off), or both one after the other in the same run, with the "
    "ratio (both, the default)"
)


def modes(choice: str) -> list[str]:
    """The modes ``--sealing CHOICE`` asks for, sealed first."""
    if choice not in CHOICES:
        raise ValueError(f"--sealing must be one of {', '.join(CHOICES)}, not {choice!r}")
    return list(MODES) if choice == "both" else [choice]


def enter(mode: str) -> None:
    """Put this process in ``mode`` (``on`` or ``off``) for the stores it connects next."""
    if mode == "off":
        unseal_this_process_for_benchmarks()
    elif mode == "on":
        reseal_this_process()
    else:
        raise ValueError(f"sealing mode must be on or off, not {mode!r}")


@contextmanager
def sealing(mode: str) -> Iterator[None]:
    """This process in ``mode`` for the block; sealed again after it."""
    enter(mode)
    try:
        yield
    finally:
        reseal_this_process()


def application() -> FastAPI:
    """``orchestrator api``'s application with the null cipher (a uvicorn factory)."""
    from orchestrator.api.app import from_environment

    enter("off")
    return from_environment()


def main(argv: Sequence[str] | None = None) -> int:
    """``orchestrator api --port P --workers N``, every worker process unsealed."""
    import uvicorn

    from orchestrator.cli import runtime
    from orchestrator.metrics_dir import prepare

    parser = argparse.ArgumentParser(prog="python -m bench.unsealed", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    enter("off")
    config = runtime.settings()
    prepare(config.metrics_folder)
    runtime.open_store(config)
    uvicorn.run(
        "bench.unsealed:application",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
    )
    return 0


def cost(on: float, off: float) -> str:
    """How much more ``on`` takes than ``off`` (times or CPU), as a ratio and a percentage."""
    if off <= 0:
        return "—"
    return f"{on / off:.2f} × ({(on / off - 1) * 100:+.0f} %)"


if __name__ == "__main__":
    raise SystemExit(main())
