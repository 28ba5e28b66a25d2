"""Frame ages are kept per camera on the wall, and forgotten with the camera."""

from compositor.core.frame_ages import FrameAges


def test_a_camera_no_longer_shown_is_forgotten() -> None:
    ages = FrameAges(keep=4)
    for camera in ("a", "b", "c"):
        ages.add(camera, 0.02)
    ages.keep_only({"a", "c"})
    assert ages.cameras() == ["a", "c"] and ages.percentiles("b") is None
    ages.add("b", 0.5)  # back later: measured afresh
    assert ages.percentiles("b") == (0.5, 0.5)
