"""``python -m bourse_cli`` = ``bourse``."""

from __future__ import annotations

from bourse_cli.app import main

main()
