"""``python -m backend [args]``: the same as ``tabless backend [args]``."""

import sys

from backend.cli import backend_command

if __name__ == "__main__":
    raise SystemExit(backend_command(sys.argv[1:]))
