"""bourse_chain.cluster and bourse_chain.keys: names/URLs, the CLI config file, keypair sources."""

from __future__ import annotations

import doctest
import json
import logging
from pathlib import Path

import pytest
from solders.keypair import Keypair

from bourse_chain import cluster as cluster_mod
from bourse_chain import keys as keys_mod
from bourse_chain.cluster import (
    CLUSTER_URLS,
    ClusterError,
    load_cli_config,
    parse_cli_config,
    resolve_cluster,
    websocket_url_for,
)
from bourse_chain.keys import KeypairError, load_keypair

CLI_YAML = """---
json_rpc_url: "https://api.devnet.solana.com"
websocket_url: ""
keypair_path: {keypair}
address_labels:
  "11111111111111111111111111111111": System Program
commitment: confirmed
"""


def _write_keypair(path: Path, kp: Keypair) -> Path:
    path.write_text(json.dumps(list(bytes(kp))))
    path.chmod(0o600)
    return path


# -- cluster -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "name", "url"),
    [
        ("localnet", "localnet", "http://127.0.0.1:8899"),
        ("l", "localnet", "http://127.0.0.1:8899"),
        ("localhost", "localnet", "http://127.0.0.1:8899"),
        ("devnet", "devnet", "https://api.devnet.solana.com"),
        ("d", "devnet", "https://api.devnet.solana.com"),
        ("Mainnet-Beta", "mainnet-beta", "https://api.mainnet-beta.solana.com"),
        ("m", "mainnet-beta", "https://api.mainnet-beta.solana.com"),
        ("testnet", "testnet", "https://api.testnet.solana.com"),
        ("http://127.0.0.1:45123", "localnet", "http://127.0.0.1:45123"),
        ("https://api.devnet.solana.com", "devnet", "https://api.devnet.solana.com"),
        ("https://rpc.example.com/key", "custom", "https://rpc.example.com/key"),
    ],
)
def test_resolve_cluster(given: str, name: str, url: str) -> None:
    c = resolve_cluster(given)
    assert (c.name, c.url) == (name, url)


@pytest.mark.parametrize("bad", ["", "devnett", "ftp://x", "127.0.0.1:8899", "http://"])
def test_resolve_cluster_rejects(bad: str) -> None:
    with pytest.raises(ClusterError):
        resolve_cluster(bad)


def test_websocket_url() -> None:
    assert websocket_url_for("http://127.0.0.1:8899") == "ws://127.0.0.1:8900"
    assert websocket_url_for("https://api.devnet.solana.com") == "wss://api.devnet.solana.com"
    assert resolve_cluster("localnet").websocket_url == "ws://127.0.0.1:8900"


def test_cli_config_read(tmp_path: Path) -> None:
    # Given a CLI config naming devnet and a keypair under ~
    cfg = tmp_path / "config.yml"
    cfg.write_text(CLI_YAML.format(keypair="~/keys/id.json"))
    # When it is read with HOME pointing at tmp_path
    c = load_cli_config(cfg, environ={"HOME": str(tmp_path)})
    # Then the URL, cluster and expanded keypair path are the file's
    assert c.json_rpc_url == "https://api.devnet.solana.com"
    assert c.cluster.name == "devnet"
    assert c.keypair_path == tmp_path / "keys/id.json"
    assert c.commitment == "confirmed"


def test_cli_config_default_location_and_defaults(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    # No file: the CLI's defaults
    c = load_cli_config(environ=env)
    assert c.json_rpc_url == CLUSTER_URLS["mainnet-beta"]
    assert c.keypair_path == tmp_path / ".config/solana/id.json"
    # A file at the default location is found
    path = tmp_path / ".config/solana/cli/config.yml"
    path.parent.mkdir(parents=True)
    path.write_text(CLI_YAML.format(keypair="'/abs/id.json'"))
    c = load_cli_config(environ=env)
    assert c.keypair_path == Path("/abs/id.json")
    # An explicit missing path is an error
    with pytest.raises(FileNotFoundError):
        load_cli_config(tmp_path / "nope.yml")


def test_parse_cli_config_quoting() -> None:
    text = "a: 'it''s'\nb: \"q\\\"x\"\nc: plain # comment\nnested:\n  k: v\nd: {}\n"
    assert parse_cli_config(text) == {"a": "it's", "b": 'q"x', "c": "plain"}


def test_doctests() -> None:
    for mod in (cluster_mod, keys_mod):
        result = doctest.testmod(mod)
        assert result.failed == 0


# -- keys ----------------------------------------------------------------------------------


def test_load_keypair_sources(tmp_path: Path) -> None:
    kp = Keypair()
    path = _write_keypair(tmp_path / "id.json", kp)
    as_json = json.dumps(list(bytes(kp)))
    env = {"MY_KEY": as_json, "MY_PATH": str(path)}
    for source in (
        path,
        str(path),
        as_json,
        list(bytes(kp)),
        bytes(kp),
        str(kp),  # base58 secret
        "env:MY_KEY",
        "env:MY_PATH",
    ):
        assert load_keypair(source, environ=env).pubkey() == kp.pubkey()


def test_load_keypair_from_seed() -> None:
    seed = bytes(range(32))
    assert load_keypair(seed).pubkey() == Keypair.from_seed(seed).pubkey()


def test_load_keypair_default_env_then_cli_config(tmp_path: Path) -> None:
    a, b = Keypair(), Keypair()
    a_path = _write_keypair(tmp_path / "a.json", a)
    b_path = _write_keypair(tmp_path / "b.json", b)
    cfg = tmp_path / "config.yml"
    cfg.write_text(CLI_YAML.format(keypair=str(b_path)))
    # BOURSE_KEYPAIR wins when set
    got = load_keypair(environ={"BOURSE_KEYPAIR": str(a_path)}, cli_config=cfg)
    assert got.pubkey() == a.pubkey()
    # else the CLI config's keypair_path
    assert load_keypair(environ={}, cli_config=cfg).pubkey() == b.pubkey()
    # else ~/.config/solana/id.json
    default = tmp_path / ".config/solana/id.json"
    default.parent.mkdir(parents=True)
    _write_keypair(default, a)
    assert load_keypair(environ={"HOME": str(tmp_path)}).pubkey() == a.pubkey()


@pytest.mark.parametrize(
    "bad",
    [
        "[1,2,3]",
        "[" + ",".join(["300"] * 64) + "]",
        '{"k": 1}',
        "[not json",
        "env:UNSET_VARIABLE",
        "/no/such/keypair.json",
        [True] * 64,
    ],
)
def test_load_keypair_errors(bad: object) -> None:
    with pytest.raises(KeypairError):
        load_keypair(bad, environ={})  # type: ignore[arg-type]


def test_errors_and_logs_never_contain_the_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kp = Keypair()
    secret_json = json.dumps(list(bytes(kp)))
    # A keypair whose public half does not match its secret
    broken = list(bytes(kp)[:32]) + [0] * 32
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    path.chmod(0o644)  # readable by others: a warning naming the path only
    caplog.set_level(logging.DEBUG)
    for source in (path, json.dumps(broken), secret_json[:-1]):
        with pytest.raises(KeypairError) as info:
            load_keypair(source, environ={})
        text = str(info.value) + repr(info.value)
        assert str(bytes(kp)[:32]) not in text
        assert ",".join(str(b) for b in bytes(kp)[:8]) not in text.replace(" ", "")
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "readable by other users" in caplog.text
    for secret in (str(kp), secret_json, secret_json.replace(" ", "")):
        assert secret not in caplog.text
