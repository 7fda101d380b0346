"""One call's money: the pre-flight hold, its top-up on failover, the final charge posted to
the ledger together with the call's outbox row.

What is charged (usage capped at the hold in every case):
* the upstream reported usage: that usage at the offer's prices;
* no usage (an upstream that omits it, or a stream that broke or that the client left after
  the first byte): the pre-flight input bound plus, as output, the UTF-8 byte count of the
  text delivered (each token is at least one byte, so never less than was served) capped at
  the output bound (``max_tokens``);
* nothing delivered (every candidate failed before its first byte): nothing, hold voided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway import faults
from gateway.catalog import Route
from gateway.ledger import Hold, Ledger
from gateway.metrics import Metrics
from gateway.quote import Bound, Charge, charge


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @classmethod
    def of(cls, usage: Any) -> Usage | None:
        if not isinstance(usage, dict):
            return None
        p, c = usage.get("prompt_tokens"), usage.get("completion_tokens")
        ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (p, c))
        return cls(int(p), int(c)) if ok else None  # type: ignore[arg-type]


async def finish(
    ledger: Ledger,
    metrics: Metrics,
    *,
    call_id: str,
    hold: Hold,
    route: Route,
    bound: Bound,
    usage: Usage | None,
    delivered_bytes: int,
    protocol_bps: int,
) -> Charge:
    if usage is not None:
        tokens, source = (usage.prompt_tokens, usage.completion_tokens), "upstream"
    else:
        tokens = (bound.input_tokens, min(delivered_bytes, bound.output_tokens))
        source = "bound"
    ch = charge(route, tokens[0], tokens[1], hold.amount, protocol_bps)
    await ledger.post(
        hold,
        ch.gross,
        {
            "id": call_id,
            "model": route.slug,
            "provider": str(route.provider),
            "prompt_tokens": ch.prompt_tokens,
            "completion_tokens": ch.completion_tokens,
            "usage_source": source,
            "gross": ch.gross,
            "provider_amount": ch.provider,
            "creator_fee": ch.creator,
            "protocol_fee": ch.protocol,
            "attempts": 0,
        },
    )
    metrics.holds.labels("posted").inc()
    metrics.charged.labels(route.slug).inc(ch.gross)
    faults.point("after_post")
    return ch
