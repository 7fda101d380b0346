"""Cluster names and URLs, and the Solana CLI config file.

A cluster is given by name (``localnet``, ``devnet``, ``testnet``, ``mainnet-beta`` and the
CLI's one-letter monikers) or by URL; :func:`resolve_cluster` turns either into a
:class:`Cluster`.  :func:`load_cli_config` reads ``~/.config/solana/cli/config.yml`` (the file
``solana config set`` writes) for the default RPC URL and keypair path.

>>> resolve_cluster("devnet").url
'https://api.devnet.solana.com'
>>> resolve_cluster("http://127.0.0.1:8899").name
'localnet'
>>> resolve_cluster("https://rpc.example.com/abc").name
'custom'
>>> websocket_url_for("http://127.0.0.1:8899")
'ws://127.0.0.1:8900'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

LOCALNET_URL = "http://127.0.0.1:8899"

#: The public RPC endpoint of each named cluster.
CLUSTER_URLS: Mapping[str, str] = {
    "localnet": LOCALNET_URL,
    "devnet": "https://api.devnet.solana.com",
    "testnet": "https://api.testnet.solana.com",
    "mainnet-beta": "https://api.mainnet-beta.solana.com",
}

#: Other spellings accepted for the names above (the Solana CLI's monikers among them).
CLUSTER_ALIASES: Mapping[str, str] = {
    "l": "localnet",
    "localhost": "localnet",
    "local": "localnet",
    "d": "devnet",
    "t": "testnet",
    "m": "mainnet-beta",
    "mainnet": "mainnet-beta",
}

_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "0.0.0.0", "::1"})

#: Where ``solana config`` keeps its file, relative to the home directory.
CLI_CONFIG_RELATIVE = Path(".config/solana/cli/config.yml")
#: The CLI's default keypair, relative to the home directory.
DEFAULT_KEYPAIR_RELATIVE = Path(".config/solana/id.json")


class ClusterError(ValueError):
    """An unknown cluster name or an unusable URL."""


@dataclass(frozen=True)
class Cluster:
    """A cluster: ``name`` is one of :data:`CLUSTER_URLS`' keys or ``"custom"``."""

    name: str
    url: str

    @property
    def websocket_url(self) -> str:
        return websocket_url_for(self.url)

    @property
    def is_local(self) -> bool:
        return self.name == "localnet"


def resolve_cluster(name_or_url: str) -> Cluster:
    """A :class:`Cluster` from a name, a moniker or an ``http(s)://`` URL."""
    text = name_or_url.strip()
    key = CLUSTER_ALIASES.get(text.lower(), text.lower())
    if key in CLUSTER_URLS:
        return Cluster(key, CLUSTER_URLS[key])
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        known = ", ".join([*CLUSTER_URLS, *CLUSTER_ALIASES])
        raise ClusterError(f"not a cluster name ({known}) nor an http(s) URL: {text!r}")
    return Cluster(_cluster_name_of(text), text)


def _cluster_name_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname in _LOCAL_HOSTS:
        return "localnet"
    for name, known in CLUSTER_URLS.items():
        if urlsplit(known).hostname == parts.hostname and name != "localnet":
            return name
    return "custom"


def websocket_url_for(url: str) -> str:
    """The websocket URL the Solana CLI derives: ``ws(s)``, and port + 1 when a port is given."""
    parts = urlsplit(url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    netloc = parts.netloc
    if parts.port is not None and parts.hostname is not None:
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        netloc = f"{host}:{parts.port + 1}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class CliConfig:
    """What this toolkit reads from the Solana CLI config file."""

    json_rpc_url: str
    websocket_url: str
    keypair_path: Path
    commitment: str

    @property
    def cluster(self) -> Cluster:
        return resolve_cluster(self.json_rpc_url)


def home_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    home = env.get("HOME")
    return Path(home) if home else Path.home()


def default_cli_config_path(environ: Mapping[str, str] | None = None) -> Path:
    return home_dir(environ) / CLI_CONFIG_RELATIVE


def default_cli_config(environ: Mapping[str, str] | None = None) -> CliConfig:
    """The CLI's defaults when no config file exists (what ``solana config get`` shows)."""
    home = home_dir(environ)
    return CliConfig(
        json_rpc_url=CLUSTER_URLS["mainnet-beta"],
        websocket_url="",
        keypair_path=home / DEFAULT_KEYPAIR_RELATIVE,
        commitment="confirmed",
    )


def load_cli_config(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> CliConfig:
    """Read the Solana CLI config file; its defaults when ``path`` is None and no file exists.

    An explicitly given ``path`` that does not exist raises ``FileNotFoundError``.
    """
    explicit = path is not None
    file = Path(path).expanduser() if path is not None else default_cli_config_path(environ)
    defaults = default_cli_config(environ)
    if not file.exists():
        if explicit:
            raise FileNotFoundError(f"Solana CLI config not found: {file}")
        return defaults
    values = parse_cli_config(file.read_text(encoding="utf-8"))
    url = values.get("json_rpc_url") or defaults.json_rpc_url
    keypair = values.get("keypair_path")
    return CliConfig(
        json_rpc_url=url,
        websocket_url=values.get("websocket_url") or "",
        keypair_path=_expand(keypair, environ) if keypair else defaults.keypair_path,
        commitment=values.get("commitment") or defaults.commitment,
    )


def _expand(path: str, environ: Mapping[str, str] | None) -> Path:
    if path == "~" or path.startswith("~/"):
        return home_dir(environ) / path[2:]
    return Path(path)


def parse_cli_config(text: str) -> dict[str, str]:
    """The top-level ``key: value`` scalars of the CLI's YAML (nested maps such as
    ``address_labels`` are skipped).

    >>> parse_cli_config("---\\njson_rpc_url: 'http://x:1'\\naddress_labels:\\n  '1': S\\n")
    {'json_rpc_url': 'http://x:1'}
    """
    out: dict[str, str] = {}
    for raw in text.splitlines():
        if not raw or raw[0] in " \t#" or raw.startswith("---"):
            continue
        key, sep, value = raw.partition(":")
        if not sep:
            continue
        value = value.strip()
        if not value or value in ("{}", "[]"):
            continue
        out[key.strip()] = _unquote(value)
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    # An unquoted scalar may carry a trailing comment.
    return value.split(" #", 1)[0].strip()
