"""buyback_sol under attack: allow-listed legs that misbehave (the evil router, holding the
signature of the one PDA its leg gets), and forged accounts. The buy leg holds the buyer PDA's
signature and never the model PDA's; the swap leg the reverse. Whatever the buy does with the
buyer's SOL, the buyer must end data-less, System-owned and at or above the floor the crank
prepaid (``BuyerDrained``); a failed buyback leaves every account unchanged."""

from __future__ import annotations

import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import (
    AllocateParams,
    AssignParams,
    TransferParams,
    allocate,
    assign,
    transfer,
)
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import get_associated_token_address

from bourse_chain import pools, pump_sol
from tests.security.kit import (
    USDC,
    Call,
    assert_aborted,
    assert_rejected,
    evil_script,
    patch,
    tk_transfer_checked,
)
from tests.security.sol_kit import SLUG, SolWorld, make_world


@pytest.fixture()
def sw(evil_image: bytes) -> SolWorld:
    s = make_world(evil_image)
    s.prepare()
    return s


AMOUNT = 50 * USDC


def _watch(s: SolWorld) -> list[Pubkey]:
    m = s.w.m
    return [m.revenue_vault(SLUG), m.buyback_vault(SLUG), s.buyer, s.w.model(SLUG)]


def _honest_buy(s: SolWorld, spendable: int) -> Call:
    buy = pump_sol.buy_sol_instruction(s.market, s.buyer, s.w.m.buyback_vault(SLUG), spendable, 1)
    return Call.of(buy)


def _with_evil_buy(s: SolWorld, calls: list[Call], min_out: int = 1) -> Instruction:
    """buyback_sol whose buy leg is the evil router running ``calls``."""
    assert s.w.evil is not None
    legs = s.legs(AMOUNT, 1)
    data, accounts = evil_script(calls)
    legs.update(buy_program=s.w.evil, buy_data=data, buy_accounts=accounts)
    return s.w.m.buyback_sol(
        s.w.crank.pubkey(),
        SLUG,
        amount_in=AMOUNT,
        min_out=min_out,
        **legs,  # type: ignore[arg-type]
    )


def _drain(s: SolWorld, lamports: int) -> Call:
    return Call.of(
        transfer(
            TransferParams(from_pubkey=s.buyer, to_pubkey=s.w.attacker.pubkey(), lamports=lamports)
        )
    )


def test_control_an_honest_buy_through_the_evil_router(sw: SolWorld) -> None:
    sol = sw.sol_out(AMOUNT)
    ix = _with_evil_buy(sw, [_honest_buy(sw, sol)])
    sw.w.c.send([ix], [sw.w.crank])
    assert sw.w.balance(sw.w.m.buyback_vault(SLUG)) > 0


def test_a_buy_leg_taking_one_lamport_of_the_prepayment(sw: SolWorld) -> None:
    """The route may spend what the swap brought (here: the buy, then the rest to the
    attacker, a loss bounded like any venue's slippage), never one lamport of the floor."""
    sol = sw.sol_out(AMOUNT)
    half = sol // 2
    q = pump_sol.quote_buy_sol(sw.market, half, sw.creator_vault_lamports())
    leftover = sol - q.spent
    ix = _with_evil_buy(sw, [_honest_buy(sw, half), _drain(sw, leftover + 1)])
    assert_rejected(sw.w.c, [ix], [sw.w.crank], "BuyerDrained", watch=_watch(sw))


