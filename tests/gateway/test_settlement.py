"""Every served call is settled on-chain exactly once, from the gateway's wallet, with the
split the ledger recorded; each row names its batch and transaction."""

from __future__ import annotations

import dataclasses
import json

import httpx
import openai

from bourse_chain.client import BourseClient
from bourse_chain.market import payment_id_bytes
from bourse_chain.receipts import CallProof, verify_on_chain
from gateway.settlement.chain_port import payment_id
from tests.gateway.harness import (
    Chain,
    Upstreams,
    balances,
    gateway_thread,
    settings_for,
    wait_settled,
    watched_accounts,
)

CALLS = 7


def test_worker_settles_each_call_once_with_the_ledger_split(
    chain: Chain, upstreams: Upstreams, db_url: str
) -> None:
    w = watched_accounts(chain)
    before = balances(chain, w)
    settings = settings_for(chain, upstreams, db_url, settle_batch_size=3, settle_interval=0.3)
    with gateway_thread(settings) as gw:
        key = gw.new_key(credit=5_000_000)
        client = openai.OpenAI(base_url=gw.base_url, api_key=key)
        for i in range(CALLS):
            model = "standin-a/deepseek-chat" if i % 2 else "standin-a/kimi-k2.6"
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": f"call {i}"}]
            )
        rows = wait_settled(settings.db, CALLS)
        metrics = httpx.get(gw.url + "/metrics").text
    after = balances(chain, w)
    assert len(rows) == CALLS
    assert all(r.tx_signature and r.batch_id for r in rows)
    assert len({r.batch_id for r in rows}) >= 3  # two models, batches of at most 3
    gross = sum(r.gross for r in rows)
    assert before["wallet"] - after["wallet"] == gross
    assert after["payout0"] - before["payout0"] == sum(r.provider_amount for r in rows)
    assert after["treasury"] - before["treasury"] == sum(r.protocol_fee for r in rows)
    for slug in ("deepseek-chat", "kimi-k2.6"):
        creator = sum(r.creator_fee for r in rows if r.model == slug)
        assert after[f"vault:{slug}"] - before[f"vault:{slug}"] == creator
    assert f"bourse_gateway_settled_calls_total {float(CALLS)}" in metrics

    async def verify() -> None:
        async with BourseClient.connect(chain.net.rpc_url) as client:
            for r in rows:
                assert r.proof is not None
                proof = CallProof.from_json(json.loads(r.proof))
                assert proof.payment_id == payment_id_bytes(payment_id(r.id))
                assert tuple(proof.share) == (r.provider_amount, r.creator_fee, r.protocol_fee)
                assert (await verify_on_chain(client, proof)).ok
                forged = dataclasses.replace(proof, amount=proof.amount + 1)
                assert not (await verify_on_chain(client, forged)).ok

    chain.net.run(verify())
