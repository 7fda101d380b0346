"""The venue interface: Route, the CPI checks, freshness and re-quoting, token decoding."""

from __future__ import annotations

from dataclasses import replace

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from bourse_chain.tx import MAX_TX_ACCOUNT_LOCKS
from cranks.venues import (
    BUYBACK_OWN_ACCOUNTS,
    MAX_REMAINING_ACCOUNTS,
    BuyLeg,
    MalformedResponse,
    QuoteExpired,
    QuoteRequest,
    Route,
    RouteTooLarge,
    UnsupportedRoute,
    Venue,
    VenueError,
    check_cpi_route,
    ensure_fresh,
    min_out_after_slippage,
    requote_if_stale,
    tx_account_locks,
)
from tests.fakes.chain import key

AUTH, SRC, DST = key("model-pda"), key("revenue-vault"), key("buyback-vault")
PROGRAM = key("swap-program")
REQ = QuoteRequest(key("usdc"), key("token"), 1_000, 50, AUTH, SRC, DST)


def route(**kw: object) -> Route:
    base = Route(
        venue="test",
        swap_program=PROGRAM,
        data=b"\x01\x02",
        accounts=(
            AccountMeta(AUTH, is_signer=False, is_writable=False),
            AccountMeta(SRC, is_signer=False, is_writable=True),
            AccountMeta(DST, is_signer=False, is_writable=True),
        ),
        in_amount=1_000,
        expected_out=5_000,
        min_out=4_975,
        price_impact=0.001,
        quoted_at=100.0,
        expires_at=120.0,
        request=REQ,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def meta(k: Pubkey, signer: bool = False, writable: bool = False) -> AccountMeta:
    return AccountMeta(k, is_signer=signer, is_writable=writable)


# --- Route -----------------------------------------------------------------------------------


def test_route_accounts_and_inner_instruction() -> None:
    r = route()
    assert r.remaining_accounts() == list(r.accounts)
    inner = r.swap_instruction()
    assert inner.program_id == PROGRAM and bytes(inner.data) == b"\x01\x02"
    assert [(m.pubkey, m.is_signer) for m in inner.accounts] == [
        (AUTH, True),
        (SRC, False),
        (DST, False),
    ]
    assert r.age(110.0) == 10.0 and not r.is_expired(119.9) and r.is_expired(120.0)


def test_check_cpi_route_accepts_a_good_route() -> None:
    r = route()
    assert check_cpi_route(r) is r


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"setup_instructions": (Instruction(PROGRAM, b"", []),)}, UnsupportedRoute, "setup"),
        ({"cleanup_instructions": (Instruction(PROGRAM, b"", []),)}, UnsupportedRoute, "cleanup"),
        (
            {
                "accounts": (
                    meta(AUTH),
                    meta(SRC, writable=True),
                    meta(DST, writable=True),
                    meta(key("x"), signer=True),
                )
            },
            UnsupportedRoute,
            "signers",
        ),
        (
            {"accounts": (meta(SRC, writable=True), meta(DST, writable=True))},
            UnsupportedRoute,
            "authority",
        ),
        (
            {"accounts": (meta(AUTH), meta(SRC), meta(DST, writable=True))},
            UnsupportedRoute,
            "not writable",
        ),
        ({"accounts": (meta(AUTH), meta(SRC, writable=True))}, UnsupportedRoute, "destination"),
        ({"in_amount": 999}, MalformedResponse, "spends"),
        ({"min_out": 0}, VenueError, "too small"),
        ({"min_out": 5_001}, MalformedResponse, "min_out"),
    ],
)
def test_check_cpi_route_refusals(
    change: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        check_cpi_route(route(**change))


def test_check_cpi_route_counts_accounts() -> None:
    # buyback forwards 128 entries: repeats of one account reach it, one more is refused
    extra = tuple(meta(key("repeated")) for _ in range(MAX_REMAINING_ACCOUNTS - 3))
    ok = route(accounts=route().accounts + extra)
    assert len(check_cpi_route(ok).accounts) == MAX_REMAINING_ACCOUNTS == 128
    with pytest.raises(RouteTooLarge) as err:
        check_cpi_route(route(accounts=(*ok.accounts, meta(key("one-more")))))
    assert (err.value.accounts, err.value.limit) == (129, 128)


def test_check_cpi_route_counts_the_transaction_locks() -> None:
    # the transaction locks 64 distinct accounts at most: the route's (with the swap program)
    # and buyback's own four (crank, config, compute market, ComputeBudget)
    base = route()
    own = len({m.pubkey for m in base.accounts} | {base.swap_program}) + BUYBACK_OWN_ACCOUNTS
    room = MAX_TX_ACCOUNT_LOCKS - own
    ok = route(accounts=base.accounts + tuple(meta(key(f"a{i}")) for i in range(room)))
    assert tx_account_locks(check_cpi_route(ok)) == MAX_TX_ACCOUNT_LOCKS == 64
    with pytest.raises(RouteTooLarge) as err:
        check_cpi_route(route(accounts=(*ok.accounts, meta(key("one-more")))))
    assert (err.value.accounts, err.value.limit) == (65, 64)


# --- buyback_sol routes (a SOL-paired coin's buy leg) ------------------------------------------

WSOL_ACCOUNT, BUYER, BUY = key("buyer-wsol"), key("buyer-pda"), key("pump")


def sol_route(*buy_accounts: AccountMeta) -> Route:
    """USDC -> WSOL into the buyer's account, then a buy leg delivering to DST."""
    leg = (meta(AUTH), meta(SRC, writable=True), meta(WSOL_ACCOUNT, writable=True))
    buy = buy_accounts or (meta(BUYER, writable=True), meta(DST, writable=True))
    return route(accounts=leg, buy_leg=BuyLeg(BUY, b"\x03", tuple(buy)))


def test_a_buy_leg_may_reach_the_destination() -> None:
    r = sol_route()
    assert check_cpi_route(r) is r
    assert tx_account_locks(r) == 7 + BUYBACK_OWN_ACCOUNTS + 6  # both legs, 2 programs, + 6 own


def test_a_buy_leg_is_checked_like_the_swap() -> None:
    with pytest.raises(UnsupportedRoute, match="signers"):
        check_cpi_route(sol_route(meta(BUYER, signer=True), meta(DST, writable=True)))
    with pytest.raises(UnsupportedRoute, match="destination"):
        check_cpi_route(sol_route(meta(BUYER, writable=True)))
    padded = [meta(DST, writable=True)] * (MAX_REMAINING_ACCOUNTS + 1)
    with pytest.raises(RouteTooLarge):
        check_cpi_route(sol_route(*padded))


def test_min_out_after_slippage_rounds_down() -> None:
    assert min_out_after_slippage(10_000, 50) == 9_950
    assert min_out_after_slippage(999, 1) == 998  # 998.9001 -> 998
    assert min_out_after_slippage(1, 0) == 1


def test_quote_request_validation() -> None:
    for bad in (
        {"amount_in": 0},
        {"amount_in": 2**64},
        {"slippage_bps": 10_000},
        {"slippage_bps": -1},
        {"output_mint": REQ.input_mint},
        {"destination": SRC},
    ):
        with pytest.raises(ValueError):
            replace(REQ, **bad)


# --- freshness -------------------------------------------------------------------------------


class CountingVenue:
    def __init__(self, fresh: Route) -> None:
        self.calls: list[QuoteRequest] = []
        self.fresh = fresh

    @property
    def name(self) -> str:
        return "test"

    async def quote(
        self,
        input_mint: Pubkey,
        output_mint: Pubkey,
        amount_in: int,
        slippage_bps: int,
        *,
        authority: Pubkey,
        source: Pubkey,
        destination: Pubkey,
    ) -> Route:
        self.calls.append(
            QuoteRequest(
                input_mint, output_mint, amount_in, slippage_bps, authority, source, destination
            )
        )
        return self.fresh


def test_ensure_fresh() -> None:
    r = route()
    assert ensure_fresh(r, max_age_s=15, now=110.0) is r
    with pytest.raises(QuoteExpired) as err:
        ensure_fresh(r, max_age_s=5, now=110.0)
    assert err.value.age_s == 10.0
    with pytest.raises(QuoteExpired):
        ensure_fresh(r, max_age_s=60, now=121.0)  # past its own expiry


async def test_requote_if_stale() -> None:
    old = route()
    new = route(quoted_at=200.0, expires_at=220.0)
    venue = CountingVenue(new)
    assert isinstance(venue, Venue)
    assert await requote_if_stale(venue, old, max_age_s=15, clock=lambda: 110.0) is old
    assert venue.calls == []
    assert await requote_if_stale(venue, old, max_age_s=15, clock=lambda: 201.0) is new
    assert venue.calls == [REQ]
    # a venue answering with a stale quote is refused, not looped on
    stale = CountingVenue(route())
    with pytest.raises(QuoteExpired):
        await requote_if_stale(stale, old, max_age_s=15, clock=lambda: 201.0)
    assert len(stale.calls) == 1
