"""How the running wall is told what to do: the control socket (a transport) and its
client. Requests are handled on the render loop, between two frames.
"""
