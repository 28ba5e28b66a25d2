from compositor.core.geometry import TileRect
from compositor.layout.wall import ScreenGeometry, WallGeometry

# A 55" 1920x1080 screen: 1209.6 x 680.4 mm visible (0.63 mm pixels), 1.8 + 1.8 mm bezels.
SCREEN = ScreenGeometry(1920, 1080, 1209.6, 680.4, (1.8, 1.8, 1.8, 1.8))
WALL = WallGeometry(2, 7, SCREEN)


def test_screens_sit_apart_by_the_bezels() -> None:
    gap = round(3.6 / 0.63)  # two bezels of 1.8 mm, in pixels of 0.63 mm
    first, second = WALL.screen_rect(0, 0), WALL.screen_rect(0, 1)
    assert first == TileRect(3, 3, 1920, 1080)
    assert second.x - first.right == gap
    assert WALL.screen_rect(1, 0).y - first.bottom == gap


def test_without_bezels_screens_touch() -> None:
    flat = WallGeometry(2, 2, ScreenGeometry(100, 50, 100.0, 50.0))
    assert flat.screen_rect(1, 1) == TileRect(100, 50, 100, 50)
    assert flat.size == (200, 100)


def test_a_picture_over_two_by_two_screens_is_cut_at_the_bezels() -> None:
    a, d = WALL.screen_rect(0, 0), WALL.screen_rect(1, 1)
    box = TileRect(a.x, a.y, d.right - a.x, d.bottom - a.y)  # exactly 2x2 screens
    pieces = WALL.project(box)
    assert [(p.row, p.column) for p in pieces] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(p.on_screen == TileRect(0, 0, 1920, 1080) for p in pieces)
    top_right = pieces[1]
    # The bezel hides the box columns between the two screens: no picture is lost
    # to squeezing, it is behind the frame.
    assert top_right.of_picture.x == WALL.screen_rect(0, 1).x - a.x
    assert top_right.of_picture.x > pieces[0].of_picture.right


def test_straight_line_stays_straight_across_a_bezel() -> None:
    # A diagonal y = x in the picture's box: on each screen, the on-screen pixel
    # maps back to the same line through the piece offsets.
    box = TileRect(1000, 3, 2000, 2000)
    for piece in WALL.project(box):
        sx, sy = piece.on_screen.x, piece.on_screen.y
        px, py = piece.of_picture.x, piece.of_picture.y
        visible = WALL.screen_rect(piece.row, piece.column)
        # wall position of the first pixel, computed both ways
        assert (visible.x + sx, visible.y + sy) == (box.x + px, box.y + py)


def test_box_off_the_wall_gives_no_piece() -> None:
    assert WALL.project(TileRect(-500, -500, 100, 100)) == []
