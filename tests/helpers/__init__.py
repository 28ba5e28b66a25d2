"""What the tests share: pixel checks, waiting, layouts, running ``videowall``.

- :mod:`~tests.helpers.pixels`: the test cameras' colours and checks on pictures;
- :mod:`~tests.helpers.walls`: waiting for a condition, ticking an in-process wall,
  reading its tiles;
- :mod:`~tests.helpers.layouts`: layout texts on the test cameras, saving as editors do;
- :mod:`~tests.helpers.processes`: the command line, free ports, processes' children;
- :mod:`~tests.helpers.e2e`: the e2e tests' two-output layout and its checks;
- :mod:`~tests.helpers.api_wall`: a wall with its HTTP API in a subprocess;
- :mod:`~tests.helpers.pictures`: image files (bombs, headers) for image tiles;
- :mod:`~tests.helpers.notify_socket`: a systemd notify socket bound by a test;
- :mod:`~tests.helpers.cluster`: walls over several hosts (``--host``/``--broker``
  subprocesses), a TCP proxy to cut one from the broker, RTSP sessions at a camera.

Fixtures (the RTSP test cameras, an X server, in-process walls, Chromium) are in
``tests/conftest.py``. A test is end-to-end (``pytest -m e2e``) when it uses a
real part: its module says so once, with ``pytestmark = pytest.mark.e2e``.
"""
