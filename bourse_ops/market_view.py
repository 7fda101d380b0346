"""Market views: every model with its vaults, volume, fees, buyback and burn, token supply;
one model's history from its events; the daily revenue and burn series of a chart.

All amounts are raw base units (micro-USDC; model-token base units with ``token_decimals``).
``python scripts/market_view.py ...`` is ``bourse market ...``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, is_dataclass
from enum import Enum
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.sysvar import CLOCK

from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.events import (
    BatchSettled,
    BuybackExecuted,
    OrderSettled,
    TokensBurned,
    events_from_logs,
)
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.pda import model_pda
from bourse_chain.token_layout import decode_mint, token_amount
from bourse_ops.common import Session, base_units_json
from bourse_ops.errors import UnknownModel

DEFAULT_PUBKEY = Pubkey.default()
#: ``unix_timestamp`` (i64) in the clock sysvar, after slot, epoch start, epoch, leader epoch.
CLOCK_UNIX_TS_OFFSET = 32
_I64 = struct.Struct("<q")


@dataclass(frozen=True)
class ModelView:
    """One listed model and the balances around it."""

    slug: str
    address: str
    status: str
    creator: str
    fee_bps: int
    metadata_uri: str
    token_kind: str
    mint: str | None
    token_program: str | None
    revenue_vault: str
    buyback_vault: str | None
    vault_balance: int
    buyback_vault_balance: int
    volume: int
    creator_fees: int
    protocol_fees: int
    provider_payouts: int
    settlements: int
    usdc_spent: int
    tokens_bought: int
    tokens_burned: int
    supply: int | None
    token_decimals: int | None
    last_buyback_ts: int
    created_at: int
    #: A Token-2022 token's transfer fee (its newer configuration), else ``None``.
    transfer_fee_bps: int | None = None
    transfer_fee_max: int | None = None

    def to_json(self) -> dict[str, Any]:
        return base_units_json(
            asdict(self), "buyback_vault_balance", "tokens_bought", "tokens_burned", "supply"
        )


def slug_of(model: Model) -> str:
    return bytes(model.slug[: model.slug_len]).decode("utf-8", "replace")


def uri_of(model: Model) -> str:
    return bytes(model.metadata_uri[: model.uri_len]).decode("utf-8", "replace")


def _name(value: Enum) -> str:
    return value.name.lower()


def _view(
    address: Pubkey,
    model: Model,
    vault: Account | None,
    buyback: Account | None,
    mint: Account | None,
) -> ModelView:
    tokenized = model.token_kind != TokenKind.NONE
    info = decode_mint(bytes(mint.data)) if mint is not None else None
    fee = info.transfer_fee.newer if info is not None and info.transfer_fee is not None else None
    return ModelView(
        slug=slug_of(model),
        address=str(address),
        status=_name(model.status),
        creator=str(model.creator),
        fee_bps=model.fee_bps,
        metadata_uri=uri_of(model),
        token_kind=_name(model.token_kind),
        mint=str(model.mint) if tokenized else None,
        token_program=str(model.token_program) if tokenized else None,
        revenue_vault=str(model.revenue_vault),
        buyback_vault=str(model.buyback_vault) if tokenized else None,
        vault_balance=token_amount(bytes(vault.data)) if vault is not None else 0,
        buyback_vault_balance=token_amount(bytes(buyback.data)) if buyback is not None else 0,
        volume=model.total_volume,
        creator_fees=model.total_creator_fees,
        protocol_fees=model.total_protocol_fees,
        provider_payouts=model.total_provider_payouts,
        settlements=model.settlement_count,
        usdc_spent=model.usdc_spent,
        tokens_bought=model.tokens_bought,
        tokens_burned=model.tokens_burned,
        supply=info.supply if info else None,
        token_decimals=info.decimals if info else None,
        last_buyback_ts=model.last_buyback_ts,
        created_at=model.created_at,
        transfer_fee_bps=fee.basis_points if fee is not None else None,
        transfer_fee_max=fee.maximum_fee if fee is not None else None,
    )


async def _views(
    session: Session, models: Sequence[tuple[Pubkey, Model]], extra: Sequence[Pubkey] = ()
) -> tuple[list[ModelView], list[Account | None]]:
    """Views of decoded models, and the ``extra`` accounts: one ``getMultipleAccounts`` pass
    (batches of 100) for them and every model's vaults and mint."""
    wanted: list[Pubkey] = list(extra)
    for _, m in models:
        tokenized = m.token_kind != TokenKind.NONE
        wanted += [
            m.revenue_vault,
            m.buyback_vault if tokenized else DEFAULT_PUBKEY,
            m.mint if tokenized else DEFAULT_PUBKEY,
        ]
    accounts = await session.client.get_accounts(wanted) if wanted else []
    found, accounts = accounts[: len(extra)], accounts[len(extra) :]
    out = []
    for i, (address, m) in enumerate(models):
        vault, buyback, mint = accounts[3 * i : 3 * i + 3]
        tokenized = m.token_kind != TokenKind.NONE
        out.append(
            _view(address, m, vault, buyback if tokenized else None, mint if tokenized else None)
        )
    return out, found


