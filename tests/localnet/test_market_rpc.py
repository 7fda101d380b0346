"""Every compute_market instruction driven through solana-py's AsyncClient
against the JSON-RPC localnet (programs deployed by the upgradeable loader):
governance, SPL and Token-2022 listings, orders (settle, settler cancel, payer
cancel after expiry), collected payments (and their replay), buyback through the
cp_pool program, burn and harvest. Balances and account state asserted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)

from bourse_chain import merkle, mints, pools, token_layout
from bourse_chain.errors import ProgramError, from_tx_error
from bourse_chain.generated.compute_market.accounts import (
    Config,
    Model,
    Offer,
    Order,
    Provider,
    SettlementStream,
)
from bourse_chain.generated.compute_market.errors import WrongSequence
from bourse_chain.generated.compute_market.events import events_from_logs
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.generated.cp_pool.accounts import Pool
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.market import Market, payment_id_bytes
from bourse_chain.money import ceil_div, expected_split
from bourse_ops.sandbox.svm_chain import BIN
from localnet import Localnet

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists(), reason="programs not built (python -m program.build)"
)

USDC = 1_000_000


@dataclass
class Env:
    net: Localnet
    rpc: AsyncClient
    m: Market
    keys: dict[str, Keypair]

    async def send(
        self, ixs: Sequence[Instruction], payer: Keypair, *signers: Keypair
    ) -> list[str]:
        """Send through solana-py with preflight; return the landed tx's logs."""
        blockhash = (await self.rpc.get_latest_blockhash()).value.blockhash
        unique = {k.pubkey(): k for k in (payer, *signers)}
        tx = VersionedTransaction(
            Message.new_with_blockhash(list(ixs), payer.pubkey(), blockhash), list(unique.values())
        )
        sig = (await self.rpc.send_transaction(tx, TxOpts(preflight_commitment=Confirmed))).value
        await self.rpc.confirm_transaction(sig, Confirmed, sleep_seconds=0.02)
        got = await self.rpc.get_transaction(sig, max_supported_transaction_version=0)
        assert got.value is not None and got.value.transaction.meta is not None
        assert got.value.transaction.meta.err is None
        # A fresh blockhash, so a deliberately identical next tx is not deduplicated.
        await self.net.rpc("bourse_expireBlockhash", [])
        return list(got.value.transaction.meta.log_messages or [])

    async def fails(self, ixs: Sequence[Instruction], payer: Keypair, *signers: Keypair) -> int:
        """The custom error code of a rejected transaction (preflight simulation)."""
        with pytest.raises(RPCException) as info:
            await self.send(ixs, payer, *signers)
        data = info.value.args[0].data
        mapped = from_tx_error(data.err, [ix.program_id for ix in ixs], list(data.logs or []))
        assert isinstance(mapped, ProgramError), mapped
        return mapped.code

    async def balance(self, token_account: Pubkey) -> int:
        r = await self.rpc.get_token_account_balance(token_account)
        return int(r.value.amount)

    async def data(self, address: Pubkey) -> bytes | None:
        r = await self.rpc.get_account_info(address)
        return None if r.value is None else bytes(r.value.data)

    async def wallet(self, usdc: int = 0) -> Keypair:
        kp = Keypair()
        await self.net.airdrop(kp.pubkey(), 10 * 10**9)
        if usdc:
            await self.net.mint_usdc(kp.pubkey(), usdc)
        return kp

    async def ata(self, owner: Pubkey, mint: Pubkey, program: Pubkey = TOKEN_PROGRAM_ID) -> Pubkey:
        payer = self.keys["admin"]
        await self.send(
            [create_idempotent_associated_token_account(payer.pubkey(), owner, mint, program)],
            payer,
        )
        return get_associated_token_address(owner, mint, program)


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    async with (
        Localnet.start(port=0, workdir=tmp_path_factory.mktemp("ln"), backend="embedded") as net,
        AsyncClient(net.rpc_url, commitment=Confirmed, timeout=30) as rpc,
    ):
        keys = dict(net.keypairs)
        treasury = Keypair()
        m = Market(usdc_mint=net.usdc_mint, treasury_authority=treasury.pubkey())
        e = Env(net, rpc, m, keys | {"treasury": treasury})
        await net.airdrop(treasury.pubkey(), 10**9)
        await e.ata(treasury.pubkey(), net.usdc_mint)
        yield e


