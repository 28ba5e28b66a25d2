"""Composition, pure numpy: one canvas per output as I420 planes, the tiles' notices and
painted tiles (clock, text, image, labels), and what decides a tile's notice.
"""
