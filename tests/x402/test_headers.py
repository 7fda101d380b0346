"""Payment headers: what x402 clients send decodes; anything else is a typed 400; the
settlement header decodes with the x402 package, under the version's name."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from x402.http.utils import decode_payment_response_header, encode_payment_signature_header
from x402.schemas import PaymentPayload, PaymentRequirements, SettleResponse
from x402.schemas.v1 import PaymentPayloadV1

from gateway.x402 import MalformedPaymentHeader, payment_response_header, read_payment
from gateway.x402.headers import decode_payment_header

OFFER = PaymentRequirements(
    scheme="exact",
    network="solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
    asset="4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU",
    amount="10000",
    pay_to="4tujxBPrwDg7RYXAgqxCMVw7Qk7Q8ZyAZroyUWxV53f4",
    max_timeout_seconds=60,
    extra={"feePayer": "HEmyVQDEU1k4Kz3nib9huutBJ1SsRe5KHeY61SLz3sMy"},
)


def test_a_v2_payment_signature_decodes() -> None:
    payload = PaymentPayload(accepted=OFFER, payload={"transaction": "AQID"})
    payment = read_payment({"payment-signature": encode_payment_signature_header(payload)})
    assert payment is not None
    assert (payment.version, payment.scheme, payment.network) == (2, "exact", OFFER.network)
    assert payment.transaction == "AQID"
    assert isinstance(payment.payload, PaymentPayload)
    assert payment.payload.accepted == OFFER


def test_a_v1_x_payment_decodes() -> None:
    payload = PaymentPayloadV1(
        scheme="exact", network="solana-devnet", payload={"transaction": "AQ=="}
    )
    payment = read_payment({"X-Payment": encode_payment_signature_header(payload)})
    assert payment is not None
    assert (payment.version, payment.network, payment.transaction) == (1, "solana-devnet", "AQ==")


def test_no_payment_header_is_no_payment() -> None:
    assert read_payment({"content-type": "application/json", "x-payment-response": "e30="}) is None


def b64(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


V2 = {
    "x402Version": 2,
    "accepted": OFFER.model_dump(by_alias=True),
    "payload": {"transaction": "AQ=="},
}


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("PAYMENT-SIGNATURE", "***", "not base64"),
        ("PAYMENT-SIGNATURE", base64.b64encode(b"\xc3\x28").decode(), "not base64 of JSON"),
        ("PAYMENT-SIGNATURE", base64.b64encode(b"[1,").decode(), "not base64 of JSON"),
        ("PAYMENT-SIGNATURE", b64("a string"), "not a JSON object"),
        ("PAYMENT-SIGNATURE", b64({**V2, "x402Version": 1}), "must carry x402Version 2"),
        ("X-PAYMENT", b64(V2), "must carry x402Version 1"),
        ("PAYMENT-SIGNATURE", b64({**V2, "accepted": {"scheme": "exact"}}), "accepted"),
        ("PAYMENT-SIGNATURE", b64({**V2, "payload": {}}), "no transaction"),
        ("PAYMENT-SIGNATURE", b64({**V2, "payload": {"transaction": 7}}), "no transaction"),
        ("PAYMENT-SIGNATURE", "A" * 9000, "longer than"),
    ],
)
def test_malformed_headers_are_typed(name: str, value: str, why: str) -> None:
    with pytest.raises(MalformedPaymentHeader, match=why) as refused:
        read_payment({name: value})
    assert refused.value.http_status == 400
    assert refused.value.reason == "invalid_payment_header"


def test_two_payment_headers_are_refused() -> None:
    with pytest.raises(MalformedPaymentHeader, match="not both"):
        read_payment({"X-PAYMENT": b64(V2), "PAYMENT-SIGNATURE": b64(V2)})


def test_only_payment_headers_decode() -> None:
    with pytest.raises(MalformedPaymentHeader, match="not an x402 payment header"):
        decode_payment_header("Authorization", b64(V2))


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(["X-PAYMENT", "PAYMENT-SIGNATURE"]),
    value=st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids),
            max_leaves=8,
        ).map(b64),
    ),
)
def test_any_header_value_decodes_or_is_a_typed_400(name: str, value: str) -> None:
    try:
        read_payment({name: value})
    except MalformedPaymentHeader as refused:
        assert refused.http_status == 400


@pytest.mark.parametrize(("version", "name"), [(2, "PAYMENT-RESPONSE"), (1, "X-PAYMENT-RESPONSE")])
def test_the_settlement_header_decodes_with_the_x402_package(version: int, name: str) -> None:
    settled = SettleResponse(
        success=True, transaction="5" * 64, network=OFFER.network, payer="Payer111"
    )
    header, value = payment_response_header(settled, 2 if version == 2 else 1)
    assert header == name
    assert decode_payment_response_header(value) == settled
