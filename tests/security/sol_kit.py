"""A SOL-paired pump.fun coin listed on the in-process market (tests.security.kit.World):
a legacy SPL mint whose curve is quoted in SOL (as ClawPump launches), the cp_pool pool of
WSOL/USDC standing in for the Jupiter leg, and ``buyback_sol`` instructions over both legs."""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT

from bourse_chain import pools, pump_curve, pump_sol
from bourse_chain.generated.cp_pool import PROGRAM_ID as CP_POOL_ID
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from cranks.venues.local_pool import quote_exact_in
from tests.security.kit import World

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


def make_world(evil_image: bytes | None = None, real_tokens: int = 60_000_000_000_000) -> SolWorld:
    w = World(evil_image=evil_image)
    market, pool = w.list_sol_coin(SLUG, real_tokens=real_tokens)
    w.allow([CP_POOL_ID, PUMP_ID] + ([w.evil] if w.evil else []))
    return SolWorld(w, market, pool)