async def test_governance(env: Env) -> None:
    k, m = env.keys, env.m
    # Only the upgrade authority may initialize: a stranger is refused.
    stranger = await env.wallet()
    code = await env.fails(
        [m.initialize_config(stranger.pubkey(), k["settler"].pubkey(), k["crank"].pubkey())],
        stranger,
    )
    assert code == 6040  # UpgradeAuthorityMismatch
    await env.send(
        [
            m.initialize_config(
                k["admin"].pubkey(),
                k["settler"].pubkey(),
                k["crank"].pubkey(),
                max_buyback_per_call=1_000 * USDC,
            )
        ],
        k["admin"],
    )
    cfg = Config.decode(await env.data(m.config))  # type: ignore[arg-type]
    assert (cfg.admin, cfg.protocol_fee_bps, cfg.usdc_mint) == (
        k["admin"].pubkey(),
        100,
        env.net.usdc_mint,
    )
    # Re-initialisation is refused.
    assert (
        await env.fails(
            [m.initialize_config(k["admin"].pubkey(), k["settler"].pubkey(), k["crank"].pubkey())],
            k["admin"],
        )
        == 6007
    )
    # Fee above the cap fixed at init.
    assert (
        await env.fails([m.update_config(k["admin"].pubkey(), protocol_fee_bps=501)], k["admin"])
        == 6013
    )
    await env.send(
        [m.update_config(k["admin"].pubkey(), protocol_fee_bps=150, swap_programs=[CP_POOL_ID])],
        k["admin"],
    )
    # Two-step admin change, then back.
    new_admin = await env.wallet()
    await env.send(
        [m.update_config(k["admin"].pubkey(), pending_admin=new_admin.pubkey())], k["admin"]
    )
    assert await env.fails([m.accept_admin(stranger.pubkey())], stranger) == 6038  # NotPendingAdmin
    await env.send([m.accept_admin(new_admin.pubkey())], new_admin)
    assert Config.decode(await env.data(m.config)).admin == new_admin.pubkey()  # type: ignore[arg-type]
    await env.send(
        [m.update_config(new_admin.pubkey(), pending_admin=k["admin"].pubkey())], new_admin
    )
    await env.send([m.accept_admin(k["admin"].pubkey())], k["admin"])
    cfg = Config.decode(await env.data(m.config))  # type: ignore[arg-type]
    assert (
        cfg.admin == k["admin"].pubkey()
        and cfg.protocol_fee_bps == 150
        and cfg.swap_programs[0] == CP_POOL_ID
    )


async def list_model(
    env: Env, slug: str, fee_bps: int, fee: mints.TransferFeeSetup | None = None
) -> Pubkey:
    k, m = env.keys, env.m
    creator = k["creator"]
    await env.send(
        [m.register_model(creator.pubkey(), slug, fee_bps, "https://example.org/" + slug)], creator
    )
    assert Model.decode(await env.data(m.model(slug))).status == ModelStatus.PENDING  # type: ignore[arg-type]
    mint = Keypair()
    if fee:
        mm = mints.token2022_model_mint(
            creator.pubkey(), mint.pubkey(), creator.pubkey(), 10**12, 6, fee
        )
    else:
        mm = mints.spl_model_mint(creator.pubkey(), mint.pubkey(), creator.pubkey(), 10**12, 6)
    await env.send(mm.instructions, creator, mint)
    await env.send(
        [m.set_model_status(k["admin"].pubkey(), slug, ModelStatus.APPROVED, mint.pubkey())],
        k["admin"],
    )
    await env.send(
        [m.tokenize_model(creator.pubkey(), slug, mint.pubkey(), mm.token_program)], creator
    )
    model = Model.decode(await env.data(m.model(slug)))  # type: ignore[arg-type]
    assert (
        model.token_kind == (TokenKind.TOKEN2022 if fee else TokenKind.SPL)
        and model.mint == mint.pubkey()
    )
    return mint.pubkey()


