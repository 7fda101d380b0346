"""Money conserves to the micro-USDC: for any sequence of credits, holds, top-ups, posts,
voids and expiries, credited == available + held + posted, each user's balances equal the
sums of their journal rows, and no balance goes negative."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gateway.db.engine import create_schema, make_engine, reading
from gateway.db.schema import journal, users
from gateway.ledger import Hold, HoldNotPending, InsufficientFunds, Ledger

ops = st.lists(
    st.tuples(
        st.sampled_from(["credit", "hold", "topup", "post", "void", "expire"]),
        st.integers(0, 1),  # user
        st.integers(0, 5_000),  # amount
        st.integers(0, 7),  # which hold
    ),
    min_size=1,
    max_size=40,
)


async def _run(steps: list[tuple[str, int, int, int]], db: str) -> None:
    engine = make_engine(db)
    await create_schema(engine)
    ledger = Ledger(engine)
    uids = [await ledger.ensure_user(f"u{i}") for i in range(2)]
    held: list[Hold] = []
    for n, (op, u, amount, h) in enumerate(steps):
        try:
            if op == "credit" and amount > 0:
                await ledger.credit(uids[u], amount, "grant", f"g{n}")
            elif op == "hold":
                held.append(await ledger.hold(uids[u], amount, ttl_ms=0 if h == 7 else 60_000))
            elif op == "topup" and held:
                hold = held[h % len(held)]
                held[h % len(held)] = await ledger.top_up(hold, amount)
            elif op == "post" and held:
                hold = held[h % len(held)]
                await ledger.post(hold, min(amount, hold.amount))
            elif op == "void" and held:
                await ledger.void(held[h % len(held)])
            elif op == "expire":
                await asyncio.sleep(0.002)
                await ledger.expire()
        except (InsufficientFunds, HoldNotPending):
            pass
    t = await ledger.totals()
    assert t["credited"] == t["available"] + t["held"] + t["posted"]
    async with reading(engine) as conn:
        for uid in uids:
            bal = await ledger.balance(uid)
            assert bal.available >= 0 and bal.held >= 0
            sums = (
                await conn.execute(
                    select(
                        func.coalesce(func.sum(journal.c.available_delta), 0),
                        func.coalesce(func.sum(journal.c.held_delta), 0),
                    ).where(journal.c.user_id == uid)
                )
            ).one()
            assert (int(sums[0]), int(sums[1])) == (bal.available, bal.held)
        assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 2
    ledger.close()
    await engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_ledger_conserves_money(steps: list[tuple[str, int, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(steps, f"sqlite+aiosqlite:///{Path(tmp) / 'l.sqlite3'}"))
