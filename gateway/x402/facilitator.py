"""A facilitator's HTTP API (``GET /supported``, ``POST /verify``, ``POST /settle``), typed.

Requests and answers go through the ``x402`` package's :class:`HTTPFacilitatorClient` and
schemas. Its failures are mapped: unreachable or timed out → :class:`FacilitatorUnavailable`
(503); a non-200 answer or one that is not an x402 answer → :class:`FacilitatorFailed` (502);
``isValid: false`` → :class:`PaymentRejected`; ``success: false`` → :class:`SettlementFailed`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from solders.pubkey import Pubkey
from x402.http import FacilitatorConfig, HTTPFacilitatorClient
from x402.http.facilitator_client_base import FacilitatorResponseError
from x402.schemas import SettleResponse, SupportedResponse, VerifyResponse

from gateway.x402.errors import (
    FacilitatorFailed,
    FacilitatorUnavailable,
    PaymentRejected,
    SettlementFailed,
    X402Error,
)
from gateway.x402.matching import MatchedPayment
from gateway.x402.networks import X402Network
from gateway.x402.terms import EXACT

T = TypeVar("T")
A = TypeVar("A", VerifyResponse, SettleResponse)
SUPPORTED_TTL_SECONDS = 300.0
# HTTPFacilitatorClient's message for a non-200 answer: "Facilitator verify failed (400): body"
_NON_200 = re.compile(r"^Facilitator (?:verify|settle) failed \((\d{3})\): (.*)$", re.S)


def _answer_in_error(exc: ValueError, model: type[A]) -> A | None:
    """Facilitators may refuse a payment with a 4xx whose body is still a Verify/SettleResponse
    (the npm client reads it so, as a VerifyError); the Python client raises instead."""
    found = _NON_200.match(str(exc))
    if found is None or not found.group(1).startswith("4"):
        return None
    try:
        return model.model_validate_json(found.group(2))
    except ValueError:
        return None


def _no_answer(exc: ValueError) -> None:
    return None


async def _call(
    operation: str,
    url: str,
    call: Callable[[], Awaitable[T]],
    answer_in: Callable[[ValueError], T | None] = _no_answer,
) -> T:
    try:
        return await call()
    except X402Error:
        raise
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise FacilitatorUnavailable(
            f"facilitator {url} {operation}: {type(exc).__name__}: {exc}"
        ) from exc
    except FacilitatorResponseError as exc:
        raise FacilitatorFailed(f"facilitator {url} {operation}: {exc}") from exc
    except ValueError as exc:  # HTTPFacilitatorClient's "… failed (status): body"
        refused = answer_in(exc)
        if refused is not None:
            return refused
        raise FacilitatorFailed(f"facilitator {url} {operation}: {exc}") from exc


class Facilitator:
    """One facilitator, by URL. ``fee_payer`` caches ``/supported`` for a few minutes."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._client = HTTPFacilitatorClient(FacilitatorConfig(url=self.url, timeout=timeout))
        self._supported: tuple[float, SupportedResponse] | None = None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def supported(self) -> SupportedResponse:
        # The package's get_supported is synchronous (it runs at its server's start-up).
        answer = await _call(
            "GET /supported", self.url, lambda: asyncio.to_thread(self._client.get_supported)
        )
        self._supported = (time.monotonic(), answer)
        return answer

    async def fee_payer(self, network: X402Network) -> Pubkey:
        """``extra.feePayer`` of the facilitator's v2 exact kind for ``network``."""
        cached = self._supported
        fresh = cached is not None and time.monotonic() - cached[0] < SUPPORTED_TTL_SECONDS
        supported = cached[1] if cached is not None and fresh else await self.supported()
        for kind in supported.kinds:
            if kind.x402_version == 2 and kind.scheme == EXACT and kind.network == network.caip2:
                fee_payer = (kind.extra or {}).get("feePayer")
                if isinstance(fee_payer, str):
                    try:
                        return Pubkey.from_string(fee_payer)
                    except ValueError:
                        break
        raise FacilitatorFailed(
            f"facilitator {self.url} offers no exact kind with a fee payer on {network.caip2}"
        )

    async def verify(self, matched: MatchedPayment) -> VerifyResponse:
        answer = await _call(
            "POST /verify",
            self.url,
            lambda: self._client.verify(matched.payment.payload, matched.requirements),
            lambda exc: _answer_in_error(exc, VerifyResponse),
        )
        if not answer.is_valid:
            detail = answer.invalid_message or answer.invalid_reason or "no reason given"
            raise PaymentRejected(
                f"facilitator refused the payment: {detail}",
                reason=answer.invalid_reason or "payment_invalid",
            )
        return answer

    async def settle(self, matched: MatchedPayment) -> SettleResponse:
        answer = await _call(
            "POST /settle",
            self.url,
            lambda: self._client.settle(matched.payment.payload, matched.requirements),
            lambda exc: _answer_in_error(exc, SettleResponse),
        )
        if not answer.success or not answer.transaction:
            detail = answer.error_message or answer.error_reason or "no reason given"
            raise SettlementFailed(
                f"facilitator did not settle: {detail}",
                reason=answer.error_reason or "settlement_failed",
            )
        return answer
