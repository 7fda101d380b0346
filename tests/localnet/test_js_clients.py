"""Mainstream JavaScript clients, unchanged, against a running localnet (issue 12).

Each test runs a script of ``tests/js_clients`` with node (installed there by ``npm ci``)
while the localnet serves JSON-RPC and PubSub on this test's event loop, then checks what the
script reports against the chain itself: balances, statuses, program accounts.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from bourse_chain.market import Market
from bourse_chain.money import expected_split, usage_charge
from bourse_chain.pda import program_data_pda
from localnet import Localnet
from localnet.chain import REALISTIC_DEPTHS

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "tests" / "js_clients"
NODE = shutil.which("node")
RUN_TIMEOUT = 120.0

pytestmark = pytest.mark.skipif(
    NODE is None or not (JS / "node_modules").is_dir(),
    reason="node or tests/js_clients/node_modules missing (cd tests/js_clients && npm ci)",
)


@pytest.fixture(scope="module")
async def net(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Localnet]:
    # A validator's commitment lag: confirmed one slot after landing, finalized two.
    async with Localnet.start(
        port=0, workdir=tmp_path_factory.mktemp("js"), backend="embedded", depths=REALISTIC_DEPTHS
    ) as running:
        yield running


async def run_script(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run ``tests/js_clients/<name>`` with ``payload`` on stdin; its JSON result."""
    assert NODE is not None
    proc = await asyncio.create_subprocess_exec(
        NODE,
        str(JS / name),
        cwd=JS,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(json.dumps(payload).encode()), RUN_TIMEOUT
        )
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode()[-4000:]
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def base_payload(net: Localnet) -> dict[str, Any]:
    return {
        "rpc_url": net.rpc_url,
        "ws_url": net.ws_url,
        "keypairs": {role: str(path) for role, path in net.keypair_paths.items()},
    }


async def balance(net: Localnet, address: str | Pubkey) -> int:
    value: int = (await net.rpc("getBalance", [str(address), {"commitment": "processed"}]))["value"]
    return value


async def token_balance(net: Localnet, address: Pubkey) -> int:
    reply = await net.rpc("getTokenAccountBalance", [str(address)])
    return int(reply["value"]["amount"])


async def status(net: Localnet, signature: str) -> dict[str, Any]:
    value: dict[str, Any] = (await net.rpc("getSignatureStatuses", [[signature]]))["value"][0]
    return value


async def test_web3js_v1_send_and_confirm_and_subscriptions(net: Localnet) -> None:
    result = await run_script("web3v1.js", base_payload(net))

    # Every transfer landed, each at least at the commitment web3.js waited for.
    assert await balance(net, result["recipient"]) == 7_000_000
    rank = {"processed": 0, "confirmed": 1, "finalized": 2}
    for send in result["sends"]:
        landed = await status(net, send["signature"])
        assert landed["err"] is None
        assert rank[send["status"]] >= rank[send["commitment"] or "processed"]
    # onAccountChange saw the first transfer's post-state; onLogs its System program logs.
    assert result["account"]["lamports"] == 1_000_000
    assert result["account"]["owner"] == "11111111111111111111111111111111"
    assert result["logs"]["signature"] == result["sends"][0]["signature"]
    assert result["logs"]["err"] is None
    assert result["logs"]["logs"][0] == "Program 11111111111111111111111111111111 invoke [1]"
    # getParsedTransaction, getBlock and getSignaturesForAddress (with `before`) as web3.js
    # validates them
    signatures = [s["signature"] for s in result["sends"]]
    parsed = result["parsed"]
    assert parsed["fee_payer"] == str(net.keypairs["payer"].pubkey())
    assert parsed["fee_payer_signer"] is True and parsed["fee"] == 5_000
    assert parsed["program"] == "11111111111111111111111111111111"
    assert signatures[0] in result["block_signatures"]
    assert result["block_height"] == parsed["slot"]
    assert result["history"] == [signatures[2], signatures[1]]
    assert result["older"] == [signatures[0]]


async def test_kit_send_and_confirm_factory_with_subscriptions(net: Localnet) -> None:
    result = await run_script("kit.js", base_payload(net))

    assert await balance(net, result["recipient"]) == 7_000_000
    by_commitment = {s["commitment"]: s for s in result["sends"]}
    assert by_commitment["confirmed"]["status"] in ("confirmed", "finalized")
    assert by_commitment["finalized"]["status"] == "finalized"
    for send in result["sends"]:
        assert (await status(net, send["signature"]))["err"] is None
    assert result["account"]["lamports"] == 3_000_000
    assert result["account"]["owner"] == "11111111111111111111111111111111"


async def test_solana_pay_transfer_found_and_validated(net: Localnet) -> None:
    recipient = net.keypairs["provider"].pubkey()
    recipient_usdc = net.usdc_accounts["provider"]
    sol_before = await balance(net, recipient)
    usdc_before = await token_balance(net, recipient_usdc)
    payload = {**base_payload(net), "recipient": str(recipient), "usdc_mint": str(net.usdc_mint)}
    result = await run_script("pay.js", payload)

    # findReference found exactly the transfers sent, and validateTransfer accepted them;
    # the money moved exactly.
    for kind in ("sol", "usdc"):
        assert result[kind]["found"] == result[kind]["signature"]
        assert (await status(net, result[kind]["signature"]))["err"] is None
        history = await net.rpc("getSignaturesForAddress", [result[kind]["reference"]])
        assert [h["signature"] for h in history] == [result[kind]["signature"]]
    assert await balance(net, recipient) == sol_before + 10_000_000
    assert await token_balance(net, recipient_usdc) == usdc_before + 1_230_000
    memo = (await net.rpc("getSignaturesForAddress", [result["usdc"]["reference"]]))[0]["memo"]
    assert memo == "[11] bourse-usdc"


