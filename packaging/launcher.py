"""Entry point of the frozen bundle: the ``tabless`` executable runs ``app.cli.main``.

The bundle runs itself again for the demo's children (``tabless sandbox`` / ``tabless backend``,
see ``app.demo.self_command``), so every subcommand must go through here.
"""

from __future__ import annotations

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless on Linux; required where children are spawned
    sys.exit(main())
