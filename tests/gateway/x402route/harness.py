"""The gateway's x402 route under test: a real Node facilitator on the gateway tests' localnet,
funded payers, payment headers (right or wrong on purpose), and what must not move."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address
from sqlalchemy import func, select

from bourse_chain.pda import inbox_authority_pda, model_pda
from gateway.db.schema import calls
from gateway.db.x402_payments import x402_payments
from gateway.settings import Settings
from gateway.x402.client import PaidResponse, X402Payer, encode_payment
from gateway.x402.payment_tx import build_payment_transaction
from tests.gateway.harness import Chain, Running, Upstreams, read_db, settings_for
from tests.x402.node import NODE_DIR

PATH = "/api/x402/v1/chat/completions"
SLUG = "deepseek-chat"
OTHER = "kimi-k2.6"


def write_keypair(path: Path, keypair: Keypair) -> Path:
    path.write_text(json.dumps(list(bytes(keypair))))
    return path


@dataclass
class NodeFacilitator:
    url: str
    fee_payer: Keypair
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def start_facilitator(
    chain: Chain, workdir: Path, fee_payer: Keypair | None = None
) -> NodeFacilitator:
    """``x402_facilitator/facilitator.mjs`` (npm @x402/core + @x402/svm) on the localnet."""
    if fee_payer is None:
        fee_payer = Keypair()
        chain.net.airdrop(fee_payer.pubkey(), 10 * 10**9)
    path = write_keypair(workdir / "fee-payer.json", fee_payer)
    log = (workdir / "facilitator.log").open("wb")
    proc = subprocess.Popen(
        ["node", "facilitator.mjs", str(path), chain.net.rpc_url],
        cwd=NODE_DIR,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=10)
        raise RuntimeError(
            f"facilitator did not start: {(workdir / 'facilitator.log').read_text()}"
        )
    return NodeFacilitator(str(json.loads(line)["url"]), fee_payer, proc)


def x402_settings(
    chain: Chain,
    ups: Upstreams,
    db: str,
    facilitator_url: str,
    behaviours: tuple[str, str] = ("good", "good"),
    **overrides: Any,
) -> Settings:
    """Rail 1's test settings with x402 on (the localnet labelled devnet), without a settlement
    worker unless ``worker=True`` (so balances only move by the requests of the test)."""
    overrides.setdefault("worker", False)
    return settings_for(
        chain,
        ups,
        db,
        behaviours,
        x402_facilitator_url=facilitator_url,
        x402_network="localnet",
        **overrides,
    )


def route_url(gw: Running) -> str:
    return gw.url + PATH


def chat_body(slug: str = SLUG, *, stream: bool = False, text: str = "hi") -> dict[str, Any]:
    return {"model": slug, "messages": [{"role": "user", "content": text}], "stream": stream}


@dataclass
class Payer:
    keypair: Keypair
    path: Path
    ata: Pubkey


def new_payer(chain: Chain, workdir: Path, usdc: int = 1_000_000) -> Payer:
    """A wallet with ``usdc`` micro-USDC and no SOL (the facilitator pays the fees)."""
    keypair = Keypair()
    ata = chain.net.mint_usdc(keypair.pubkey(), usdc)
    return Payer(keypair, write_keypair(workdir / f"payer-{keypair.pubkey()}.json", keypair), ata)


def inbox_authority(slug: str) -> Pubkey:
    return inbox_authority_pda(model_pda(slug)[0])[0]


def inbox(chain: Chain, slug: str) -> Pubkey:
    return get_associated_token_address(inbox_authority(slug), chain.net.usdc_mint)


def pay(
    chain: Chain, url: str, payer: Payer, body: dict[str, Any], version: int = 2
) -> PaidResponse:
    """Our Python client pays ``url`` (v2 ``PAYMENT-SIGNATURE`` or v1 ``X-PAYMENT``)."""

    async def run() -> PaidResponse:
        async with X402Payer(
            payer.keypair,
            chain.net.rpc_url,
            version=2 if version == 2 else 1,
            max_amount=1_000_000,
        ) as client:
            return await client.request("POST", url, json=body)

    return asyncio.run(run())


def craft(
    chain: Chain,
    url: str,
    payer: Payer,
    body: dict[str, Any],
    *,
    version: int = 2,
    blockhash: Hash | None = None,
    build: dict[str, Any] | None = None,
    offer_changes: dict[str, Any] | None = None,
    **payment_changes: Any,
) -> tuple[str, str]:
    """A payment header answering the 402 of ``body`` at ``url``, with fields of the payment,
    the offer or the transaction build replaced (wrong on purpose)."""

    async def run() -> tuple[str, str]:
        async with X402Payer(
            payer.keypair, chain.net.rpc_url, version=2 if version == 2 else 1, max_amount=10**9
        ) as client:
            async with httpx.AsyncClient(timeout=30) as http:
                first = await http.post(url, json=body)
            assert first.status_code == 402, first.text
            required = client.payment_required(first)
            offer = client.choose(required)
            payment = dataclasses.replace(await client.sign(offer), **payment_changes)
            if offer_changes:
                offer = offer.model_copy(update=offer_changes)
            bh = blockhash
            if bh is None:
                latest = chain.net.rpc("getLatestBlockhash", [])
                bh = Hash.from_string(latest["value"]["blockhash"])
            tx = build_payment_transaction(payer.keypair, payment, bh, **(build or {}))
            return encode_payment(required, offer, tx)

    return asyncio.run(run())


def post(url: str, body: dict[str, Any], header: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.post(url, json=body, headers=dict([header]) if header else {}, timeout=60)


def reason_of(response: httpx.Response) -> str:
    error = response.json()["error"]
    return str(error["reason"] if isinstance(error, dict) and "reason" in error else error)


def x402_rows(db: str) -> list[Any]:
    return read_db(db, select(x402_payments).order_by(x402_payments.c.claimed_at))


def x402_call_rows(db: str) -> list[Any]:
    return read_db(db, select(calls).where(calls.c.rail == "x402").order_by(calls.c.created_at))


@dataclass(frozen=True)
class Snapshot:
    payer: int
    inbox: int
    served: int
    calls: int


def snapshot(chain: Chain, ups: Upstreams, db: str, payer: Payer, slug: str = SLUG) -> Snapshot:
    (n,) = read_db(db, select(func.count()).select_from(calls))[0]
    return Snapshot(
        chain.token_balance(payer.ata),
        chain.token_balance(inbox(chain, slug)),
        sum(len(f.requests) for f in ups.fakes.values()),
        int(n),
    )


@contextmanager
def nothing_moves(
    chain: Chain, ups: Upstreams, db: str, payer: Payer, slug: str = SLUG
) -> Iterator[None]:
    """No USDC left the payer or reached the inbox, no upstream was called, no call row."""
    before = snapshot(chain, ups, db, payer, slug)
    yield
    assert snapshot(chain, ups, db, payer, slug) == before
