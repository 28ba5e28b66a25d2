"""Make docs/demo-wall.png: the demo wall's 14 outputs as the program draws them.

Runs `videowall demo --headless` for a few seconds with snapshots, then lays
the 14 output snapshots out as the 7x2 wall (A1..A7 over B1..B7), scaled down.
Run with the project's venv: .venv/bin/python scripts/readme_screenshot.py
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCALE = (480, 270)
GAP = 8


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "compositor",
                "demo",
                "--headless",
                "--snapshot",
                tmp,
                "--every",
                "1",
            ],
            cwd=ROOT,
        )
        time.sleep(15)
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=10)
        rows = []
        for row in "AB":
            tiles = []
            for column in range(1, 8):
                image = cv2.imread(str(Path(tmp) / f"{row}{column}.png"))
                tiles.append(cv2.resize(image, SCALE, interpolation=cv2.INTER_AREA))
                tiles.append(np.full((SCALE[1], GAP, 3), 30, np.uint8))
            rows.append(np.hstack(tiles[:-1]))
            rows.append(np.full((GAP, rows[0].shape[1], 3), 30, np.uint8))
        wall = np.vstack(rows[:-1])
    out = ROOT / "docs" / "demo-wall.png"
    cv2.imwrite(str(out), wall, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {out} ({wall.shape[1]}x{wall.shape[0]})")


if __name__ == "__main__":
    main()
