"""Our pump.fun instructions, built from the generated bindings, are byte for byte the ones
the public SDK (npm @pump-fun/pump-sdk, tests/pump_node) builds: same program, same accounts
in the same order with the same flags, same data."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain import pump_curve

NODE_DIR = Path(__file__).resolve().parents[2] / "tests" / "pump_node"
USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@pump-fun").exists(),
    reason="node or tests/pump_node/node_modules missing (cd tests/pump_node && npm ci)",
)


def sdk(query: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        ["node", "sdk_instructions.js"],
        cwd=NODE_DIR,
        input=json.dumps(query),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def as_json(ix: Instruction) -> dict[str, Any]:
    return {
        "programId": str(ix.program_id),
        "keys": [
            {"pubkey": str(m.pubkey), "isSigner": m.is_signer, "isWritable": m.is_writable}
            for m in ix.accounts
        ],
        "data": bytes(ix.data).hex(),
    }


@pytest.mark.parametrize("name", ["Acme Llama", "x" * 32])
def test_create_v2_usdc_paired_matches_the_sdk(name: str) -> None:
    mint, user, creator = Keypair().pubkey(), Keypair().pubkey(), Keypair().pubkey()
    ours = pump_curve.create_v2_instruction(
        user, mint, creator, name, "LLAMA", "https://acme.ai/llama.json", USDC
    )
    theirs = sdk(
        {
            "kind": "create_v2",
            "mint": str(mint),
            "name": name,
            "symbol": "LLAMA",
            "uri": "https://acme.ai/llama.json",
            "creator": str(creator),
            "user": str(user),
            "quoteMint": str(USDC),
        }
    )
    assert as_json(ours) == theirs
