"""A local stand-in for ClawPump's launch API (clawpump.tech), in its documented format.

``POST /api/upload`` (multipart ``image``) → ``{"success": true, "imageUrl"}``.
``POST /api/launch`` (``Authorization: Bearer <key>``, JSON ``name, symbol, description,
imageUrl, agentId, agentName, walletAddress``) → ``{"success": true, "mintAddress", "txHash",
"pumpUrl", "explorerUrl", "devBuy", "earnings"}``; ``{"success": false, "error"}`` with 401
for a wrong key, 400 for a missing field, 429 for a second launch by the same agent on the
same day, 503 when ``treasury_low``. ``launcher(name, symbol, wallet)`` makes the coin (on
the test chain) and returns its mint address.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from aiohttp import web

from tests.fakes._server import JSON_BODY, FakeServer

FIELDS = ("name", "symbol", "description", "imageUrl", "agentId", "agentName", "walletAddress")


class FakeClawPump(FakeServer):
    def __init__(self, api_key: str, launcher: Callable[[str, str, str], str]) -> None:
        super().__init__()
        self.api_key = api_key
        self.launcher = launcher
        self.treasury_low = False
        self.launched: dict[tuple[str, str], str] = {}  # (agentId, day) -> mint
        self.today: Callable[[], str] = lambda: datetime.date.today().isoformat()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/upload", self._upload)
        app.router.add_post("/api/launch", self._launch)

    async def _upload(self, request: web.Request) -> web.Response:
        body = request[JSON_BODY]
        if not isinstance(body, str) or 'name="image"' not in body:
            return self.json({"success": False, "error": "image file required"}, 400)
        return self.json({"success": True, "imageUrl": f"{self.base_url}/img/{len(body)}.png"})

    async def _launch(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self.json({"success": False, "error": "Invalid or missing API key"}, 401)
        body = request[JSON_BODY]
        if not isinstance(body, dict) or any(not body.get(f) for f in FIELDS):
            return self.json({"success": False, "error": f"required: {', '.join(FIELDS)}"}, 400)
        if self.treasury_low:
            return self.json(
                {"success": False, "error": "Treasury low, use the self-funded launch"}, 503
            )
        day = (str(body["agentId"]), self.today())
        if day in self.launched:
            return self.json(
                {"success": False, "error": "Rate limit: one launch per agent per day"}, 429
            )
        mint = self.launcher(str(body["name"]), str(body["symbol"]), str(body["walletAddress"]))
        self.launched[day] = mint
        return self.json(
            {
                "success": True,
                "mintAddress": mint,
                "txHash": "5" * 64,
                "pumpUrl": f"https://pump.fun/coin/{mint}",
                "explorerUrl": f"https://solscan.io/tx/{'5' * 64}",
                "devBuy": {"amount": "0", "txHash": ""},
                "earnings": {
                    "feeShare": "65%",
                    "checkEarnings": f"/api/fees/earnings?agentId={body['agentId']}",
                    "dashboard": f"/agent/{body['agentId']}",
                },
            }
        )