async def add_pool(
    env: Env, mint: Pubkey, token_program: Pubkey, tokens: int, usdc: int
) -> tuple[Pubkey, dict[Pubkey, Pubkey]]:
    creator = env.keys["creator"]
    await env.net.mint_usdc(creator.pubkey(), usdc)
    token = pools.Side(
        mint, token_program, get_associated_token_address(creator.pubkey(), mint, token_program)
    )
    cash = pools.Side(env.net.usdc_mint, TOKEN_PROGRAM_ID, env.m.usdc_account(creator.pubkey()))
    await env.send([pools.create_pool(creator.pubkey(), token, cash, 30)], creator)
    await env.send([pools.add_liquidity(creator.pubkey(), token, tokens, cash, usdc)], creator)
    where = pools.pool_addresses(mint, env.net.usdc_mint)
    return where.pool, where.vaults


async def test_orders_payments_buyback_burn_spl(env: Env) -> None:
    k, m = env.keys, env.m
    slug, fee_bps = "deepseek-chat", 800
    mint = await list_model(env, slug, fee_bps)
    prov = k["provider"]
    await env.send([m.register_provider(prov.pubkey(), "DeepSeek Direct")], prov)
    provider = Provider.decode(await env.data(m.provider(prov.pubkey())))  # type: ignore[arg-type]
    assert provider.payout == m.usdc_account(prov.pubkey())
    await env.send([m.upsert_offer(prov.pubkey(), slug, 270_000, 1_100_000)], prov)
    await env.send(
        [m.upsert_offer(prov.pubkey(), slug, 280_000, 1_100_000)], prov
    )  # update in place
    offer = Offer.decode(await env.data(m.offer(slug, prov.pubkey())))  # type: ignore[arg-type]
    assert offer.price_input_per_mtok == 280_000

    payer = await env.wallet(usdc=100 * USDC)
    payer_ata = m.usdc_account(payer.pubkey())
    settler = k["settler"]
    prov_before = await env.balance(m.usdc_account(prov.pubkey()))
    treasury_before = await env.balance(m.treasury)

    # 1. open + settle
    await env.send([m.open_order(payer.pubkey(), slug, prov.pubkey(), 1, 200_000, 100_000)], payer)
    order = Order.decode(await env.data(m.order(payer.pubkey(), 1)))  # type: ignore[arg-type]
    hold = ceil_div(280_000 * 200_000, 10**6) + ceil_div(1_100_000 * 100_000, 10**6)
    assert order.hold == hold and await env.balance(m.escrow_vault) == hold
    logs = await env.send(
        [
            m.settle_order(
                settler.pubkey(),
                order=m.order(payer.pubkey(), 1),
                payer=payer.pubkey(),
                payer_token=payer_ata,
                model=m.model(slug),
                provider=m.provider(prov.pubkey()),
                provider_payout=m.usdc_account(prov.pubkey()),
                revenue_vault=m.revenue_vault(slug),
                input_tokens=123_456,
                output_tokens=7_890,
            )
        ],
        settler,
    )
    gross = ceil_div(280_000 * 123_456, 10**6) + ceil_div(1_100_000 * 7_890, 10**6)
    p, c, pr = expected_split(gross, 150, fee_bps)
    assert await env.balance(payer_ata) == 100 * USDC - gross
    assert await env.balance(m.usdc_account(prov.pubkey())) == prov_before + p
    assert await env.balance(m.revenue_vault(slug)) == c
    assert await env.balance(m.treasury) == treasury_before + pr
    assert await env.balance(m.escrow_vault) == 0
    assert await env.data(m.order(payer.pubkey(), 1)) is None
    assert any(type(e).__name__ == "OrderSettled" for e in events_from_logs(logs))
    # Re-settling the closed order is refused.
    code = await env.fails(
        [
            m.settle_order(
                settler.pubkey(),
                order=m.order(payer.pubkey(), 1),
                payer=payer.pubkey(),
                payer_token=payer_ata,
                model=m.model(slug),
                provider=m.provider(prov.pubkey()),
                provider_payout=m.usdc_account(prov.pubkey()),
                revenue_vault=m.revenue_vault(slug),
                input_tokens=1,
                output_tokens=1,
            )
        ],
        settler,
    )
    assert code == 6004  # InvalidAccountOwner (closed: owned by the System program)

    # 2. open + settler cancel (upstream failure): full refund
    bal = await env.balance(payer_ata)
    await env.send([m.open_order(payer.pubkey(), slug, prov.pubkey(), 2, 1_000, 1_000)], payer)
    await env.send(
        [
            m.cancel_order(
                settler.pubkey(),
                order=m.order(payer.pubkey(), 2),
                payer=payer.pubkey(),
                payer_token=payer_ata,
            )
        ],
        settler,
    )
    assert await env.balance(payer_ata) == bal

    # 3. open with a 60 s ttl: the payer cannot cancel before expiry, can after
    await env.send(
        [m.open_order(payer.pubkey(), slug, prov.pubkey(), 3, 1_000, 1_000, ttl_secs=60)], payer
    )
    cancel = m.cancel_order(
        payer.pubkey(),
        order=m.order(payer.pubkey(), 3),
        payer=payer.pubkey(),
        payer_token=payer_ata,
    )
    assert await env.fails([cancel], payer) == 6026  # OrderNotExpired
    await env.net.warp_time(61)
    await env.send([cancel], payer)
    assert await env.balance(payer_ata) == bal

    # 4. a batch of collected payments (one call), then its replay
    source = k["settler"]
    await env.net.mint_usdc(source.pubkey(), 10 * USDC)
    before_vault = await env.balance(m.revenue_vault(slug))
    model_addr, provider_addr = m.model(slug), m.provider(prov.pubkey())
    pid = payment_id_bytes("x402:1")
    pay = m.settle_batch(
        settler.pubkey(),
        model=model_addr,
        provider=provider_addr,
        provider_payout=m.usdc_account(prov.pubkey()),
        revenue_vault=m.revenue_vault(slug),
        sequence=0,
        count=1,
        total=10 * USDC,
        root=merkle.root(merkle.leaves([(pid, 10 * USDC)])),
        source=m.usdc_account(source.pubkey()),
        source_authority=source.pubkey(),
    )
    await env.send([pay], settler)
    p2, c2, pr2 = expected_split(10 * USDC, 150, fee_bps)
    stream = SettlementStream.decode(await env.data(m.stream(model_addr, provider_addr)))  # type: ignore[arg-type]
    assert (stream.last_total, stream.last_provider_amount, stream.last_creator_fee) == (
        10 * USDC,
        p2,
        c2,
    )
    assert stream.last_protocol_fee == pr2 and stream.next_sequence == 1
    assert await env.balance(m.revenue_vault(slug)) == before_vault + c2
    await env.net.mint_usdc(source.pubkey(), 10 * USDC + 1)
    assert await env.fails([pay], settler) == WrongSequence.code  # sequence 0 is spent

    # 5. buyback through the pool, then burn
    pool, vault = await add_pool(env, mint, TOKEN_PROGRAM_ID, 1_000_000 * USDC, 10_000 * USDC)
    revenue = await env.balance(m.revenue_vault(slug))
    r_in, r_out = await env.balance(vault[env.net.usdc_mint]), await env.balance(vault[mint])
    fee = ceil_div(revenue * 30, 10_000)
    out = r_out * (revenue - fee) // (r_in + revenue - fee)
    crank = k["crank"]
    assert (
        await env.fails(
            [
                m.buyback_via_pool(
                    crank.pubkey(),
                    slug,
                    mint=mint,
                    token_program=TOKEN_PROGRAM_ID,
                    amount_in=revenue,
                    min_out=out + 1,
                )
            ],
            crank,
        )
        == 6029
    )
    await env.send(
        [
            m.buyback_via_pool(
                crank.pubkey(),
                slug,
                mint=mint,
                token_program=TOKEN_PROGRAM_ID,
                amount_in=revenue,
                min_out=out,
            )
        ],
        crank,
    )
    assert await env.balance(m.buyback_vault(slug)) == out
    pool_state = Pool.decode(await env.data(pool))  # type: ignore[arg-type]
    assert pool_state.swap_count == 1 and pool_state.fee_bps == 30
    assert (
        pool_state.vault_a == vault[pool_state.mint_a]
        and pool_state.creator == k["creator"].pubkey()
    )
    supply = int((await env.rpc.get_token_supply(mint)).value.amount)
    await env.send([m.burn(crank.pubkey(), slug, mint, TOKEN_PROGRAM_ID)], crank)
    assert int((await env.rpc.get_token_supply(mint)).value.amount) == supply - out
    model = Model.decode(await env.data(m.model(slug)))  # type: ignore[arg-type]
    assert (model.usdc_spent, model.tokens_bought, model.tokens_burned) == (revenue, out, out)
    assert model.total_volume == gross + 10 * USDC
    assert (
        await env.fails([m.burn(crank.pubkey(), slug, mint, TOKEN_PROGRAM_ID)], crank) == 6033
    )  # NothingToBurn


