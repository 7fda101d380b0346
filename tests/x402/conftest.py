"""The x402 rail on the embedded localnet: a real Node facilitator, a paid resource built from
``gateway.x402``, and funded payers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from gateway.x402 import Facilitator, X402Rail
from localnet import Localnet
from tests.x402.node import run_facilitator
from tests.x402.replay_double import InMemoryReplayStore
from tests.x402.resource_server import PRICES, PaidResource, inbox_authority, serve


def write_keypair(path: Path, keypair: Keypair) -> Path:
    path.write_text(json.dumps(list(bytes(keypair))))
    return path


async def token_balance(net: Localnet, account: Pubkey) -> int:
    answer = await net.rpc("getTokenAccountBalance", [str(account)])
    return int(answer["value"]["amount"])


@dataclass
class Env:
    net: Localnet
    url: str  # the paid resource: f"{url}/paid"
    facilitator_url: str
    fee_payer: Keypair
    resource: PaidResource
    replay: InMemoryReplayStore

    def inbox(self, slug: str) -> Pubkey:
        return get_associated_token_address(inbox_authority(slug), self.net.usdc_mint)


@dataclass
class Payer:
    keypair: Keypair
    path: Path
    ata: Pubkey


@pytest.fixture(scope="session")
async def x402_net(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Localnet]:
    async with Localnet.start(port=0, workdir=tmp_path_factory.mktemp("x402net")) as net:
        yield net


@pytest.fixture(scope="session")
async def x402_env(
    x402_net: Localnet, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Env]:
    net = x402_net
    fee_payer = Keypair()
    await net.airdrop(fee_payer.pubkey(), 10 * 10**9)
    path = write_keypair(tmp_path_factory.mktemp("facilitator") / "fee-payer.json", fee_payer)
    for slug in PRICES:  # the models' inboxes exist before anyone pays into them
        await net.mint_usdc(inbox_authority(slug), 0)
    async with run_facilitator(path, net.rpc_url) as facilitator_url:
        replay = InMemoryReplayStore()
        rail = X402Rail(Facilitator(facilitator_url), replay)
        resource = PaidResource(rail, net.usdc_mint)
        async with serve(resource.app()) as url:
            yield Env(net, url, facilitator_url, fee_payer, resource, replay)
        await rail.facilitator.aclose()


@pytest.fixture
async def payer(x402_net: Localnet, tmp_path: Path) -> Payer:
    """A fresh wallet with 1 USDC and no SOL (the facilitator pays the fees)."""
    keypair = Keypair()
    ata = await x402_net.mint_usdc(keypair.pubkey(), 1_000_000)
    return Payer(keypair, write_keypair(tmp_path / "payer.json", keypair), ata)
