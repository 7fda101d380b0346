"""The market the crank tests run against (each test module starts its own embedded localnet:
the config PDA is one per chain), and checks of the state it builds.

:func:`start_env` initialises the program config (crank = the localnet's ``crank`` key, the
``cp_pool`` program allow-listed, a per-call cap and a cooldown); :meth:`CrankEnv.add_model`
lists a model end to end (register, approve, SPL or Token-2022 transfer-fee mint, tokenize)
and gives it a ``cp_pool`` pool with liquidity; :meth:`CrankEnv.fund` puts USDC in its
revenue vault. :meth:`CrankEnv.crank_config` is the daemon's configuration for one test:
its own state directory and only that test's models.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from solana.rpc.async_api import AsyncClient
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)

from bourse_chain import mints, pools, token_layout
from bourse_chain.client import BourseClient, SendOptions
from bourse_chain.generated.compute_market.accounts import Config, Model
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.market import Market
from bourse_chain.money import ceil_div
from bourse_chain.results import TxResult
from cranks.config import (
    BuybackSettings,
    CrankConfig,
    HarvestSettings,
    MetricsSettings,
    SchedulerSettings,
    SendSettings,
)
from localnet import Localnet, spl

USDC = 1_000_000
POOL_FEE_BPS = 30
POOL_TOKENS = 1_000_000 * USDC  # model tokens (6 decimals) in each pool
POOL_USDC = 10_000 * USDC
SUPPLY = 2 * POOL_TOKENS
T22_FEE_BPS = 100
T22_MAX_FEE = 10**12
FAST = SendOptions(poll_interval=0.05, rebroadcast_interval=0.5)


def t22_fee(amount: int) -> int:
    return token_layout.transfer_fee(amount, T22_FEE_BPS, T22_MAX_FEE)


def sent_for_arrived(arrived: int) -> int:
    """The smallest Token-2022 transfer that delivers ``arrived`` after the fee."""
    sent = max(arrived, arrived * 10_000 // (10_000 - T22_FEE_BPS) - 2)
    while sent - t22_fee(sent) < arrived:
        sent += 1
    return sent


@dataclass(frozen=True)
class Listed:
    slug: str
    address: Pubkey
    mint: Pubkey
    token_program: Pubkey
    t22: bool
    pool: Pubkey
    pool_usdc: Pubkey
    pool_tokens: Pubkey
    revenue_vault: Pubkey
    buyback_vault: Pubkey


@dataclass(frozen=True)
class Trader:
    """Someone trading a model's pool with its own transactions (an attacker, an arbitrager):
    its key, its USDC account and its account of the model's token."""

    key: Keypair
    usdc: Pubkey
    tokens: Pubkey


