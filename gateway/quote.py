"""Pricing of a call with the program's rules (``bourse_chain.money``): the pre-flight hold
from a tokenizer-free upper bound, the charge of actual usage capped at the hold, its split.

Input bound: every token of a byte-level BPE tokenizer covers at least one UTF-8 byte, so the
request body's byte length (which contains every message byte, JSON keys and escapes only
add to it) plus a per-message overhead for role/turn markers bounds the prompt's tokens; a
prompt cannot exceed the model's context window, so the bound is capped there.
Output bound: ``max_completion_tokens`` / ``max_tokens``, else the model's default maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

from bourse_chain.money import expected_split, usage_charge
from gateway.catalog import Route

PER_MESSAGE_OVERHEAD = 8
PRIMING_OVERHEAD = 16


@dataclass(frozen=True)
class Bound:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Charge:
    prompt_tokens: int
    completion_tokens: int
    gross: int
    provider: int
    creator: int
    protocol: int


def bound(body_bytes: int, messages: int, max_output: int | None, route: Route) -> Bound:
    tokens_in = min(
        body_bytes + PER_MESSAGE_OVERHEAD * messages + PRIMING_OVERHEAD, route.context_window
    )
    tokens_out = route.max_output if max_output is None else max_output
    return Bound(tokens_in, tokens_out)


def hold_amount(route: Route, b: Bound) -> int:
    return usage_charge(
        route.price_input_per_mtok, route.price_output_per_mtok, b.input_tokens, b.output_tokens
    )


def charge(
    route: Route, prompt_tokens: int, completion_tokens: int, hold: int, protocol_bps: int
) -> Charge:
    """The usage charge capped at ``hold``, split as the program splits it."""
    gross = min(
        usage_charge(
            route.price_input_per_mtok,
            route.price_output_per_mtok,
            prompt_tokens,
            completion_tokens,
        ),
        hold,
    )
    provider, creator, protocol = expected_split(gross, protocol_bps, route.creator_fee_bps)
    return Charge(prompt_tokens, completion_tokens, gross, provider, creator, protocol)
