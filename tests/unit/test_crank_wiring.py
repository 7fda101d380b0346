"""How the daemon wires venues from the config, and address lookup tables for routes."""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any

import httpx
import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.errors import BourseError
from cranks.config import BuybackSettings, CrankConfig, JupiterSettings, RaydiumSettings
from cranks.daemon import RaydiumPools, build_venue
from cranks.metrics import Metrics
from cranks.sender import Sender
from cranks.state import CrankState
from cranks.venues.errors import NoRoute
from cranks.venues.jupiter import JupiterApi, JupiterVenue
from cranks.venues.local_pool import LocalPoolVenue
from cranks.venues.raydium import RaydiumVenue

ALT_PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")


class FakeClient:
    def __init__(self, accounts: dict[Pubkey, Account]) -> None:
        self.accounts = accounts

    async def get_accounts(self, keys: list[Pubkey]) -> list[Account | None]:
        return [self.accounts.get(k) for k in keys]


def sender(tmp_path: Any, accounts: dict[Pubkey, Account] | None = None) -> Sender:
    return Sender(
        FakeClient(accounts or {}),  # type: ignore[arg-type]
        Keypair(),
        CrankConfig().send,
        CrankState(tmp_path / "s.json"),
        Metrics(),
    )


async def test_venues_from_the_config(tmp_path: Any) -> None:
    s = sender(tmp_path)
    local = build_venue(CrankConfig(), s, None)
    assert isinstance(local, LocalPoolVenue)
    async with httpx.AsyncClient() as http:
        jup_cfg = CrankConfig(
            buyback=BuybackSettings(venue="jupiter", max_quote_age_secs=7),
            jupiter=JupiterSettings(api="v1", api_key="k", base_url="https://jup.example"),
        )
        jup = build_venue(jup_cfg, s, http)
        assert isinstance(jup, JupiterVenue)
        assert jup.config.api == JupiterApi.V1 and jup.config.api_key == "k"
        assert jup.config.max_quote_age_s == 7
        mint, pool = Pubkey.new_unique(), Pubkey.new_unique()
        ray_cfg = CrankConfig(
            buyback=BuybackSettings(venue="raydium", threshold_usdc=Decimal(1)),
            raydium=RaydiumSettings(pools={str(mint): str(pool)}),
        )
        ray = build_venue(ray_cfg, s, http)
        assert isinstance(ray, RaydiumPools)
        assert isinstance(ray._venues[mint], RaydiumVenue)
        assert ray._venues[mint].config.pool == pool
        with pytest.raises(NoRoute, match="no Raydium pool configured"):
            await ray.quote(
                Pubkey.new_unique(),
                Pubkey.new_unique(),
                10,
                50,
                authority=Pubkey.new_unique(),
                source=Pubkey.new_unique(),
                destination=Pubkey.new_unique(),
            )


async def test_lookup_tables_are_read_and_decoded(tmp_path: Any) -> None:
    table, authority = Pubkey.new_unique(), Pubkey.new_unique()
    addresses = [Pubkey.new_unique() for _ in range(3)]
    meta = struct.pack("<IQQB", 1, 2**64 - 1, 7, 0) + b"\x01" + bytes(authority) + b"\0\0"
    data = meta + b"".join(bytes(a) for a in addresses)
    s = sender(tmp_path, {table: Account(10**7, data, ALT_PROGRAM, False, 0)})
    (got,) = await s.lookup_tables([table])
    assert got.key == table and list(got.addresses) == addresses
    assert await s.lookup_tables([]) == []
    with pytest.raises(BourseError, match="does not exist"):
        await s.lookup_tables([Pubkey.new_unique()])