@dataclass
class CrankEnv:
    net: Localnet
    rpc: AsyncClient
    client: BourseClient
    market: Market
    keys: dict[str, Keypair]
    treasury: Keypair
    tmp: Path
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def crank(self) -> Keypair:
        return self.keys["crank"]

    async def send(self, ixs: Sequence[Instruction], *signers: Keypair) -> TxResult:
        return await self.client.send(list(ixs), list(signers))

    def slug(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    async def add_model(self, slug: str, *, t22: bool = False, fee_bps: int = 500) -> Listed:
        m, creator, admin = self.market, self.keys["creator"], self.keys["admin"]
        mint = Keypair()
        await self.send(
            [
                m.register_model(creator.pubkey(), slug, fee_bps, f"ipfs://{slug}"),
                m.set_model_status(admin.pubkey(), slug, ModelStatus.APPROVED, mint.pubkey()),
            ],
            creator,
            admin,
        )
        if t22:
            fee = mints.TransferFeeSetup(
                T22_FEE_BPS, T22_MAX_FEE, withdraw_withheld_authority=m.config
            )
            mm = mints.token2022_model_mint(
                creator.pubkey(), mint.pubkey(), creator.pubkey(), SUPPLY, 6, fee
            )
        else:
            mm = mints.spl_model_mint(creator.pubkey(), mint.pubkey(), creator.pubkey(), SUPPLY, 6)
        await self.send(
            [
                *mm.instructions,
                m.tokenize_model(creator.pubkey(), slug, mint.pubkey(), mm.token_program),
            ],
            creator,
            mint,
        )
        tp = mm.token_program
        usdc = self.net.usdc_mint
        token = pools.Side(mint.pubkey(), tp, mm.creator_token_account)
        cash = pools.Side(
            usdc, TOKEN_PROGRAM_ID, get_associated_token_address(creator.pubkey(), usdc)
        )
        where = pools.pool_addresses(mint.pubkey(), usdc)
        pool, vault = where.pool, where.vaults
        await self.send(
            [
                pools.create_pool(creator.pubkey(), token, cash, POOL_FEE_BPS),
                pools.add_liquidity(creator.pubkey(), token, POOL_TOKENS, cash, POOL_USDC),
            ],
            creator,
        )
        return Listed(
            slug=slug,
            address=m.model(slug),
            mint=mint.pubkey(),
            token_program=tp,
            t22=t22,
            pool=pool,
            pool_usdc=vault[usdc],
            pool_tokens=vault[mint.pubkey()],
            revenue_vault=m.revenue_vault(slug),
            buyback_vault=m.buyback_vault(slug),
        )

    async def fund(self, model: Listed, amount: int) -> None:
        """``amount`` micro-USDC into the model's revenue vault."""
        authority = self.keys["mint_authority"]
        await self.send(
            [spl.mint_to(self.net.usdc_mint, model.revenue_vault, authority.pubkey(), amount)],
            authority,
        )

    async def balance(self, token_account: Pubkey) -> int:
        acc = (await self.rpc.get_account_info(token_account)).value
        return 0 if acc is None else token_layout.token_amount(bytes(acc.data))

    async def supply(self, mint: Pubkey) -> int:
        return int((await self.rpc.get_token_supply(mint)).value.amount)

    async def model(self, model: Listed) -> Model:
        acc = (await self.rpc.get_account_info(model.address)).value
        assert acc is not None
        return Model.decode(bytes(acc.data))

    async def program_config(self) -> Config:
        acc = (await self.rpc.get_account_info(self.market.config)).value
        assert acc is not None
        return Config.decode(bytes(acc.data))

    async def snapshot(self, models: Sequence[Listed]) -> dict[str, object]:
        """Every balance and account a crank could move, for "nothing moved" checks."""
        out: dict[str, object] = {}
        for m in models:
            for name, key in (
                ("revenue", m.revenue_vault),
                ("buyback", m.buyback_vault),
                ("pool_usdc", m.pool_usdc),
                ("pool_tokens", m.pool_tokens),
            ):
                out[f"{m.slug}.{name}"] = await self.balance(key)
            out[f"{m.slug}.supply"] = await self.supply(m.mint)
            acc = (await self.rpc.get_account_info(m.address)).value
            out[f"{m.slug}.model"] = None if acc is None else bytes(acc.data)
            mint_acc = (await self.rpc.get_account_info(m.mint)).value
            out[f"{m.slug}.mint"] = None if mint_acc is None else bytes(mint_acc.data)
        return out

    async def pool_quote(self, model: Listed, amount_in: int) -> int:
        """What ``amount_in`` USDC buys now (arrived in the buyback vault), by the pool's math."""
        r_in, r_out = await self.balance(model.pool_usdc), await self.balance(model.pool_tokens)
        fee = ceil_div(amount_in * POOL_FEE_BPS, 10_000)
        out = r_out * (amount_in - fee) // (r_in + amount_in - fee)
        return out - t22_fee(out) if model.t22 else out

    def crank_config(
        self, models: Sequence[Listed], *, name: str = "state", **buyback: Any
    ) -> CrankConfig:
        """The daemon's config: this localnet, fast polling, only ``models``. The reference
        price guard is off unless ``reference_min_observations`` is given: the cycle tests
        buy a whole vault in one cycle, the sandwich tests turn the guard on."""
        slugs = tuple(m.slug for m in models)
        settings: dict[str, Any] = {
            "threshold_usdc": Decimal(1),
            "slippage_bps": 100,
            "models": slugs,
            "interval_secs": 3600.0,
            "reference_min_observations": 0,
        } | buyback
        return CrankConfig(
            rpc_urls=(self.net.rpc_url,),
            state_dir=str(self.tmp / name),
            send=SendSettings(
                poll_interval_secs=0.05,
                rebroadcast_interval_secs=0.5,
                rpc_timeout_secs=10,
                daily_fee_budget_sol=Decimal(1),
                rpc_retry_delay_secs=0.01,
            ),
            buyback=BuybackSettings(**settings),
            harvest=HarvestSettings(models=slugs, interval_secs=3600.0),
            metrics=MetricsSettings(port=0),
            scheduler=SchedulerSettings(stop_timeout_secs=30),
        )

    async def trader(self, model: Listed, usdc: int) -> Trader:
        """A fresh key with SOL, ``usdc`` micro-USDC and an empty account of the token."""
        key = Keypair()
        await self.net.airdrop(key.pubkey(), 10**9)
        account = await self.net.mint_usdc(key.pubkey(), usdc)
        tokens = get_associated_token_address(key.pubkey(), model.mint, model.token_program)
        await self.send(
            [
                create_idempotent_associated_token_account(
                    key.pubkey(), key.pubkey(), model.mint, model.token_program
                )
            ],
            key,
        )
        return Trader(key, account, tokens)

    def _sides(self, model: Listed, trader: Trader) -> tuple[pools.Side, pools.Side]:
        return (
            pools.Side(self.net.usdc_mint, TOKEN_PROGRAM_ID, trader.usdc),
            pools.Side(model.mint, model.token_program, trader.tokens),
        )

    async def buy_tokens(self, trader: Trader, model: Listed, usdc_in: int) -> int:
        """``trader`` swaps ``usdc_in`` for the token in the model's pool; returns the tokens
        that arrived."""
        cash, token = self._sides(model, trader)
        before = await self.balance(trader.tokens)
        await self.send([pools.swap(trader.key.pubkey(), cash, token, usdc_in, 1)], trader.key)
        return await self.balance(trader.tokens) - before

    async def sell_tokens(self, trader: Trader, model: Listed) -> int:
        """``trader`` sells every token it holds; returns the USDC that arrived."""
        cash, token = self._sides(model, trader)
        amount, before = await self.balance(trader.tokens), await self.balance(trader.usdc)
        await self.send([pools.swap(trader.key.pubkey(), token, cash, amount, 1)], trader.key)
        return await self.balance(trader.usdc) - before

    async def reserves(self, model: Listed) -> tuple[int, int]:
        """The model's pool: (USDC, tokens)."""
        return await self.balance(model.pool_usdc), await self.balance(model.pool_tokens)

    async def treasury_account(self, mint: Pubkey) -> Pubkey:
        return get_associated_token_address(self.treasury.pubkey(), mint, TOKEN_2022_PROGRAM_ID)

    async def holder(self, model: Listed, amount: int) -> tuple[Pubkey, int]:
        """A fresh holder receiving ``amount`` model tokens from the creator (Token-2022: the
        fee is withheld in the holder's account); returns (account, fee withheld)."""
        creator, owner = self.keys["creator"], Keypair()
        dest = get_associated_token_address(owner.pubkey(), model.mint, model.token_program)
        src = get_associated_token_address(creator.pubkey(), model.mint, model.token_program)
        fee = t22_fee(amount)
        await self.send(
            [
                create_idempotent_associated_token_account(
                    creator.pubkey(), owner.pubkey(), model.mint, model.token_program
                ),
                mints.transfer_checked_with_fee(
                    src, model.mint, dest, creator.pubkey(), amount, 6, fee
                ),
            ],
            creator,
        )
        return dest, fee


@contextlib.asynccontextmanager
async def start_env(
    tmp: Path, *, max_buyback_per_call: int = 0, cooldown_secs: int = 3600
) -> AsyncIterator[CrankEnv]:
    async with Localnet.start(port=0, workdir=tmp / "ln", backend="embedded") as net:
        rpc = AsyncClient(net.rpc_url, timeout=30)
        client = BourseClient(rpc, options=FAST)
        try:
            keys = dict(net.keypairs)
            treasury = Keypair()
            market = Market(usdc_mint=net.usdc_mint, treasury_authority=treasury.pubkey())
            env = CrankEnv(net, rpc, client, market, keys, treasury, tmp)
            admin = keys["admin"]
            await env.send(
                [
                    market.initialize_config(
                        admin.pubkey(),
                        keys["settler"].pubkey(),
                        keys["crank"].pubkey(),
                        max_buyback_per_call=max_buyback_per_call,
                        buyback_cooldown_secs=cooldown_secs,
                    ),
                    market.update_config(admin.pubkey(), swap_programs=[CP_POOL_ID]),
                ],
                admin,
            )
            yield env
        finally:
            await rpc.close()
