"""Loading keypairs: a file, a JSON array, a base58 secret, an environment variable, or the
Solana CLI's configured keypair.  Nothing here logs or repeats secret material: error
messages name where a key came from, never what it contained.

>>> kp = load_keypair(list(range(32)) + list(bytes(Keypair.from_seed(bytes(range(32))).pubkey())))
>>> str(kp.pubkey()) == str(Keypair.from_seed(bytes(range(32))).pubkey())
True
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from solders.keypair import Keypair

from bourse_chain.cluster import load_cli_config

logger = logging.getLogger(__name__)

#: The environment variable :func:`load_keypair` reads when no source is given.
KEYPAIR_ENV = "BOURSE_KEYPAIR"

KeySource = str | Path | bytes | Sequence[int]


class KeypairError(ValueError):
    """A keypair could not be loaded; the message names the source, never the secret."""


class KeypairMissing(KeypairError):
    """No keypair where one was looked for (no such file, variable not set)."""


def load_keypair(
    source: KeySource | None = None,
    *,
    env_var: str = KEYPAIR_ENV,
    environ: Mapping[str, str] | None = None,
    cli_config: str | Path | None = None,
) -> Keypair:
    """Load a keypair.

    ``source`` may be:

    * a path (``str`` or ``Path``; ``~`` expanded) to a Solana CLI keypair file (a JSON array
      of 64 bytes);
    * a JSON array string (``"[12,34,...]"``), a list of 64 ints, or 64 raw bytes (or a 32-byte
      seed);
    * a base58 string of the 64-byte secret (what wallets export);
    * ``"env:NAME"``: the environment variable ``NAME``, holding any of the above;
    * ``None``: the variable ``env_var`` (``BOURSE_KEYPAIR``) if set, else the keypair path of
      the Solana CLI config (``cli_config`` or ``~/.config/solana/cli/config.yml``), else
      ``~/.config/solana/id.json``.
    """
    env = os.environ if environ is None else environ
    if source is None:
        value = env.get(env_var)
        if value:
            return _from_text(value, f"${env_var}", env)
        path = load_cli_config(cli_config, environ=environ).keypair_path
        return _from_file(path)
    if isinstance(source, Path):
        return _from_file(source.expanduser())
    if isinstance(source, bytes | bytearray):
        return _from_bytes(bytes(source), "bytes")
    if isinstance(source, str):
        return _from_text(source, "argument", env)
    return _from_ints(source, "sequence")


def _from_text(text: str, origin: str, env: Mapping[str, str]) -> Keypair:
    value = text.strip()
    if value.startswith("env:"):
        name = value[4:]
        inner = env.get(name)
        if not inner:
            raise KeypairMissing(f"environment variable {name} is not set")
        if inner.strip().startswith("env:"):
            raise KeypairError(f"environment variable {name} refers to another variable")
        return _from_text(inner, f"${name}", env)
    if value.startswith("["):
        return _from_json(value, origin)
    if _looks_like_base58_secret(value):
        try:
            return Keypair.from_base58_string(value)
        except ValueError:
            raise KeypairError(f"{origin}: not a valid base58 keypair") from None
    return _from_file(Path(value).expanduser())


def _looks_like_base58_secret(value: str) -> bool:
    alphabet = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
    return 80 <= len(value) <= 90 and all(c in alphabet for c in value)


def _from_file(path: Path) -> Keypair:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeypairMissing(f"keypair file not found: {path}") from None
    except OSError as e:
        raise KeypairError(f"cannot read keypair file {path}: {e.strerror}") from None
    _warn_if_readable_by_others(path)
    return _from_json(text, str(path))


def _warn_if_readable_by_others(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        logger.warning("keypair file %s is readable by other users (chmod 600 it)", path)


def _from_json(text: str, origin: str) -> Keypair:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise KeypairError(f"{origin}: not a JSON array of bytes") from None
    if not isinstance(value, list):
        raise KeypairError(f"{origin}: not a JSON array of bytes")
    return _from_ints(value, origin)


def _from_ints(values: Sequence[object], origin: str) -> Keypair:
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
        raise KeypairError(f"{origin}: every item must be an integer 0-255")
    return _from_bytes(bytes(values), origin)  # type: ignore[arg-type]


def _from_bytes(data: bytes, origin: str) -> Keypair:
    if len(data) == 32:
        return Keypair.from_seed(data)
    if len(data) != 64:
        raise KeypairError(f"{origin}: a keypair is 64 bytes (or a 32-byte seed), got {len(data)}")
    try:
        return Keypair.from_bytes(data)
    except ValueError:
        raise KeypairError(f"{origin}: the public half does not match the secret") from None
