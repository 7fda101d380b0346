"""A standalone app serving only the market routes (until the gateway mounts them, and for
tests): ``python -m gateway.market --rpc-url http://127.0.0.1:8899``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from gateway.market.router import HOME, market_router
from gateway.market.service import CatalogSource


def create_app(
    rpc_url: str | Sequence[str], *, catalog: CatalogSource = (), **options: Any
) -> FastAPI:
    """The market routes on their own app; ``options`` go to :func:`market_router`."""
    app = FastAPI(
        title="Bourse market",
        summary="Every listed model's token, vaults, volume and revenue, read from the chain",
        version="0.1.0",
    )
    app.include_router(market_router(rpc_url, catalog=catalog, **options))

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(HOME)

    return app
