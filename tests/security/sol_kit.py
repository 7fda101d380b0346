"""A SOL-paired pump.fun coin listed on the in-process market (tests.security.kit.World):
a legacy SPL mint whose curve is quoted in SOL (as ClawPump launches), the cp_pool pool of
WSOL/USDC standing in for the Jupiter leg, and ``buyback_sol`` instructions over both legs."""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT

from bourse_chain import pools, pump_curve, pump_sol, pump_swap
from bourse_chain.generated.cp_pool import PROGRAM_ID as CP_POOL_ID
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_chain.generated.pump_amm import PROGRAM_ID as AMM_ID
from bourse_ops.sandbox import pump_venue
from cranks.venues.local_pool import quote_exact_in
from tests.security.kit import USDC, World

SLUG = "clawpump"


@dataclass
class SolWorld:
    w: World
    market: pump_curve.CurveMarket
    pool: pools.PoolAddresses

    @property
    def buyer(self) -> Pubkey:
        return pump_sol.buyer_address(self.w.model(SLUG))

    def prepare(self) -> None:
        c = self.w.c
        c.send(pump_sol.prepare_instructions(c.payer.pubkey(), self.w.model(SLUG), 0, False), [])

    def sol_out(self, amount_in: int) -> int:
        usdc_reserve = self.w.balance(self.pool.vault(self.w.c.usdc_mint))
        sol_reserve = self.w.balance(self.pool.vault(WRAPPED_SOL_MINT))
        return quote_exact_in(amount_in, usdc_reserve, sol_reserve, 30)[1]

    def creator_vault_lamports(self) -> int:
        return self.w.c.lamports(pump_curve.creator_vault(self.market.curve.creator))

    def legs(self, amount_in: int, spendable: int, min_tokens: int = 1) -> dict[str, object]:
        w = self.w
        swap = pools.swap(
            w.model(SLUG),
            pools.Side(w.c.usdc_mint, TOKEN_PROGRAM_ID, w.m.revenue_vault(SLUG)),
            pools.Side(WRAPPED_SOL_MINT, TOKEN_PROGRAM_ID, pump_sol.buyer_wsol(self.buyer)),
            amount_in,
            1,
        )
        buy = pump_sol.buy_sol_instruction(
            self.market, self.buyer, w.m.buyback_vault(SLUG), spendable, min_tokens
        )
        return {
            "swap_program": CP_POOL_ID,
            "swap_data": bytes(swap.data),
            "swap_accounts": pools.as_cpi_accounts(swap),
            "buy_program": PUMP_ID,
            "buy_data": bytes(buy.data),
            "buy_accounts": pump_sol.as_cpi_accounts(buy),
        }

    def buyback(self, amount_in: int, spendable: int, min_out: int) -> Instruction:
        return self.w.m.buyback_sol(
            self.w.crank.pubkey(),
            SLUG,
            amount_in=amount_in,
            min_out=min_out,
            **self.legs(amount_in, spendable),  # type: ignore[arg-type]
        )


def graduate(s: SolWorld, *, prepay_accumulator: bool = True) -> pump_swap.SwapMarket:
    """Buy the coin back on its curve until it completes, migrate it to a WSOL-quoted PumpSwap
    pool, allow-list PumpSwap and prepay the buyer's PumpSwap volume accumulator."""
    w, c = s.w, s.w.c
    config = pump_venue.install_amm(c)
    w.allow([CP_POOL_ID, PUMP_ID, AMM_ID] + ([w.evil] if w.evil else []))
    if c.lamports(s.buyer) < pump_sol.BUYER_FLOOR:
        s.prepare()
    while not s.market.curve.complete:
        w.warp(1)
        amount = 300 * USDC
        sol = s.sol_out(amount) + c.lamports(s.buyer) - pump_sol.BUYER_FLOOR
        q = pump_sol.quote_buy_sol(s.market, sol, s.creator_vault_lamports())
        c.send([s.buyback(amount, sol, q.tokens)], [w.crank])
        s.market = pump_venue.refresh(c, s.market)
    if prepay_accumulator:
        c.send([pump_swap.init_accumulator_instruction(c.payer.pubkey(), s.buyer)], [])
    w.warp(1)
    return pump_venue.graduate(c, s.market, config)


def swap_buyback(
    s: SolWorld, amm: pump_swap.SwapMarket, amount_in: int, spendable: int, min_out: int
) -> Instruction:
    """``buyback_sol`` after graduation: USDC -> WSOL into the buyer's WSOL account, then
    PumpSwap's ``buy_exact_quote_in`` by the buyer spending that WSOL."""
    w = s.w
    buy = pump_swap.buy_instruction(
        amm, s.buyer, w.m.buyback_vault(SLUG), pump_sol.buyer_wsol(s.buyer), spendable, min_out
    )
    legs = s.legs(amount_in, spendable)
    legs.update(
        buy_program=AMM_ID, buy_data=bytes(buy.data), buy_accounts=pump_sol.as_cpi_accounts(buy)
    )
    return w.m.buyback_sol(
        w.crank.pubkey(),
        SLUG,
        amount_in=amount_in,
        min_out=min_out,
        **legs,  # type: ignore[arg-type]
    )


def make_world(evil_image: bytes | None = None, real_tokens: int = 60_000_000_000_000) -> SolWorld:
    w = World(evil_image=evil_image)
    market, pool = w.list_sol_coin(SLUG, real_tokens=real_tokens)
    w.allow([CP_POOL_ID, PUMP_ID] + ([w.evil] if w.evil else []))
    return SolWorld(w, market, pool)
