"""Camera sources: decoder worker processes (the only code that imports ``av``) writing
the latest frame of each camera, at each tile size, into shared-memory slots.
"""
