"""The only stage that imports pyglet/OpenGL: one window per output on its monitor, the
monitors of the X server, and the technician's screen tools (screens, identify).
"""
