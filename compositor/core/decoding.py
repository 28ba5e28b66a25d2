"""Where a camera's pictures are decoded: the setting the layout and the command line share.

``cpu``: FFmpeg's software decoders, in the decoder processes. ``cuda``: NVIDIA's
decoder (NVDEC) through PyAV's ``HWAccel``, the pictures brought back to system
memory; ``auto``: the best hardware decoder this host has, else the CPU. Whatever
is asked, a camera whose device cannot be used is decoded on the CPU
(``compositor/sources/hwdecode.py``): the setting never costs a camera.

Here, in the core, because the layout's model (which may not import the decoders)
and the decoders (which may not import the layout) both name it.
"""

from __future__ import annotations

__all__ = ["DECODE_SETTINGS", "DEFAULT_DECODE", "DecodeSetting"]

from typing import Literal, get_args

DecodeSetting = Literal["auto", "cpu", "cuda"]
DECODE_SETTINGS: tuple[DecodeSetting, ...] = get_args(DecodeSetting)
# The CPU until hardware decoding has been measured on a wall host with a GPU: nothing
# here could (docs/performance.md). `--decode auto` turns it on where a device exists.
DEFAULT_DECODE: DecodeSetting = "cpu"
