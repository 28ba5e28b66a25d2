"""The demo without a screen: which screens it gets for the renderer this host has."""

from __future__ import annotations

from compositor.core.pacing import HEADLESS_FPS
from compositor.demo.virtual_wall import FULL_MODE, FULL_REFRESH, choose_screens
from compositor.display.windows import OpenGLInfo

LLVMPIPE = OpenGLInfo("Mesa", "llvmpipe (LLVM 15.0.6, 256 bits)", "4.5 (Core Profile) Mesa 22.3.6")
GPU = OpenGLInfo("NVIDIA Corporation", "NVIDIA RTX A2000/PCIe/SSE2", "4.6.0 NVIDIA 535.183.01")


def test_a_software_renderer_means_headless_with_the_measured_cost_said() -> None:
    choice = choose_screens(LLVMPIPE)
    assert choice.mode is None and choice.refresh == HEADLESS_FPS
    assert choice.why.startswith("the only renderer here is llvmpipe (LLVM 15.0.6, 256 bits)")
    # The figures measured with benchmarks/draw_cost.py, and what they come to at 25 Hz.
    assert "14 screens of even 480x270 once costs it about 75 ms of CPU" in choice.why
    assert "(470 ms at 1920x1080; measured on a 2-core VM)" in choice.why
    assert "1.9 CPU-seconds a second at 25 Hz" in choice.why


def test_fewer_monitors_cost_less_and_still_say_so() -> None:
    choice = choose_screens(LLVMPIPE, monitors=7)
    assert choice.mode is None
    assert "7 screens of even 480x270 once costs it about 38 ms of CPU" in choice.why


def test_a_gpu_gets_full_size_monitors_at_60_hz() -> None:
    choice = choose_screens(GPU)
    assert (choice.mode, choice.refresh) == (FULL_MODE, FULL_REFRESH) == ((1920, 1080), 60.0)
    assert choice.why == "monitors of 1920x1080 at 60 Hz, drawn by NVIDIA RTX A2000/PCIe/SSE2"
