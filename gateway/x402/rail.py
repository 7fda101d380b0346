"""The x402 rail's steps, in the order a paid route takes them.

    terms = PaymentTerms(..., fee_payer=await rail.facilitator.fee_payer(network))
    auth = await rail.authorize(request.headers, terms)   # None → answer rail.challenge(terms)
    ... route until the first upstream byte (on failure: await rail.release(auth), 502) ...
    settled = await rail.settle(auth)                      # then answer with settled.header
    ... stream ...

Every refusal is a typed :class:`X402Error`; :func:`refusal` turns one into the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from x402.schemas import SettleResponse

from gateway.x402.challenge import Challenge, build_challenge
from gateway.x402.errors import PaymentReplayed, X402Error
from gateway.x402.facilitator import Facilitator
from gateway.x402.headers import payment_response_header, read_payment
from gateway.x402.matching import MatchedPayment, match_payment
from gateway.x402.mechanism import PaymentMechanism
from gateway.x402.replay import ReplayStore
from gateway.x402.svm_exact import ExactSvmMechanism
from gateway.x402.terms import PaymentTerms


@dataclass(frozen=True)
class Authorization:
    """A payment that pays the terms, verified by the facilitator, claimed in the replay store."""

    matched: MatchedPayment

    @property
    def payment_id(self) -> str:
        return self.matched.payment_id


@dataclass(frozen=True)
class SettledPayment:
    settlement: SettleResponse
    header: tuple[str, str]  # (X-)PAYMENT-RESPONSE, to send with the answer

    @property
    def transaction(self) -> str:
        return self.settlement.transaction


@dataclass
class X402Rail:
    facilitator: Facilitator
    replay: ReplayStore
    mechanism: PaymentMechanism = field(default_factory=ExactSvmMechanism)

    def challenge(self, terms: PaymentTerms) -> Challenge:
        return build_challenge(terms)

    async def authorize(
        self, headers: Mapping[str, str], terms: PaymentTerms
    ) -> Authorization | None:
        """Decode, match against ``terms``, claim, verify. None when no payment was sent."""
        payment = read_payment(headers)
        if payment is None:
            return None
        matched = match_payment(payment, terms, self.mechanism)
        inspected = matched.inspected
        if not await self.replay.claim(
            inspected.payment_id, payer=inspected.payer, amount=inspected.amount
        ):
            raise PaymentReplayed(f"payment {inspected.payment_id} was already used")
        try:
            await self.facilitator.verify(matched)
        except BaseException:
            await self.replay.release(inspected.payment_id)
            raise
        return Authorization(matched)

    async def release(self, auth: Authorization) -> None:
        """The route could not serve before settling: nothing was charged, the payment is free."""
        await self.replay.release(auth.payment_id)

    async def settle(self, auth: Authorization) -> SettledPayment:
        """Settle through the facilitator; the payment id stays used whatever happens."""
        try:
            settlement = await self.facilitator.settle(auth.matched)
        except BaseException:
            await self.replay.record_settlement(auth.payment_id, None)
            raise
        await self.replay.record_settlement(auth.payment_id, settlement.transaction)
        version = auth.matched.payment.version
        return SettledPayment(settlement, payment_response_header(settlement, version))


def refusal(error: X402Error, terms: PaymentTerms) -> Challenge:
    """The answer to a refused payment: a fresh 402 naming the reason, or the 400/502/503."""
    message = f"{error.reason}: {error}"
    if error.http_status == 402:
        return build_challenge(terms, error=message)
    body: dict[str, Any] = {
        "error": {"code": error.http_status, "reason": error.reason, "message": str(error)}
    }
    return Challenge(headers={}, body=body, status=error.http_status)
