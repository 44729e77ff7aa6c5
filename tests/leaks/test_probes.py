"""The descriptor probe proves "nothing changed" without listing, and still finds every new one.

A snapshot taken with the previous one at hand (``Snapshot.take(since)``) reuses that one's
listing when the kernel's count of open descriptors is unchanged and every descriptor listed
then is still open; anything else lists ``/proc/self/fd`` as before. Each case runs in a
fresh interpreter (real descriptors, counted listings through Python's audit hook).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from pytest_pbe.leakwatch import probes

pytestmark = pytest.mark.skipif(
    probes.FD_DIR != "/proc/self/fd", reason="needs Linux's /proc/self/fd"
)

PRELUDE = """
import json, os, sys
from pytest_pbe.leakwatch import probes

LISTINGS = []
sys.addaudithook(lambda event, args: LISTINGS.append(args) if event == "os.listdir" else None)

def new_fds(before, after):
    return sorted(probes.new_since(before, after, probes.Resources()).fds)

def listed(take):
    del LISTINGS[:]
    snapshot = take()
    return snapshot, len(LISTINGS)
"""


def run(body: str) -> dict[str, Any]:
    """Run the prelude and ``body`` in a fresh interpreter; ``body`` sets ``out`` (JSON)."""
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + body + "\nprint(json.dumps(out))"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_an_unchanged_descriptor_table_is_not_listed_again() -> None:
    out = run("""
first, first_listings = listed(probes.Snapshot.take)
second, second_listings = listed(lambda: probes.Snapshot.take(first))
third, third_listings = listed(lambda: probes.Snapshot.take(second))
out = {
    "first": first_listings > 0, "second": second_listings, "third": third_listings,
    "reused": second.fds is first.fds and third.fds is first.fds,
    "same": second.same_as(first) and third.same_as(first),
}
""")
    assert out == {"first": True, "second": 0, "third": 0, "reused": True, "same": True}


def test_a_descriptor_opened_since_is_listed_and_found() -> None:
    out = run("""
before = probes.Snapshot.take()
probes.Snapshot.take(before)  # the proof for this table is ready
fd = os.open(os.devnull, os.O_RDONLY)
after, listings = listed(lambda: probes.Snapshot.take(before))
out = {"listings": listings, "new": new_fds(before, after), "fd": fd}
""")
    assert out["listings"] == 1
    assert out["new"] == [out["fd"]]


def test_one_closed_and_another_opened_is_listed_and_the_new_one_found() -> None:
    # As many open as before: only the closed one shows that the table changed.
    out = run("""
low = os.open(os.devnull, os.O_RDONLY)
high = os.open(os.devnull, os.O_RDONLY)
before = probes.Snapshot.take()
probes.Snapshot.take(before)
kept = os.open(os.devnull, os.O_RDONLY)  # the lowest free number: not 'low' nor 'high'
os.close(high)
after, listings = listed(lambda: probes.Snapshot.take(before))
out = {"listings": listings, "new": new_fds(before, after), "kept": kept, "high": high}
""")
    assert out["kept"] != out["high"]
    assert out["listings"] == 1
    assert out["new"] == [out["kept"]]


def test_a_descriptor_moved_to_another_number_is_found() -> None:
    out = run("""
fd = os.open(os.devnull, os.O_RDONLY)
before = probes.Snapshot.take()
probes.Snapshot.take(before)
os.dup2(fd, 250)
os.close(fd)
after, listings = listed(lambda: probes.Snapshot.take(before))
out = {"listings": listings, "new": new_fds(before, after)}
""")
    assert out == {"listings": 1, "new": [250]}


def test_after_a_change_the_new_table_is_proved_unchanged_in_turn() -> None:
    out = run("""
before = probes.Snapshot.take()
fd = os.open(os.devnull, os.O_RDONLY)
changed = probes.Snapshot.take(before)
again, listings = listed(lambda: probes.Snapshot.take(changed))
os.close(fd)
closed, closed_listings = listed(lambda: probes.Snapshot.take(again))
out = {
    "listings": listings, "reused": again.fds is changed.fds,
    "closed_listings": closed_listings, "new": new_fds(again, closed),
    "back": closed.fds == before.fds,
}
""")
    assert out == {
        "listings": 0,
        "reused": True,
        "closed_listings": 1,
        "new": [],
        "back": True,
    }


def test_a_forked_child_lists_its_own_table() -> None:
    out = run("""
before = probes.Snapshot.take()
probes.Snapshot.take(before)
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(read)
    after, listings = listed(lambda: probes.Snapshot.take(before))
    os.write(write, json.dumps([listings, new_fds(before, after)]).encode())
    os._exit(0)
os.close(write)
os.waitpid(pid, 0)
child = json.loads(os.read(read, 4096))
out = {"listings": child[0], "new_in_child": child[1], "write": write}
""")
    assert out["listings"] > 0
    assert out["write"] in out["new_in_child"]
