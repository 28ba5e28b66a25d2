"""``python -m compositor`` is the ``videowall`` command."""

import sys

from compositor.cli import main

if __name__ == "__main__":  # decoder workers re-import this module under spawn
    sys.exit(main())
