"""The market every client/settlement localnet test runs against, built with the generated
builders through :class:`BourseClient` over JSON-RPC (embedded LiteSVM backend):

config initialized by the upgrade authority (the localnet admin), a model registered,
approved and tokenized (SPL, fixed supply), a provider with its payout account and an offer.

Test modules use :func:`start_market` / :func:`add_model`; tests/localnet/test_settlement_market.py
checks the state it builds.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
)

from bourse_chain.client import BourseClient, SendOptions
from bourse_chain.generated.compute_market import instructions as ix
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.mints import spl_model_mint
from bourse_chain.pda import (
    escrow_vault_pda,
    model_pda,
    offer_pda,
    provider_pda,
    revenue_vault_pda,
)
from localnet.programs import BIN_DIR

ROOT = Path(__file__).resolve().parents[2]
SO = BIN_DIR / "compute_market.so"
needs_program = pytest.mark.skipif(
    not SO.exists(), reason="localnet/programs/bin/compute_market.so not built yet"
)
USDC = 1_000_000
PROTOCOL_FEE_BPS = 100
MODEL_FEE_BPS = 500
PRICE_IN = 270_000  # micro-USDC per 1M input tokens
PRICE_OUT = 1_100_000

#: Fast polling for the embedded backend (slots are 400 ms; transactions land at once).
FAST = SendOptions(poll_interval=0.05, rebroadcast_interval=0.5)


@dataclass
class MarketEnv:
    net: object  # localnet.Localnet
    rpc: AsyncClient
    client: BourseClient
    admin: Keypair
    settler: Keypair
    creator: Keypair
    provider_authority: Keypair
    payer: Keypair
    treasury_owner: Keypair
    treasury: Pubkey
    usdc_mint: Pubkey
    escrow: Pubkey
    slug: str
    model: Pubkey
    revenue_vault: Pubkey
    provider: Pubkey
    provider_payout: Pubkey
    offer: Pubkey

    async def balance(self, token_account: Pubkey) -> int:
        resp = await self.rpc.get_token_account_balance(token_account)
        return int(resp.value.amount)

    def usdc_account(self, owner: Pubkey) -> Pubkey:
        return get_associated_token_address(owner, self.usdc_mint, TOKEN_PROGRAM_ID)

    async def new_wallet(self, usdc: int = 0, sol: int = 10**9) -> Keypair:
        """A fresh funded keypair with a USDC account holding ``usdc`` micro-USDC."""
        kp = Keypair()
        net = self.net
        await net.airdrop(kp.pubkey(), sol)  # type: ignore[attr-defined]
        await net.mint_usdc(kp.pubkey(), usdc)  # type: ignore[attr-defined]
        return kp


async def add_model(
    client: BourseClient,
    *,
    admin: Keypair,
    creator: Keypair,
    usdc_mint: Pubkey,
    slug: str,
    fee_bps: int = MODEL_FEE_BPS,
) -> Pubkey:
    """Register, approve and tokenize (SPL, fixed supply) a model; returns its address."""
    model = model_pda(slug)[0]
    await client.send(
        [
            ix.register_model(
                ix.RegisterModelArgs(slug=slug, fee_bps=fee_bps, metadata_uri=f"ipfs://{slug}"),
                ix.RegisterModelAccounts(
                    creator=creator.pubkey(),
                    usdc_mint=usdc_mint,
                    usdc_token_program=TOKEN_PROGRAM_ID,
                ),
            )
        ],
        [creator],
    )
    mint = Keypair()
    token = spl_model_mint(creator.pubkey(), mint.pubkey(), creator.pubkey(), 1_000_000 * USDC)
    await client.send(token.instructions, [creator, mint])
    await client.send(
        [
            ix.set_model_status(
                ix.SetModelStatusArgs(
                    status=ModelStatus.APPROVED, mint=mint.pubkey(), sweep_stuck_revenue=False
                ),
                ix.SetModelStatusAccounts(admin=admin.pubkey(), model=model),
            )
        ],
        [admin],
    )
    await client.send(
        [
            ix.tokenize_model(
                ix.TokenizeModelAccounts(
                    creator=creator.pubkey(),
                    model=model,
                    mint=mint.pubkey(),
                    token_program=TOKEN_PROGRAM_ID,
                )
            )
        ],
        [creator],
    )
    return model


async def add_offer(
    client: BourseClient, authority: Keypair, model: Pubkey, price_in: int, price_out: int
) -> Pubkey:
    await client.send(
        [
            ix.upsert_offer(
                ix.UpsertOfferArgs(
                    price_input_per_mtok=price_in, price_output_per_mtok=price_out, active=True
                ),
                ix.UpsertOfferAccounts(authority=authority.pubkey(), model=model),
            )
        ],
        [authority],
    )
    return offer_pda(model, provider_pda(authority.pubkey())[0])[0]


@contextlib.asynccontextmanager
async def start_market(
    tmp: Path, *, slug: str = "deepseek-chat", options: SendOptions = FAST
) -> AsyncIterator[MarketEnv]:
    """Start an embedded localnet and build the market on it."""
    from localnet import Localnet

    async with Localnet.start(port=0, workdir=tmp, backend="embedded") as net:
        rpc = AsyncClient(net.rpc_url, timeout=30)
        client = BourseClient(rpc, options=options)
        try:
            env = await _build(net, rpc, client, slug)
            yield env
        finally:
            await rpc.close()


async def _build(net: object, rpc: AsyncClient, client: BourseClient, slug: str) -> MarketEnv:
    keys = net.keypairs  # type: ignore[attr-defined]
    usdc_mint: Pubkey = net.usdc_mint  # type: ignore[attr-defined]
    admin, settler, creator = keys["admin"], keys["settler"], keys["creator"]
    provider_authority, payer = keys["provider"], keys["payer"]
    treasury_owner = Keypair()

    await client.send(
        [
            create_associated_token_account(
                admin.pubkey(), treasury_owner.pubkey(), usdc_mint, TOKEN_PROGRAM_ID
            ),
            ix.initialize_config(
                ix.InitializeConfigArgs(
                    settler=settler.pubkey(),
                    crank=keys["crank"].pubkey(),
                    treasury_authority=treasury_owner.pubkey(),
                    protocol_fee_bps=PROTOCOL_FEE_BPS,
                    max_protocol_fee_bps=1_000,
                    max_model_fee_bps=2_000,
                    max_buyback_per_call=0,
                    buyback_cooldown_secs=0,
                ),
                ix.InitializeConfigAccounts(
                    admin=admin.pubkey(), usdc_mint=usdc_mint, usdc_token_program=TOKEN_PROGRAM_ID
                ),
            ),
        ],
        [admin],
    )
    model = await add_model(client, admin=admin, creator=creator, usdc_mint=usdc_mint, slug=slug)
    payout = get_associated_token_address(provider_authority.pubkey(), usdc_mint, TOKEN_PROGRAM_ID)
    await client.send(
        [
            ix.register_provider(
                ix.RegisterProviderArgs(name="test-provider"),
                ix.RegisterProviderAccounts(authority=provider_authority.pubkey(), payout=payout),
            )
        ],
        [provider_authority],
    )
    offer = await add_offer(client, provider_authority, model, PRICE_IN, PRICE_OUT)
    return MarketEnv(
        net=net,
        rpc=rpc,
        client=client,
        admin=admin,
        settler=settler,
        creator=creator,
        provider_authority=provider_authority,
        payer=payer,
        treasury_owner=treasury_owner,
        treasury=get_associated_token_address(treasury_owner.pubkey(), usdc_mint, TOKEN_PROGRAM_ID),
        usdc_mint=usdc_mint,
        escrow=escrow_vault_pda()[0],
        slug=slug,
        model=model,
        revenue_vault=revenue_vault_pda(model)[0],
        provider=provider_pda(provider_authority.pubkey())[0],
        provider_payout=payout,
        offer=offer,
    )


# -- the setup itself ----------------------------------------------------------------------
