"""A local stand-in for Jupiter's Swap API, in its documented wire formats.

Serves, from the fixtures under ``fixtures/``:

* ``GET /swap/v2/build`` (Swap API V2, OpenAPI ``GetBuild``): quote fields plus
  ``computeBudgetInstructions``, ``setupInstructions``, ``swapInstruction``,
  ``cleanupInstruction``, ``otherInstructions``, ``tipInstruction``,
  ``addressesByLookupTableAddress`` and ``blockhashWithMetadata`` (with ``fetchedAt``);
* ``GET /swap/v1/quote`` (Metis ``QuoteResponse``) and ``POST /swap/v1/swap-instructions``
  (``SwapInstructionsResponse``, with ``addressLookupTableAddresses``).

Each answer is the fixture with the request's mints, amount, slippage, wallet, destination
and the wallet's associated token account substituted for the fixture's, and the output
scaled by ``out_per_in``. Switches: ``account_counts`` (maxAccounts -> accounts in the swap
instruction, padding the fixture's 27), ``min_max_accounts`` (no route below it),
``no_route``, ``expired`` (a quote already stale when served), ``with_setup`` (an ATA
creation in ``setupInstructions``), ``api_key`` (401 without ``x-api-key``), and the fault
queue of :class:`~tests.fakes._server.FakeServer`; ``clock`` is the server's wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from aiohttp import web
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from tests.fakes._server import JSON_BODY, FakeServer, fixture

TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
KEYS = fixture("fixture_keys.json")
FIXTURE_WALLET = KEYS["wallet"]
FIXTURE_WALLET_ATA = KEYS["wallet_input_ata"]
FIXTURE_DESTINATION = KEYS["destination"]
FIXTURE_INPUT_MINT = KEYS["input_mint"]
FIXTURE_OUTPUT_MINT = KEYS["output_mint"]
BASE_ACCOUNTS = len(fixture("jupiter_build.json")["swapInstruction"]["accounts"])
CURRENT_SLOT = 312_000_000


def padding_key(i: int) -> str:
    return str(Pubkey(hashlib.sha256(f"jupiter-fake-amm-account:{i}".encode()).digest()))


def amm_key(accounts: int) -> str:
    return str(Pubkey(hashlib.sha256(f"jupiter-fake-amm:{accounts}".encode()).digest()))


class FakeJupiter(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.api_key: str | None = None
        self.account_counts: dict[int, int] = {}
        self.min_max_accounts = 0
        self.no_route = False
        self.expired = False
        self.with_setup = False
        self.out_per_in = Fraction(1_234_567_890, 250_000_000)
        self.current_slot = CURRENT_SLOT
        #: The server's wall clock (for blockhashWithMetadata.fetchedAt).
        self.clock: Callable[[], float] = time.time
        self._amm_accounts: dict[str, int] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/swap/v2/build", self._build)
        app.router.add_get("/swap/v1/quote", self._quote)
        app.router.add_post("/swap/v1/swap-instructions", self._swap_instructions)

    # --- helpers ------------------------------------------------------------------------

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if self.api_key is not None and request.headers.get("x-api-key") != self.api_key:
            return web.json_response({"error": "Unauthorized"}, status=401)
        return None

    def _accounts_for(self, max_accounts: int) -> int:
        return self.account_counts.get(max_accounts, BASE_ACCOUNTS)

    def _no_route(self, v1: bool) -> web.Response:
        if v1:
            body = {"error": "Could not find any route", "errorCode": "COULD_NOT_FIND_ANY_ROUTE"}
        else:
            body = {"error": "No routes found"}
        return web.json_response(body, status=400)

    def _amounts(self, amount: int, slippage: int) -> tuple[int, int]:
        out = int(amount * self.out_per_in)
        return out, out * (10_000 - slippage) // 10_000

    def _fill_quote(self, doc: dict[str, Any], q: dict[str, str], accounts: int) -> None:
        amount, slippage = int(q["amount"]), int(q.get("slippageBps", "50"))
        out, threshold = self._amounts(amount, slippage)
        doc.update(
            inputMint=q["inputMint"],
            outputMint=q["outputMint"],
            inAmount=str(amount),
            outAmount=str(out),
            otherAmountThreshold=str(threshold),
            slippageBps=slippage,
        )
        key = amm_key(accounts)
        self._amm_accounts[key] = accounts
        for step in doc["routePlan"]:
            step["swapInfo"].update(
                ammKey=key,
                inputMint=q["inputMint"],
                outputMint=q["outputMint"],
                inAmount=str(amount),
                outAmount=str(out),
            )
            if "feeMint" in step["swapInfo"]:
                step["swapInfo"]["feeMint"] = q["inputMint"]

    def _fill_swap(
        self,
        ix: dict[str, Any],
        *,
        wallet: str,
        input_mint: str,
        output_mint: str,
        destination: str | None,
        accounts: int,
        amount: int,
        out: int,
        slippage: int,
    ) -> None:
        ata = str(
            get_associated_token_address(
                Pubkey.from_string(wallet), Pubkey.from_string(input_mint), TOKEN
            )
        )
        dest = destination or str(
            get_associated_token_address(
                Pubkey.from_string(wallet), Pubkey.from_string(output_mint), TOKEN
            )
        )
        swap = {
            FIXTURE_WALLET: wallet,
            FIXTURE_WALLET_ATA: ata,
            FIXTURE_DESTINATION: dest,
            FIXTURE_INPUT_MINT: input_mint,
            FIXTURE_OUTPUT_MINT: output_mint,
        }
        metas = ix["accounts"]
        for m in metas:
            m["pubkey"] = swap.get(m["pubkey"], m["pubkey"])
        metas.extend(
            {"pubkey": padding_key(i), "isSigner": False, "isWritable": i % 2 == 0}
            for i in range(max(0, accounts - len(metas)))
        )
        raw = bytearray(base64.b64decode(ix["data"]))
        struct.pack_into("<QQH", raw, len(raw) - 19, amount, out, slippage)
        ix["data"] = base64.b64encode(bytes(raw)).decode()

    # --- handlers -----------------------------------------------------------------------

    async def _build(self, request: web.Request) -> web.Response:
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        q = dict(request.query)
        required = ("inputMint", "outputMint", "amount", "taker")
        missing = [k for k in required if k not in q]
        if missing:
            return web.json_response({"error": f"missing {', '.join(missing)}"}, status=400)
        max_accounts = int(q.get("maxAccounts", "64"))
        if self.no_route or max_accounts < self.min_max_accounts:
            return self._no_route(v1=False)
        accounts = self._accounts_for(max_accounts)
        doc = fixture("jupiter_build.json")
        self._fill_quote(doc, q, accounts)
        out = int(doc["outAmount"])
        self._fill_swap(
            doc["swapInstruction"],
            wallet=q["taker"],
            input_mint=q["inputMint"],
            output_mint=q["outputMint"],
            destination=q.get("destinationTokenAccount"),
            accounts=accounts,
            amount=int(q["amount"]),
            out=out,
            slippage=doc["slippageBps"],
        )
        if self.with_setup:
            doc["setupInstructions"] = [fixture("jupiter_setup_instruction.json")]
        now = self.clock() - (3600 if self.expired else 0)
        doc["blockhashWithMetadata"]["fetchedAt"] = {
            "secs_since_epoch": int(now),
            "nanos_since_epoch": int((now % 1) * 1e9),
        }
        return self.json(doc)

    async def _quote(self, request: web.Request) -> web.Response:
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        q = dict(request.query)
        if not all(k in q for k in ("inputMint", "outputMint", "amount")):
            return web.json_response({"error": "missing parameters"}, status=400)
        max_accounts = int(q.get("maxAccounts", "64"))
        if self.no_route or max_accounts < self.min_max_accounts:
            return self._no_route(v1=True)
        doc = fixture("jupiter_v1_quote.json")
        self._fill_quote(doc, q, self._accounts_for(max_accounts))
        doc["contextSlot"] = self.current_slot - (10_000 if self.expired else 2)
        return self.json(doc)

    async def _swap_instructions(self, request: web.Request) -> web.Response:
        denied = self._unauthorized(request)
        if denied is not None:
            return denied
        body = request[JSON_BODY]
        if not isinstance(body, dict) or "quoteResponse" not in body or "userPublicKey" not in body:
            return web.json_response({"error": "invalid request body"}, status=400)
        quote = body["quoteResponse"]
        accounts = self._amm_accounts.get(
            quote["routePlan"][0]["swapInfo"]["ammKey"], BASE_ACCOUNTS
        )
        doc = fixture("jupiter_v1_swap_instructions.json")
        self._fill_swap(
            doc["swapInstruction"],
            wallet=body["userPublicKey"],
            input_mint=quote["inputMint"],
            output_mint=quote["outputMint"],
            destination=body.get("destinationTokenAccount"),
            accounts=accounts,
            amount=int(quote["inAmount"]),
            out=int(quote["outAmount"]),
            slippage=int(quote["slippageBps"]),
        )
        if self.with_setup:
            doc["setupInstructions"] = [fixture("jupiter_setup_instruction.json")]
        return self.json(doc)
