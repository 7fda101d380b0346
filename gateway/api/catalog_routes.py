"""``GET /api/models`` and ``GET /api/v1/models``: OpenAI's list shape, one entry per model
(routed cheapest first over its providers) and one per provider-qualified id; prices are the
on-chain offers' (``pricing`` in USD per token as OpenRouter gives it, and raw micro-USDC
per million tokens)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gateway.catalog import Route
from gateway.service import Gateway

router = APIRouter()


def _pricing(route: Route) -> dict[str, Any]:
    return {
        "prompt": f"{route.price_input_per_mtok / 1e12:.12f}",
        "completion": f"{route.price_output_per_mtok / 1e12:.12f}",
        "input_micro_usdc_per_mtok": route.price_input_per_mtok,
        "output_micro_usdc_per_mtok": route.price_output_per_mtok,
    }


def _entry(model_id: str, route: Route, created: int) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": created,
        "owned_by": route.provider_key if model_id == route.qualified_id else "bourse",
        "name": route.model_name,
        "context_length": route.context_window,
        "max_output_tokens": route.max_output,
        "pricing": _pricing(route),
        "creator_fee_bps": route.creator_fee_bps,
    }


def model_list(gw: Gateway) -> dict[str, Any]:
    catalog = gw.catalog
    created = catalog.created // 1000
    data: list[dict[str, Any]] = []
    for slug in sorted(catalog.routes):
        routes = catalog.routes[slug]
        entry = _entry(slug, routes[0], created)
        entry["providers"] = [
            {
                "id": r.qualified_id,
                "provider": r.provider_name,
                "provider_account": str(r.provider),
                "pricing": _pricing(r),
            }
            for r in routes
        ]
        data.append(entry)
        for r in routes:
            item = _entry(r.qualified_id, r, created)
            item["provider"] = r.provider_name
            item["provider_account"] = str(r.provider)
            data.append(item)
    return {"object": "list", "data": data}


@router.get("/api/models")
@router.get("/api/v1/models")
async def models(request: Request) -> dict[str, Any]:
    return model_list(request.app.state.gateway)
