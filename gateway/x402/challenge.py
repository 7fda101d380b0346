"""The 402 answer: a v2 ``PAYMENT-REQUIRED`` header and a JSON body carrying the same terms.

The body is a v1 ``PaymentRequired`` (what v1 clients read) whose ``accepts`` entries also carry
``amount`` (the v2 name the pay.sh probe reads; it parses the body before the header).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from x402.http import PAYMENT_REQUIRED_HEADER
from x402.http.utils import encode_payment_required_header
from x402.schemas import PaymentRequired
from x402.schemas.v1 import PaymentRequiredV1

from gateway.x402.terms import PaymentTerms

DEFAULT_ERROR = "payment required"


@dataclass(frozen=True)
class Challenge:
    """What a route answers with: HTTP 402, these headers, this JSON body."""

    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 402


def payment_required_v2(terms: PaymentTerms, error: str = DEFAULT_ERROR) -> PaymentRequired:
    return PaymentRequired(
        x402_version=2,
        error=error,
        resource=terms.resource_info(),
        accepts=[terms.requirements()],
    )


def payment_required_body(terms: PaymentTerms, error: str = DEFAULT_ERROR) -> dict[str, Any]:
    v1 = PaymentRequiredV1(error=error, accepts=[terms.requirements_v1()])
    body = v1.model_dump(by_alias=True, exclude_none=True)
    for entry in body["accepts"]:
        entry["amount"] = entry["maxAmountRequired"]
    return body


def build_challenge(terms: PaymentTerms, error: str = DEFAULT_ERROR) -> Challenge:
    """The 402 for these terms; ``error`` says why (no payment, or what was wrong with one)."""
    header = encode_payment_required_header(payment_required_v2(terms, error))
    return Challenge(
        headers={PAYMENT_REQUIRED_HEADER: header},
        body=payment_required_body(terms, error),
    )
