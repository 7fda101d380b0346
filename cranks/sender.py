"""Sending for the cranks: RPC failover, a daily fee budget and a journal of what was sent.

:class:`BourseClient` already does the per-transaction work (compute-unit limit from
simulation x margin under a cap, priority-fee percentile, confirmation against the
transaction's own ``lastValidBlockHeight`` with rebroadcasts, bounded re-signing when the
blockhash expires). This module adds what an unattended operator needs around it:

* :class:`RpcTransport`, an ``httpx2`` transport under solana-py's ``AsyncClient`` that sends
  each JSON-RPC request to an **ordered list of RPC URLs**: the first healthy one, moving
  down the list on a transport error, an HTTP 429/5xx or a "node unhealthy" JSON-RPC error,
  and passing over a failed endpoint for a cool-off period. Failing over *per request*
  (rather than restarting a whole send on another client) keeps the client's send loop
  intact: the same signed bytes are rebroadcast, statuses of every signature so far are
  polled, nothing is re-signed because an endpoint hiccupped. It counts requests by method
  and failed attempts (Prometheus), and journals every ``sendTransaction`` *before* the bytes
  leave (:mod:`cranks.state`).
* :class:`Sender`: the daily SOL fee budget (the compute-unit price is lowered to what the
  remaining budget can pay at the compute-unit cap; nothing is sent once the budget cannot
  pay the base fee), dry-run simulation, metrics, and :meth:`Sender.busy_accounts`, which
  settles the journal: accounts written by a transaction that may still land are busy.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
import logging
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from bourse_chain.client import BourseClient, SendOptions, TransactionExpired
from bourse_chain.errors import BourseError, ProgramError, TransactionFailed
from bourse_chain.results import Simulation, TxResult
from cranks.config import SendSettings
from cranks.metrics import Metrics
from cranks.state import UNKNOWN_EXPIRY_SECS, CrankState, PendingTx

log = logging.getLogger(__name__)

LAMPORTS_PER_SIGNATURE = 5_000
#: JSON-RPC error codes meaning "this node cannot answer now; another may".
RETRY_RPC_CODES = frozenset({-32005, -32004, -32014, -32016})
#: Error codes whose ``data`` solders parses as a struct: without one it *panics*
#: (``pyo3_runtime.PanicException``, a ``BaseException``), so :class:`RpcTransport` gives them
#: an empty object (providers and load balancers do answer "node is behind" without data).
STRUCTURED_ERROR_CODES = frozenset({-32002, -32005, -32016})
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BLOCKHASHES_KEPT = 512


@dataclass
class _Sending:
    """The :meth:`Sender.send` running in this task: its job and what it journaled."""

    job: str
    sent: list[str]


_CURRENT: contextvars.ContextVar[_Sending | None] = contextvars.ContextVar(
    "bourse_crank_sending", default=None
)


class FeeBudgetExhausted(BourseError):
    """Today's fee budget cannot pay for another transaction."""

    def __init__(self, spent: int, budget: int) -> None:
        self.spent = spent
        self.budget = budget
        super().__init__(f"daily fee budget exhausted: {spent} of {budget} lamports spent today")


def _b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        n = n * 58 + _B58.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + raw


