"""The market as read from the chain, cached: one read serves every page and API call
within ``ttl_secs``; concurrent callers share one refresh.

A refresh is ``bourse market list``'s read (``list_models_at``: one ``getProgramAccounts``,
then the clock sysvar and every revenue vault, buyback vault and mint in
``getMultipleAccounts`` batches of 100) and the event tail (one
``getSignaturesForAddress``, plus one ``getTransaction`` per new transaction). The RPC
client is the cranks' (:func:`cranks.sender.connect_rpc`): failover across URLs and calls
counted by method (:attr:`MarketService.calls`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx2
from solana.exceptions import SolanaRpcException
from solana.rpc.commitment import Commitment, Confirmed
from solana.rpc.core import RPCException
from solders.pubkey import Pubkey
from solders.signature import Signature

from bourse_chain.client import BourseClient
from bourse_chain.errors import BourseError
from bourse_chain.generated.compute_market.events import events_from_logs
from bourse_chain.generated.compute_market.program_id import PROGRAM_ID
from bourse_ops import market_view
from bourse_ops.common import LocalnetManifest, Session, load_deployment
from bourse_ops.market_view import (
    HistoryEntry,
    ModelView,
    daily_series,
    event_fields,
    list_models_at,
)
from cranks.config import SendSettings
from cranks.sender import RpcTransport, connect_rpc
from gateway.market import schemas
from gateway.market.tail import EventTail

log = logging.getLogger(__name__)

Catalog = Sequence[schemas.CatalogEntry]
CatalogSource = Catalog | Callable[[], Catalog | Awaitable[Catalog]]
#: What a failed read raises (RPC down, answer malformed); a stale read is served then.
READ_ERRORS = (SolanaRpcException, RPCException, httpx2.HTTPError, BourseError, OSError)


class MarketUnavailable(Exception):
    """The chain could not be read and there is no earlier read to serve."""


@dataclass(frozen=True)
class MarketRead:
    """One read of the market: the API snapshot plus what the model pages need."""

    snapshot: schemas.MarketSnapshot
    days: dict[str, list[market_view.DayPoint]]
    history: dict[str, list[HistoryEntry]]

    @property
    def stale(self) -> bool:
        return self.snapshot.stale

    def model(self, slug: str) -> schemas.MarketModel | None:
        return next((m for m in self.snapshot.models if m.slug == slug), None)

    def detail(self, slug: str, limit: int = 500) -> schemas.ModelDetail | None:
        model = self.model(slug)
        if model is None:
            return None
        return schemas.ModelDetail(
            chain_time=self.snapshot.chain_time,
            window_days=self.snapshot.window_days,
            model=model,
            days=[day_point(p) for p in self.days[slug]],
            history=[history_event(e) for e in self.history[slug][:limit]],
        )


def history_event(e: HistoryEntry) -> schemas.HistoryEvent:
    return schemas.HistoryEvent(
        signature=e.signature,
        slot=e.slot,
        block_time=e.block_time,
        event=e.event,
        fields=e.fields,
    )


@dataclass
class MarketService:
    """Reads the market from ``rpc_urls`` (failover in order) at most once per ``ttl_secs``."""

    rpc_urls: Sequence[str]
    catalog: CatalogSource = ()
    program_id: Pubkey = PROGRAM_ID
    manifest: LocalnetManifest | None = None
    ttl_secs: float = 5.0
    window_days: int = 30
    max_transactions: int = 50_000
    commitment: Commitment = Confirmed
    rpc_timeout_secs: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _session: Session | None = field(default=None, init=False, repr=False)
    _transport: RpcTransport | None = field(default=None, init=False, repr=False)
    _read: MarketRead | None = field(default=None, init=False, repr=False)
    _read_at: float = field(default=float("-inf"), init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _tail: EventTail = field(init=False, repr=False)
    _txs: OrderedDict[str, schemas.TransactionView] = field(
        default_factory=OrderedDict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.rpc_urls:
            raise ValueError("at least one RPC URL is needed")
        if self.window_days < 1:
            raise ValueError("window_days must be at least 1")
        self._tail = EventTail(window_days=self.window_days, max_transactions=self.max_transactions)

    @property
    def calls(self) -> Counter[str]:
        """JSON-RPC requests made so far, by method."""
        return self._transport.calls if self._transport is not None else Counter()

    async def session(self) -> Session:
        if self._session is None:
            settings = SendSettings(rpc_timeout_secs=self.rpc_timeout_secs)
            rpc, transport = connect_rpc(self.rpc_urls, settings, commitment=self.commitment)
            client = BourseClient(
                rpc, program_id=self.program_id, commitment=self.commitment, owns_rpc=True
            )
            try:
                deployment = await load_deployment(client, self.manifest)
            except BaseException:
                await client.close()
                raise
            self._transport = transport
            self._session = Session(client, deployment, self.rpc_urls[0])
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def read(self) -> MarketRead:
        """The market, re-read when the last read is older than ``ttl_secs``."""
        if self._read is not None and self.clock() - self._read_at < self.ttl_secs:
            return self._read
        async with self._lock:
            if self._read is not None and self.clock() - self._read_at < self.ttl_secs:
                return self._read
            try:
                self._read = await self._refresh()
            except READ_ERRORS as exc:
                if self._read is None:
                    raise MarketUnavailable(f"cannot read the chain: {exc}") from exc
                log.warning("market read failed, serving the last one: %s", exc)
                stale = self._read.snapshot.model_copy(update={"stale": True})
                self._read = MarketRead(stale, self._read.days, self._read.history)
            self._read_at = self.clock()
            return self._read

    async def _refresh(self) -> MarketRead:
        session = await self.session()
        views, now = await list_models_at(session)
        await self._tail.update(session, now)
        catalog = await self._catalog()
        return build_read(views, self._tail, now, self.window_days, catalog)

    async def _catalog(self) -> Catalog:
        source = self.catalog
        if not callable(source):
            return list(source)
        got = source()
        return list(await got) if inspect.isawaitable(got) else list(got)

    async def transaction(self, signature: Signature) -> schemas.TransactionView | None:
        """One transaction's events and logs (one ``getTransaction``; the last 256 kept)."""
        key = str(signature)
        if key in self._txs:
            self._txs.move_to_end(key)
            return self._txs[key]
        session = await self.session()
        resp = await session.client.rpc.get_transaction(
            signature,
            encoding="base64",
            commitment=session.client.commitment,
            max_supported_transaction_version=0,
        )
        value = resp.value
        if value is None or value.transaction.meta is None:
            return None
        meta = value.transaction.meta
        logs = list(meta.log_messages or [])
        events = [
            schemas.HistoryEvent(
                signature=key,
                slot=value.slot,
                block_time=value.block_time,
                event=type(ev).__name__,
                fields=event_fields(ev),
            )
            for ev in events_from_logs(logs, session.client.program_id)
        ]
        view = schemas.TransactionView(
            signature=key,
            slot=value.slot,
            block_time=value.block_time,
            succeeded=meta.err is None,
            fee=meta.fee,
            events=events,
            logs=logs,
        )
        self._txs[key] = view
        while len(self._txs) > 256:
            self._txs.popitem(last=False)
        return view


