"""What one request costs, as x402 payment requirements (v2 and v1 shapes of the same terms)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey
from x402.schemas import PaymentRequirements, ResourceInfo
from x402.schemas.v1 import PaymentRequirementsV1

from gateway.x402.networks import X402Network

EXACT = "exact"


@dataclass(frozen=True)
class PaymentTerms:
    """The price of one call: ``amount`` atomic units of ``asset`` to ATA(``pay_to``, ``asset``).

    ``pay_to`` is the owner of the receiving token account (for Bourse, the model's inbox
    authority), never the gateway's wallet; ``fee_payer`` is the facilitator's address from its
    ``/supported`` answer (it co-signs and pays the transaction fee).
    """

    network: X402Network
    asset: Pubkey
    amount: int
    pay_to: Pubkey
    fee_payer: Pubkey
    resource: str
    description: str
    mime_type: str = "application/json"
    max_timeout_seconds: int = 60
    memo: str | None = None

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"an x402 price must be positive, got {self.amount}")
        if self.max_timeout_seconds <= 0:
            raise ValueError("max_timeout_seconds must be positive")

    def extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"feePayer": str(self.fee_payer)}
        if self.memo is not None:
            extra["memo"] = self.memo
        return extra

    def requirements(self) -> PaymentRequirements:
        """The v2 ``accepts`` entry (network as CAIP-2, ``amount``)."""
        return PaymentRequirements(
            scheme=EXACT,
            network=self.network.caip2,
            asset=str(self.asset),
            amount=str(self.amount),
            pay_to=str(self.pay_to),
            max_timeout_seconds=self.max_timeout_seconds,
            extra=self.extra(),
        )

    def requirements_v1(self) -> PaymentRequirementsV1:
        """The v1 ``accepts`` entry (v1 network name, ``maxAmountRequired``)."""
        return PaymentRequirementsV1(
            scheme=EXACT,
            network=self.network.v1_name,
            max_amount_required=str(self.amount),
            resource=self.resource,
            description=self.description,
            mime_type=self.mime_type,
            pay_to=str(self.pay_to),
            max_timeout_seconds=self.max_timeout_seconds,
            asset=str(self.asset),
            extra=self.extra(),
        )

    def resource_info(self) -> ResourceInfo:
        return ResourceInfo(
            url=self.resource, description=self.description, mime_type=self.mime_type
        )
