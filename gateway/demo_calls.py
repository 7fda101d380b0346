"""Paid calls through a running gateway with the official ``openai`` client, for ``bourse
demo``: :func:`run_paid_calls` makes ``n`` calls and reports what was served and charged."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PaidCalls:
    served: int = 0
    failed: int = 0
    charged: int = 0  # micro-USDC, as the gateway reported per call
    providers: dict[str, int] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def run_paid_calls(
    base_url: str,
    api_key: str,
    n: int,
    *,
    model: str = "deepseek-chat",
    concurrency: int = 8,
    prompt: str = "Hello, Bourse.",
) -> PaidCalls:
    """``n`` chat completions (JSON, ``max_tokens`` 64) at ``base_url`` (``…/api/v1``)."""
    import openai

    out = PaidCalls()
    gate = asyncio.Semaphore(max(1, concurrency))
    async with openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0) as client:

        async def one(i: int) -> None:
            async with gate:
                try:
                    raw = await client.chat.completions.with_raw_response.create(
                        model=model,
                        messages=[{"role": "user", "content": f"{prompt} ({i})"}],
                        max_tokens=64,
                    )
                except openai.APIError:
                    out.failed += 1
                    return
            out.served += 1
            out.charged += int(raw.headers.get("X-Bourse-Charge", "0"))
            provider = raw.headers.get("X-Bourse-Provider", "?")
            out.providers[provider] = out.providers.get(provider, 0) + 1
            out.request_ids.append(raw.headers.get("X-Request-Id", ""))

        await asyncio.gather(*(one(i) for i in range(n)))
    return out
