"""The gateway's routed models as market catalog entries: each model the gateway can route,
priced at its cheapest offer. The market page shows the ones without a token as previews."""

from __future__ import annotations

from gateway.catalog import Catalog
from gateway.market.schemas import CatalogEntry


def routed_models(catalog: Catalog) -> list[CatalogEntry]:
    """One entry per routed model slug, at its cheapest route (routes are cheapest first)."""
    entries = []
    for slug in sorted(catalog.routes):
        routes = catalog.routes[slug]
        if not routes:
            continue
        cheapest = routes[0]
        entries.append(
            CatalogEntry(
                id=slug,
                name=cheapest.model_name,
                description=f"Routed to {len(routes)} provider(s), cheapest "
                f"{cheapest.provider_name}",
                context_length=cheapest.context_window,
                price_input_per_mtok=cheapest.price_input_per_mtok,
                price_output_per_mtok=cheapest.price_output_per_mtok,
            )
        )
    return entries
