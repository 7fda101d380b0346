"""The credit ledger: per-user balances in integer micro-USDC with two-phase holds.

A hold moves an amount from ``available`` to ``held`` (one conditional UPDATE, so concurrent
holds can never overdraw); it is then *posted* with the actual charge (the rest returns to
``available``), *voided* (everything returns) or *expired* by the sweeper when its deadline
passes — each exactly once, whichever comes first (the hold's state changes only from
``pending``). Every balance change appends a journal row with the same deltas.

Conservation: for every user, credits granted == available + held + sum of posted charges.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    String,
    bindparam,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from bourse_chain.results import Split
from gateway.db.engine import now_ms, reading
from gateway.db.prepared import Prepared, PreparedInsert
from gateway.db.schema import calls, credits, holds, journal, users
from gateway.db.writer import Writer

# The hot path's statements, built and compiled once and run on the driver's cursor
# (gateway/db/prepared.py): a paid call's seven statements cost little more than SQLite's own
# work.
_P_USER: BindParameter[int] = bindparam("p_user")
_P_AMOUNT: BindParameter[int] = bindparam("p_amount")
_P_HOLD: BindParameter[str] = bindparam("p_hold")
_DEBIT = Prepared(
    update(users)
    .where(users.c.id == _P_USER, users.c.available >= _P_AMOUNT)
    .values(available=users.c.available - _P_AMOUNT, held=users.c.held + _P_AMOUNT)
    .returning(users.c.available)
)
_INSERT_HOLD = PreparedInsert(holds)
_INSERT_JOURNAL = PreparedInsert(journal)
_INSERT_CALL = PreparedInsert(calls)
_POST_HOLD = Prepared(
    update(holds)
    .where(holds.c.id == _P_HOLD, holds.c.state == "pending", holds.c.amount >= _P_AMOUNT)
    .values(state="posted", resolved_at=bindparam("p_at"), posted_amount=_P_AMOUNT)
    .returning(holds.c.amount, holds.c.user_id)
)
_SETTLE_USER = Prepared(
    update(users)
    .where(users.c.id == _P_USER)
    .values(
        available=users.c.available + bindparam("p_back"),
        held=users.c.held - bindparam("p_release"),
    )
)
# PostgreSQL: the whole hold as one statement (data-modifying CTEs), run in autocommit: one
# round trip instead of five (BEGIN, debit, hold row, journal row, COMMIT). It is atomic as
# any statement is, and the debit is the same conditional UPDATE, so it never overdraws.
_A = bindparam("p_amount", type_=BigInteger())
_H = bindparam("p_hold", type_=String())
_AT = bindparam("p_at", type_=BigInteger())
_PG_DEBIT = (
    update(users)
    .where(users.c.id == bindparam("p_user", type_=Integer()), users.c.available >= _A)
    .values(available=users.c.available - _A, held=users.c.held + _A)
    .returning(users.c.id, users.c.available)
    .cte("debit")
)
_PG_HOLD = select(_PG_DEBIT.c.available).add_cte(
    insert(holds)
    .from_select(
        ["id", "user_id", "amount", "state", "posted_amount", "created_at", "expires_at"],
        select(
            _H,
            _PG_DEBIT.c.id,
            _A,
            literal("pending", String()),
            literal(0, BigInteger()),
            _AT,
            bindparam("p_expires", type_=BigInteger()),
        ),
    )
    .cte("new_hold"),
    insert(journal)
    .from_select(
        ["user_id", "kind", "available_delta", "held_delta", "hold_id", "ref", "at"],
        select(_PG_DEBIT.c.id, literal("hold", String()), -_A, _A, _H, null(), _AT),
    )
    .cte("hold_journal"),
)
_PG_POSTS: dict[frozenset[str], Select[tuple[int]]] = {}


def _pg_post(call_columns: frozenset[str]) -> Select[tuple[int]]:
    """PostgreSQL: the whole posting (hold closed, balance settled, journal row and, when
    ``call_columns`` is not empty, the outbox row with those columns) as one statement."""
    found = _PG_POSTS.get(call_columns)
    if found is not None:
        return found
    charge = bindparam("p_charge", type_=BigInteger())
    posted = (
        update(holds)
        .where(holds.c.id == _H, holds.c.state == "pending", holds.c.amount >= charge)
        .values(state="posted", resolved_at=_AT, posted_amount=charge)
        .returning(holds.c.amount, holds.c.user_id)
        .cte("posted")
    )
    ctes: list[Any] = [
        update(users)
        .where(users.c.id == posted.c.user_id)
        .values(
            available=users.c.available + posted.c.amount - charge,
            held=users.c.held - posted.c.amount,
        )
        .cte("settle"),
        insert(journal)
        .from_select(
            ["user_id", "kind", "available_delta", "held_delta", "hold_id", "ref", "at"],
            select(
                posted.c.user_id,
                literal("post", String()),
                posted.c.amount - charge,
                -posted.c.amount,
                _H,
                null(),
                _AT,
            ),
        )
        .cte("post_journal"),
    ]
    if call_columns:
        cols = sorted(call_columns)
        ctes.append(
            insert(calls)
            .from_select(
                ["user_id", "hold_id", *cols],
                select(
                    posted.c.user_id,
                    _H,
                    *(bindparam(f"c_{k}", type_=calls.c[k].type) for k in cols),
                ),
            )
            .cte("outbox_row")
        )
    stmt = select(posted.c.amount).add_cte(*ctes)
    _PG_POSTS[call_columns] = stmt
    return stmt


_CLOSE_HOLD = Prepared(
    update(holds)
    .where(holds.c.id == _P_HOLD, holds.c.state == "pending")
    .values(state=bindparam("p_state"), resolved_at=bindparam("p_at"))
    .returning(holds.c.amount, holds.c.user_id)
)


class LedgerError(Exception):
    """Base of the ledger's errors."""