def endpoint_label(url: str) -> str:
    """Scheme and host only: providers put API keys in paths and queries."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def writable_keys(
    message: MessageV0, tables: Mapping[Pubkey, Sequence[Pubkey]] | None = None
) -> list[Pubkey]:
    """The writable accounts of a v0 message: those listed, then those it loads writable from
    the lookup tables in ``tables`` (table address -> its addresses)."""
    keys = list(message.account_keys)
    h = message.header
    signed = h.num_required_signatures
    out = keys[: signed - h.num_readonly_signed_accounts]
    out += keys[signed : len(keys) - h.num_readonly_unsigned_accounts]
    for lookup in message.address_table_lookups:
        addresses = (tables or {}).get(lookup.account_key)
        if addresses is None:
            log.warning("journal: lookup table %s is unknown to the sender", lookup.account_key)
            continue
        out += [addresses[i] for i in bytes(lookup.writable_indexes) if i < len(addresses)]
    return out


SendHook = Callable[[VersionedTransaction, int | None], None]


@dataclass
class _Endpoint:
    url: str
    label: str
    failed_at: float | None = None


class RpcTransport(httpx2.AsyncBaseTransport):
    """Ordered failover across RPC URLs, with counting and a send journal hook."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        inner: httpx2.AsyncBaseTransport | None = None,
        attempts: int = 3,
        cooloff_secs: float = 30.0,
        metrics: Metrics | None = None,
        on_send: SendHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_delay_secs: float = 0.2,
    ) -> None:
        if not urls:
            raise ValueError("at least one RPC URL is needed")
        self.endpoints = [_Endpoint(u, endpoint_label(u)) for u in urls]
        self._inner = inner or httpx2.AsyncHTTPTransport()
        self.attempts = max(1, attempts)
        self.cooloff = cooloff_secs
        self.metrics = metrics
        self.on_send = on_send
        self._clock = clock
        self._retry_delay = retry_delay_secs
        #: JSON-RPC requests by method (what the benchmark reads).
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self._last_valid: OrderedDict[str, int] = OrderedDict()

    def order(self) -> list[_Endpoint]:
        """Healthy endpoints in configured order, then cooling ones, oldest failure first."""
        now = self._clock()
        healthy = [
            e for e in self.endpoints if e.failed_at is None or now - e.failed_at >= self.cooloff
        ]
        cooling = sorted(
            (e for e in self.endpoints if e not in healthy), key=lambda e: e.failed_at or 0.0
        )
        return healthy + cooling

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.content
        method, payload = _method_of(body)
        self.calls[method] += 1
        if self.metrics is not None:
            self.metrics.rpc_requests.labels(method).inc()
        if method == "sendTransaction" and self.on_send is not None:
            tx = _sent_transaction(payload)
            if tx is not None:
                self.on_send(tx, self._last_valid.get(str(tx.message.recent_blockhash)))
        order = self.order()
        last_exc: httpx2.TransportError | None = None
        last_response: httpx2.Response | None = None
        for attempt in range(self.attempts):
            ep = order[attempt % len(order)]
            if attempt >= len(order):
                await asyncio.sleep(self._retry_delay * 2 ** (attempt - len(order)))
            headers = [
                (k, v)
                for k, v in request.headers.multi_items()
                if k.lower() not in ("host", "content-length")
            ]
            forwarded = httpx2.Request(
                request.method,
                ep.url,
                headers=headers,
                content=body,
                extensions=request.extensions,
            )
            try:
                response = await self._inner.handle_async_request(forwarded)
                content = await response.aread()
                await response.aclose()
            except httpx2.TransportError as exc:
                self._failed(ep, method, type(exc).__name__)
                last_exc, last_response = exc, None
                continue
            kind = _failure_kind(response.status_code, content)
            content = _normalize_error(content)
            rebuilt = httpx2.Response(
                response.status_code,
                headers=[
                    (k, v)
                    for k, v in response.headers.multi_items()
                    if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
                ],
                content=content,
                request=request,
            )
            if kind is not None:
                self._failed(ep, method, kind)
                last_response, last_exc = rebuilt, None
                continue
            ep.failed_at = None
            if attempt > 0 and self.metrics is not None:
                self.metrics.rpc_failovers.inc()
            if method == "getLatestBlockhash":
                self._remember_blockhash(content)
            return rebuilt
        if last_response is not None:
            return last_response
        assert last_exc is not None
        raise last_exc

    def _failed(self, ep: _Endpoint, method: str, kind: str) -> None:
        ep.failed_at = self._clock()
        self.errors[method] += 1
        if self.metrics is not None:
            self.metrics.rpc_errors.labels(method, ep.label, kind).inc()
        log.warning(
            "RPC %s failed on %s (%s)",
            method,
            ep.label,
            kind,
            extra={"event": "rpc_error", "method": method, "endpoint": ep.label, "kind": kind},
        )

    def _remember_blockhash(self, content: bytes) -> None:
        try:
            value = json.loads(content)["result"]["value"]
            self._last_valid[str(value["blockhash"])] = int(value["lastValidBlockHeight"])
        except (ValueError, KeyError, TypeError):
            return
        while len(self._last_valid) > _BLOCKHASHES_KEPT:
            self._last_valid.popitem(last=False)


