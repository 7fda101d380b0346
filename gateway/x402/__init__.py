"""x402 pay-per-call (rail 2): the 402 challenge, the payment headers, the exact-scheme checks on
Solana, a facilitator client, the replay-store seam, and a paying client (:mod:`.client`)."""

from gateway.x402.challenge import Challenge, build_challenge
from gateway.x402.errors import (
    FacilitatorFailed,
    FacilitatorUnavailable,
    MalformedPaymentHeader,
    PaymentMismatch,
    PaymentRejected,
    PaymentReplayed,
    SettlementFailed,
    X402Error,
)
from gateway.x402.facilitator import Facilitator
from gateway.x402.headers import PresentedPayment, payment_response_header, read_payment
from gateway.x402.matching import MatchedPayment, match_payment
from gateway.x402.mechanism import PaymentMechanism
from gateway.x402.networks import DEVNET, LOCALNET, MAINNET, X402Network, network_for
from gateway.x402.rail import Authorization, SettledPayment, X402Rail, refusal
from gateway.x402.replay import ReplayStore
from gateway.x402.svm_exact import ExactSvmMechanism, ExactSvmTransfer, decode_exact_svm_transaction
from gateway.x402.terms import PaymentTerms

__all__ = [
    "DEVNET",
    "LOCALNET",
    "MAINNET",
    "Authorization",
    "Challenge",
    "ExactSvmMechanism",
    "ExactSvmTransfer",
    "Facilitator",
    "FacilitatorFailed",
    "FacilitatorUnavailable",
    "MalformedPaymentHeader",
    "MatchedPayment",
    "PaymentMechanism",
    "PaymentMismatch",
    "PaymentRejected",
    "PaymentReplayed",
    "PaymentTerms",
    "PresentedPayment",
    "ReplayStore",
    "SettledPayment",
    "SettlementFailed",
    "X402Error",
    "X402Network",
    "X402Rail",
    "build_challenge",
    "decode_exact_svm_transaction",
    "match_payment",
    "network_for",
    "payment_response_header",
    "read_payment",
    "refusal",
]