async def test_token2022_listing_and_harvest(env: Env) -> None:
    k, m = env.keys, env.m
    slug = "kimi-k2.6"
    fee = mints.TransferFeeSetup(bps=100, maximum_fee=10**12, withdraw_withheld_authority=m.config)
    mint = await list_model(env, slug, 1_000, fee)
    creator = k["creator"]
    # Trading the token withholds the fee in the recipient's account.
    holder = await env.wallet()
    dest = await env.ata(holder.pubkey(), mint, TOKEN_2022_PROGRAM_ID)
    src = get_associated_token_address(creator.pubkey(), mint, TOKEN_2022_PROGRAM_ID)
    amount = 5_000_000
    withheld = token_layout.transfer_fee(amount, 100, 10**12)
    await env.send(
        [mints.transfer_checked_with_fee(src, mint, dest, creator.pubkey(), amount, 6, withheld)],
        creator,
    )
    assert await env.balance(dest) == amount - withheld
    treasury_acc = await env.ata(env.keys["treasury"].pubkey(), mint, TOKEN_2022_PROGRAM_ID)
    crank = k["crank"]
    await env.send([m.harvest_fees(crank.pubkey(), slug, mint, treasury_acc, [dest])], crank)
    assert await env.balance(treasury_acc) == withheld
    # A second harvest finds nothing more.
    await env.send([m.harvest_fees(crank.pubkey(), slug, mint, treasury_acc, [dest])], crank)
    assert await env.balance(treasury_acc) == withheld


