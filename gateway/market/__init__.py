"""The market page and its API: every listed model's token, vaults, volume and revenue,
read from the chain with the crank scan's batched reads, cached; see docs/market.md."""

from gateway.market.router import market_router
from gateway.market.schemas import CatalogEntry
from gateway.market.service import MarketService

__all__ = ["CatalogEntry", "MarketService", "market_router"]
