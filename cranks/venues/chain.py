"""Typed reads through an injected :data:`~cranks.venues.base.AccountFetcher`.

The fetcher is ``async (Pubkey) -> bytes | None``; it should raise
:class:`~cranks.venues.errors.VenueUnavailable` (or let its own RPC error through) when the
node cannot be reached. Everything here turns *bad data* into venue errors.
"""

from __future__ import annotations

import asyncio
import logging

from solders.clock import Clock
from solders.pubkey import Pubkey
from solders.sysvar import CLOCK as CLOCK_SYSVAR_ID

from bourse_chain.token_layout import (
    MintInfo,
    TokenAccountInfo,
    TokenDecodeError,
    decode_mint,
    decode_token_account,
)
from cranks.venues.base import AccountFetcher
from cranks.venues.errors import MalformedResponse, NoRoute

log = logging.getLogger(__name__)


class ChainReader:
    """Account reads for one venue; ``venue`` labels the errors."""

    def __init__(self, fetch: AccountFetcher, *, venue: str) -> None:
        self._fetch = fetch
        self.venue = venue

    async def required(self, address: Pubkey, what: str) -> bytes:
        data = await self._fetch(address)
        if data is None:
            raise NoRoute(f"{what} {address} does not exist", venue=self.venue)
        return data

    async def mint(self, address: Pubkey) -> MintInfo:
        data = await self.required(address, "mint")
        try:
            return decode_mint(data)
        except TokenDecodeError as exc:
            raise MalformedResponse(f"mint {address}: {exc}", venue=self.venue) from exc

    async def token_account(
        self, address: Pubkey, *, mint: Pubkey | None = None
    ) -> TokenAccountInfo:
        data = await self.required(address, "token account")
        try:
            info = decode_token_account(data)
        except TokenDecodeError as exc:
            raise MalformedResponse(f"token account {address}: {exc}", venue=self.venue) from exc
        if mint is not None and info.mint != mint:
            raise MalformedResponse(
                f"token account {address} holds {info.mint}, expected {mint}", venue=self.venue
            )
        return info

    async def epoch(self) -> int | None:
        """The current epoch from the Clock sysvar; ``None`` if unreadable (fees then
        fall back to the larger of a mint's two transfer fees)."""
        data = await self._fetch(CLOCK_SYSVAR_ID)
        if data is None:
            log.warning(
                "%s: clock sysvar unavailable; using conservative transfer fees", self.venue
            )
            return None
        try:
            return int(Clock.from_bytes(data).epoch)
        except ValueError as exc:
            log.warning(
                "%s: unreadable clock sysvar (%s); using conservative transfer fees",
                self.venue,
                exc,
            )
            return None

    async def mints(self, *addresses: Pubkey) -> list[MintInfo]:
        return list(await asyncio.gather(*(self.mint(a) for a in addresses)))
