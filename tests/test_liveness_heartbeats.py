"""Workers and schedulers prove they live with a heartbeat file; ``orchestrator alive ROLE``
is the probe: fresh beat, exit 0; none, or only a stale one (a process killed outright),
exit 1 with what to do; a clean stop removes the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from orchestrator.liveness import Heartbeat, alive, beats


def probe(folder, *args):
    env = {**os.environ, "ORCHESTRATOR_DATA_DIR": str(folder)}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "alive", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_beating_process_is_alive_until_it_stops_cleanly(tmp_path):
    folder = tmp_path / "heartbeats"
    heartbeat = Heartbeat(folder, "scheduler", every=0.05, state=lambda: {"leader": True})
    heartbeat.start()
    try:
        [beat] = alive(folder, "scheduler", within=5)
        assert beat.pid == os.getpid()
        assert beat.state == {"leader": True}
        assert alive(folder, "worker", within=5) == []
    finally:
        heartbeat.stop()
    assert beats(folder) == []


def test_a_stale_beat_is_not_alive(tmp_path):
    folder = tmp_path / "heartbeats"
    Heartbeat(folder, "worker").beat()  # and then the process dies without a word
    [beat] = beats(folder)
    assert alive(folder, "worker", within=30, now=beat.at + 31) == []
    assert alive(folder, "worker", within=30, now=beat.at + 29) == [beat]


def test_the_probe_command_answers_with_its_exit_code(tmp_path):
    folder = tmp_path / "heartbeats"
    missing = probe(tmp_path, "worker")
    assert missing.returncode == 1
    assert "start `orchestrator worker`" in missing.stderr

    heartbeat = Heartbeat(folder, "worker")
    heartbeat.beat()
    assert probe(tmp_path, "worker").returncode == 0
    listing = probe(tmp_path)
    assert listing.returncode == 0
    assert "worker" in listing.stdout

    stale = json.loads(heartbeat.path.read_text())
    stale["at"] -= 120  # its process was killed two minutes ago
    heartbeat.path.write_text(json.dumps(stale))
    assert probe(tmp_path, "worker", "--within", "30").returncode == 1
    assert probe(tmp_path, "api").returncode == 2
