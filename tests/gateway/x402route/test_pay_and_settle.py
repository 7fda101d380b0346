"""End to end on the localnet with the real Node facilitator: our Python client (v2 and v1
headers) and the npm @x402/fetch client pay the gateway; the USDC lands in the model's inbox;
the settlement worker then settles those calls in a batch from the inbox (provider payout,
revenue vault and treasury asserted to the micro-USDC), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bourse_chain.client import BourseClient
from bourse_chain.market import payment_id_bytes
from bourse_chain.money import expected_split
from bourse_chain.receipts import CallProof, verify_on_chain
from gateway.localnet_demo import PROTOCOL_FEE_BPS
from gateway.settlement.chain_port import payment_id
from tests.gateway.harness import (
    Chain,
    Upstreams,
    balances,
    gateway_thread,
    wait_settled,
    watched_accounts,
)
from tests.gateway.x402route.harness import (
    SLUG,
    NodeFacilitator,
    chat_body,
    inbox,
    new_payer,
    pay,
    route_url,
    x402_call_rows,
    x402_rows,
    x402_settings,
)
from tests.x402.node import NODE_DIR

CREATOR_FEE_BPS = 800  # deepseek-chat in the demo market


def node_fetch(
    chain: Chain, payer_path: Path, url: str, body: dict[str, object]
) -> dict[str, object]:
    """The npm @x402/fetch client pays ``url`` (x402_facilitator/pay.mjs)."""
    done = subprocess.run(
        [
            "node",
            "pay.mjs",
            str(payer_path),
            chain.net.rpc_url,
            url,
            str(chain.net.usdc_mint),
            "1000000",
            json.dumps(body),
        ],
        cwd=NODE_DIR,
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    answer: dict[str, object] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return answer


def test_paid_calls_land_in_the_inbox_and_are_settled_from_it_in_a_batch(
    chain: Chain,
    upstreams: Upstreams,
    facilitator: NodeFacilitator,
    db_url: str,
    tmp_path: Path,
) -> None:
    w = watched_accounts(chain)
    model_inbox = inbox(chain, SLUG)
    payer = new_payer(chain, tmp_path)
    before = balances(chain, w)
    payer_before = chain.token_balance(payer.ata)
    settings = x402_settings(chain, upstreams, db_url, facilitator.url)  # no worker yet
    with gateway_thread(settings) as gw:
        inbox_before = chain.token_balance(model_inbox)  # the gateway created it at start-up
        url = route_url(gw)
        v2 = pay(chain, url, payer, chat_body(stream=False, text="json please"), version=2)
        assert v2.response.status_code == 200
        assert "PAYMENT-RESPONSE" in v2.response.headers
        assert v2.settlement is not None and v2.settlement.success
        completion = v2.response.json()
        assert completion["object"] == "chat.completion"
        assert completion["choices"][0]["message"]["content"]
        v2_amount = int(v2.response.headers["X-Bourse-Charge"])
        assert completion["usage"]["cost_micro_usdc"] == v2_amount
        assert v2.response.headers["X-Bourse-Model-Id"] == f"standin-a/{SLUG}"

        v1 = pay(chain, url, payer, chat_body(stream=True, text="stream please"), version=1)
        assert v1.response.status_code == 200
        assert "X-PAYMENT-RESPONSE" in v1.response.headers
        assert v1.response.headers["content-type"].startswith("text/event-stream")
        assert v1.response.text.rstrip().endswith("data: [DONE]")
        assert v1.settlement is not None and v1.settlement.success
        v1_amount = int(v1.response.headers["X-Bourse-Charge"])

        fetched = node_fetch(chain, payer.path, url, chat_body(stream=False, text="from node"))
        assert fetched["status"] == 200, fetched
        settlement = fetched["settlement"]
        assert isinstance(settlement, dict) and settlement["success"]
        node_amount = json.loads(str(fetched["body"]))["usage"]["cost_micro_usdc"]

        amounts = [v2_amount, v1_amount, node_amount]
        paid = sum(amounts)
        assert chain.token_balance(model_inbox) - inbox_before == paid
        assert payer_before - chain.token_balance(payer.ata) == paid
        rows = x402_call_rows(settings.db)
        assert [r.gross for r in rows] == amounts
        assert all(r.state == "pending" and r.model == SLUG for r in rows)
        payments = {r.payment_id: r for r in x402_rows(settings.db)}
        assert set(payments) == {r.id for r in rows}
        transactions = {p.tx_signature for p in payments.values()}
        assert transactions == {
            v2.settlement.transaction,
            v1.settlement.transaction,
            settlement["transaction"],
        }
        assert all(p.state == "settled" for p in payments.values())
    # a gateway whose worker runs settles the inbox's calls in a batch
    with gateway_thread(settings.with_(worker=True, settle_interval=0.2)):
        rows = wait_settled(settings.db, 3)
    after = balances(chain, w)
    assert chain.token_balance(model_inbox) == inbox_before  # all of it moved out
    assert after["wallet"] == before["wallet"]  # never the gateway's settlement account
    provider = sum(r.provider_amount for r in rows)
    creator = sum(r.creator_fee for r in rows)
    protocol = sum(r.protocol_fee for r in rows)
    assert provider + creator + protocol == paid
    assert after["payout0"] - before["payout0"] == provider
    assert after[f"vault:{SLUG}"] - before[f"vault:{SLUG}"] == creator
    assert after["treasury"] - before["treasury"] == protocol
    assert (provider, creator, protocol) == expected_split(paid, PROTOCOL_FEE_BPS, CREATOR_FEE_BPS)
    assert len({r.batch_id for r in rows}) == 1 and all(r.tx_signature for r in rows)

    async def verify() -> None:
        async with BourseClient.connect(chain.net.rpc_url) as client:
            for r in rows:
                proof = CallProof.from_json(json.loads(r.proof))
                assert proof.payment_id == payment_id_bytes(payment_id(r.id))
                assert (await verify_on_chain(client, proof)).ok

    chain.net.run(verify())
