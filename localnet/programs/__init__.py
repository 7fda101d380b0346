"""The built on-chain programs this package deploys, shipped as package data.

``bin/<name>.so`` is written by ``python -m program.build`` from ``program/<name>/`` in a checkout
(and CI proves it rebuilds byte-for-byte); ``keys/<name>-keypair.json`` is the program id's keypair
on the localnet.
"""

from __future__ import annotations

from pathlib import Path

PROGRAMS_DIR = Path(__file__).resolve().parent
BIN_DIR = PROGRAMS_DIR / "bin"
KEYS_DIR = PROGRAMS_DIR / "keys"
