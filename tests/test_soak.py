"""A one-minute churn soak (the hour is ``make soak``): preset switches, reloads, a camera
killed and frozen, decoder processes SIGKILLed, the state folder's tmpfs filled and freed,
in turn; status records, shared-memory files, descriptors, threads and memory stay flat.

Real parts: real RTSP test cameras, real decoder processes, a real tmpfs (mounted as
root; without root the state folder is a plain folder, never filled, and the soak says
so). It takes over the older one-minute fault soak: the same faults, and more.
"""

import pytest

from benchmarks.churn_soak import EVENTS, LIVE_CAMERAS, run_churn_soak
from benchmarks.tmpfs import why_no_tmpfs

pytestmark = [pytest.mark.e2e, pytest.mark.alone, pytest.mark.timeout(240)]


def test_one_minute_churn_soak_leaves_every_table_flat() -> None:
    result = run_churn_soak(seconds=60, sample_every=5, event_every=3)
    print(f"\nchurn soak: {result.seconds} s on {result.tmpfs}; events: {result.events}")
    for sample in result.samples:
        print(f"  {sample}")
    assert not result.refused, result.refused[:3]
    happened = {event.split(" ", 1)[1] for event in result.events}
    assert happened == set(EVENTS), happened
    assert result.switches >= 40 and result.reloads >= 2
    last = result.samples[-1]
    assert last.live == LIVE_CAMERAS + 1, "every camera that can be live recovered"
    assert last.records == last.cameras, last
    if why_no_tmpfs() is None:
        assert result.tmpfs.startswith("tmpfs")
        assert any(s.state_problems for s in result.samples), "the full state folder was said"
        assert last.state_problems == 0, "and written again once freed"
    failed = [v for v in result.verdicts if not v.ok]
    assert not failed, failed
