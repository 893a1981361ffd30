"""The library pauses the cyclic GC while it builds many records, and leaves the user's setting as
it found it: a GC turned off stays off, one turned on is on again, whatever the nesting."""

from __future__ import annotations

import gc
import threading

import pytest

from aerospike_py._commands.base import gc_paused

N = 2500  # over the batch-results threshold (2,048 keys) and the big-frame one (32 KiB)


@pytest.fixture
def gc_state():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def _big_batch(client) -> None:
    keys = [("test", "gcpause", i) for i in range(N)]
    for k in keys[:50]:
        client.put(k, {"s": "x" * 40})
    recs = client.batch_read(keys)
    assert sum(1 for r in recs.batch_records if r.record is not None) == 50


@pytest.mark.parametrize("enabled", [True, False])
def test_big_batch_leaves_the_users_gc_setting(client, gc_state, enabled):
    (gc.enable if enabled else gc.disable)()
    _big_batch(client)
    assert gc.isenabled() is enabled


def test_nested_pauses_resume_only_at_the_end(gc_state):
    gc.enable()
    with gc_paused:
        assert not gc.isenabled()
        with gc_paused:
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pause_of_a_disabled_gc_leaves_it_disabled(gc_state):
    gc.disable()
    with gc_paused:
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_across_threads(gc_state):
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused:
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other)
    t.start()
    assert inside.wait(10)
    with gc_paused:
        pass
    assert not gc.isenabled()  # the other thread's pause is still on
    release.set()
    t.join(10)
    assert gc.isenabled()
