"""A session-wide embedded localnet and a solana-py AsyncClient pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.models import TxOpts
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from localnet import Localnet


@pytest.fixture(scope="session")
async def localnet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Localnet]:
    workdir: Path = tmp_path_factory.mktemp("localnet")
    async with Localnet.start(port=0, workdir=workdir, backend="embedded") as net:
        yield net


@pytest.fixture(scope="session")
async def rpc(localnet: Localnet) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(localnet.rpc_url, commitment=Confirmed, timeout=30) as client:
        yield client


class Sender:
    """Build, sign and send a transaction through solana-py (preflight on by default)."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def build(
        self, ixs: Sequence[Instruction], payer: Keypair, *signers: Keypair
    ) -> VersionedTransaction:
        blockhash = (await self.client.get_latest_blockhash()).value.blockhash
        message = Message.new_with_blockhash(list(ixs), payer.pubkey(), blockhash)
        unique = {kp.pubkey(): kp for kp in (payer, *signers)}
        return VersionedTransaction(message, list(unique.values()))

    async def __call__(
        self,
        ixs: Sequence[Instruction],
        payer: Keypair,
        *signers: Keypair,
        skip_preflight: bool = False,
    ) -> Signature:
        tx = await self.build(ixs, payer, *signers)
        opts = TxOpts(skip_preflight=skip_preflight, preflight_commitment=Confirmed)
        signature = (await self.client.send_transaction(tx, opts)).value
        if not skip_preflight:
            await self.client.confirm_transaction(signature, Confirmed, sleep_seconds=0.05)
        return signature


@pytest.fixture(scope="session")
def send(rpc: AsyncClient) -> Sender:
    return Sender(rpc)


@pytest.fixture
async def funded(localnet: Localnet) -> Keypair:
    """A fresh keypair holding 10 SOL."""
    keypair = Keypair()
    await localnet.airdrop(keypair.pubkey(), 10 * 10**9)
    return keypair
