"""A long-running process gives the memory it frees back to the system (glibc's mallopt)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from compositor.core.proc import give_back_freed_memory

# Frees 64 blocks of 1 MB made between small objects that stay (a fragmented heap) and
# prints the resident memory it kept, in MB, above where it started.
_CHURN = """
import sys
import numpy as np
from compositor.core.proc import give_back_freed_memory

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

if sys.argv[1] == "tuned":
    assert give_back_freed_memory()
warm = np.ones(4 << 20, np.uint8); del warm  # glibc raises its threshold to 4 MB here
before = rss_mb()
blocks, keep = [], []
for _ in range(64):
    blocks.append(np.ones(1 << 20, np.uint8))
    keep.append(np.ones(4096, np.uint8))  # from the heap, between the blocks
del blocks
print(round(rss_mb() - before, 1))
"""


def _kept_mb(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc")
def test_freed_blocks_go_back_to_the_system() -> None:
    assert give_back_freed_memory()  # glibc here: both settings taken
    kept = _kept_mb("tuned")
    assert kept < 8, f"{kept} MB of 64 MB freed still resident"
