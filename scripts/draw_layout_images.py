"""Draw the pictures the example layouts show in their image tiles (no downloads).

    .venv/bin/python scripts/draw_layout_images.py     # writes layouts/images/*.png

``city-map.png``: a made-up city plan with a river, parks, boulevards and the
cameras of ``layouts/control-room-14.yaml`` as numbered markers.
``logo.png``: the operations centre's badge, with a transparent background.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from compositor.compose.overlay import TextFace

OUT = Path(__file__).resolve().parent.parent / "layouts" / "images"
Pixels = npt.NDArray[np.uint8]

# BGR
PAPER = (226, 236, 240)
STREET = (255, 255, 255)
BOULEVARD = (120, 200, 250)
RIVER = (220, 170, 110)
PARK = (160, 210, 160)
INK = (60, 50, 40)
MARKER = (40, 40, 200)

# Camera markers: id and position on the 1280x720 plan (the control room's cameras).
MARKERS = {
    "01": (640, 300),
    "02": (470, 430),
    "03": (880, 470),
    "04": (800, 260),
    "05": (600, 380),
    "06": (700, 600),
    "07": (210, 200),
    "08": (330, 400),
    "09": (420, 330),
    "10": (500, 560),
    "11": (960, 420),
    "12": (1080, 330),
    "13": (860, 160),
    "14": (560, 180),
}


def city_map(width: int = 1280, height: int = 720) -> Pixels:
    face = TextFace()
    plan = np.full((height, width, 3), PAPER, np.uint8)
    # Blocks: a street every 80 px, a little skewed so it looks drawn, not gridded.
    for x in range(0, width + 200, 80):
        cv2.line(plan, (x, 0), (x - 120, height), STREET, 6, cv2.LINE_AA)
    for y in range(40, height, 70):
        cv2.line(plan, (0, y), (width, y + 30), STREET, 6, cv2.LINE_AA)
    cv2.rectangle(plan, (150, 470), (330, 620), PARK, -1)
    cv2.ellipse(plan, (1040, 150), (120, 70), 15, 0, 360, PARK, -1)
    # The river, from the west to the south-east, under everything else.
    river = np.array([[0, 250], [220, 300], [420, 470], [700, 500], [980, 560], [1280, 540]])
    cv2.polylines(plan, [river.reshape(-1, 1, 2)], False, RIVER, 38, cv2.LINE_AA)
    for start, end in (((100, 700), (1200, 60)), ((0, 360), (1280, 330)), ((640, 0), (660, 720))):
        cv2.line(plan, start, end, BOULEVARD, 14, cv2.LINE_AA)
    for name, org in (("PARC NORD", (990, 150)), ("JARDIN", (195, 550)), ("FLEUVE", (760, 525))):
        face.put(plan, name, org, INK, 20, 600)
    for camera, (x, y) in MARKERS.items():
        cv2.circle(plan, (x, y), 17, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(plan, (x, y), 14, MARKER, -1, cv2.LINE_AA)
        text_w = face.width(camera, 15, 700)
        face.put(plan, camera, (x - text_w // 2, y + 6), (255, 255, 255), 15, 700)
    cv2.rectangle(plan, (0, 0), (width - 1, height - 1), INK, 3)
    face.put(plan, "Cameras of the centre · N ↑", (24, height - 24), INK, 26, 600)
    return plan


def logo(size: int = 512) -> Pixels:
    """A round badge on a transparent background (BGRA)."""
    face = TextFace()
    badge = np.zeros((size, size, 4), np.uint8)
    centre, radius = (size // 2, size // 2), size // 2 - 8
    cv2.circle(badge, centre, radius, (90, 50, 20, 255), -1, cv2.LINE_AA)
    cv2.circle(badge, centre, radius - 18, (240, 200, 120, 255), 6, cv2.LINE_AA)
    # A camera: body, lens, mount.
    cv2.rectangle(badge, (150, 180), (330, 280), (255, 255, 255, 255), -1)
    cv2.circle(badge, (330, 230), 44, (255, 255, 255, 255), -1, cv2.LINE_AA)
    cv2.circle(badge, (330, 230), 24, (90, 50, 20, 255), -1, cv2.LINE_AA)
    cv2.line(badge, (200, 280), (200, 330), (255, 255, 255, 255), 16)
    for text, y, px in (("CSU", 400, 64), ("centre de supervision", 440, 24)):
        text_w = face.width(text, px, 700)
        face.put(badge, text, ((size - text_w) // 2, y), (255, 255, 255, 255), px, 700)
    return badge


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, picture in (("city-map.png", city_map()), ("logo.png", logo())):
        path = OUT / name
        cv2.imwrite(str(path), picture, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {path} ({picture.shape[1]}x{picture.shape[0]})")


if __name__ == "__main__":
    main()
