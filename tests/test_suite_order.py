"""The suite's longest files are handed to xdist's workers first (tests/conftest.py): each
one named there still exists, so a renamed file cannot drop silently to the end of the run."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONGEST_FIRST

ROOT = Path(__file__).resolve().parent.parent


def test_every_file_named_longest_first_exists_once():
    missing = [path for path in LONGEST_FIRST if not (ROOT / path).is_file()]
    assert missing == []
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)


def test_the_files_run_in_that_order(request):
    order = list(dict.fromkeys(i.nodeid.split("::")[0] for i in request.session.items))
    listed = [path for path in order if path in LONGEST_FIRST]
    assert listed == [path for path in LONGEST_FIRST if path in listed]
    assert order[: len(listed)] == listed