def _method_of(body: bytes) -> tuple[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        return "?", None
    if isinstance(payload, list):
        return "batch", payload
    if isinstance(payload, dict):
        return str(payload.get("method", "?")), payload
    return "?", payload


def _sent_transaction(payload: Any) -> VersionedTransaction | None:
    try:
        params = payload["params"]
        encoded = params[0]
        config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        raw = (
            base64.b64decode(encoded) if config.get("encoding") == "base64" else _b58decode(encoded)
        )
        return VersionedTransaction.from_bytes(raw)
    except (KeyError, IndexError, TypeError, ValueError):
        log.warning("could not read a sendTransaction request for the journal")
        return None


def _normalize_error(content: bytes) -> bytes:
    """A JSON-RPC error solders can parse (see :data:`STRUCTURED_ERROR_CODES`)."""
    if b'"error"' not in content:
        return content
    try:
        payload = json.loads(content)
    except ValueError:
        return content
    err = payload.get("error") if isinstance(payload, dict) else None
    if (
        isinstance(err, dict)
        and err.get("code") in STRUCTURED_ERROR_CODES
        and not isinstance(err.get("data"), dict)
    ):
        err["data"] = {}
        return json.dumps(payload).encode()
    return content


def _failure_kind(status: int, content: bytes) -> str | None:
    """Why an answer should be retried elsewhere, or None when it is final."""
    if status == 429:
        return "http_429"
    if status >= 500:
        return f"http_{status}"
    if status != 200:
        return None
    try:
        payload = json.loads(content)
    except ValueError:
        return "bad_json"
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        code = payload["error"].get("code")
        if code in RETRY_RPC_CODES:
            return f"rpc_{code}"
    return None


def connect_rpc(
    urls: Sequence[str],
    settings: SendSettings,
    *,
    commitment: Commitment,
    metrics: Metrics | None = None,
    on_send: SendHook | None = None,
    inner: httpx2.AsyncBaseTransport | None = None,
) -> tuple[AsyncClient, RpcTransport]:
    """A solana-py ``AsyncClient`` whose HTTP session goes through an :class:`RpcTransport`."""
    transport = RpcTransport(
        urls,
        inner=inner,
        attempts=settings.rpc_attempts,
        cooloff_secs=settings.endpoint_cooloff_secs,
        retry_delay_secs=settings.rpc_retry_delay_secs,
        metrics=metrics,
        on_send=on_send,
    )
    rpc = AsyncClient(urls[0], commitment=commitment, timeout=settings.rpc_timeout_secs)
    provider = getattr(rpc, "_provider", None)
    if provider is None or not hasattr(provider, "session"):
        raise RuntimeError("this solana-py AsyncClient has no replaceable HTTP session")
    # solana-py's provider owns an httpx2.AsyncClient: swap in one over our transport.
    # Its own transport-error retry is off: failover happens below it.
    provider.session = httpx2.AsyncClient(
        transport=transport, timeout=httpx2.Timeout(settings.rpc_timeout_secs)
    )
    if hasattr(provider, "_max_transport_retries"):
        provider._max_transport_retries = 0
    return rpc, transport


class Sender:
    """Send and simulate for one operator key."""

    def __init__(
        self,
        client: BourseClient,
        payer: Keypair,
        settings: SendSettings,
        state: CrankState,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.payer = payer
        self.settings = settings
        self.state = state
        self.metrics = metrics
        self._clock = clock
        #: Lookup tables seen (address -> addresses), so the journal records the writable
        #: accounts a transaction loads from them (a model PDA may be one).
        self._tables: dict[Pubkey, list[Pubkey]] = {}
        metrics.fee_budget.set(settings.daily_fee_budget_lamports)

    @staticmethod
    def send_options(settings: SendSettings) -> SendOptions:
        return SendOptions(
            cu_margin=settings.cu_margin,
            cu_cap=settings.cu_cap,
            priority_percentile=settings.priority_fee_percentile,
            max_priority_micro_lamports=settings.max_priority_fee_micro_lamports,
            max_resigns=settings.max_resigns,
            poll_interval=settings.poll_interval_secs,
            rebroadcast_interval=settings.rebroadcast_interval_secs,
        )

    def journal_hook(self) -> SendHook:
        """The :class:`RpcTransport` ``on_send`` hook writing the journal."""

        def record(tx: VersionedTransaction, last_valid: int | None) -> None:
            signature = str(tx.signatures[0])
            current = _CURRENT.get()
            msg = tx.message
            writable = (
                tuple(str(k) for k in writable_keys(msg, self._tables))
                if isinstance(msg, MessageV0)
                else ()
            )
            self.state.record_sent(
                PendingTx(
                    signature=signature,
                    blockhash=str(msg.recent_blockhash),
                    last_valid_block_height=last_valid,
                    writable=writable,
                    sent_at=self._clock(),
                    job=current.job if current is not None else "",
                )
            )
            if current is not None:
                current.sent.append(signature)

        return record

    # -- accounts --------------------------------------------------------------------------

    async def account_data(self, address: Pubkey) -> bytes | None:
        """The venues' account fetcher."""
        account = await self.client.get_account(address)
        return None if account is None else bytes(account.data)

    async def account_lamports(self, address: Pubkey) -> int:
        """Lamports of ``address`` (0 when it does not exist): the SOL venues' balances."""
        account = await self.client.get_account(address)
        return 0 if account is None else int(account.lamports)

    async def lookup_tables(self, keys: Sequence[Pubkey]) -> list[AddressLookupTableAccount]:
        if not keys:
            return []
        accounts = await self.client.get_accounts(list(keys))
        out: list[AddressLookupTableAccount] = []
        for key, account in zip(keys, accounts, strict=True):
            if account is None:
                raise BourseError(f"address lookup table {key} does not exist")
            table = AddressLookupTable.deserialize(bytes(account.data))
            out.append(AddressLookupTableAccount(key, list(table.addresses)))
        return out

    # -- journal ---------------------------------------------------------------------------

    async def busy_accounts(self) -> set[Pubkey]:
        """Settle the journal; the writable accounts of transactions that may still land."""
        entries = self.state.pending()
        if not entries:
            return set()
        sigs = [Signature.from_string(e.signature) for e in entries]
        resp = await self.client.rpc.get_signature_statuses(sigs, search_transaction_history=True)
        height: int | None = None
        done: list[str] = []
        busy: set[Pubkey] = set()
        want = {"processed": 0, "confirmed": 1, "finalized": 2}[str(self.client.commitment)]
        for entry, status in zip(entries, resp.value, strict=True):
            if status is not None:
                rank = 2 if status.confirmation_status is None else int(status.confirmation_status)
                if rank >= want:
                    done.append(entry.signature)
                    continue
            elif entry.last_valid_block_height is not None:
                if height is None:
                    height = (await self.client.rpc.get_block_height(self.client.commitment)).value
                if height > entry.last_valid_block_height:
                    done.append(entry.signature)
                    continue
            elif self._clock() - entry.sent_at > UNKNOWN_EXPIRY_SECS:
                done.append(entry.signature)
                continue
            busy.update(Pubkey.from_string(a) for a in entry.writable)
            log.info(
                "transaction %s (%s) may still land; its accounts wait",
                entry.signature,
                entry.job,
                extra={"event": "pending_tx", "signature": entry.signature},
            )
        self.state.forget(done)
        return busy

    # -- sending ---------------------------------------------------------------------------

    def _affordable_price(self, price: int, signatures: int) -> int:
        budget = self.settings.daily_fee_budget_lamports
        spent = self.state.fees_spent_today()
        self.metrics.fee_spent_today.set(spent)
        if budget == 0:
            return price
        remaining = budget - spent
        base = LAMPORTS_PER_SIGNATURE * signatures
        if remaining < base:
            raise FeeBudgetExhausted(spent, budget)
        affordable = (remaining - base) * 1_000_000 // self.settings.cu_cap
        if affordable < price:
            log.info(
                "priority fee lowered from %d to %d micro-lamports/CU by the fee budget",
                price,
                affordable,
            )
        return min(price, affordable)

    async def send(
        self,
        instructions: Sequence[Instruction],
        *,
        job: str,
        kind: str,
        signers: Sequence[Keypair] = (),
        lookup_tables: Sequence[AddressLookupTableAccount] = (),
    ) -> TxResult:
        """Send and confirm (see :meth:`BourseClient.send`) within the fee budget."""
        all_signers = [self.payer, *[s for s in signers if s.pubkey() != self.payer.pubkey()]]
        ixs = list(instructions)
        s = self.settings
        price = 0
        if s.max_priority_fee_micro_lamports > 0:
            price = await self.client.priority_fee(
                ixs, s.priority_fee_percentile, s.max_priority_fee_micro_lamports
            )
        price = self._affordable_price(price, len(all_signers))
        if price > 0:
            ixs = [set_compute_unit_price(price), *ixs]
        for table in lookup_tables:
            self._tables[table.key] = list(table.addresses)
        sent: list[str] = []
        token = _CURRENT.set(_Sending(job, sent))
        try:
            result = await self.client.send(
                ixs, all_signers, max_priority_micro_lamports=0, lookup_tables=lookup_tables
            )
        except (TransactionExpired, ProgramError, TransactionFailed) as exc:
            # Definitive: nothing of this send can land any more.
            if sent and not isinstance(exc, TransactionExpired):
                self._charge(
                    job,
                    len(all_signers) * LAMPORTS_PER_SIGNATURE
                    + math.ceil(price * s.cu_cap / 1_000_000),
                )
            self.state.forget(sent)
            self.metrics.tx_failed.labels(job, kind, type(exc).__name__).inc()
            raise
        except BaseException as exc:
            # RPC trouble or cancellation: what was sent may still land; the journal keeps it.
            self.metrics.tx_failed.labels(job, kind, type(exc).__name__).inc()
            raise
        finally:
            _CURRENT.reset(token)
        self.state.forget(sent)
        fee = result.fee
        if fee is None:
            fee = len(all_signers) * LAMPORTS_PER_SIGNATURE + math.ceil(
                price * (result.cu_limit or s.cu_cap) / 1_000_000
            )
        self._charge(job, fee)
        self.metrics.tx_sent.labels(job, kind).inc()
        log.info(
            "%s %s landed: %s (fee %d lamports, %s CU, attempt %d)",
            job,
            kind,
            result.signature,
            fee,
            result.compute_units,
            result.attempts,
            extra={
                "event": "tx_landed",
                "job": job,
                "kind": kind,
                "signature": str(result.signature),
                "fee": fee,
                "attempts": result.attempts,
            },
        )
        return result

    def _charge(self, job: str, lamports: int) -> None:
        total = self.state.add_fee(lamports)
        self.metrics.fee_lamports.labels(job).inc(lamports)
        self.metrics.fee_spent_today.set(total)

    async def simulate(
        self,
        instructions: Sequence[Instruction],
        *,
        job: str,
        kind: str,
        lookup_tables: Sequence[AddressLookupTableAccount] = (),
    ) -> Simulation:
        """Simulate only (dry run), at the compute-unit cap; raises the typed error."""
        ixs = [set_compute_unit_limit(self.settings.cu_cap), *instructions]
        try:
            sim = await self.client.simulate(
                ixs, payer=self.payer.pubkey(), lookup_tables=lookup_tables
            )
        except BourseError as exc:
            self.metrics.tx_failed.labels(job, kind, type(exc).__name__).inc()
            raise
        self.metrics.tx_simulated.labels(job, kind).inc()
        return sim
