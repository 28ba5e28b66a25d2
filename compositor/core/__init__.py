"""Leaf helpers every stage may use, importing nothing else of ours: errors, clocks,
geometry, colour, redaction, pacing, frame ages.
"""
