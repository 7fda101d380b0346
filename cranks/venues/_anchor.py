"""Anchor's 8-byte discriminators: ``sha256("<namespace>:<name>")[:8]``."""

from __future__ import annotations

import hashlib


def instruction_discriminator(name: str) -> bytes:
    return hashlib.sha256(f"global:{name}".encode()).digest()[:8]


def account_discriminator(name: str) -> bytes:
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]
