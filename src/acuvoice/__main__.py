"""``python -m acuvoice``: the same command line as the ``acuvoice`` program."""

from __future__ import annotations

from acuvoice.cli import main

raise SystemExit(main())
