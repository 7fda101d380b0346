"""The 402 answer: a v2 header the x402 package decodes, and a JSON body v1 clients and the
pay.sh probe read, carrying the same terms."""

from __future__ import annotations

import base64
import json

import pytest
from solders.keypair import Keypair
from x402.http.utils import decode_payment_required_header
from x402.schemas import PaymentRequired
from x402.schemas.v1 import PaymentRequiredV1

from gateway.x402 import (
    DEVNET,
    MAINNET,
    PaymentTerms,
    X402Network,
    build_challenge,
    network_for,
)

PAY_TO = Keypair().pubkey()
FEE_PAYER = Keypair().pubkey()


def terms(network: X402Network = MAINNET, amount: int = 12_345) -> PaymentTerms:
    mint = MAINNET.usdc_mint if network is MAINNET else DEVNET.usdc_mint
    assert mint is not None
    return PaymentTerms(
        network=network,
        asset=mint,
        amount=amount,
        pay_to=PAY_TO,
        fee_payer=FEE_PAYER,
        resource="https://usebourse.xyz/api/x402/v1/chat/completions",
        description="one chat completion with deepseek-chat",
    )


def test_the_v2_header_decodes_with_the_x402_package() -> None:
    challenge = build_challenge(terms())
    assert challenge.status == 402
    decoded = decode_payment_required_header(challenge.headers["PAYMENT-REQUIRED"])
    assert isinstance(decoded, PaymentRequired)
    (offer,) = decoded.accepts
    assert decoded.x402_version == 2
    assert decoded.resource is not None and decoded.resource.url.endswith("/chat/completions")
    assert offer.scheme == "exact"
    assert offer.network == "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"
    assert offer.asset == "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    assert offer.amount == "12345"
    assert offer.pay_to == str(PAY_TO)
    assert offer.extra == {"feePayer": str(FEE_PAYER)}
    assert offer.max_timeout_seconds == 60


def test_the_body_is_a_v1_payment_required_with_the_same_terms() -> None:
    challenge = build_challenge(terms(DEVNET))
    body = json.loads(json.dumps(challenge.body))  # what goes on the wire
    v1 = PaymentRequiredV1.model_validate(body)
    (offer,) = v1.accepts
    header = json.loads(base64.b64decode(challenge.headers["PAYMENT-REQUIRED"]))
    (v2,) = header["accepts"]
    assert offer.network == "solana-devnet" and v2["network"] == DEVNET.caip2
    assert offer.max_amount_required == v2["amount"] == body["accepts"][0]["amount"] == "12345"
    assert offer.asset == v2["asset"] == "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"
    assert offer.pay_to == v2["payTo"]
    assert offer.extra == v2["extra"]
    assert offer.resource == header["resource"]["url"]
    assert offer.description == header["resource"]["description"]
    assert offer.mime_type == "application/json"


def pay_sh_probe(body: dict[str, object], stablecoins: set[str]) -> list[tuple[int, str]]:
    """What the pay.sh probe keeps from a 402 body (solana-foundation/pay probe.rs): accepts
    entries on a ``solana*`` network in a known stablecoin, read as (amount, payTo)."""
    accepts = body.get("accepts")
    assert isinstance(accepts, list)
    return [
        (int(entry["amount"]), entry["payTo"])
        for entry in accepts
        if str(entry.get("network", "")).startswith("solana") and entry.get("asset") in stablecoins
    ]


def test_the_pay_sh_probe_reads_amount_and_pay_to_from_the_body() -> None:
    usdc = {str(MAINNET.usdc_mint), str(DEVNET.usdc_mint)}
    assert pay_sh_probe(build_challenge(terms(MAINNET, 7)).body, usdc) == [(7, str(PAY_TO))]
    assert pay_sh_probe(build_challenge(terms(DEVNET, 9)).body, usdc) == [(9, str(PAY_TO))]


def test_the_localnet_is_labelled_devnet() -> None:
    assert network_for("localnet").caip2 == DEVNET.caip2
    assert network_for("localnet").v1_name == "solana-devnet"
    assert network_for("mainnet") is MAINNET is network_for("mainnet-beta")
    with pytest.raises(ValueError, match="no x402 network"):
        network_for("testnet")


def test_an_error_is_carried_in_both_shapes() -> None:
    challenge = build_challenge(terms(), error="payment_already_used: again")
    header = json.loads(base64.b64decode(challenge.headers["PAYMENT-REQUIRED"]))
    assert header["error"] == challenge.body["error"] == "payment_already_used: again"


@pytest.mark.parametrize("amount", [0, -1])
def test_a_price_must_be_positive(amount: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        terms(amount=amount)
