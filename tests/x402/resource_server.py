"""A tiny paid resource built from the rail's blocks (what the gateway's route will do), for tests.

``POST /paid`` with ``{"model": slug}`` costs ``PRICES[slug]`` micro-USDC paid to ATA(inbox PDA
of the model, USDC); GET and HEAD answer the same 402 (conformance tools probe with GET).
Steps: quote → 402, or authorize (decode, match, claim, /verify) → serve → /settle → answer with
the settlement header.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.program_id import PROGRAM_ID
from gateway.x402 import LOCALNET, Challenge, PaymentTerms, X402Error, X402Rail, refusal

PRICES = {"deepseek-chat": 12_345, "gemma-3-27b": 2_000}
DEFAULT_MODEL = "deepseek-chat"


def inbox_authority(slug: str) -> Pubkey:
    """An off-curve payTo: a PDA standing in for the model's inbox authority."""
    return Pubkey.find_program_address([b"x402-inbox", slug.encode()], PROGRAM_ID)[0]


@dataclass
class PaidResource:
    rail: X402Rail
    usdc_mint: Pubkey
    served: int = 0

    async def quote(self, request: Request, body: bytes) -> PaymentTerms:
        model = DEFAULT_MODEL
        if body:
            with contextlib.suppress(json.JSONDecodeError, AttributeError):
                model = str(json.loads(body).get("model", DEFAULT_MODEL))
        if model not in PRICES:
            model = DEFAULT_MODEL
        return PaymentTerms(
            network=LOCALNET,
            asset=self.usdc_mint,
            amount=PRICES[model],
            pay_to=inbox_authority(model),
            fee_payer=await self.rail.facilitator.fee_payer(LOCALNET),
            resource=str(request.url),
            description=f"one chat completion with {model}",
        )

    def app(self) -> FastAPI:
        app = FastAPI()

        def answer(c: Challenge) -> Response:
            return JSONResponse(c.body, status_code=c.status, headers=c.headers)

        @app.api_route("/paid", methods=["GET", "HEAD", "POST"])
        async def paid(request: Request) -> Response:
            body = await request.body()
            try:
                terms = await self.quote(request, body)
            except X402Error as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.http_status)
            try:
                auth = await self.rail.authorize(request.headers, terms)
                if auth is None:
                    return answer(self.rail.challenge(terms))
                if request.method != "POST":  # never settle a GET/HEAD probe
                    await self.rail.release(auth)
                    return answer(self.rail.challenge(terms))
                settled = await self.rail.settle(auth)
            except X402Error as exc:
                return answer(refusal(exc, terms))
            self.served += 1
            name, value = settled.header
            return JSONResponse(
                {"served": True, "amount": terms.amount, "transaction": settled.transaction},
                headers={name: value, "Cache-Control": "no-store"},
            )

        return app


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in this event loop; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
