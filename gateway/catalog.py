"""What can be called: the chain's approved models and active offers of active providers,
joined with the configured upstreams. One :class:`Route` per (model, provider); a model's
routes are ordered cheapest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solders.pubkey import Pubkey

from bourse_chain.client import BourseClient
from bourse_chain.generated.compute_market.accounts import Config
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.pda import config_pda, provider_pda
from gateway.settings import ProviderConfig, Settings


@dataclass(frozen=True)
class Route:
    slug: str
    model_name: str
    provider: Pubkey  # the provider account (PDA)
    provider_key: str
    provider_name: str
    price_input_per_mtok: int
    price_output_per_mtok: int
    creator_fee_bps: int
    context_window: int
    max_output: int
    base_url: str
    api_key: str
    upstream_model: str

    @property
    def qualified_id(self) -> str:
        return f"{self.provider_key}/{self.slug}"

    def sort_key(self) -> tuple[int, int, str]:
        return (
            self.price_input_per_mtok + self.price_output_per_mtok,
            self.price_output_per_mtok,
            self.provider_key,
        )


@dataclass(frozen=True)
class Catalog:
    routes: dict[str, list[Route]]  # slug -> routes, cheapest first
    protocol_fee_bps: int
    created: int

    def resolve(self, model_id: str) -> list[Route]:
        """``slug`` routes over every provider; ``<provider key>/<slug>`` pins one."""
        if model_id in self.routes:
            return self.routes[model_id]
        key, _, slug = model_id.partition("/")
        return [r for r in self.routes.get(slug, []) if r.provider_key == key]

    def all_routes(self) -> list[Route]:
        return [r for rs in self.routes.values() for r in rs]


def _text(raw: bytes, n: int) -> str:
    return bytes(raw[:n]).decode("utf-8", "replace")


async def load_catalog(client: BourseClient, settings: Settings, created: int) -> Catalog:
    config = await client.fetch(config_pda(client.program_id)[0], Config)
    if config is None:
        raise RuntimeError("the compute market's config is not initialized on this cluster")
    models = {addr: m for addr, m in await client.list_models() if m.status == ModelStatus.APPROVED}
    providers = dict(await client.list_providers())
    configured = _configured(settings.providers, client.program_id)
    routes: dict[str, list[Route]] = {}
    for _, offer in await client.list_offers():
        model = models.get(offer.model)
        account = providers.get(offer.provider)
        upstream = configured.get(offer.provider)
        if not offer.active or model is None or account is None or not account.active:
            continue
        if upstream is None:
            continue
        slug = _text(model.slug, model.slug_len)
        if slug not in upstream.models:
            continue
        params = settings.model(slug)
        routes.setdefault(slug, []).append(
            Route(
                slug=slug,
                model_name=params.name or slug,
                provider=offer.provider,
                provider_key=upstream.key,
                provider_name=upstream.name,
                price_input_per_mtok=offer.price_input_per_mtok,
                price_output_per_mtok=offer.price_output_per_mtok,
                creator_fee_bps=model.fee_bps,
                context_window=params.context_window,
                max_output=params.max_output,
                base_url=upstream.base_url.rstrip("/"),
                api_key=upstream.api_key,
                upstream_model=upstream.models[slug],
            )
        )
    for rs in routes.values():
        rs.sort(key=Route.sort_key)
    return Catalog(routes, config.protocol_fee_bps, created)


def _configured(
    providers: Sequence[ProviderConfig], program_id: Pubkey
) -> dict[Pubkey, ProviderConfig]:
    return {provider_pda(Pubkey.from_string(p.authority), program_id)[0]: p for p in providers}
