"""Top-up requests and their crediting: exactly once per signature, whatever is retried or
restarted (the ledger's credit is keyed by the signature, the top-up row's signature is
unique, and a signature that paid one request can never credit another)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bourse_chain.client import BourseClient
from bourse_chain.generated.compute_market.accounts import Config
from bourse_chain.pda import config_pda
from gateway.db.engine import now_ms, reading
from gateway.db.schema import credits, topups
from gateway.ledger import Ledger
from gateway.metrics import Metrics
from gateway.topups.solana_pay import InvalidTransfer, Request, find, transfer_url, validate

log = logging.getLogger("bourse.gateway.topups")

USDC_DECIMALS = 6
MAX_TOPUP = 10**12


class TopUpError(Exception):
    status = 400


class UnknownTopUp(TopUpError):
    status = 404


class SignatureUsed(TopUpError):
    status = 409


@dataclass(frozen=True)
class TopUp:
    reference: str
    user_id: int
    amount: int
    recipient: str
    mint: str
    state: str
    signature: str | None
    reason: str | None

    def to_json(self, url: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reference": self.reference,
            "amount": self.amount,
            "recipient": self.recipient,
            "mint": self.mint,
            "status": self.state,
            "signature": self.signature,
            "reason": self.reason,
        }
        if url is not None:
            out["url"] = url
        return out


class TopUps:
    def __init__(
        self,
        engine: AsyncEngine,
        ledger: Ledger,
        client: BourseClient,
        recipient: Pubkey,
        metrics: Metrics,
        poll_seconds: float = 5.0,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.client = client
        self.recipient = recipient
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.mint = Pubkey.default()
        self.token_program = Pubkey.default()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = await self.client.fetch(config_pda(self.client.program_id)[0], Config)
        if config is None:
            raise RuntimeError("compute market config not found")
        self.mint, self.token_program = config.usdc_mint, config.usdc_token_program
        if self.poll_seconds > 0:
            self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _request(self, t: TopUp) -> Request:
        return Request(
            self.recipient,
            Pubkey.from_string(t.mint),
            self.token_program,
            t.amount,
            Pubkey.from_string(t.reference),
        )

    def url(self, t: TopUp) -> str:
        return transfer_url(self._request(t), USDC_DECIMALS, "Bourse", "Bourse credits")

    async def create(self, user_id: int, amount: int) -> TopUp:
        if not 0 < amount <= MAX_TOPUP:
            raise TopUpError(f"amount must be 1..{MAX_TOPUP} micro-USDC")
        reference = str(Keypair().pubkey())
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(topups).values(
                    reference=reference,
                    user_id=user_id,
                    amount=amount,
                    recipient=str(self.recipient),
                    mint=str(self.mint),
                    state="pending",
                    created_at=now_ms(),
                )
            )
        return await self.get(reference)

    async def get(self, reference: str, user_id: int | None = None) -> TopUp:
        async with reading(self.engine) as conn:
            row = (
                await conn.execute(
                    select(
                        topups.c.reference,
                        topups.c.user_id,
                        topups.c.amount,
                        topups.c.recipient,
                        topups.c.mint,
                        topups.c.state,
                        topups.c.signature,
                        topups.c.reason,
                    ).where(topups.c.reference == reference)
                )
            ).first()
        if row is None or (user_id is not None and row[1] != user_id):
            raise UnknownTopUp(f"no top-up {reference}")
        return TopUp(*(row[i] for i in range(8)))

    async def confirm(self, reference: str, signature: str | None = None) -> TopUp:
        """Look for the payment (or check the given signature) and credit it once."""
        t = await self.get(reference)
        if t.state == "credited":
            return t
        if signature is not None:
            candidates = [Signature.from_string(signature)]
            if await self._signature_used(signature):
                self.metrics.topups.labels("replay").inc()
                raise SignatureUsed(f"signature {signature} already credited a top-up")
        else:
            candidates = await find(self.client, Pubkey.from_string(reference))
        reason = None
        for sig in candidates:
            try:
                payment = await validate(self.client, self._request(t), sig)
            except InvalidTransfer as e:
                reason = str(e)
                continue
            return await self._credit(t, payment.signature, payment.received)
        if reason is not None:
            self.metrics.topups.labels("refused").inc()
            await self._set(reference, "refused", reason)
        return await self.get(reference)

    async def _signature_used(self, signature: str) -> bool:
        async with reading(self.engine) as conn:
            row = (
                await conn.execute(
                    select(credits.c.external_id).where(
                        credits.c.external_id == f"solana-pay:{signature}"
                    )
                )
            ).first()
        return row is not None

    async def _credit(self, t: TopUp, signature: str, received: int) -> TopUp:
        try:
            async with self.engine.begin() as conn:
                done = await conn.execute(
                    update(topups)
                    .where(topups.c.reference == t.reference, topups.c.state != "credited")
                    .values(
                        state="credited", signature=signature, reason=None, credited_at=now_ms()
                    )
                )
            if done.rowcount != 1:
                return await self.get(t.reference)
        except IntegrityError as e:
            raise SignatureUsed(f"signature {signature} already credited a top-up") from e
        # The ledger credit is keyed by the signature: a crash between the two statements
        # is repaired by the next confirm (the credit below is idempotent).
        await self.ledger.credit(t.user_id, received, "solana_pay", f"solana-pay:{signature}")
        self.metrics.topups.labels("credited").inc()
        return await self.get(t.reference)

    async def _set(self, reference: str, state: str, reason: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(topups)
                .where(topups.c.reference == reference, topups.c.state != "credited")
                .values(state=state, reason=reason)
            )

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.repair()
                async with reading(self.engine) as conn:
                    refs = [
                        r[0]
                        for r in (
                            await conn.execute(
                                select(topups.c.reference).where(
                                    topups.c.state.in_(("pending", "refused")),
                                    topups.c.created_at > now_ms() - 86_400_000,
                                )
                            )
                        ).all()
                    ]
                for ref in refs:
                    await self.confirm(ref)
            except Exception:
                log.exception("top-up poll failed")

    async def repair(self) -> None:
        """Credit top-ups marked credited whose ledger credit a crash interrupted."""
        async with reading(self.engine) as conn:
            rows = (
                await conn.execute(
                    select(topups.c.reference, topups.c.user_id, topups.c.signature)
                    .where(topups.c.state == "credited")
                    .where(
                        ~select(credits.c.external_id)
                        .where(credits.c.external_id == "solana-pay:" + topups.c.signature)
                        .exists()
                    )
                )
            ).all()
        for ref, _user, sig in rows:
            t = await self.get(ref)
            payment = await validate(self.client, self._request(t), Signature.from_string(sig))
            await self.ledger.credit(t.user_id, payment.received, "solana_pay", f"solana-pay:{sig}")
