"""Typed refusals of the x402 rail; each carries the HTTP status a route answers with.

Payment problems (the client can pay again) are 402 with the x402 error string; a header that
does not decode is 400; a facilitator that cannot be reached is 503, one that answers nonsense
is 502. Nothing is charged on any of them: they are raised before settlement, or by a settlement
that did not happen.
"""

from __future__ import annotations


class X402Error(Exception):
    """Base class: ``reason`` is a stable machine-readable code, ``http_status`` the answer."""

    http_status = 402
    reason = "x402_error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        return str(self)


class MalformedPaymentHeader(X402Error):
    """X-PAYMENT / PAYMENT-SIGNATURE is not base64 JSON of a payment payload."""

    http_status = 400
    reason = "invalid_payment_header"


class PaymentMismatch(X402Error):
    """The payment does not pay this request's terms (amount, asset, payTo, network, scheme)."""

    reason = "payment_mismatch"


class PaymentReplayed(X402Error):
    """This payment was already presented (used, or being used by another request)."""

    reason = "payment_already_used"


class PaymentRejected(X402Error):
    """The facilitator's /verify said the payment is not valid."""

    reason = "payment_invalid"


class SettlementFailed(X402Error):
    """The facilitator's /settle did not move the money."""

    reason = "settlement_failed"


class FacilitatorUnavailable(X402Error):
    """The facilitator could not be reached (connection refused, timeout)."""

    http_status = 503
    reason = "facilitator_unavailable"


class FacilitatorFailed(X402Error):
    """The facilitator answered, but not with a valid x402 answer (5xx, bad JSON, bad shape)."""

    http_status = 502
    reason = "facilitator_error"
