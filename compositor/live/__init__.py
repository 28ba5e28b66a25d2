"""The running wall's life beside the frames: following the layout file (reloads,
history, presets), the status file, snapshots.
"""
