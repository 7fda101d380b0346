"""The ledger-backed replay store on SQLite and PostgreSQL: one winner among concurrent claims
(in one process or two engines), release frees only an unsettled claim, a settlement attempt
keeps the id used whatever its outcome."""

from __future__ import annotations

import asyncio

from bourse_chain.results import Split
from gateway.db.engine import create_schema, make_engine
from gateway.db.writer import Writer
from gateway.ledger import Ledger
from gateway.x402.ledger_replay import LedgerReplayStore
from gateway.x402.replay import ReplayStore


async def _stores(db_url: str, n: int) -> list[LedgerReplayStore]:
    stores = []
    for _ in range(n):  # one engine each: as separate gateway processes
        engine = make_engine(db_url)
        await create_schema(engine)
        stores.append(LedgerReplayStore(engine, Writer(engine)))
    return stores


async def _close(stores: list[LedgerReplayStore]) -> None:
    for s in stores:
        s.writer.close()
        await s.engine.dispose()


def test_claims_release_and_settlements(db_url: str) -> None:
    async def run() -> None:
        a, b = stores = await _stores(db_url, 2)
        try:
            store: ReplayStore = a  # the protocol the rail uses
            wins = await asyncio.gather(
                *(s.claim("p1", payer="payer", amount=10) for s in stores for _ in range(10))
            )
            assert sorted(wins) == [False] * 19 + [True]
            assert await a.state("p1") == ("claimed", None)
            await store.release("p1")  # never settled: free again, for either process
            assert await b.state("p1") is None
            assert await b.claim("p1", payer="payer", amount=10)
            await b.record_settlement("p1", "sig1")
            await a.release("p1")  # a settled payment is never released
            assert await a.state("p1") == ("settled", "sig1")
            assert not await a.claim("p1", payer="payer", amount=10)
            assert await a.claim("p2", payer="payer", amount=5)
            await a.record_settlement("p2", None)  # unsure outcome: stays used
            await b.release("p2")
            assert await b.state("p2") == ("failed", None)
            assert not await b.claim("p2", payer="payer", amount=5)
            # p1 settled but no call row was written (a crash in between): reported
            assert await a.unrecorded() == [("p1", "sig1")]
            split = Split(gross=10, provider=9, creator=1, protocol=0)
            ledger = Ledger(a.engine)
            try:
                recorded = await ledger.record_x402_call(
                    "p1",
                    "m",
                    "prov",
                    10,
                    prompt_tokens=1,
                    completion_tokens=1,
                    usage_source="x402_quote",
                    split=split,
                )
                assert recorded
            finally:
                ledger.close()
            assert await b.unrecorded() == []
        finally:
            await _close(stores)

    asyncio.run(run())
