"""Solana Pay top-ups: a wallet-shaped transfer (TransferChecked to the recipient's
associated account, the reference as a read-only non-signer key) is credited exactly once;
wrong amount, wrong mint, wrong recipient, a missing reference and a replayed signature are
refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
    transfer_checked,
)
from spl.token.models import TransferCheckedParams

from bourse_ops import list_model
from bourse_ops.common import Session, read_manifest
from tests.gateway.harness import Chain, Running, Upstreams, gateway_thread, settings_for

AMOUNT = 2_500_000


@pytest.fixture
def gw(chain: Chain, upstreams: Upstreams, db_url: str) -> Iterator[Running]:
    with gateway_thread(settings_for(chain, upstreams, db_url)) as running:
        yield running


def _h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _request(gw: Running, key: str, amount: int = AMOUNT) -> dict[str, Any]:
    r = httpx.post(gw.base_url + "/topups", json={"amount": amount}, headers=_h(key))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _pay(
    chain: Chain,
    *,
    recipient: Pubkey,
    mint: Pubkey,
    amount: int,
    reference: Pubkey | None,
    payer: Keypair | None = None,
) -> str:
    """What a wallet builds from the transfer request."""
    payer = payer or chain.keypairs["payer"]
    source = get_associated_token_address(payer.pubkey(), mint)
    dest = get_associated_token_address(recipient, mint)
    ix = transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=source,
            mint=mint,
            dest=dest,
            owner=payer.pubkey(),
            amount=amount,
            decimals=6,
        )
    )
    if reference is not None:
        ix = Instruction(
            ix.program_id, ix.data, [*ix.accounts, AccountMeta(reference, False, False)]
        )
    create = create_idempotent_associated_token_account(payer.pubkey(), recipient, mint)
    return chain.net.run(chain.net.net.send([create, ix], payer))


def _status(gw: Running, key: str, reference: str) -> dict[str, Any]:
    r = httpx.get(gw.base_url + f"/topups/{reference}", headers=_h(key))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_wallet_transfer_is_credited_once(gw: Running, chain: Chain) -> None:
    key = gw.new_key("payer-user")
    req = _request(gw, key)
    url = urlparse(req["url"])
    assert url.scheme == "solana" and url.path == req["recipient"]
    q = parse_qs(url.query)
    assert q["amount"] == ["2.5"] and q["spl-token"] == [req["mint"]]
    assert q["reference"] == [req["reference"]]
    assert _status(gw, key, req["reference"])["status"] == "pending"
    sig = _pay(
        chain,
        recipient=Pubkey.from_string(req["recipient"]),
        mint=Pubkey.from_string(req["mint"]),
        amount=AMOUNT,
        reference=Pubkey.from_string(req["reference"]),
    )
    first = _status(gw, key, req["reference"])
    assert (first["status"], first["signature"], first["balance"]) == ("credited", sig, AMOUNT)
    again = _status(gw, key, req["reference"])  # retried: credited once
    assert again["balance"] == AMOUNT
    # the same signature cannot pay another request
    other = _request(gw, key)
    r = httpx.post(
        gw.base_url + f"/topups/{other['reference']}/confirm",
        json={"signature": sig},
        headers=_h(key),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "SIGNATURE_ALREADY_USED"
    credits = httpx.get(gw.base_url + "/credits", headers=_h(key)).json()
    assert credits["balance"] == AMOUNT


def test_bad_transfers_are_refused(gw: Running, chain: Chain) -> None:
    key = gw.new_key("sloppy")
    usdc = Pubkey.from_string(_request(gw, key)["mint"])
    recipient = chain.keypairs["settler"].pubkey()

    short = _request(gw, key)
    _pay(
        chain,
        recipient=recipient,
        mint=usdc,
        amount=AMOUNT - 1,
        reference=Pubkey.from_string(short["reference"]),
    )
    s = _status(gw, key, short["reference"])
    assert s["status"] == "refused" and "less than" in s["reason"]

    elsewhere = _request(gw, key)
    _pay(
        chain,
        recipient=Keypair().pubkey(),
        mint=usdc,
        amount=AMOUNT,
        reference=Pubkey.from_string(elsewhere["reference"]),
    )
    s = _status(gw, key, elsewhere["reference"])
    assert s["status"] == "refused" and "wrong recipient" in s["reason"]

    other_mint = _other_mint(chain)
    wrong = _request(gw, key)
    _pay(
        chain,
        recipient=recipient,
        mint=other_mint,
        amount=AMOUNT,
        reference=Pubkey.from_string(wrong["reference"]),
        payer=chain.keypairs["creator"],
    )
    s = _status(gw, key, wrong["reference"])
    assert s["status"] == "refused" and "wrong mint" in s["reason"]

    unreferenced = _request(gw, key)
    _pay(chain, recipient=recipient, mint=usdc, amount=AMOUNT, reference=None)
    assert _status(gw, key, unreferenced["reference"])["status"] == "pending"

    credits = httpx.get(gw.base_url + "/credits", headers=_h(key)).json()
    assert credits["balance"] == 0


def _other_mint(chain: Chain) -> Pubkey:
    async def make() -> str:
        session = await Session.open(
            chain.net.rpc_url, manifest=read_manifest(chain.net.manifest_path)
        )
        async with session:
            made = await list_model.create_model_token(
                session, chain.keypairs["creator"], supply=10**12, decimals=6
            )
        return made.mint

    return Pubkey.from_string(chain.net.run(make()))
