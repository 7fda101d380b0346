"""buyback forwards routes of up to 128 accounts (the runtime's CPI account-info limit): the
program's account list and CPI arrays live in the heap, not in 4 KiB stack frames. A cp_pool
route padded with repeated entries to 128 accounts (134 in the instruction) buys back
exactly; 129 is refused with NotEnoughAccounts and moves nothing."""

from __future__ import annotations

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from spl.token import instructions as spl_ix
from spl.token import models as spl_models

from bourse_chain import pools
from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.errors import NotEnoughAccounts
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.money import ceil_div
from bourse_ops.sandbox.svm_chain import BIN, TOKEN_PROGRAM_ID, Market, SvmChain, new_chain

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists() or not (BIN / "cp_pool.so").exists(),
    reason="programs not built (python -m program.build)",
)

USDC = 1_000_000
MAX_FORWARDED = 128


class World:
    def __init__(self) -> None:
        self.c: SvmChain = new_chain()
        c = self.c
        self.crank = c.new_wallet()
        self.creator = c.new_wallet()
        self.m = Market(usdc_mint=c.usdc_mint, treasury_authority=c.new_wallet().pubkey())
        c.send(
            [
                self.m.initialize_config(
                    c.admin.pubkey(), c.new_wallet().pubkey(), self.crank.pubkey()
                ),
                self.m.update_config(c.admin.pubkey(), swap_programs=[CP_POOL_ID]),
            ],
            [c.admin],
        )

    def list_model(self, slug: str) -> Pubkey:
        c, m = self.c, self.m
        c.send([m.register_model(self.creator.pubkey(), slug, 500, "")], [self.creator])
        mint = c.create_model_mint(self.creator.pubkey(), 1_000_000 * USDC)
        c.send([m.set_model_status(c.admin.pubkey(), slug, ModelStatus.APPROVED, mint)], [c.admin])
        c.send(
            [m.tokenize_model(self.creator.pubkey(), slug, mint, TOKEN_PROGRAM_ID)], [self.creator]
        )
        c.seed_pool(self.creator, mint, TOKEN_PROGRAM_ID, 100_000 * USDC, 1_000 * USDC)
        c.send(
            [
                spl_ix.mint_to_checked(
                    spl_models.MintToCheckedParams(
                        program_id=TOKEN_PROGRAM_ID,
                        mint=c.usdc_mint,
                        dest=m.revenue_vault(slug),
                        mint_authority=c.usdc_authority.pubkey(),
                        amount=20 * USDC,
                        decimals=6,
                        signers=[],
                    )
                )
            ],
            [c.usdc_authority],
        )
        return mint

    def buyback(self, slug: str, mint: Pubkey, amount_in: int, forwarded: int) -> Instruction:
        ix = self.m.buyback_via_pool(
            self.crank.pubkey(),
            slug,
            mint=mint,
            token_program=TOKEN_PROGRAM_ID,
            amount_in=amount_in,
            min_out=1,
        )
        accounts = list(ix.accounts)
        # Repeated read-only entries (the mint and the token program) pad the route: a
        # transaction locks 64 distinct accounts at most, so only repeats reach 128.
        pad = [AccountMeta(mint, False, False), AccountMeta(TOKEN_PROGRAM_ID, False, False)]
        route = len(accounts) - 6
        accounts += [pad[i % 2] for i in range(forwarded - route)]
        return Instruction(ix.program_id, bytes(ix.data), accounts)


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _expected(c: SvmChain, mint: Pubkey, amount_in: int) -> int:
    """What the pool gives for ``amount_in`` (cp_pool's math, 30 bps fee)."""
    addrs = pools.pool_addresses(mint, c.usdc_mint)
    r_in, r_out = c.token_balance(addrs.vault(c.usdc_mint)), c.token_balance(addrs.vault(mint))
    fee = ceil_div(amount_in * 30, 10_000)
    return r_out * (amount_in - fee) // (r_in + amount_in - fee)


def test_a_route_of_128_accounts_buys_back_exactly(world: World) -> None:
    c, m = world.c, world.m
    mint = world.list_model("wide-route")
    amount = 20 * USDC
    expected = _expected(c, mint, amount)
    ix = world.buyback("wide-route", mint, amount, MAX_FORWARDED)
    assert len(ix.accounts) == 6 + MAX_FORWARDED
    c.send([ix], [world.crank])
    assert c.token_balance(m.revenue_vault("wide-route")) == 0
    assert c.token_balance(m.buyback_vault("wide-route")) == expected
    model = Model.decode(c.existing_data(m.model("wide-route")))
    assert (model.usdc_spent, model.tokens_bought) == (amount, expected)


# 249 forwarded: 255 accounts in all, the most the runtime serializes (one-byte duplicate
# index), parse into the heap table without overrunning it.
@pytest.mark.parametrize("forwarded", [MAX_FORWARDED + 1, 249])
def test_more_than_128_route_accounts_are_refused(world: World, forwarded: int) -> None:
    c, m = world.c, world.m
    slug = f"too-wide-{forwarded}"
    mint = world.list_model(slug)
    watched = [m.revenue_vault(slug), m.buyback_vault(slug), m.model(slug)]
    before = c.snapshot(watched)
    failed = c.fails([world.buyback(slug, mint, 20 * USDC, forwarded)], [world.crank])
    assert failed.custom_code == NotEnoughAccounts.code
    assert c.snapshot(watched) == before
