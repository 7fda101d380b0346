"""Does a presented payment pay this request's price? Checked before any facilitator call.

The terms are recomputed by the route from the request (never taken from the client); the
client's own copy of the terms (v2 ``accepted``, v1 ``scheme``/``network``) must agree with
them, and the signed transaction must pay them. The requirements handed to the facilitator
are ours, so its checks are against our price too.
"""

from __future__ import annotations

from dataclasses import dataclass

from x402.schemas import PaymentPayload, PaymentRequirements
from x402.schemas.v1 import PaymentRequirementsV1

from gateway.x402.errors import PaymentMismatch
from gateway.x402.headers import PresentedPayment
from gateway.x402.mechanism import PaymentMechanism
from gateway.x402.svm_exact import InspectedPayment
from gateway.x402.terms import EXACT, PaymentTerms


@dataclass(frozen=True)
class MatchedPayment:
    """A payment that pays the terms, with the requirements to send to the facilitator."""

    payment: PresentedPayment
    terms: PaymentTerms
    requirements: PaymentRequirements | PaymentRequirementsV1
    inspected: InspectedPayment

    @property
    def payment_id(self) -> str:
        return self.inspected.payment_id


def _check_accepted(payload: PaymentPayload, terms: PaymentTerms) -> None:
    accepted = payload.accepted
    ours = terms.requirements()
    for field, theirs, expected in (
        ("scheme", accepted.scheme, ours.scheme),
        ("network", accepted.network, ours.network),
        ("asset", accepted.asset, ours.asset),
        ("amount", accepted.amount, ours.amount),
        ("payTo", accepted.pay_to, ours.pay_to),
    ):
        if theirs != expected:
            raise PaymentMismatch(
                f"accepted.{field} is {theirs!r}, this request's is {expected!r}",
                reason=f"{field}_mismatch",
            )


def match_payment(
    payment: PresentedPayment, terms: PaymentTerms, mechanism: PaymentMechanism
) -> MatchedPayment:
    """Raise a typed :class:`X402Error` unless ``payment`` pays exactly ``terms``."""
    if payment.scheme != EXACT or mechanism.scheme != EXACT:
        raise PaymentMismatch(
            f"scheme {payment.scheme!r} is not offered", reason="unsupported_scheme"
        )
    expected_network = terms.network.v1_name if payment.version == 1 else terms.network.caip2
    if payment.network != expected_network:
        raise PaymentMismatch(
            f"network {payment.network!r} is not {expected_network!r}", reason="network_mismatch"
        )
    requirements: PaymentRequirements | PaymentRequirementsV1
    if isinstance(payment.payload, PaymentPayload):
        _check_accepted(payment.payload, terms)
        requirements = terms.requirements()
    else:
        requirements = terms.requirements_v1()
    inspected = mechanism.inspect(payment, terms)
    return MatchedPayment(payment, terms, requirements, inspected)