async def test_rejections_move_nothing_over_rpc(env: Env) -> None:
    """A few rejections through preflight: the transaction never lands, balances unchanged."""
    k, m = env.keys, env.m
    slug = "deepseek-chat"
    payer = await env.wallet(usdc=5 * USDC)
    payer_ata = m.usdc_account(payer.pubkey())
    stranger = await env.wallet()
    before = await env.balance(payer_ata), await env.balance(m.escrow_vault)
    # wrong signer for set_model_status
    assert (
        await env.fails(
            [m.set_model_status(stranger.pubkey(), slug, ModelStatus.DELISTED)], stranger
        )
        == 6002
    )
    # overflow in price x tokens
    assert (
        await env.fails(
            [m.open_order(payer.pubkey(), slug, k["provider"].pubkey(), 9, 2**64 - 1, 2**64 - 1)],
            payer,
        )
        == 6001
    )
    # paused
    await env.send([m.update_config(k["admin"].pubkey(), paused=True)], k["admin"])
    assert (
        await env.fails(
            [m.open_order(payer.pubkey(), slug, k["provider"].pubkey(), 9, 10, 10)], payer
        )
        == 6012
    )
    await env.send([m.update_config(k["admin"].pubkey(), paused=False)], k["admin"])
    assert (await env.balance(payer_ata), await env.balance(m.escrow_vault)) == before
