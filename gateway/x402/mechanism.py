"""The seam between the rail and a payment scheme's on-chain checks.

:class:`gateway.x402.svm_exact.ExactSvmMechanism` is the one implementation today; another
(e.g. the ``x402`` package's SVM mechanism once it supports our solana pin) only has to decode
the presented payment, check it pays the terms, and name it.
"""

from __future__ import annotations

from typing import Protocol

from gateway.x402.headers import PresentedPayment
from gateway.x402.svm_exact import InspectedPayment
from gateway.x402.terms import PaymentTerms


class PaymentMechanism(Protocol):
    scheme: str

    def inspect(self, payment: PresentedPayment, terms: PaymentTerms) -> InspectedPayment:
        """Decode the payment, raise a typed X402Error unless it pays exactly ``terms``."""
        ...