def _ordered(views: list[ModelView], status: str | None) -> list[ModelView]:
    if status is not None:
        views = [v for v in views if v.status == status]
    return sorted(views, key=lambda v: (-v.volume, v.slug))


async def list_models(session: Session, *, status: str | None = None) -> list[ModelView]:
    """Every model of the program, by volume (largest first), then slug."""
    models = await session.client.list_models()
    return _ordered((await _views(session, models))[0], status)


async def list_models_at(
    session: Session, *, status: str | None = None
) -> tuple[list[ModelView], int]:
    """``list_models`` and the chain's time, the clock sysvar read in the same batches."""
    models = await session.client.list_models()
    views, (clock,) = await _views(session, models, [CLOCK])
    return _ordered(views, status), clock_time(clock)


async def fetch_model(session: Session, slug: str) -> tuple[Pubkey, Model]:
    """The model's address and account; ``UnknownModel`` if no model has this slug."""
    address = model_pda(slug, session.client.program_id)[0]
    try:
        model = await session.client.fetch(address, Model)
    except ValueError:  # a slug that cannot be a seed (too long)
        model = None
    if model is None:
        raise UnknownModel(slug, address)
    return address, model


async def model_status(session: Session, slug: str) -> ModelView:
    _check_slug_seedable(slug)
    address, model = await fetch_model(session, slug)
    return (await _views(session, [(address, model)]))[0][0]


def _check_slug_seedable(slug: str) -> None:
    if not slug or len(slug.encode()) > 32:
        raise UnknownModel(slug)


# ------------------------------------------------------------------------------ history


@dataclass(frozen=True)
class HistoryEntry:
    """One program event in a model's transaction history."""

    signature: str
    slot: int
    block_time: int | None
    event: str
    fields: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def event_fields(event: object) -> dict[str, Any]:
    """An event's fields as JSON values (keys as base58, enums by name, bytes as hex)."""
    if not is_dataclass(event):
        return {}
    return {f.name: _jsonable(getattr(event, f.name)) for f in fields(event)}


def _jsonable(value: object) -> Any:
    if isinstance(value, Pubkey):
        return str(value)
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


SignatureRow = tuple[Signature, int, int | None]


async def signatures(
    session: Session,
    address: Pubkey,
    limit: int,
    *,
    until: Signature | None = None,
    since: int | None = None,
) -> list[SignatureRow]:
    """``(signature, slot, block time)`` of successful transactions touching ``address``,
    newest first, paging through ``getSignaturesForAddress`` up to ``limit``; newer than
    ``until`` when given, and stopping at the first one with a block time before ``since``."""
    out: list[SignatureRow] = []
    before: Signature | None = None
    while len(out) < limit:
        page = min(1000, limit - len(out))
        resp = await session.client.rpc.get_signatures_for_address(
            address, before=before, until=until, limit=page, commitment=session.client.commitment
        )
        rows = resp.value
        for r in rows:
            if since is not None and r.block_time is not None and r.block_time < since:
                return out
            if r.err is None:
                out.append((r.signature, r.slot, r.block_time))
        if len(rows) < page:
            break
        before = rows[-1].signature
    return out


async def _logs(session: Session, signature: Signature) -> list[str]:
    resp = await session.client.rpc.get_transaction(
        signature,
        encoding="base64",
        commitment=session.client.commitment,
        max_supported_transaction_version=0,
    )
    value = resp.value
    if value is None or value.transaction.meta is None:
        return []
    return list(value.transaction.meta.log_messages or [])


