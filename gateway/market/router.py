"""The market's routes, for the gateway app to mount (``app.include_router(market_router(...))``):

- ``GET /market``: every listed model with its token, vaults, volume and 30-day revenue,
  the market-wide chart, and preview cards for catalog models without a token;
- ``GET /market/{slug}``: one model with its daily chart and its history;
- ``GET /market/tx/{signature}``: one transaction's events and logs;
- ``GET /api/market``, ``GET /api/market/{slug}``, ``GET /api/market/tx/{signature}``: the
  same as JSON (response models in :mod:`gateway.market.schemas`);
- ``GET /market-assets/{name}``: the page's stylesheet and script, from the package.

Pages take ``?fragment=1`` for their main content alone, with an ``ETag`` (``304`` while
unchanged): that is what the page's script polls to update in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import AsyncIterator, Callable, Sequence
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from solders.pubkey import Pubkey
from solders.signature import Signature
from starlette.convertors import Convertor, register_url_convertor

from bourse_chain.generated.compute_market.program_id import PROGRAM_ID
from bourse_ops.common import LocalnetManifest, format_amount
from gateway.api_models import ErrorResponse
from gateway.errors import GatewayError, NotFound
from gateway.market import schemas
from gateway.market.render import Renderer, tokens
from gateway.market.service import CatalogSource, MarketRead, MarketService, MarketUnavailable

HOME = "/market"
API = "/api/market"
ASSETS = "/market-assets"
#: Model cards per page of ``/market`` (``?page=2``...).
PAGE_SIZE = 100
ASSET_TYPES = {"market.css": "text/css; charset=utf-8", "market.js": "text/javascript"}
EVENT_NAMES = {
    "OrderSettled": "Call settled",
    "BatchSettled": "Paid calls settled",
    "OrderOpened": "Order opened",
    "OrderCancelled": "Order released",
    "BuybackExecuted": "Buyback",
    "TokensBurned": "Burn",
    "FeesHarvested": "Transfer fees harvested",
    "ModelRegistered": "Registered",
    "ModelStatusChanged": "Status changed",
    "ModelTokenized": "Tokenized",
    "OfferUpserted": "Offer updated",
}
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"model": ErrorResponse, "description": "Not on this chain"}}
UNAVAILABLE: Responses = {503: {"model": ErrorResponse, "description": "Chain unreadable"}}


class ChainUnavailable(GatewayError):
    """The chain could not be read and there is no earlier read to serve."""

    status = 503
    code = "CHAIN_UNAVAILABLE"


class SignatureConvertor(Convertor[str]):
    """A base58 transaction signature in a path (so ``/market/tx/<slug>`` stays a slug)."""

    regex = "[1-9A-HJ-NP-Za-km-z]{64,88}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("signature", SignatureConvertor())


def is_listed(m: schemas.MarketModel) -> bool:
    """On the market: approved, with its token."""
    return m.status == "approved" and m.token_kind != "none"


def not_listed(snapshot: schemas.MarketSnapshot) -> list[schemas.MarketModel]:
    """Models on the chain not listed (pending, delisted, approved without a token yet), but
    not those the catalog previews already."""
    previewed = {c.id for c in snapshot.catalog}
    return [m for m in snapshot.models if not is_listed(m) and m.slug not in previewed]


def sol(lamports: int) -> str:
    return f"{format_amount(lamports, 9)} SOL"


def etag_of(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:24] + '"'


class _Fragments:
    """Rendered page bodies of the current read (re-rendered only when the read changes)."""

    def __init__(self) -> None:
        self.read: MarketRead | None = None
        self.bodies: dict[str, tuple[str, str]] = {}

    def get(self, read: MarketRead, key: str, build: Callable[[], str]) -> tuple[str, str]:
        if read is not self.read:
            self.read, self.bodies = read, {}
        if key not in self.bodies:
            body = build()
            self.bodies[key] = (body, etag_of(body))
        return self.bodies[key]


def market_router(
    rpc_url: str | Sequence[str],
    *,
    catalog: CatalogSource = (),
    program_id: Pubkey = PROGRAM_ID,
    manifest: LocalnetManifest | None = None,
    ttl_secs: float = 5.0,
    refresh_secs: float = 5.0,
    window_days: int = 30,
    service: MarketService | None = None,
) -> APIRouter:
    """The market routes reading the chain at ``rpc_url`` (a list: failover in order).

    ``catalog`` is the gateway's routed models (a list, or a sync or async callable giving
    one); those without a token on the chain get preview cards. Reads are cached for
    ``ttl_secs``; open pages poll every ``refresh_secs``. Pass ``service`` to share one
    :class:`MarketService` (its ``calls`` count the RPC requests).
    """
    urls = [rpc_url] if isinstance(rpc_url, str) else list(rpc_url)
    market = service or MarketService(
        urls,
        catalog=catalog,
        program_id=program_id,
        manifest=manifest,
        ttl_secs=ttl_secs,
        window_days=window_days,
    )
    renderer = Renderer(assets=ASSETS, refresh_ms=int(refresh_secs * 1000))
    fragments = _Fragments()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await market.aclose()

    router = APIRouter(lifespan=lifespan)

    async def read() -> MarketRead:
        try:
            return await market.read()
        except MarketUnavailable as exc:
            raise ChainUnavailable(str(exc)) from exc

    def page(request: Request, body: str, etag: str, fragment: bool, status: int = 200) -> Response:
        if fragment:
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            return HTMLResponse(body, status_code=status, headers={"ETag": etag})
        html = renderer.render(
            "base.html",
            body=Markup(body),
            home=HOME,
            api=API,
            live_url=f"{request.url.path}?{urlencode({**request.query_params, 'fragment': '1'})}",
            etag=etag,
        )
        return HTMLResponse(html, status_code=status)

    def missing(request: Request, message: str, fragment: bool) -> Response:
        body = renderer.render("missing.html", home=HOME, message=message)
        return page(request, body, etag_of(body), fragment, status=404)

    # ------------------------------------------------------------------ assets

    @router.get(ASSETS + "/{name}", summary="The market page's stylesheet and script")
    async def asset(name: str) -> Response:
        if name not in ASSET_TYPES:
            raise NotFound(f"no asset {name!r}")
        data = resources.files("gateway.market").joinpath("static", name).read_bytes()
        return Response(
            data, media_type=ASSET_TYPES[name], headers={"Cache-Control": "max-age=300"}
        )

    # ------------------------------------------------------------------ pages

    @router.get(HOME, response_class=HTMLResponse, summary="The market page")
    async def market_page(
        request: Request,
        fragment: Annotated[bool, Query(description="Main content only")] = False,
        page_no: Annotated[int, Query(alias="page", ge=1, description="Page of models")] = 1,
    ) -> Response:
        got = await read()
        listed = [m for m in got.snapshot.models if is_listed(m)]
        pages = max(1, math.ceil(len(listed) / PAGE_SIZE))
        if page_no > pages:
            return missing(request, f"There are {pages} pages of models.", fragment)

        def build() -> str:
            first = (page_no - 1) * PAGE_SIZE
            return renderer.render(
                "market_main.html",
                snapshot=got.snapshot,
                stale=got.stale,
                approved=listed[first : first + PAGE_SIZE],
                first=first,
                listed=len(listed),
                page=page_no,
                pages=pages,
                others=not_listed(got.snapshot) if page_no == 1 else [],
                home=HOME,
            )

        body, etag = fragments.get(got, f"market:{page_no}", build)
        return page(request, body, etag, fragment)

    @router.get(
        HOME + "/tx/{signature:signature}", response_class=HTMLResponse, summary="A transaction"
    )
    async def tx_page(
        request: Request, signature: str, fragment: Annotated[bool, Query()] = False
    ) -> Response:
        tx = await _transaction(signature)
        if tx is None:
            return missing(request, f"No transaction {signature} on this chain.", fragment)
        body = renderer.render("tx_main.html", tx=tx, home=HOME, sol=sol)
        return page(request, body, etag_of(body), fragment)

    @router.get(HOME + "/{slug:path}", response_class=HTMLResponse, summary="One model's page")
    async def model_page(
        request: Request, slug: str, fragment: Annotated[bool, Query()] = False
    ) -> Response:
        got = await read()
        detail = got.detail(slug)
        if detail is None:
            return missing(request, f"No model {slug!r} on this chain.", fragment)

        def build() -> str:
            assert detail is not None
            decimals = detail.model.token_decimals
            return renderer.render(
                "model_main.html",
                detail=detail,
                dates=got.snapshot.dates,
                stale=got.stale,
                home=HOME,
                event_names=EVENT_NAMES,
                burn_label=lambda v: tokens(v, decimals),
            )

        body, etag = fragments.get(got, "model:" + slug, build)
        return page(request, body, etag, fragment)

    # ------------------------------------------------------------------ API

    @router.get(
        API,
        response_model=schemas.MarketSnapshot,
        summary="Every model's token, vaults, volume and revenue",
        responses=UNAVAILABLE,
    )
    async def api_market(
        status: Annotated[
            str | None, Query(description="Only models in this status (pending|approved|delisted)")
        ] = None,
    ) -> schemas.MarketSnapshot:
        snapshot = (await read()).snapshot
        if status is None:
            return snapshot
        return snapshot.model_copy(
            update={"models": [m for m in snapshot.models if m.status == status]}
        )

    @router.get(
        API + "/tx/{signature:signature}",
        response_model=schemas.TransactionView,
        summary="One transaction's program events and logs",
        responses=NOT_FOUND | UNAVAILABLE,
    )
    async def api_tx(signature: str) -> schemas.TransactionView:
        tx = await _transaction(signature)
        if tx is None:
            raise NotFound(f"no transaction {signature}")
        return tx

    @router.get(
        API + "/{slug:path}",
        response_model=schemas.ModelDetail,
        summary="One model with its daily figures and history",
        responses=NOT_FOUND | UNAVAILABLE,
    )
    async def api_model(
        slug: str,
        limit: Annotated[
            int, Query(ge=1, le=10_000, description="History events, newest first")
        ] = 500,
    ) -> schemas.ModelDetail:
        detail = (await read()).detail(slug, limit)
        if detail is None:
            raise NotFound(f"no model {slug!r}")
        return detail

    async def _transaction(text: str) -> schemas.TransactionView | None:
        try:
            sig = Signature.from_string(text)
        except ValueError:
            return None
        try:
            return await market.transaction(sig)
        except MarketUnavailable as exc:
            raise ChainUnavailable(str(exc)) from exc

    return router
