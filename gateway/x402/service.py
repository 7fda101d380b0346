"""The gateway's x402 rail (rail 2), as the running gateway holds it: the facilitator, the
ledger-backed replay store, the network and USDC mint, and each model's ``payTo`` (its inbox
authority, a PDA of the program: never the gateway's wallet).

Built at start-up when ``x402_facilitator_url`` is set. With the config's settler key at hand
the gateway creates every routed model's inbox (the facilitators do not create ATAs): at
start-up, and for a model that appears later on its first quote.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from solders.pubkey import Pubkey
from sqlalchemy.ext.asyncio import AsyncEngine

from bourse_chain.client import BourseClient
from bourse_chain.generated.compute_market.accounts import Config
from bourse_chain.pda import config_pda
from bourse_chain.settlement import Settlement
from gateway.db.writer import Writer
from gateway.x402.facilitator import Facilitator
from gateway.x402.ledger_replay import LedgerReplayStore
from gateway.x402.networks import X402Network, network_for
from gateway.x402.rail import X402Rail
from gateway.x402.terms import PaymentTerms

log = logging.getLogger("bourse.gateway.x402")


@dataclass
class X402Service:
    rail: X402Rail
    replay: LedgerReplayStore
    network: X402Network
    settlement: Settlement  # inbox authorities; creates inboxes when it holds the settler
    can_create_inboxes: bool
    _ready: set[str] = field(default_factory=set)

    @property
    def asset(self) -> Pubkey:
        """The USDC mint of the market's config (the localnet's own mint on a localnet)."""
        return self.settlement.config.usdc_mint

    @property
    def facilitator(self) -> Facilitator:
        return self.rail.facilitator

    async def pay_to(self, slug: str) -> Pubkey:
        """The model's inbox authority (its inbox is created first when missing)."""
        model, _ = await self.settlement.model(slug)
        if slug not in self._ready and self.can_create_inboxes:
            await self.settlement.ensure_inbox(model)
            self._ready.add(slug)
        return self.settlement.inbox_authority(model)

    async def ensure_inboxes(self, slugs: Iterable[str]) -> None:
        for slug in slugs:
            await self.pay_to(slug)

    async def terms(
        self, *, slug: str, amount: int, resource: str, description: str
    ) -> PaymentTerms:
        """This request's terms; raises the facilitator's errors when /supported fails."""
        return PaymentTerms(
            network=self.network,
            asset=self.asset,
            amount=amount,
            pay_to=await self.pay_to(slug),
            fee_payer=await self.facilitator.fee_payer(self.network),
            resource=resource,
            description=description,
        )

    async def aclose(self) -> None:
        await self.facilitator.aclose()


async def open_x402(
    *,
    facilitator_url: str,
    network: str,
    chain: BourseClient,
    settlement: Settlement | None,
    engine: AsyncEngine,
    writer: Writer,
    slugs: Iterable[str],
) -> X402Service:
    """The rail on ``facilitator_url``; the routed models' inboxes exist when it returns (if
    ``settlement`` holds the settler key; otherwise they must exist already)."""
    replay = LedgerReplayStore(engine, writer)
    settler_side = settlement is not None
    if settlement is None:
        config = await chain.fetch(config_pda(chain.program_id)[0], Config)
        if config is None:
            raise RuntimeError("the compute market's config is not initialized on this cluster")
        settlement = Settlement(chain, None, config)
        log.warning("x402 without the settler key: model inboxes are not created by the gateway")
    net = network_for(network)
    if net.usdc_mint is not None and net.usdc_mint != settlement.config.usdc_mint:
        log.warning(
            "x402 network %s: the market's USDC mint %s is not the cluster's USDC %s",
            network,
            settlement.config.usdc_mint,
            net.usdc_mint,
        )
    service = X402Service(
        X402Rail(Facilitator(facilitator_url), replay),
        replay,
        net,
        settlement,
        settler_side,
    )
    await service.ensure_inboxes(slugs)
    for payment_id, transaction in await replay.unrecorded():
        log.error(
            "x402 payment %s settled (%s) but its call is not in the ledger",
            payment_id,
            transaction,
        )
    return service