async def test_anchor_ts_full_market_flow_from_the_idl(net: Localnet) -> None:
    program_id = net.program_ids["compute_market"]
    keys = net.keypairs
    market = Market(usdc_mint=net.usdc_mint, treasury_authority=keys["admin"].pubkey())
    slug, nonce, fee_bps, protocol_bps = "js-anchor-model", 7, 500, 100
    price_in, price_out, max_in, max_out, used_in, used_out = (
        300_000,
        1_200_000,
        100_000,
        50_000,
        12_345,
        6_789,
    )
    payer, provider = keys["payer"].pubkey(), keys["provider"].pubkey()
    accounts = {
        "usdc_mint": market.usdc_mint,
        "usdc_token_program": market.usdc_token_program,
        "program_data": program_data_pda(program_id)[0],
        "config": market.config,
        "escrow_vault": market.escrow_vault,
        "model": market.model(slug),
        "revenue_vault": market.revenue_vault(slug),
        "provider": market.provider(provider),
        "payout": market.usdc_account(provider),
        "provider_payout": market.usdc_account(provider),
        "offer": market.offer(slug, provider),
        "order": market.order(payer, nonce),
        "payer_token": market.usdc_account(payer),
        "treasury": market.treasury,
        "payer": payer,
    }
    signer_roles = {
        "admin": "admin",
        "creator": "creator",
        "authority": "provider",
        "payer": "payer",
        "settler": "settler",
    }
    steps = [
        {
            "ix": "initialize_config",
            "args": {
                "settler": str(keys["settler"].pubkey()),
                "crank": str(keys["crank"].pubkey()),
                "treasury_authority": str(keys["admin"].pubkey()),
                "protocol_fee_bps": protocol_bps,
                "max_protocol_fee_bps": 500,
                "max_model_fee_bps": 3_000,
                "max_buyback_per_call": "1000000",
                "buyback_cooldown_secs": "0",
            },
        },
        {
            "ix": "register_model",
            "args": {"slug": slug, "fee_bps": fee_bps, "metadata_uri": "https://example.org/js"},
        },
        # `mint` / `sweep_stuck_revenue` are read only by IDLs that have them (the flow takes
        # each instruction's arguments by name from the IDL, extra plan values are ignored).
        {
            "ix": "set_model_status",
            "args": {"status": "Approved", "mint": None, "sweep_stuck_revenue": False},
        },
        {"ix": "register_provider", "args": {"name": "JS provider"}},
        {
            "ix": "upsert_offer",
            "args": {
                "price_input_per_mtok": price_in,
                "price_output_per_mtok": price_out,
                "active": True,
            },
        },
        {
            "ix": "open_order",
            "args": {
                "nonce": nonce,
                "max_input_tokens": max_in,
                "max_output_tokens": max_out,
                "ttl_secs": 600,
                # the payer bounds what it signs: exactly the hold at the quoted prices
                "max_hold": usage_charge(price_in, price_out, max_in, max_out),
                # the program checks the payer's associated account with this bump (no search)
                "payer_token_bump": market.usdc_account_bump(payer),
            },
        },
        {"ix": "settle_order", "args": {"input_tokens": used_in, "output_tokens": used_out}},
    ]
    payer_before = await token_balance(net, market.usdc_account(payer))
    payout_before = await token_balance(net, market.usdc_account(provider))
    treasury_before = await token_balance(net, market.treasury)
    hold = usage_charge(price_in, price_out, max_in, max_out)

    payload = {
        **base_payload(net),
        "idl_path": str(REPO / "idl" / "compute_market.json"),
        "program_id": str(program_id),
        "accounts": {name: str(key) for name, key in accounts.items()},
        "signer_roles": signer_roles,
        "steps": steps,
    }
    result = await run_script("anchor_flow.js", payload)

    assert [s["ix"] for s in result["steps"]] == [s["ix"] for s in steps]
    for step in result["steps"]:
        landed = await status(net, step["signature"])
        assert landed["err"] is None
        assert landed["confirmationStatus"] in ("confirmed", "finalized")
    # The settlement moved exactly the usage charge, split by the money rules.
    gross = usage_charge(price_in, price_out, used_in, used_out)
    assert gross < hold
    to_provider, to_creator, to_protocol = expected_split(gross, protocol_bps, fee_bps)
    assert await token_balance(net, market.usdc_account(payer)) == payer_before - gross
    assert await token_balance(net, market.usdc_account(provider)) == payout_before + to_provider
    assert await token_balance(net, market.revenue_vault(slug)) == to_creator
    assert await token_balance(net, market.treasury) == treasury_before + to_protocol
    assert await token_balance(net, market.escrow_vault) == 0
    order = await net.rpc("getAccountInfo", [str(market.order(payer, nonce))])
    assert order["value"] is None
