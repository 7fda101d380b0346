"""A client for ClawPump (clawpump.tech), an off-chain launch service over pump.fun.

Documented API (``https://clawpump.tech``):

* ``POST /api/upload`` (multipart, field ``image``) → ``{"success": true, "imageUrl": …}``;
* ``POST /api/launch`` with ``Authorization: Bearer <agent api key>`` and JSON ``{name,
  symbol, description, imageUrl, agentId, agentName, walletAddress}`` → ``{"success": true,
  "mintAddress", "txHash", "pumpUrl", "explorerUrl", "devBuy", "earnings"}``; failures answer
  ``{"success": false, "error": …}``: 401 (bad key), 429 (one launch per agent per day),
  503 (the gas treasury is low; the self-funded launch is the fallback).

ClawPump's launches are SOL-paired pump.fun coins: they can be listed (the mint is verified
like any other) but not bought back until they trade against USDC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from solders.pubkey import Pubkey

from bourse_ops.errors import ScriptError

DEFAULT_BASE_URL = "https://clawpump.tech"


class ClawPumpError(ScriptError):
    """ClawPump refused or failed a request."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ClawPumpUnauthorized(ClawPumpError):
    """401/403: the agent API key is missing or wrong."""


class ClawPumpRateLimited(ClawPumpError):
    """429: this agent already launched today."""


class ClawPumpUnavailable(ClawPumpError):
    """503 (treasury low) or another 5xx / transport failure."""


class ClawPumpMalformed(ClawPumpError):
    """A 200 answer that is not the documented shape."""


@dataclass(frozen=True)
class LaunchRequest:
    name: str
    symbol: str
    description: str
    image_url: str
    agent_id: str
    agent_name: str
    wallet: Pubkey

    def body(self) -> dict[str, str]:
        return {
            "name": self.name,
            "symbol": self.symbol,
            "description": self.description,
            "imageUrl": self.image_url,
            "agentId": self.agent_id,
            "agentName": self.agent_name,
            "walletAddress": str(self.wallet),
        }


@dataclass(frozen=True)
class Launch:
    mint: Pubkey
    tx_hash: str
    pump_url: str


class ClawPumpClient:
    def __init__(self, http: httpx.AsyncClient, api_key: str, base_url: str = DEFAULT_BASE_URL):
        self._http = http
        self._api_key = api_key
        self._base = base_url.rstrip("/")

    async def upload_image(self, image: bytes, filename: str = "logo.png") -> str:
        """Upload a token image; returns its URL."""
        doc = await self._post("/api/upload", files={"image": (filename, image)})
        url = doc.get("imageUrl")
        if not isinstance(url, str) or not url:
            raise ClawPumpMalformed(f"upload answered without imageUrl: {doc}")
        return url

    async def launch(self, req: LaunchRequest) -> Launch:
        """Launch a coin on pump.fun through ClawPump; returns its mint."""
        doc = await self._post(
            "/api/launch",
            json=req.body(),
            headers={"Authorization": f"Bearer {self._api_key}"},
        )
        try:
            mint = Pubkey.from_string(str(doc["mintAddress"]))
            return Launch(mint, str(doc["txHash"]), str(doc.get("pumpUrl", "")))
        except (KeyError, ValueError) as exc:
            raise ClawPumpMalformed(f"launch answered without a valid mintAddress: {doc}") from exc

    async def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            resp = await self._http.post(self._base + path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClawPumpUnavailable(f"ClawPump {path}: {exc}") from exc
        try:
            doc = resp.json()
        except ValueError:
            doc = {}
        if not isinstance(doc, dict):
            doc = {}
        error = str(doc.get("error") or resp.reason_phrase)
        status = resp.status_code
        if status in (401, 403):
            raise ClawPumpUnauthorized(f"ClawPump {path}: {error}", status)
        if status == 429:
            raise ClawPumpRateLimited(f"ClawPump {path}: {error}", status)
        if status >= 500:
            raise ClawPumpUnavailable(f"ClawPump {path}: {error}", status)
        if status != 200 or doc.get("success") is not True:
            if status == 200 and "success" in doc:
                raise ClawPumpError(f"ClawPump {path}: {error}", status)
            if status == 200:
                raise ClawPumpMalformed(f"ClawPump {path} answered {resp.text[:200]!r}", status)
            raise ClawPumpError(f"ClawPump {path}: {error}", status)
        return doc
