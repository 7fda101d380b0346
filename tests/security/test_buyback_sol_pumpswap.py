"""buyback_sol after graduation under attack: the buy leg names the buyer's WSOL account, so
the WSOL stays wrapped during the buy (PumpSwap's WSOL pool spends it from there) and the
program closes the account into the buyer afterwards. A buy leg holding the buyer's signature
may not take the account over, close it elsewhere, spend another user's or account's funds, or
send the tokens elsewhere; every failure leaves every account unchanged."""

from __future__ import annotations

import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT

from bourse_chain import pump_sol, pump_swap
from bourse_chain.generated.pump_amm import PROGRAM_ID as AMM_ID
from tests.security.kit import (
    TOKEN_OWNER_MISMATCH,
    USDC,
    Call,
    assert_aborted,
    assert_rejected,
    evil_script,
    tk_close,
    tk_set_authority,
)
from tests.security.sol_kit import SLUG, SolWorld, graduate, make_world

AMOUNT = 50 * USDC
ANCHOR_NOT_SIGNER = 3010  # Anchor's AccountNotSigner (PumpSwap's `user` must sign)
ANCHOR_TOKEN_OWNER = 2015  # Anchor's ConstraintTokenOwner (the quote account is the user's)


@pytest.fixture()
def graduated(evil_image: bytes) -> tuple[SolWorld, pump_swap.SwapMarket]:
    s = make_world(evil_image)
    s.w.pay(SLUG, 40_000 * USDC)
    return s, graduate(s)


def _watch(s: SolWorld) -> list[Pubkey]:
    m = s.w.m
    return [m.revenue_vault(SLUG), m.buyback_vault(SLUG), s.buyer, s.w.model(SLUG)]


def _buy(
    s: SolWorld,
    amm: pump_swap.SwapMarket,
    spendable: int,
    *,
    user: Pubkey | None = None,
    quote: Pubkey | None = None,
    base: Pubkey | None = None,
    min_out: int = 1,
) -> Instruction:
    return pump_swap.buy_instruction(
        amm,
        user or s.buyer,
        base or s.w.m.buyback_vault(SLUG),
        quote or pump_sol.buyer_wsol(s.buyer),
        spendable,
        min_out,
    )


def _with_buy(s: SolWorld, program: Pubkey, data: bytes, accounts: object) -> Instruction:
    legs = s.legs(AMOUNT, 1)
    legs.update(buy_program=program, buy_data=data, buy_accounts=accounts)
    return s.w.m.buyback_sol(
        s.w.crank.pubkey(),
        SLUG,
        amount_in=AMOUNT,
        min_out=1,
        **legs,  # type: ignore[arg-type]
    )


def _evil(s: SolWorld, calls: list[Call]) -> Instruction:
    assert s.w.evil is not None
    data, accounts = evil_script(calls)
    return _with_buy(s, s.w.evil, data, accounts)


def _direct(s: SolWorld, buy: Instruction) -> Instruction:
    return _with_buy(s, AMM_ID, bytes(buy.data), pump_sol.as_cpi_accounts(buy))


def test_control_an_honest_pumpswap_buy_through_the_evil_router(
    graduated: tuple[SolWorld, pump_swap.SwapMarket],
) -> None:
    s, amm = graduated
    tokens = s.w.balance(s.w.m.buyback_vault(SLUG))
    s.w.c.send([_evil(s, [Call.of(_buy(s, amm, s.sol_out(AMOUNT)))])], [s.w.crank])
    assert s.w.balance(s.w.m.buyback_vault(SLUG)) > tokens
    assert s.w.c.lamports(s.buyer) >= pump_sol.BUYER_FLOOR


def test_a_buy_leg_closing_the_wsol_account_into_the_attacker(
    graduated: tuple[SolWorld, pump_swap.SwapMarket],
) -> None:
    """Closing the WSOL account elsewhere would take its rent out of the buyer's floor: the
    program's own close after the buy then fails, and the whole buyback with it."""
    s, amm = graduated
    wsol = pump_sol.buyer_wsol(s.buyer)
    half = s.sol_out(AMOUNT) // 2
    steal = Call.of(tk_close(TOKEN_PROGRAM_ID, wsol, s.w.attacker.pubkey(), s.buyer))
    ix = _evil(s, [Call.of(_buy(s, amm, half)), steal])
    assert_aborted(s.w.c, [ix], [s.w.crank], "InvalidAccountData", watch=_watch(s))


def test_a_buy_leg_taking_the_wsol_account_over(
    graduated: tuple[SolWorld, pump_swap.SwapMarket],
) -> None:
    s, amm = graduated
    wsol = pump_sol.buyer_wsol(s.buyer)
    half = s.sol_out(AMOUNT) // 2
    take = Call.of(tk_set_authority(TOKEN_PROGRAM_ID, wsol, s.buyer, 2, s.w.attacker.pubkey()))
    ix = _evil(s, [Call.of(_buy(s, amm, half)), take])
    assert_rejected(
        s.w.c, [ix], [s.w.crank], TOKEN_OWNER_MISMATCH, watch=_watch(s), program=TOKEN_PROGRAM_ID
    )


def test_a_foreign_user_is_not_signed_for(
    graduated: tuple[SolWorld, pump_swap.SwapMarket],
) -> None:
    """The buy leg gets the buyer's signature only: another model's buyer (or the model PDA)
    as PumpSwap's `user` cannot pay."""
    s, amm = graduated
    other = pump_sol.buyer_address(s.w.model("alpha"))
    s.w.c.svm.airdrop(other, pump_sol.BUYER_FLOOR)
    for user in (other, s.w.model(SLUG)):
        buy = _buy(s, amm, s.sol_out(AMOUNT), user=user)
        assert_rejected(
            s.w.c,
            [_direct(s, buy)],
            [s.w.crank],
            ANCHOR_NOT_SIGNER,
            watch=_watch(s),
            program=AMM_ID,
        )


def test_another_wsol_account_as_the_quote_account(
    graduated: tuple[SolWorld, pump_swap.SwapMarket],
) -> None:
    """A buy naming a WSOL account other than the buyer's: the buyer's WSOL is unwrapped
    before the buy, and PumpSwap refuses a quote account the user does not own."""
    s, amm = graduated
    theirs = s.w.c.ata(s.w.attacker.pubkey(), WRAPPED_SOL_MINT)
    buy = _buy(s, amm, s.sol_out(AMOUNT), quote=theirs)
    assert_rejected(
        s.w.c, [_direct(s, buy)], [s.w.crank], ANCHOR_TOKEN_OWNER, watch=_watch(s), program=AMM_ID
    )


def test_tokens_sent_elsewhere(graduated: tuple[SolWorld, pump_swap.SwapMarket]) -> None:
    s, amm = graduated
    theirs = s.w.c.ata(s.w.attacker.pubkey(), s.market.mint)
    buy = _buy(s, amm, s.sol_out(AMOUNT), base=theirs)
    assert_rejected(s.w.c, [_direct(s, buy)], [s.w.crank], "SlippageExceeded", watch=_watch(s))
