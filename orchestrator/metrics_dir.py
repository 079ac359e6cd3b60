"""Metrics shared by every process on a host: prometheus-client's multiprocess mode.

Sends are counted in Dramatiq worker processes, planning in the scheduler, requests in each
``api --workers N`` process; ``/metrics`` is served by the API. In multiprocess mode each
process writes its metrics to memory-mapped files in one folder (``PROMETHEUS_MULTIPROC_DIR``)
and the API's ``/metrics`` adds them all up (``MultiProcessCollector``), so a scrape of any
API process shows what every process on the host counted.

``orchestrator api``, ``worker`` and ``scheduler`` call :func:`prepare` before anything
imports prometheus-client (it picks its storage once, at import), and every process they
start inherits the variable. The folder is ``ORCHESTRATOR_METRICS_DIR``, by default
``<data dir>/metrics`` (``var/metrics``): one per deployment and host.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus-client names each file for its metric type and the writing process's pid:
# counter_1234.db, histogram_1234.db, gauge_livesum_1234.db.
_FILE = re.compile(r".*_(\d+)\.db")


def prepare(directory: Path) -> Path:
    """Make ``directory`` this process's (and its children's) multiprocess metrics folder.

    Creates it, and removes the files of processes that are no longer running (left by a
    previous run; a live process's files stay, so starting the API next to running workers
    loses none of their counts). Counters of a process gone since then restart from zero,
    which Prometheus reads as a counter reset.

    Parameters:
      directory: the folder (``Settings.metrics_folder``).

    Returns the folder, absolute.
    """
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        match = _FILE.fullmatch(path.name)
        if match is not None and not _running(int(match.group(1))):
            path.unlink(missing_ok=True)
    if "prometheus_client" in sys.modules and os.environ.get(ENV) != str(directory):
        # Too late for this process (its values stay in memory); its children still share.
        print(
            f"warning: prometheus_client was imported before {ENV} was set",
            file=sys.stderr,
        )
    os.environ[ENV] = str(directory)
    return directory


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