def day_point(p: market_view.DayPoint, *, burns: bool = True) -> schemas.DayPoint:
    return schemas.DayPoint(
        date=p.date,
        revenue=p.revenue,
        creator_fees=p.creator_fees,
        usdc_spent=p.usdc_spent,
        tokens_burned=p.tokens_burned if burns else 0,
        calls=p.calls,
    )


def build_read(
    views: Sequence[ModelView],
    tail: EventTail,
    now: int,
    window_days: int,
    catalog: Catalog,
) -> MarketRead:
    """The snapshot of ``views`` with the tail's daily series over ``window_days``."""
    market_days = [day_point(p, burns=False) for p in daily_series(tail.entries, now, window_days)]
    quiet = daily_series([], now, window_days)  # every model without events in the window
    models: list[schemas.MarketModel] = []
    days: dict[str, list[market_view.DayPoint]] = {}
    history: dict[str, list[HistoryEntry]] = {}
    for v in views:
        entries = tail.of_model(v.address)
        series = daily_series(entries, now, window_days) if entries else quiet
        revenue = [p.revenue for p in series]
        models.append(
            schemas.MarketModel(**vars(v), revenue_days=revenue, revenue_window=sum(revenue))
        )
        days[v.slug], history[v.slug] = series, entries
    tokenized = {m.slug for m in models if m.token_kind != "none"}
    totals = schemas.MarketTotals(
        models=len(models),
        approved=sum(m.status == "approved" for m in models),
        tokenized=len(tokenized),
        volume=sum(m.volume for m in models),
        settlements=sum(m.settlements for m in models),
        creator_fees=sum(m.creator_fees for m in models),
        usdc_spent=sum(m.usdc_spent for m in models),
        vault_balance=sum(m.vault_balance for m in models),
        revenue_window=sum(p.revenue for p in market_days),
    )
    snapshot = schemas.MarketSnapshot(
        chain_time=now,
        refreshed_at=time.time(),
        window_days=window_days,
        dates=[p.date for p in market_days],
        totals=totals,
        days=market_days,
        models=models,
        catalog=[c for c in catalog if c.id not in tokenized],
        events_indexed=len(tail.entries),
    )
    return MarketRead(snapshot, days, history)