def test_a_buy_leg_draining_the_whole_buyer(sw: SolWorld) -> None:
    sol = sw.sol_out(AMOUNT)
    q = pump_sol.quote_buy_sol(sw.market, sol // 2, sw.creator_vault_lamports())
    everything = pump_sol.BUYER_FLOOR + sol - q.spent
    calls = [_honest_buy(sw, sol // 2), _drain(sw, everything)]
    ix = _with_evil_buy(sw, calls)
    assert_rejected(sw.w.c, [ix], [sw.w.crank], "BuyerDrained", watch=_watch(sw))


def test_a_buy_leg_giving_the_buyer_data(sw: SolWorld) -> None:
    """A buyer carrying data could no longer pay through System transfers."""
    sol = sw.sol_out(AMOUNT)
    grow = Call.of(allocate(AllocateParams(pubkey=sw.buyer, space=8)))
    ix = _with_evil_buy(sw, [_honest_buy(sw, sol), grow])
    assert_rejected(sw.w.c, [ix], [sw.w.crank], "BuyerDrained", watch=_watch(sw))


def test_a_buy_leg_handing_the_buyer_to_another_program(sw: SolWorld) -> None:
    assert sw.w.evil is not None
    sol = sw.sol_out(AMOUNT)
    give = Call.of(assign(AssignParams(pubkey=sw.buyer, owner=sw.w.evil)))
    ix = _with_evil_buy(sw, [_honest_buy(sw, sol), give])
    assert_rejected(sw.w.c, [ix], [sw.w.crank], "BuyerDrained", watch=_watch(sw))


def test_the_buy_leg_holds_no_signature_of_the_model_pda(sw: SolWorld) -> None:
    """USDC cannot leave the revenue vault during the buy: the model PDA does not sign it."""
    w = sw.w
    take = Call.of(
        tk_transfer_checked(
            TOKEN_PROGRAM_ID,
            w.m.revenue_vault(SLUG),
            w.c.usdc_mint,
            w.usdc(w.attacker),
            w.model(SLUG),
            1 * USDC,
            6,
        )
    )
    ix = _with_evil_buy(sw, [_honest_buy(sw, sw.sol_out(AMOUNT)), take])
    assert_aborted(w.c, [ix], [w.crank], "PrivilegeEscalation", watch=_watch(sw))


def test_the_swap_leg_holds_no_signature_of_the_buyer(sw: SolWorld) -> None:
    """SOL cannot leave the buyer during the swap: only the model PDA signs it."""
    w = sw.w
    assert w.evil is not None
    legs = sw.legs(AMOUNT, sw.sol_out(AMOUNT))
    swap = pools.swap(
        w.model(SLUG),
        pools.Side(w.c.usdc_mint, TOKEN_PROGRAM_ID, w.m.revenue_vault(SLUG)),
        pools.Side(WRAPPED_SOL_MINT, TOKEN_PROGRAM_ID, pump_sol.buyer_wsol(sw.buyer)),
        AMOUNT,
        1,
    )
    data, accounts = evil_script([Call.of(swap), _drain(sw, pump_sol.BUYER_FLOOR)])
    legs.update(swap_program=w.evil, swap_data=data, swap_accounts=accounts)
    ix = w.m.buyback_sol(
        w.crank.pubkey(),
        SLUG,
        amount_in=AMOUNT,
        min_out=1,
        **legs,  # type: ignore[arg-type]
    )
    assert_aborted(w.c, [ix], [w.crank], "PrivilegeEscalation", watch=_watch(sw))


def test_another_models_buyer(sw: SolWorld) -> None:
    w = sw.w
    other = pump_sol.buyer_address(w.model("alpha"))
    w.c.svm.airdrop(other, pump_sol.BUYER_FLOOR)
    ix = patch(sw.buyback(AMOUNT, sw.sol_out(AMOUNT), 1), "buyer", other)
    assert_rejected(w.c, [ix], [w.crank], "InvalidPda", watch=_watch(sw))


def test_a_wallet_as_buyer(sw: SolWorld) -> None:
    """A foreign `user` (the attacker's wallet, which signs) is not the model's buyer."""
    w = sw.w
    ix = patch(sw.buyback(AMOUNT, sw.sol_out(AMOUNT), 1), "buyer", w.attacker.pubkey(), signer=True)
    assert_rejected(w.c, [ix], [w.crank, w.attacker], "InvalidPda", watch=_watch(sw))


def test_another_wsol_account(sw: SolWorld) -> None:
    w = sw.w
    theirs = get_associated_token_address(w.attacker.pubkey(), WRAPPED_SOL_MINT)
    ix = patch(sw.buyback(AMOUNT, sw.sol_out(AMOUNT), 1), "buyer_wsol", theirs)
    assert_rejected(w.c, [ix], [w.crank], "AccountMismatch", watch=_watch(sw))


def test_another_mint_as_wsol(sw: SolWorld) -> None:
    w = sw.w
    ix = patch(sw.buyback(AMOUNT, sw.sol_out(AMOUNT), 1), "wsol_mint", w.c.usdc_mint)
    assert_rejected(w.c, [ix], [w.crank], "AccountMismatch", watch=_watch(sw))


def test_swap_accounts_beyond_the_route(sw: SolWorld) -> None:
    w = sw.w
    ix = sw.buyback(AMOUNT, sw.sol_out(AMOUNT), 1)
    data = bytearray(ix.data)
    data[8 + 16] = 255  # swap_accounts
    forged = Instruction(ix.program_id, bytes(data), list(ix.accounts))
    assert_rejected(w.c, [forged], [w.crank], "NotEnoughAccounts", watch=_watch(sw))
