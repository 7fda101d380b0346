"""A local stand-in for Raydium's Trade API ``GET /compute/swap-base-in``.

Answers in the documented envelope ``{id, success, version, data}`` with ``data`` =
``{swapType, inputMint, inputAmount, outputMint, outputAmount, otherAmountThreshold,
slippageBps, priceImpactPct, referrerAmount, routePlan[{poolId, inputMint, outputMint,
feeMint, feeRate, feeAmount, remainingAccounts, lastPoolPriceX64}]}``, or
``{id, success: false, version, msg: "ROUTE_NOT_FOUND"}``. ``output_amount`` (an int, or a
function of the input amount) sets the quoted output; ``no_route`` switches to the failure
envelope; the fault queue of :class:`~tests.fakes._server.FakeServer` applies.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from tests.fakes._server import FakeServer, fixture


class FakeRaydium(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.output_amount: int | Callable[[int], int] = 1_230_000_000
        self.no_route = False

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/compute/swap-base-in", self._compute)

    async def _compute(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        required = ("inputMint", "outputMint", "amount", "slippageBps", "txVersion")
        if any(k not in q for k in required):
            return web.json_response(
                {"id": "0", "success": False, "version": "V1", "msg": "INVALID_PARAMS"}
            )
        if self.no_route:
            return self.json(fixture("raydium_route_not_found.json"))
        amount, slippage = int(q["amount"]), int(q["slippageBps"])
        out = self.output_amount(amount) if callable(self.output_amount) else self.output_amount
        doc = fixture("raydium_compute_swap_base_in.json")
        data = doc["data"]
        data.update(
            inputMint=q["inputMint"],
            outputMint=q["outputMint"],
            inputAmount=str(amount),
            outputAmount=str(out),
            otherAmountThreshold=str(out * (10_000 - slippage) // 10_000),
            slippageBps=slippage,
        )
        for step in data["routePlan"]:
            step.update(
                inputMint=q["inputMint"], outputMint=q["outputMint"], feeMint=q["inputMint"]
            )
        return self.json(doc)
