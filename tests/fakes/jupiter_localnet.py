"""A Jupiter stand-in whose routes execute on the localnet, in Jupiter's documented wire format.

Serves ``GET /swap/v2/build``, ``GET /swap/v1/quote`` and ``POST /swap/v1/swap-instructions``
like :mod:`tests.fakes.jupiter_server`, but prices and builds each route from the localnet's
``cp_pool`` pool of the pair (the same pool math the program runs): the ``swapInstruction`` is
that pool's ``swap``, spending from the wallet's associated token account of the input mint
(as Jupiter does; the crank substitutes the revenue vault) into ``destinationTokenAccount``.
A route has ``min(route_accounts, maxAccounts)`` accounts: the swap's 10, then read-only
accounts standing for the further hops' pools and vaults of a real multi-hop route (``swap``
ignores them; the runtime loads them all). Fewer than 10 allowed: no route.
``addressLookupTableAddresses`` is empty, as for a route whose hops have no Jupiter table: the
crank must bring its own. Token-2022 output fees are not modelled (SPL pairs only).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID

from bourse_chain.token_layout import associated_token_address
from cranks.venues.base import AccountFetcher, Route
from cranks.venues.errors import VenueError
from cranks.venues.local_pool import LocalPoolVenue
from tests.fakes._server import JSON_BODY, FakeServer

SWAP_ACCOUNTS = 10


def hop_key(i: int) -> Pubkey:
    return Pubkey(hashlib.sha256(f"jupiter-localnet-hop-account:{i}".encode()).digest())


def _ix_json(ix: Instruction) -> dict[str, Any]:
    return {
        "programId": str(ix.program_id),
        "accounts": [
            {"pubkey": str(m.pubkey), "isSigner": m.is_signer, "isWritable": m.is_writable}
            for m in ix.accounts
        ],
        "data": base64.b64encode(bytes(ix.data)).decode(),
    }


class LocalnetJupiter(FakeServer):
    def __init__(
        self,
        fetch: AccountFetcher,
        slot: Callable[[], Awaitable[int]],
        *,
        route_accounts: int = 56,
    ) -> None:
        super().__init__()
        self.pools = LocalPoolVenue(fetch)
        self.slot = slot
        self.route_accounts = route_accounts
        #: (inputMint, outputMint, amount) -> the maxAccounts its v1 quote was asked with.
        self._asked: dict[tuple[str, str, str], int] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/swap/v2/build", self._build)
        app.router.add_get("/swap/v1/quote", self._quote)
        app.router.add_post("/swap/v1/swap-instructions", self._swap_instructions)

    # --- pricing ------------------------------------------------------------------------

    async def _route(
        self, q: dict[str, str], wallet: Pubkey, destination: Pubkey | None
    ) -> Route | None:
        input_mint, output_mint = (
            Pubkey.from_string(q["inputMint"]),
            Pubkey.from_string(q["outputMint"]),
        )
        try:
            return await self.pools.quote(
                input_mint,
                output_mint,
                int(q["amount"]),
                int(q.get("slippageBps", "50")),
                authority=wallet,
                source=associated_token_address(wallet, input_mint, TOKEN_PROGRAM_ID),
                destination=destination
                or associated_token_address(wallet, output_mint, TOKEN_PROGRAM_ID),
            )
        except VenueError:
            return None

    def _accounts(self, max_accounts: int) -> int:
        return min(self.route_accounts, max_accounts)

    async def _quote_doc(self, q: dict[str, str], route: Route) -> dict[str, Any]:
        raw = route.raw_quote
        slippage = int(q.get("slippageBps", "50"))
        out = int(raw["out"])
        return {
            "inputMint": q["inputMint"],
            "inAmount": str(route.in_amount),
            "outputMint": q["outputMint"],
            "outAmount": str(out),
            "otherAmountThreshold": str(out * (10_000 - slippage) // 10_000),
            "swapMode": "ExactIn",
            "slippageBps": slippage,
            "platformFee": None,
            "priceImpactPct": f"{route.price_impact or 0:.6f}",
            "routePlan": [
                {
                    "swapInfo": {
                        "ammKey": str(raw["pool"]),
                        "label": "cp_pool",
                        "inputMint": q["inputMint"],
                        "outputMint": q["outputMint"],
                        "inAmount": str(route.in_amount),
                        "outAmount": str(out),
                        "feeAmount": str(raw["fee"]),
                        "feeMint": q["inputMint"],
                    },
                    "percent": 100,
                    "bps": 10_000,
                }
            ],
            "contextSlot": await self.slot(),
            "timeTaken": 0.001,
        }

    def _swap(self, route: Route, wallet: Pubkey, accounts: int) -> Instruction:
        ix = route.swap_instruction()
        metas = [
            AccountMeta(m.pubkey, is_signer=m.pubkey == wallet, is_writable=m.is_writable)
            for m in ix.accounts
        ]
        metas += [AccountMeta(hop_key(i), False, False) for i in range(accounts - len(metas))]
        return Instruction(ix.program_id, bytes(ix.data), metas)

    @staticmethod
    def _no_route() -> web.Response:
        body = {"error": "Could not find any route", "errorCode": "COULD_NOT_FIND_ANY_ROUTE"}
        return web.json_response(body, status=400)

    # --- handlers -----------------------------------------------------------------------

    async def _build(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        accounts = self._accounts(int(q.get("maxAccounts", "64")))
        wallet = Pubkey.from_string(q["taker"])
        dest = q.get("destinationTokenAccount")
        route = await self._route(q, wallet, Pubkey.from_string(dest) if dest else None)
        if route is None or accounts < SWAP_ACCOUNTS:
            return self._no_route()
        doc = await self._quote_doc(q, route)
        now = time.time()
        doc.update(
            computeBudgetInstructions=[],
            setupInstructions=[],
            swapInstruction=_ix_json(self._swap(route, wallet, accounts)),
            cleanupInstruction=None,
            otherInstructions=[],
            tipInstruction=None,
            addressesByLookupTableAddress={},
            blockhashWithMetadata={
                "fetchedAt": {
                    "secs_since_epoch": int(now),
                    "nanos_since_epoch": int((now % 1) * 1e9),
                }
            },
        )
        return self.json(doc)

    async def _quote(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        max_accounts = int(q.get("maxAccounts", "64"))
        # Priced for any wallet: the swap's accounts come with swap-instructions.
        route = await self._route(q, Pubkey.default(), hop_key(-1))
        if route is None or self._accounts(max_accounts) < SWAP_ACCOUNTS:
            return self._no_route()
        self._asked[(q["inputMint"], q["outputMint"], q["amount"])] = max_accounts
        return self.json(await self._quote_doc(q, route))

    async def _swap_instructions(self, request: web.Request) -> web.Response:
        body = request[JSON_BODY]
        if not isinstance(body, dict) or "quoteResponse" not in body or "userPublicKey" not in body:
            return web.json_response({"error": "invalid request body"}, status=400)
        quote = body["quoteResponse"]
        q = {
            "inputMint": quote["inputMint"],
            "outputMint": quote["outputMint"],
            "amount": quote["inAmount"],
            "slippageBps": str(quote["slippageBps"]),
        }
        wallet = Pubkey.from_string(body["userPublicKey"])
        dest = body.get("destinationTokenAccount")
        route = await self._route(q, wallet, Pubkey.from_string(dest) if dest else None)
        asked = self._asked.get((q["inputMint"], q["outputMint"], q["amount"]), 64)
        if route is None:
            return self._no_route()
        return self.json(
            {
                "tokenLedgerInstruction": None,
                "computeBudgetInstructions": [],
                "setupInstructions": [],
                "swapInstruction": _ix_json(self._swap(route, wallet, self._accounts(asked))),
                "cleanupInstruction": None,
                "otherInstructions": [],
                "addressLookupTableAddresses": [],
                "prioritizationFeeLamports": 0,
            }
        )
