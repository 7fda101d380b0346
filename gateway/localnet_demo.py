"""A demo market on a localnet for ``bourse-gateway serve --localnet``, the tests and the
benchmark: the config, approved models and provider offers, and the gateway settings that
route them to LOCAL STAND-IN upstreams.

Two providers offer each model at different prices, so routing and failover have a choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_ops import admin, list_model, provider
from bourse_ops.common import Session
from gateway.settings import ModelConfig, ProviderConfig, Settings


@dataclass(frozen=True)
class DemoModel:
    slug: str
    name: str
    fee_bps: int


@dataclass(frozen=True)
class DemoProvider:
    key: str
    name: str
    #: (input, output) micro-USDC per million tokens, per model slug
    prices: dict[str, tuple[int, int]]


MODELS = (
    DemoModel("deepseek-chat", "DeepSeek V3 (local stand-in)", 800),
    DemoModel("kimi-k2.6", "Kimi K2.6 (local stand-in)", 1_000),
)
PROVIDERS = (
    DemoProvider(
        "standin-a",
        "Local stand-in A",
        {"deepseek-chat": (270_000, 1_100_000), "kimi-k2.6": (600_000, 2_500_000)},
    ),
    DemoProvider(
        "standin-b",
        "Local stand-in B",
        {"deepseek-chat": (300_000, 1_200_000), "kimi-k2.6": (650_000, 2_600_000)},
    ),
)
PROTOCOL_FEE_BPS = 100


async def setup_market(
    session: Session,
    keypairs: dict[str, Keypair],
    providers: list[Keypair],
    *,
    models: tuple[DemoModel, ...] = MODELS,
    offers: tuple[DemoProvider, ...] = PROVIDERS,
    treasury_authority: Pubkey | None = None,
) -> None:
    """Initialize the config, list and approve ``models``, register one provider per
    keypair of ``providers`` (funded with SOL beforehand) and publish ``offers``."""
    await admin.init_config(
        session,
        keypairs["admin"],
        settler=keypairs["settler"].pubkey(),
        crank=keypairs["crank"].pubkey(),
        treasury_authority=treasury_authority or Keypair().pubkey(),
        protocol_fee_bps=PROTOCOL_FEE_BPS,
    )
    await session.reload()
    for m in models:
        await list_model.register_model(session, keypairs["creator"], m.slug, m.fee_bps)
        await admin.set_model_status(session, keypairs["admin"], m.slug, ModelStatus.APPROVED)
    for kp, offer in zip(providers, offers, strict=True):
        await provider.register_provider(session, kp, offer.name)
        for slug, (p_in, p_out) in offer.prices.items():
            await provider.upsert_offer(session, kp, slug, p_in, p_out)


def gateway_settings(
    base: Settings,
    providers: list[Keypair],
    upstream_urls: list[str],
    *,
    offers: tuple[DemoProvider, ...] = PROVIDERS,
    models: tuple[DemoModel, ...] = MODELS,
) -> Settings:
    """``base`` with one configured upstream per demo provider (stand-in base URLs)."""
    return base.with_(
        providers=tuple(
            ProviderConfig(
                key=o.key,
                name=o.name,
                authority=str(kp.pubkey()),
                base_url=url,
                models={slug: slug for slug in o.prices},
            )
            for kp, o, url in zip(providers, offers, upstream_urls, strict=True)
        ),
        models=tuple(ModelConfig(m.slug, m.name, 131_072, 16_384) for m in models),
    )