class InsufficientFunds(LedgerError):
    def __init__(self, available: int, needed: int) -> None:
        self.available = available
        self.needed = needed
        super().__init__(f"available {available} < needed {needed} micro-USDC")


class HoldNotPending(LedgerError):
    """The hold was already posted, voided or expired."""


class UnknownUser(LedgerError):
    pass


@dataclass(frozen=True)
class Balance:
    available: int
    held: int


@dataclass(frozen=True)
class Hold:
    id: str
    user_id: int
    amount: int
    expires_at: int


class Ledger:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.writer = Writer(engine)
        self._one_statement = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else None
        )

    def close(self) -> None:
        self.writer.close()

    # ----------------------------------------------------------------- users

    async def ensure_user(self, name: str) -> int:
        """The id of user ``name``, created (with a zero balance) when missing."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(select(users.c.id).where(users.c.name == name))).first()
            if row is not None:
                return int(row[0])
            result = await conn.execute(
                insert(users)
                .values(name=name, available=0, held=0, created_at=now_ms())
                .returning(users.c.id)
            )
            return int(result.scalar_one())

    async def user_id(self, name: str) -> int:
        async with reading(self.engine) as conn:
            row = (await conn.execute(select(users.c.id).where(users.c.name == name))).first()
        if row is None:
            raise UnknownUser(name)
        return int(row[0])

    async def balance(self, user_id: int) -> Balance:
        async with reading(self.engine) as conn:
            row = (
                await conn.execute(
                    select(users.c.available, users.c.held).where(users.c.id == user_id)
                )
            ).first()
        if row is None:
            raise UnknownUser(str(user_id))
        return Balance(int(row[0]), int(row[1]))

    # --------------------------------------------------------------- credits

    async def credit(self, user_id: int, amount: int, source: str, external_id: str) -> bool:
        """Add ``amount`` once per ``external_id`` (a grant reference, a transaction
        signature); False when that id was already credited."""
        if amount <= 0:
            raise LedgerError("a credit must be positive")
        at = now_ms()

        def tx(conn: Connection) -> None:
            conn.execute(
                insert(credits).values(
                    external_id=external_id,
                    user_id=user_id,
                    source=source,
                    amount=amount,
                    at=at,
                )
            )
            done = conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(available=users.c.available + amount)
            )
            if done.rowcount != 1:
                raise UnknownUser(str(user_id))
            _journal(conn, user_id, "credit", amount, 0, None, external_id, at)

        try:
            await self.writer.run(tx)
        except IntegrityError:
            return False
        return True

    # ----------------------------------------------------------------- holds

    async def hold(self, user_id: int, amount: int, ttl_ms: int) -> Hold:
        """Move ``amount`` from available to held, or raise ``InsufficientFunds``."""
        if amount < 0:
            raise LedgerError("a hold cannot be negative")
        hold_id = uuid.uuid4().hex
        at = now_ms()
        if self._one_statement is not None:
            params = {
                "p_user": user_id,
                "p_amount": amount,
                "p_hold": hold_id,
                "p_at": at,
                "p_expires": at + ttl_ms,
            }
            async with self._one_statement.connect() as conn:
                if (await conn.execute(_PG_HOLD, params)).first() is None:
                    available = (
                        await conn.execute(select(users.c.available).where(users.c.id == user_id))
                    ).first()
                    if available is None:
                        raise UnknownUser(str(user_id))
                    raise InsufficientFunds(int(available[0]), amount)
            return Hold(hold_id, user_id, amount, at + ttl_ms)

        def tx(conn: Connection) -> None:
            if _DEBIT.first(conn, {"p_user": user_id, "p_amount": amount}) is None:
                raise InsufficientFunds(_available(conn, user_id), amount)
            _INSERT_HOLD.run(
                conn,
                {
                    "id": hold_id,
                    "user_id": user_id,
                    "amount": amount,
                    "state": "pending",
                    "posted_amount": 0,
                    "created_at": at,
                    "expires_at": at + ttl_ms,
                },
            )
            _journal(conn, user_id, "hold", -amount, amount, hold_id, None, at)

        await self.writer.run(tx)
        return Hold(hold_id, user_id, amount, at + ttl_ms)

    async def top_up(self, hold: Hold, extra: int) -> Hold:
        """Grow a pending hold by ``extra`` (failover to a dearer offer)."""
        if extra <= 0:
            return hold
        at = now_ms()

        def tx(conn: Connection) -> int:
            row = conn.execute(
                update(holds)
                .where(holds.c.id == hold.id, holds.c.state == "pending")
                .values(amount=holds.c.amount + extra)
                .returning(holds.c.amount)
            ).first()
            if row is None:
                raise HoldNotPending(hold.id)
            done = conn.execute(
                update(users)
                .where(users.c.id == hold.user_id, users.c.available >= extra)
                .values(available=users.c.available - extra, held=users.c.held + extra)
                .returning(users.c.available)
            )
            if done.first() is None:
                raise InsufficientFunds(_available(conn, hold.user_id), extra)
            _journal(conn, hold.user_id, "hold_topup", -extra, extra, hold.id, None, at)
            return int(row[0])

        return Hold(hold.id, hold.user_id, await self.writer.run(tx), hold.expires_at)

    async def post(self, hold: Hold, charge: int, call: Mapping[str, Any] | None = None) -> int:
        """Close the hold charging ``charge`` (at most the hold; the rest returns to the
        user) and, in the same transaction, record ``call`` in the settlement outbox."""
        if charge < 0:
            raise LedgerError(f"negative charge {charge}")
        at = now_ms()
        row_values: dict[str, Any] | None = None
        if call is not None:
            row_values = {**call, **_new_pending_call("credits", at)}

        def not_posted(state: Any) -> LedgerError:
            if state is not None and state[0] == "pending":
                return LedgerError(f"charge {charge} above the hold {state[1]}")
            return HoldNotPending(hold.id)

        state_of = select(holds.c.state, holds.c.amount).where(holds.c.id == hold.id)
        if self._one_statement is not None:
            columns = {}
            if row_values is not None:
                missing = _INSERT_CALL.scalar_defaults.keys() - row_values.keys()
                columns = {**{k: _INSERT_CALL.scalar_defaults[k] for k in missing}, **row_values}
            params = {"p_hold": hold.id, "p_charge": charge, "p_at": at}
            params.update({f"c_{k}": v for k, v in columns.items()})
            async with self._one_statement.connect() as conn:
                if (await conn.execute(_pg_post(frozenset(columns)), params)).first() is None:
                    raise not_posted((await conn.execute(state_of)).first())
            return charge

        def tx(conn: Connection) -> None:
            row = _POST_HOLD.first(conn, {"p_hold": hold.id, "p_amount": charge, "p_at": at})
            if row is None:
                raise not_posted(conn.execute(state_of).first())
            amount, user_id = int(row[0]), int(row[1])
            _SETTLE_USER.run(
                conn, {"p_user": user_id, "p_back": amount - charge, "p_release": amount}
            )
            _journal(conn, user_id, "post", amount - charge, -amount, hold.id, None, at)
            if row_values is not None:
                _INSERT_CALL.run(conn, {**row_values, "hold_id": hold.id, "user_id": user_id})

        await self.writer.run(tx)
        return charge

    async def record_x402_call(
        self,
        payment_id: str,
        model: str,
        provider: str,
        amount: int,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        usage_source: str,
        split: Split,
    ) -> bool:
        """Record a call paid by x402 (rail 2) in the settlement outbox; False if that
        payment id is already recorded (a replay: nothing is written twice).

        ``payment_id`` is the x402 payment's id and becomes the call id (and the batch leaf's
        payment id); ``provider`` is the provider account (PDA), as in rail-1 rows; ``amount``
        is what the payment brought into the model's x402 inbox and ``split`` its
        ``bourse_chain.money.expected_split``. No user balance moves: the row has rail
        ``'x402'``, ``user_id`` 0 and ``hold_id`` ``x402:<payment id[:35]>``, and the worker settles
        it in a batch from the inbox (``settle_batch`` with ``source=None``)."""
        if amount < 0 or split.gross != amount:
            raise LedgerError(f"x402 amount {amount} does not match its split {split}")
        at = now_ms()
        row = {
            "id": payment_id,
            "user_id": 0,
            "hold_id": f"x402:{payment_id[:35]}",  # gw_calls.hold_id is VARCHAR(40)
            "model": model,
            "provider": provider,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "usage_source": usage_source,
            "gross": split.gross,
            "provider_amount": split.provider,
            "creator_fee": split.creator,
            "protocol_fee": split.protocol,
            "attempts": 0,
            **_new_pending_call("x402", at),
        }

        def tx(conn: Connection) -> bool:
            if conn.execute(select(calls.c.id).where(calls.c.id == payment_id)).first():
                return False
            _INSERT_CALL.run(conn, row)
            return True

        return bool(await self.writer.run(tx))

    async def void(self, hold: Hold | str) -> bool:
        """Release a pending hold in full; False if it was no longer pending."""
        hold_id = hold if isinstance(hold, str) else hold.id
        return await self._release(hold_id, "voided", "void")

    async def expire(self, limit: int = 500) -> int:
        """Expire pending holds past their deadline; returns how many."""
        async with reading(self.engine) as conn:
            ids = (
                await conn.execute(
                    select(holds.c.id)
                    .where(holds.c.state == "pending", holds.c.expires_at < now_ms())
                    .limit(limit)
                )
            ).all()
        n = 0
        for (hold_id,) in ids:
            n += await self._release(str(hold_id), "expired", "expire")
        return n

    async def _release(self, hold_id: str, state: str, kind: str) -> bool:
        at = now_ms()

        def tx(conn: Connection) -> bool:
            row = _CLOSE_HOLD.first(conn, {"p_hold": hold_id, "p_state": state, "p_at": at})
            if row is None:
                return False
            amount, user_id = int(row[0]), int(row[1])
            _SETTLE_USER.run(conn, {"p_user": user_id, "p_back": amount, "p_release": amount})
            _journal(conn, user_id, kind, amount, -amount, hold_id, None, at)
            return True

        return await self.writer.run(tx)

    # ---------------------------------------------------------------- totals

    async def totals(self) -> dict[str, int]:
        """Sums over all users (for metrics and conservation checks)."""
        async with reading(self.engine) as conn:
            bal = (
                await conn.execute(
                    select(
                        func.coalesce(func.sum(users.c.available), 0),
                        func.coalesce(func.sum(users.c.held), 0),
                    )
                )
            ).one()
            credited = (
                await conn.execute(select(func.coalesce(func.sum(credits.c.amount), 0)))
            ).scalar_one()
            posted = (
                await conn.execute(
                    select(func.coalesce(func.sum(holds.c.posted_amount), 0)).where(
                        holds.c.state == "posted"
                    )
                )
            ).scalar_one()
        return {
            "available": int(bal[0]),
            "held": int(bal[1]),
            "credited": int(credited),
            "posted": int(posted),
        }


def _new_pending_call(rail: str, at: int) -> dict[str, Any]:
    """The outbox fields a call row of either rail starts with: pending, in no batch yet."""
    return {
        "state": "pending",
        "rail": rail,
        "created_at": at,
        "batch_id": None,
        "tx_signature": None,
        "proof": None,
        "last_error": None,
        "settled_at": None,
    }


def _available(conn: Connection, user_id: int) -> int:
    row = conn.execute(select(users.c.available).where(users.c.id == user_id)).first()
    if row is None:
        raise UnknownUser(str(user_id))
    return int(row[0])


def _journal(
    conn: Connection,
    user_id: int,
    kind: str,
    available_delta: int,
    held_delta: int,
    hold_id: str | None,
    ref: str | None,
    at: int,
) -> None:
    _INSERT_JOURNAL.run(
        conn,
        {
            "user_id": user_id,
            "kind": kind,
            "available_delta": available_delta,
            "held_delta": held_delta,
            "hold_id": hold_id,
            "ref": ref,
            "at": at,
        },
    )
