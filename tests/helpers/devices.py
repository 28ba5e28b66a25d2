"""Whether this host's FFmpeg can open NVIDIA's hardware decoder (cuda), for the tests of
hardware decoding's fallback: a host where it can skips them (there, the device decodes)."""

from __future__ import annotations

import av
import pytest


def cuda_usable() -> bool:
    try:
        av.codec.hwaccel.HWAccel("cuda", allow_software_fallback=False).create(
            av.codec.Codec("h264", "r")
        )
    except Exception:
        return False
    return True


CUDA_USABLE = cuda_usable()
without_cuda = pytest.mark.skipif(CUDA_USABLE, reason="cuda is usable here: no fallback to test")
