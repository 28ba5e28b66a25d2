"""The HTTP API and the web control page a running wall serves (FastAPI on uvicorn, in
its own thread): requests become the wall's commands, carried out on the render loop.
"""
