"""Reading the client's payment header and writing the settlement header.

v1 clients send ``X-PAYMENT`` (base64 JSON ``{x402Version: 1, scheme, network, payload}``) and read
``X-PAYMENT-RESPONSE``; v2 clients send ``PAYMENT-SIGNATURE`` (``{x402Version: 2, accepted,
payload, resource?}``) and read ``PAYMENT-RESPONSE``. Anything else is a
:class:`MalformedPaymentHeader`, never an exception of the parsing libraries.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError
from x402.http import (
    PAYMENT_RESPONSE_HEADER,
    PAYMENT_SIGNATURE_HEADER,
    X_PAYMENT_HEADER,
    X_PAYMENT_RESPONSE_HEADER,
)
from x402.http.utils import encode_payment_response_header
from x402.schemas import PaymentPayload, SettleResponse
from x402.schemas.v1 import PaymentPayloadV1

from gateway.x402.errors import MalformedPaymentHeader

MAX_HEADER_CHARS = 8192  # a Solana transaction is at most 1,232 bytes; the payload is far below
Version = Literal[1, 2]
_HEADER_VERSION: dict[str, Version] = {
    X_PAYMENT_HEADER.lower(): 1,
    PAYMENT_SIGNATURE_HEADER.lower(): 2,
}


@dataclass(frozen=True)
class PresentedPayment:
    """A decoded payment header: its version, the payload, the signed transaction (base64)."""

    version: Version
    header: str
    payload: PaymentPayload | PaymentPayloadV1
    transaction: str

    @property
    def scheme(self) -> str:
        return self.payload.get_scheme()

    @property
    def network(self) -> str:
        return self.payload.get_network()


def _decode_json(name: str, value: str) -> dict[str, object]:
    if len(value) > MAX_HEADER_CHARS:
        raise MalformedPaymentHeader(f"{name} is longer than {MAX_HEADER_CHARS} characters")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPaymentHeader(f"{name} is not base64") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedPaymentHeader(f"{name} is not base64 of JSON") from None
    if not isinstance(data, dict):
        raise MalformedPaymentHeader(f"{name} is not a JSON object")
    return data


def decode_payment_header(name: str, value: str) -> PresentedPayment:
    """Decode one header (``X-PAYMENT`` or ``PAYMENT-SIGNATURE``, any case)."""
    version = _HEADER_VERSION.get(name.lower())
    if version is None:
        raise MalformedPaymentHeader(f"{name} is not an x402 payment header")
    data = _decode_json(name, value)
    if data.get("x402Version") != version:
        raise MalformedPaymentHeader(
            f"{name} must carry x402Version {version}, got {data.get('x402Version')!r}"
        )
    try:
        payload: PaymentPayload | PaymentPayloadV1 = (
            PaymentPayloadV1.model_validate(data)
            if version == 1
            else PaymentPayload.model_validate(data)
        )
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
        raise MalformedPaymentHeader(
            f"{name} is not an x402 v{version} payload ({fields})"
        ) from None
    transaction = payload.payload.get("transaction")
    if not isinstance(transaction, str) or not transaction:
        raise MalformedPaymentHeader(f"{name} payload has no transaction")
    return PresentedPayment(version, name, payload, transaction)


def read_payment(headers: Mapping[str, str]) -> PresentedPayment | None:
    """The payment a request carries, or None when it carries none (answer with the 402)."""
    found = [(k, v) for k, v in headers.items() if k.lower() in _HEADER_VERSION]
    if not found:
        return None
    if len(found) > 1:
        raise MalformedPaymentHeader("send one of X-PAYMENT or PAYMENT-SIGNATURE, not both")
    return decode_payment_header(*found[0])


def payment_response_header(settlement: SettleResponse, version: Version) -> tuple[str, str]:
    """The settlement header: ``PAYMENT-RESPONSE`` (v2) or ``X-PAYMENT-RESPONSE`` (v1)."""
    name = PAYMENT_RESPONSE_HEADER if version == 2 else X_PAYMENT_RESPONSE_HEADER
    return name, encode_payment_response_header(settlement)
