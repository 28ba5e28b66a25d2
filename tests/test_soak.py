"""A one-minute soak: faults injected all along, and no descriptor or thread leaks."""

import pytest

from benchmarks.soak import run_soak

pytestmark = pytest.mark.e2e


def test_one_minute_soak_leaks_no_fd_and_no_thread() -> None:
    result = run_soak(cameras=4, seconds=60, fault_every=10)
    assert len(result.faults) >= 3, result.faults
    first, last = result.samples[0], result.samples[-1]
    assert last.live == 4, "every camera recovered"
    assert result.fd_growth <= 0, f"fds {first.fds} -> {last.fds}"
    assert result.thread_growth <= 0, f"threads {first.threads} -> {last.threads}"
    assert result.process_growth == 0
