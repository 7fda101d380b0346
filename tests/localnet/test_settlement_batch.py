"""Batch settlement of paid calls on the JSON-RPC localnet: a thousand calls in one
transaction with balances asserted to the micro-USDC, the stream's sequence refusing replays
and out-of-order batches with nothing moved, x402 money delivered to the model's inbox and
settled from there, a crash between send and confirm resumed without a second transfer, and
proofs checked against the chain (also through ``bourse receipt verify``)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TxOpts
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import transfer_checked
from spl.token.models import TransferCheckedParams

from bourse_chain import merkle
from bourse_chain.client import BourseClient
from bourse_chain.generated.compute_market import errors as cm_errors
from bourse_chain.generated.compute_market.accounts import Model, SettlementStream
from bourse_chain.money import Parts, attribute, expected_split
from bourse_chain.receipts import CallProof, verify_on_chain
from bourse_chain.results import Split
from bourse_chain.settlement import (
    BatchResult,
    BatchSequenceTaken,
    IdempotencyConflict,
    PaidCall,
    Settlement,
    SettlementError,
)
from tests.support.cli import Bourse
from tests.support.localnet_market import (
    FAST,
    MODEL_FEE_BPS,
    PROTOCOL_FEE_BPS,
    MarketEnv,
    needs_program,
    start_market,
)

pytestmark = needs_program

USDC = 1_000_000


@pytest.fixture(scope="module")
async def market(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MarketEnv]:
    async with start_market(tmp_path_factory.mktemp("batch")) as env:
        yield env


@pytest.fixture(scope="module")
async def settlement(market: MarketEnv) -> Settlement:
    return await Settlement.load(market.client, market.settler)


class CountingRpc(AsyncClient):
    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=30)
        self.calls: Counter[str] = Counter()
        self._provider.session.event_hooks["request"].append(self._count)

    async def _count(self, request: httpx2.Request) -> None:
        self.calls[json.loads(request.content)["method"]] += 1


class CrashAfterSend(AsyncClient):
    """Sends the transaction, then dies as a process killed before confirmation would."""

    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=30)
        self.armed = True

    async def send_raw_transaction(self, txn: bytes, opts: TxOpts | None = None) -> Any:
        resp = await super().send_raw_transaction(txn, opts)
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt("simulated crash between send and confirm")
        return resp


async def sinks(market: MarketEnv, source: Pubkey) -> dict[str, int]:
    accounts = {
        "source": source,
        "provider": market.provider_payout,
        "creator": market.revenue_vault,
        "protocol": market.treasury,
    }
    return {k: await market.balance(v) for k, v in accounts.items()}


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before}


def calls_of(market: MarketEnv, tag: str, amounts: list[int]) -> list[PaidCall]:
    return [PaidCall(f"{tag}:{i}", a, market.slug, market.provider) for i, a in enumerate(amounts)]


def expected_moves(total: int) -> dict[str, int]:
    p, c, pr = expected_split(total, PROTOCOL_FEE_BPS, MODEL_FEE_BPS)
    return {"source": -total, "provider": p, "creator": c, "protocol": pr}


async def test_a_thousand_calls_in_one_transaction(
    market: MarketEnv, settlement: Settlement
) -> None:
    # Given 1,000 paid calls collected on the credits rail (the settler's own USDC account)
    gateway = market.settler
    await market.net.mint_usdc(gateway.pubkey(), 2_000 * USDC)  # type: ignore[attr-defined]
    source = market.usdc_account(gateway.pubkey())
    amounts = [10_000 + 7 * i for i in range(1_000)]
    calls = calls_of(market, "credits", amounts)
    before = await sinks(market, source)
    model_before = await market.client.fetch(market.model, Model)
    assert model_before is not None

    rpc = CountingRpc(market.net.rpc_url)  # type: ignore[attr-defined]
    try:
        s = Settlement(BourseClient(rpc, options=FAST), market.settler, settlement.config)
        result = await s.settle_batch(calls, source=source)
        sent = rpc.calls["sendTransaction"]
        # A retry of the same batch sends nothing and returns the recorded result
        rpc.calls.clear()
        again = await s.settle_batch(calls, source=source)
        assert rpc.calls["sendTransaction"] == 0
    finally:
        await rpc.close()

    # Then one transaction settled all of them, split once on the total
    assert sent == 1
    total = sum(amounts)
    assert moved(before, await sinks(market, source)) == expected_moves(total)
    p, c, pr = expected_split(total, PROTOCOL_FEE_BPS, MODEL_FEE_BPS)
    assert result.split == Split(total, p, c, pr)
    assert (again.sequence, again.root, again.split) == (result.sequence, result.root, result.split)
    assert again.signature is None and result.signature is not None
    # The per-call attributions sum to the batch's split exactly
    assert list(result.shares) == attribute(amounts, Parts(p, c, pr))
    assert Parts(*map(sum, zip(*result.shares, strict=True))) == Parts(p, c, pr)
    # The stream recorded the batch: sequence, running hash, totals
    stream = await market.client.fetch(result.stream, SettlementStream)
    assert stream is not None
    assert (stream.next_sequence, stream.calls_settled, stream.volume) == (1, 1_000, total)
    assert (
        bytes(stream.last_root)
        == result.root
        == merkle.root(merkle.leaves([(c.id32, c.amount) for c in calls]))
    )
    assert bytes(stream.running_hash) == merkle.running_hash(
        bytes(32), result.root, 0, 1_000, total
    )
    model = await market.client.fetch(market.model, Model)
    assert model is not None
    assert model.settlement_count - model_before.settlement_count == 1_000
    assert model.total_volume - model_before.total_volume == total


async def test_replays_and_out_of_order_batches_move_nothing(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=100 * USDC)
    source = market.usdc_account(payer.pubkey())
    calls = calls_of(market, "order-test", [5_000, 6_000, 7_000])
    done = await settlement.settle_batch(calls, source=source, source_authority=payer)
    state = await market.client.fetch(done.stream, SettlementStream)
    assert state is not None
    after = await sinks(market, source)

    def raw(sequence: int, root: bytes = done.root) -> Any:
        return settlement.market.settle_batch(
            market.settler.pubkey(),
            model=market.model,
            provider=market.provider,
            provider_payout=market.provider_payout,
            revenue_vault=market.revenue_vault,
            sequence=sequence,
            count=3,
            total=18_000,
            root=root,
            source=source,
            source_authority=payer.pubkey(),
        )

    # The same batch sent again (its sequence is spent), one from the future, one far back
    for sequence in (done.sequence, state.next_sequence + 1, 0, 2**64 - 1):
        with pytest.raises(cm_errors.WrongSequence):
            await market.client.send([raw(sequence)], [market.settler, payer])
    # A batch with a fresh root but a spent sequence is refused the same way
    with pytest.raises(cm_errors.WrongSequence):
        await market.client.send([raw(done.sequence, bytes(32))], [market.settler, payer])
    assert await sinks(market, source) == after
    unchanged = await market.client.fetch(done.stream, SettlementStream)
    assert unchanged == state
    # Bad batches are refused before anything moves
    with pytest.raises(IdempotencyConflict):
        await settlement.settle_batch([calls[0], calls[0]], source=source, source_authority=payer)
    with pytest.raises(ValueError, match="one \\(model, provider\\)"):
        await settlement.settle_batch(
            [calls[0], PaidCall("x", 1, market.slug, Pubkey.new_unique())], source=source
        )
    assert await sinks(market, source) == after


async def test_x402_payment_lands_in_the_model_inbox_and_settles_from_there(
    market: MarketEnv, settlement: Settlement
) -> None:
    # Given the model's inbox: ATA(payTo, USDC) with payTo the program's inbox authority PDA
    inbox = await settlement.ensure_inbox(market.slug)
    pay_to = settlement.inbox_authority(market.model)
    assert inbox == market.usdc_account(pay_to)
    # When two x402 "exact" payments arrive as plain TransferChecked from the payers' wallets
    amounts = [250_000, 1_000_001]
    for amount in amounts:
        payer = await market.new_wallet(usdc=5 * USDC)
        await market.client.send(
            [
                transfer_checked(
                    TransferCheckedParams(
                        program_id=TOKEN_PROGRAM_ID,
                        source=market.usdc_account(payer.pubkey()),
                        mint=market.usdc_mint,
                        dest=inbox,
                        owner=payer.pubkey(),
                        amount=amount,
                        decimals=6,
                    )
                )
            ],
            [payer],
        )
    before = await sinks(market, inbox)
    assert before["source"] == sum(amounts)
    # Then the settler settles them from the inbox, program-signed: no custody on the way
    result = await settlement.settle_batch(calls_of(market, "x402", amounts))
    assert moved(before, await sinks(market, inbox)) == expected_moves(sum(amounts))
    assert await market.balance(inbox) == 0
    assert result.split.gross == sum(amounts)
    # A batch worth more than the inbox holds fails and moves nothing
    with pytest.raises(Exception):  # noqa: B017 - the token program's insufficient funds
        await settlement.settle_batch(calls_of(market, "x402-over", [1]))
    assert await market.balance(inbox) == 0


async def test_crash_between_send_and_confirm_resumes_without_a_second_transfer(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=10 * USDC)
    source = market.usdc_account(payer.pubkey())
    calls = calls_of(market, "crash", [123_456, 654_321, 1])
    before = await sinks(market, source)
    crashing = CrashAfterSend(market.net.rpc_url)  # type: ignore[attr-defined]
    try:
        first = Settlement(BourseClient(crashing, options=FAST), market.settler, settlement.config)
        with pytest.raises(KeyboardInterrupt):
            await first.settle_batch(calls, source=source, source_authority=payer)
    finally:
        await crashing.close()
    # A new process (new Settlement) retries the same batch: it finds it recorded
    rpc = CountingRpc(market.net.rpc_url)  # type: ignore[attr-defined]
    try:
        resumed = Settlement(BourseClient(rpc, options=FAST), market.settler, settlement.config)
        result = await resumed.settle_batch(calls, source=source, source_authority=payer)
        assert rpc.calls["sendTransaction"] == 0
    finally:
        await rpc.close()
    assert result.signature is None
    assert moved(before, await sinks(market, source)) == expected_moves(
        sum(c.amount for c in calls)
    )


async def test_a_pinned_sequence_resumes_after_later_batches_and_is_never_resent(
    market: MarketEnv, settlement: Settlement
) -> None:
    # The caller records (stream, sequence, root) before sending; the process dies between
    # send and confirm; other batches of the same stream settle before it resumes: the root
    # is no longer the stream's last, but the pinned sequence finds the batch.
    payer = await market.new_wallet(usdc=10 * USDC)
    source = market.usdc_account(payer.pubkey())
    calls = calls_of(market, "pinned", [7_000, 11])
    planned = await settlement.plan_batch(calls)
    assert (planned.count, planned.total) == (2, 7_011)
    before = await sinks(market, source)
    crashing = CrashAfterSend(market.net.rpc_url)  # type: ignore[attr-defined]
    try:
        first = Settlement(BourseClient(crashing, options=FAST), market.settler, settlement.config)
        with pytest.raises(KeyboardInterrupt):
            await first.settle_batch(
                calls, source=source, source_authority=payer, sequence=planned.sequence
            )
    finally:
        await crashing.close()
    later = await settlement.settle_batch(
        calls_of(market, "pinned-later", [5]), source=source, source_authority=payer
    )
    assert later.sequence == planned.sequence + 1
    rpc = CountingRpc(market.net.rpc_url)  # type: ignore[attr-defined]
    try:
        resumed = Settlement(BourseClient(rpc, options=FAST), market.settler, settlement.config)
        result = await resumed.settle_batch(
            calls, source=source, source_authority=payer, sequence=planned.sequence
        )
        assert rpc.calls["sendTransaction"] == 0
        # the same calls pinned to the later batch's sequence: another batch holds it
        with pytest.raises(BatchSequenceTaken):
            await resumed.settle_batch(
                calls, source=source, source_authority=payer, sequence=later.sequence
            )
        assert rpc.calls["sendTransaction"] == 0
    finally:
        await rpc.close()
    assert (result.sequence, result.root, result.signature) == (
        planned.sequence,
        planned.root,
        None,
    )
    first_moves, later_moves = expected_moves(7_011), expected_moves(5)
    assert moved(before, await sinks(market, source)) == {
        k: first_moves[k] + later_moves[k] for k in first_moves
    }


async def settled_batch(market: MarketEnv, settlement: Settlement, tag: str) -> BatchResult:
    payer = await market.new_wallet(usdc=10 * USDC)
    amounts = [1_000 + i for i in range(17)]
    return await settlement.settle_batch(
        calls_of(market, tag, amounts),
        source=market.usdc_account(payer.pubkey()),
        source_authority=payer,
    )


async def test_prove_and_verify_reject_tampering(market: MarketEnv, settlement: Settlement) -> None:
    batch = await settled_batch(market, settlement, "prove")
    for i, call in enumerate(batch.calls):
        proof = settlement.prove(call)
        assert proof.index == i and proof.folds_to_root()
    proof = batch.prove(batch.calls[5])
    verdict = await verify_on_chain(market.client, proof)
    assert verdict.ok, verdict.reason
    assert verdict.share == batch.shares[5]
    tampered = {
        "amount": CallProof(**{**proof.__dict__, "amount": proof.amount + 1}),
        "id": CallProof(**{**proof.__dict__, "payment_id": bytes(32)}),
        "sequence": CallProof(**{**proof.__dict__, "sequence": proof.sequence + 1}),
        "earlier sequence": CallProof(**{**proof.__dict__, "sequence": 0}),
        "index": CallProof(**{**proof.__dict__, "index": 6}),
        "share": CallProof(**{**proof.__dict__, "share": Parts(0, 0, proof.amount)}),
    }
    for what, bad in tampered.items():
        result = await verify_on_chain(market.client, bad)
        assert not result.ok, what


async def test_bourse_receipt_verify(
    market: MarketEnv, settlement: Settlement, tmp_path: Path
) -> None:
    batch = await settled_batch(market, settlement, "cli")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(batch.prove(batch.calls[3]).to_json()))
    bad_doc = batch.prove(batch.calls[3]).to_json()
    bad_doc["amount"] += 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_doc))
    bourse = Bourse(market.net.rpc_url, Path(market.net.workdir))  # type: ignore[attr-defined]
    run = await _in_thread(bourse, "receipt", "verify", str(good))
    out = run.json()
    assert out["verified"] is True
    assert out["share"] == batch.shares[3]._asdict()
    assert out["stream"] == str(batch.stream)
    refused = await _in_thread(bourse, "receipt", "verify", str(bad))
    assert refused.code == 1
    assert json.loads(refused.stdout)["verified"] is False
    missing = await _in_thread(bourse, "receipt", "verify", str(tmp_path / "none.json"))
    assert missing.code == 1 and "not found" in missing.stderr


async def _in_thread(bourse: Bourse, *args: str) -> Any:
    return await asyncio.to_thread(bourse, *args)


async def test_settle_batches_groups_by_model_and_provider(
    market: MarketEnv, settlement: Settlement
) -> None:
    payer = await market.new_wallet(usdc=10 * USDC)
    source = market.usdc_account(payer.pubkey())
    stranger = PaidCall("other-provider", 5, market.slug, Pubkey.new_unique())
    mine = calls_of(market, "grouped", [300, 400])
    before = await sinks(market, source)
    results = await settlement.settle_batches(mine, source=source, source_authority=payer)
    assert [r.count for r in results] == [2]
    assert moved(before, await sinks(market, source)) == expected_moves(700)
    # an unknown provider fails before anything moves for it
    with pytest.raises(SettlementError):
        await settlement.settle_batches([stranger], source=source, source_authority=payer)
    # the same calls again: recorded, nothing sent
    again = await settlement.settle_batches(mine, source=source, source_authority=payer)
    assert again[0].signature is None and again[0].root == results[0].root
