"""``bourse-gateway keys …`` and ``credits grant`` on the database; the keys they make
authenticate (only by hash), rotate and revoke against a running gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from gateway.db.schema import api_keys
from tests.gateway.harness import Chain, Upstreams, gateway_thread, read_db, settings_for


def _cli(db: str, *args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def _ok(base_url: str, key: str) -> int:
    return httpx.get(base_url + "/credits", headers={"Authorization": f"Bearer {key}"}).status_code


def test_keys_create_list_rotate_revoke(chain: Chain, upstreams: Upstreams, db_url: str) -> None:
    made = _cli(db_url, "keys", "create", "--user", "alice", "--label", "laptop")
    secret = made["key"]
    assert secret.startswith("bs_live_") and len(secret) > 40
    hashes = [r.key_hash for r in read_db(db_url, select(api_keys.c.key_hash))]
    assert secret not in json.dumps(hashes) and len(hashes) == 1  # stored hashed only
    granted = _cli(
        db_url, "credits", "grant", "--user", "alice", "--amount", "7000", "--reference", "r1"
    )
    assert granted == {"credited": True, "balance": 7000, "held": 0}
    again = _cli(
        db_url, "credits", "grant", "--user", "alice", "--amount", "7000", "--reference", "r1"
    )
    assert again == {"credited": False, "balance": 7000, "held": 0}
    settings = settings_for(chain, upstreams, db_url, key_cache_ttl=0.0)
    with gateway_thread(settings) as gw:
        assert _ok(gw.base_url, secret) == 200
        rotated = _cli(db_url, "keys", "rotate", str(made["id"]))
        assert rotated["user"] == "alice" and rotated["label"] == "laptop"
        assert _ok(gw.base_url, secret) == 401
        assert _ok(gw.base_url, rotated["key"]) == 200
        listed = _cli(db_url, "keys", "list", "--user", "alice")
        assert [(k["id"], k["revoked_at"] is not None) for k in listed] == [
            (made["id"], True),
            (rotated["id"], False),
        ]
        _cli(db_url, "keys", "revoke", str(rotated["id"]))
        assert _ok(gw.base_url, rotated["key"]) == 401
        r = gw.admin("POST", f"/api/admin/keys/{rotated['id']}/revoke")
        assert r.status_code == 404


def test_bourse_gateway_is_the_gateway_cli(db_url: str, tmp_path: Path) -> None:
    # `bourse gateway keys …` (the gateway CLI mounted in `bourse`): its own --config and
    # --db, not the bourse global options
    config = tmp_path / "gw.toml"
    config.write_text(f"db = {json.dumps(db_url)}\n")

    def bourse(*args: str) -> Any:
        out = subprocess.run(
            [sys.executable, "-m", "bourse_cli", "gateway", *args, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    made = bourse("keys", "create", "--user", "bob")
    assert made["key"].startswith("bs_live_") and made["user"] == "bob"
    granted = bourse("credits", "grant", "--user", "bob", "--amount", "5", "--reference", "x")
    assert granted == {"credited": True, "balance": 5, "held": 0}
    assert [k["id"] for k in bourse("keys", "list")] == [made["id"]]
    # the same rows through bourse-gateway
    assert [k["id"] for k in _cli(db_url, "keys", "list", "--user", "bob")] == [made["id"]]
