"""A small live market on an embedded localnet for the market page's tests, built with the
operators' own functions (``bourse_ops``): listed models with tokens and pools, a provider
with offers, paid calls settled on-chain in batches (``Settlement.settle_batch``), and
buyback-and-burn through the crank."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.settlement import BatchResult, PaidCall, Settlement
from bourse_chain.token_layout import decode_mint, token_amount
from bourse_ops import admin, crank, list_model, pool, provider
from bourse_ops.common import Session, read_manifest
from bourse_ops.crank import CrankReport
from localnet import Localnet

USDC = 1_000_000
SUPPLY = 1_000_000_000 * USDC
POOL_TOKENS = 100_000_000 * USDC
POOL_USDC = 1_000 * USDC
PROTOCOL_FEE_BPS = 100


@dataclass
class MarketChain:
    net: Localnet
    session: Session
    keys: dict[str, Keypair]
    tmp: Path
    listed: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def rpc_url(self) -> str:
        return self.net.rpc_url

    async def list_model(self, slug: str, *, t22: bool = False, fee_bps: int = 500) -> None:
        """Register, create the token (SPL, or Token-2022 with a 1% fee), approve with its mint,
        tokenize and pool a model."""
        s, k = self.session, self.keys
        await list_model.register_model(s, k["creator"], slug, fee_bps, f"ipfs://{slug}")
        token = await list_model.create_model_token(
            s,
            k["creator"],
            supply=SUPPLY,
            decimals=6,
            token_2022=t22,
            transfer_fee_bps=100 if t22 else None,
        )
        mint = Pubkey.from_string(token.mint)
        await admin.set_model_status(s, k["admin"], slug, ModelStatus.APPROVED, mint)
        await list_model.tokenize_model(s, k["creator"], slug, mint)
        await pool.add_pool(s, k["creator"], slug, tokens=POOL_TOKENS, usdc=POOL_USDC)
        await provider.upsert_offer(s, k["provider"], slug, 2 * USDC, 8 * USDC)
        self.listed.append(slug)

    async def approve_untokenized(self, slug: str) -> None:
        """A model approved and offered by the provider, with no token yet: the gateway routes
        it, the market page previews it."""
        s, k = self.session, self.keys
        await list_model.register_model(s, k["creator"], slug, 400)
        await admin.set_model_status(s, k["admin"], slug, ModelStatus.APPROVED)
        await provider.upsert_offer(s, k["provider"], slug, 3 * USDC, 9 * USDC)

    async def register_only(self, slug: str) -> None:
        """A model registered but neither approved nor tokenized."""
        await list_model.register_model(self.session, self.keys["creator"], slug, 300)

    async def pay(self, slug: str, *amounts: int) -> BatchResult:
        """Paid calls of ``amounts`` micro-USDC the gateway collected (credits in the
        settler's USDC account), settled on-chain in one batch."""
        settler = self.keys["settler"]
        settlement = await Settlement.load(self.session.client, settler)
        provider = self.session.market.provider(self.keys["provider"].pubkey())
        calls = [
            PaidCall(f"market-page:{slug}:{next(self._ids)}", amount, slug, provider)
            for amount in amounts
        ]
        source = self.session.market.usdc_account(settler.pubkey())
        return await settlement.settle_batch(calls, source=source)

    async def buyback(self, slug: str) -> CrankReport:
        return await crank.buyback_and_burn(
            self.session, self.keys["crank"], slug, state_dir=self.tmp / "crank"
        )

    async def model(self, slug: str) -> tuple[Pubkey, Model]:
        address = self.session.market.model(slug)
        found = await self.session.client.fetch(address, Model)
        assert found is not None
        return address, found

    async def balance(self, account: Pubkey | None) -> int:
        if account is None:
            return 0
        acc = await self.session.client.get_account(account)
        return 0 if acc is None else token_amount(bytes(acc.data))

    async def supply(self, mint: Pubkey) -> int:
        acc = await self.session.client.get_account(mint)
        assert acc is not None
        return decode_mint(bytes(acc.data)).supply


@contextlib.asynccontextmanager
async def start_market(tmp: Path) -> AsyncIterator[MarketChain]:
    """A fresh localnet with the config initialised and a provider registered."""
    async with Localnet.start(port=0, workdir=tmp / "ln", backend="embedded") as net:
        session = await Session.open(net.rpc_url, manifest=read_manifest(net.manifest_path))
        async with session:
            k = dict(net.keypairs)
            await admin.init_config(
                session,
                k["admin"],
                settler=k["settler"].pubkey(),
                crank=k["crank"].pubkey(),
                treasury_authority=Keypair().pubkey(),
                protocol_fee_bps=PROTOCOL_FEE_BPS,
                swap_programs=[CP_POOL_ID],
            )
            await session.reload()
            await provider.register_provider(session, k["provider"], "Market page GPU")
            yield MarketChain(net, session, k, tmp)