async def history_entries(
    session: Session, sigs: Sequence[SignatureRow], *, concurrency: int = 8
) -> list[HistoryEntry]:
    """Every program event of these transactions (one ``getTransaction`` each, at most
    ``concurrency`` at a time), in the order of ``sigs`` then of the logs."""
    gate = asyncio.Semaphore(concurrency)

    async def logs_of(sig: Signature) -> list[str]:
        async with gate:
            return await _logs(session, sig)

    all_logs = await asyncio.gather(*(logs_of(s) for s, _, _ in sigs))
    return [
        HistoryEntry(str(sig), slot, block_time, type(event).__name__, event_fields(event))
        for (sig, slot, block_time), logs in zip(sigs, all_logs, strict=True)
        for event in events_from_logs(logs, session.client.program_id)
    ]


def concerns(entry: HistoryEntry, model: Pubkey | str) -> bool:
    """Whether an event belongs to a model's history (events naming no model count for
    every model whose transaction they are in)."""
    return bool(entry.fields.get("model", str(model)) == str(model))


async def model_history(
    session: Session, slug: str, *, limit: int = 200, concurrency: int = 8
) -> list[HistoryEntry]:
    """The model's events (settlements, buybacks, burns, status changes...), newest first,
    from up to ``limit`` of its transactions.

    A released (cancelled) order's transaction does not touch the model account, so its
    ``OrderCancelled`` is found through the order: every order opened on the model in the
    window that was not settled is read back by its own address."""
    address, _ = await fetch_model(session, slug)
    sigs = await signatures(session, address, limit)
    out = [
        e
        for e in await history_entries(session, sigs, concurrency=concurrency)
        if concerns(e, address)
    ]
    opened = {e.fields["order"] for e in out if e.event == "OrderOpened"}
    closed = {e.fields["order"] for e in out if e.event in ("OrderSettled", "OrderCancelled")}
    for order in sorted(opened - closed):
        found = await history_entries(
            session, await signatures(session, Pubkey.from_string(order), 10)
        )
        out += [e for e in found if e.event == "OrderCancelled" and e.fields["order"] == order]
    out.sort(key=lambda e: e.slot, reverse=True)
    return out


# -------------------------------------------------------------------------------- chart


@dataclass(frozen=True)
class DayPoint:
    """One day (UTC) of a model's chart."""

    date: str
    revenue: int
    creator_fees: int
    usdc_spent: int
    tokens_burned: int
    calls: int

    def to_json(self) -> dict[str, Any]:
        return base_units_json(asdict(self), "tokens_burned")


def clock_time(clock: Account | None) -> int:
    """The unix time in the clock sysvar's account (wall time when it is missing)."""
    if clock is None or len(clock.data) < CLOCK_UNIX_TS_OFFSET + 8:
        return int(dt.datetime.now(dt.UTC).timestamp())
    return int(_I64.unpack_from(bytes(clock.data), CLOCK_UNIX_TS_OFFSET)[0])


async def chain_time(session: Session) -> int:
    """The chain's current unix time (its clock sysvar; wall time otherwise)."""
    return clock_time(await session.client.get_account(CLOCK))


def daily_series(entries: Sequence[HistoryEntry], now: int, days: int) -> list[DayPoint]:
    """Per-day sums over the ``days`` UTC days ending with the day of ``now``, oldest first:
    revenue (gross settled), creator fees, USDC spent on buyback, tokens burned, calls."""
    last = dt.datetime.fromtimestamp(now, dt.UTC).date()
    first = last - dt.timedelta(days=days - 1)
    sums: dict[dt.date, list[int]] = {
        first + dt.timedelta(days=i): [0, 0, 0, 0, 0] for i in range(days)
    }
    for e in entries:
        if e.block_time is None:
            continue
        day = dt.datetime.fromtimestamp(e.block_time, dt.UTC).date()
        row = sums.get(day)
        if row is None:
            continue
        f = e.fields
        if e.event == OrderSettled.__name__:
            row[0] += int(f["gross"])
            row[1] += int(f["creator_fee"])
            row[4] += 1
        elif e.event == BatchSettled.__name__:
            row[0] += int(f["total"])
            row[1] += int(f["creator_fee"])
            row[4] += int(f["count"])
        elif e.event == BuybackExecuted.__name__:
            row[2] += int(f["usdc_spent"])
        elif e.event == TokensBurned.__name__:
            row[3] += int(f["amount"])
    return [DayPoint(d.isoformat(), *v) for d, v in sorted(sums.items())]


async def model_chart(
    session: Session, slug: str, *, days: int = 30, limit: int = 10_000
) -> list[DayPoint]:
    """The daily revenue and burn of a model over ``days`` days (chain time)."""
    entries = await model_history(session, slug, limit=limit)
    return daily_series(entries, await chain_time(session), days)
