"""A paying x402 client in Python: request, read the 402, sign the exact payment, retry.

    async with X402Payer(keypair, rpc_url, max_amount=50_000) as payer:
        paid = await payer.request("POST", url, json={...})
        paid.response.json(), paid.settlement.transaction

``version=2`` answers the ``PAYMENT-REQUIRED`` header with ``PAYMENT-SIGNATURE``; ``version=1``
answers the JSON body with ``X-PAYMENT``. The client only pays an ``exact`` offer on a Solana
network, in an allowed asset, at most ``max_amount`` base units; the RPC gives the blockhash and
the mint's token program and decimals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import httpx
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from x402.http import (
    PAYMENT_REQUIRED_HEADER,
    PAYMENT_RESPONSE_HEADER,
    PAYMENT_SIGNATURE_HEADER,
    X_PAYMENT_HEADER,
    X_PAYMENT_RESPONSE_HEADER,
)
from x402.http.utils import (
    decode_payment_required_header,
    decode_payment_response_header,
    encode_payment_signature_header,
)
from x402.schemas import PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse
from x402.schemas.v1 import PaymentPayloadV1, PaymentRequiredV1, PaymentRequirementsV1

from bourse_chain.token_layout import decode_mint
from gateway.x402.payment_tx import ExactPayment, build_payment_transaction, encode_transaction
from gateway.x402.svm_exact import TOKEN_PROGRAMS
from gateway.x402.terms import EXACT


class X402ClientError(Exception):
    """The client could not pay (no acceptable offer, a bad 402) or the server refused."""


class NoAcceptableOffer(X402ClientError):
    pass


class PaymentRefused(X402ClientError):
    """The server answered the paid retry with an error (often a new 402 naming the reason)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"payment refused: HTTP {response.status_code} {response.text[:300]}")


Offer = PaymentRequirements | PaymentRequirementsV1


@dataclass(frozen=True)
class PaidResponse:
    response: httpx.Response
    settlement: SettleResponse | None  # None when the server asked for no payment


def _amount(offer: Offer) -> int:
    return int(offer.get_amount())


class X402Payer:
    def __init__(
        self,
        keypair: Keypair,
        rpc_url: str,
        *,
        version: Literal[1, 2] = 2,
        max_amount: int,
        allowed_assets: frozenset[Pubkey] | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.keypair = keypair
        self.version = version
        self.max_amount = max_amount
        self.allowed_assets = allowed_assets
        self._rpc = AsyncClient(rpc_url, commitment=Confirmed)
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None

    async def __aenter__(self) -> X402Payer:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._rpc.close()
        if self._owns_http:
            await self._http.aclose()

    # ---------------------------------------------------------------- reading the 402

    def payment_required(self, response: httpx.Response) -> PaymentRequired | PaymentRequiredV1:
        """The terms of a 402 in this client's version (v2: the header; v1: the JSON body)."""
        try:
            if self.version == 2:
                header = response.headers.get(PAYMENT_REQUIRED_HEADER)
                if header is None:
                    raise X402ClientError("the 402 has no PAYMENT-REQUIRED header (not x402 v2)")
                required = decode_payment_required_header(header)
            else:
                required = PaymentRequiredV1.model_validate(response.json())
        except X402ClientError:
            raise
        except (ValueError, json.JSONDecodeError) as exc:
            raise X402ClientError(
                f"the 402 does not carry x402 v{self.version} terms: {exc}"
            ) from None
        return required

    def choose(self, required: PaymentRequired | PaymentRequiredV1) -> Offer:
        """The first exact offer on Solana in an allowed asset within ``max_amount``."""
        seen = []
        for offer in required.accepts:
            seen.append(f"{offer.scheme}/{offer.network}/{offer.asset}/{offer.get_amount()}")
            if offer.scheme != EXACT or not offer.network.startswith("solana"):
                continue
            try:
                asset = Pubkey.from_string(offer.asset)
            except ValueError:
                continue
            if self.allowed_assets is not None and asset not in self.allowed_assets:
                continue
            if _amount(offer) <= self.max_amount:
                return offer
        raise NoAcceptableOffer(f"no offer this client pays (max {self.max_amount}): {seen}")

    # ---------------------------------------------------------------- signing

    async def sign(self, offer: Offer) -> ExactPayment:
        """Look up the mint (token program, decimals): the payment this offer asks for."""
        fee_payer = (offer.get_extra() or {}).get("feePayer")
        if not isinstance(fee_payer, str):
            raise X402ClientError("the offer has no extra.feePayer")
        asset = Pubkey.from_string(offer.asset)
        found = (await self._rpc.get_account_info(asset)).value
        if found is None or found.owner not in TOKEN_PROGRAMS:
            raise X402ClientError(f"{asset} is not a mint of SPL Token or Token-2022")
        decimals = decode_mint(bytes(found.data)).decimals
        memo = (offer.get_extra() or {}).get("memo")
        return ExactPayment(
            asset=asset,
            amount=_amount(offer),
            pay_to=Pubkey.from_string(offer.pay_to),
            fee_payer=Pubkey.from_string(fee_payer),
            decimals=decimals,
            token_program=found.owner,
            memo=memo if isinstance(memo, str) else None,
        )

    async def payment_header(
        self, required: PaymentRequired | PaymentRequiredV1, offer: Offer
    ) -> tuple[str, str]:
        """The header (name, value) paying ``offer``, signed over the latest blockhash."""
        payment = await self.sign(offer)
        blockhash = (await self._rpc.get_latest_blockhash()).value.blockhash
        tx = build_payment_transaction(self.keypair, payment, blockhash)
        return encode_payment(required, offer, tx)

    # ---------------------------------------------------------------- the flow

    async def request(self, method: str, url: str, **kwargs: Any) -> PaidResponse:
        """Send; on 402 pay and send again; return the answer and its settlement."""
        first = await self._http.request(method, url, **kwargs)
        if first.status_code != 402:
            return PaidResponse(first, None)
        required = self.payment_required(first)
        name, value = await self.payment_header(required, self.choose(required))
        headers = dict(kwargs.pop("headers", None) or {})
        headers[name] = value
        second = await self._http.request(method, url, headers=headers, **kwargs)
        if second.status_code >= 400:
            raise PaymentRefused(second)
        return PaidResponse(second, read_settlement(second))


def encode_payment(
    required: PaymentRequired | PaymentRequiredV1, offer: Offer, tx: VersionedTransaction
) -> tuple[str, str]:
    """The header carrying a signed payment for ``offer``: v2 ``PAYMENT-SIGNATURE`` (with the
    offer as ``accepted``) when the offer is a v2 one, else v1 ``X-PAYMENT``."""
    inner = {"transaction": encode_transaction(tx)}
    if isinstance(offer, PaymentRequirements):
        resource = required.resource if isinstance(required, PaymentRequired) else None
        v2 = PaymentPayload(accepted=offer, payload=inner, resource=resource)
        return PAYMENT_SIGNATURE_HEADER, encode_payment_signature_header(v2)
    v1 = PaymentPayloadV1(scheme=offer.scheme, network=offer.network, payload=inner)
    return X_PAYMENT_HEADER, encode_payment_signature_header(v1)


def read_settlement(response: httpx.Response) -> SettleResponse | None:
    """The decoded PAYMENT-RESPONSE (v2) or X-PAYMENT-RESPONSE (v1) header, if any."""
    for name in (PAYMENT_RESPONSE_HEADER, X_PAYMENT_RESPONSE_HEADER):
        value = response.headers.get(name)
        if value is not None:
            return decode_payment_response_header(value)
    return None
