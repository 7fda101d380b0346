"""Class 11 — arithmetic: u64 overflow in prices x tokens and in the running totals, fee bps
above the caps, zero and maximum amounts, and rounding dust. Properties (hypothesis, on
chain): every split sums exactly to its gross; the protocol fee is never below its exact
share and the provider's part never above its own, so splitting a payment into many tiny
settlements lets no one avoid fees or mint value."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bourse_chain.generated.compute_market.accounts import Order
from bourse_chain.generated.compute_market.accounts.model import OFFSETS as MODEL_OFFSETS
from bourse_chain.generated.compute_market.accounts.provider import OFFSETS as PROVIDER_OFFSETS
from bourse_chain.generated.compute_market.constants import (
    HARD_MAX_MODEL_FEE_BPS,
    HARD_MAX_PROTOCOL_FEE_BPS,
)
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.money import ceil_div
from bourse_ops.sandbox.svm_chain import Market, new_chain
from tests.security.kit import (
    TOKEN_INSUFFICIENT_FUNDS,
    TOKEN_PROGRAM_ID,
    USDC,
    World,
    assert_rejected,
    rewrite,
    tk_transfer_checked,
    with_data,
)

U64_MAX = 2**64 - 1
BPS = 10_000
HARD_MAX_PROTOCOL, HARD_MAX_MODEL = HARD_MAX_PROTOCOL_FEE_BPS, HARD_MAX_MODEL_FEE_BPS


@pytest.fixture(scope="module")
def w() -> World:
    return World()


# -- overflow --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_in", "max_out"), [(0, U64_MAX), (U64_MAX, U64_MAX)])
def test_hold_overflow(w: World, max_in: int, max_out: int) -> None:
    """1.10 USDC per million output tokens x u64::MAX tokens does not fit in a u64."""
    ix, _ = w.open_ix(max_in=max_in, max_out=max_out)
    assert_rejected(w.c, [ix], [w.payer], "ArithmeticOverflow", watch=[w.m.escrow_vault])


def test_huge_but_representable_hold(w: World) -> None:
    """0.27 USDC per million x u64::MAX input tokens fits (about 5e18): the hold is computed
    exactly and the token program refuses the transfer the payer cannot fund."""
    ix, _ = w.open_ix(max_in=U64_MAX, max_out=0)
    assert_rejected(
        w.c,
        [ix],
        [w.payer],
        TOKEN_INSUFFICIENT_FUNDS,
        program=TOKEN_PROGRAM_ID,
        watch=[w.m.escrow_vault],
    )


def test_hold_overflow_from_prices(w: World) -> None:
    """An offer at u64::MAX per million tokens: one million of each side overflows the sum."""
    w.c.send([w.m.upsert_offer(w.provider2.pubkey(), "plain", U64_MAX, U64_MAX)], [w.provider2])
    ix, _ = w.open_ix(slug="plain", provider=w.provider2, max_in=1_000_000, max_out=1_000_000)
    assert_rejected(w.c, [ix], [w.payer], "ArithmeticOverflow", watch=[w.m.escrow_vault])


@pytest.mark.parametrize(
    ("account", "field", "build"),
    [
        ("model", "total_volume", "payment"),
        ("provider", "total_earned", "payment"),
        ("model", "total_volume", "settle"),
        ("model", "tokens_burned", "burn"),
        ("model", "usdc_spent", "buyback"),
    ],
)
def test_running_total_overflow(w: World, account: str, field: str, build: str) -> None:
    """A total at u64::MAX (written directly): the next credit fails, nothing moves."""
    world = World()
    m = world.m
    address = m.model("alpha") if account == "model" else m.provider(world.provider.pubkey())
    offset = (MODEL_OFFSETS if account == "model" else PROVIDER_OFFSETS)[field]
    if build == "burn":
        world.give_tokens("alpha", world.attacker, 10)
        src = world.c.ata(world.attacker.pubkey(), world.mints["alpha"])
        world.c.send(
            [
                tk_transfer_checked(
                    TOKEN_PROGRAM_ID,
                    src,
                    world.mints["alpha"],
                    m.buyback_vault("alpha"),
                    world.attacker.pubkey(),
                    10,
                )
            ],
            [world.attacker],
        )
    rewrite(world.c, address, offset, U64_MAX.to_bytes(8, "little"))
    if build == "payment":
        world.c.fund_usdc(world.settler.pubkey(), 1 * USDC)
        ix, signers = world.payment_ix("alpha", 1 * USDC), [world.settler]
    elif build == "settle":
        ix, signers = world.settle_ix(world.open()), [world.settler]
    elif build == "burn":
        ix, signers = world.burn_ix("alpha"), [world.crank]
    else:
        ix, signers = world.buyback_ix("alpha", 1 * USDC, 1), [world.crank]
    assert_rejected(world.c, [ix], signers, "ArithmeticOverflow", watch=[m.escrow_vault])


def test_usage_beyond_u64_is_capped_at_the_hold(w: World) -> None:
    """A settler reporting absurd usage charges the hold, never more (no overflow path)."""
    o = w.open()
    before = w.balance(w.usdc(o.payer))
    w.c.send([w.settle_ix(o, U64_MAX, U64_MAX)], [w.settler])
    assert w.balance(w.usdc(o.payer)) == before  # no refund: gross == hold


# -- zero amounts ----------------------------------------------------------------------------------


def test_zero_payment(w: World) -> None:
    assert_rejected(w.c, [w.payment_ix("alpha", 0)], [w.settler], "ZeroAmount")


def test_zero_hold(w: World) -> None:
    ix, _ = w.open_ix(max_in=0, max_out=0)
    assert_rejected(w.c, [ix], [w.payer], "ZeroAmount")


def test_zero_price_offer_cannot_open_orders(w: World) -> None:
    w.c.send([w.m.upsert_offer(w.provider2.pubkey(), "beta", 0, 0)], [w.provider2])
    ix, _ = w.open_ix(slug="beta", provider=w.provider2)
    assert_rejected(w.c, [ix], [w.payer], "ZeroAmount")


def test_zero_buyback(w: World) -> None:
    assert_rejected(w.c, [w.buyback_ix("alpha", 0, 1)], [w.crank], "ZeroAmount")


def test_zero_usage_refunds_everything(w: World) -> None:
    o = w.open()
    before = w.balance(w.usdc(o.payer))
    w.c.send([w.settle_ix(o, 0, 0)], [w.settler])
    assert w.balance(w.usdc(o.payer)) == before + o.hold


# -- fee caps ------------------------------------------------------------------------------------


def test_protocol_fee_above_its_cap(w: World) -> None:
    ix = w.m.update_config(w.admin.pubkey(), protocol_fee_bps=501)  # cap 500
    assert_rejected(w.c, [ix], [w.admin], "FeeAboveCap")


def test_model_fee_above_its_cap(w: World) -> None:
    ix = w.m.register_model(w.creator.pubkey(), "greedy", 3_001)  # cap 3,000
    assert_rejected(w.c, [ix], [w.creator], "FeeAboveCap")


def test_fees_at_their_caps_are_accepted(w: World) -> None:
    w.c.send([w.m.register_model(w.creator.pubkey(), "at-cap", 3_000)], [w.creator])
    w.c.send([w.m.update_config(w.admin.pubkey(), protocol_fee_bps=500)], [w.admin])
    w.c.send([w.m.update_config(w.admin.pubkey(), protocol_fee_bps=100)], [w.admin])


@pytest.mark.parametrize(
    ("protocol", "max_protocol", "max_model"),
    [
        (0, HARD_MAX_PROTOCOL + 1, 0),
        (0, 0, HARD_MAX_MODEL + 1),
        (101, 100, 0),
        (0xFFFF, 0xFFFF, 0xFFFF),
    ],
)
def test_initialize_config_caps(protocol: int, max_protocol: int, max_model: int) -> None:
    """The caps themselves are bounded by the program's hard maxima (20% / 50%)."""
    c = new_chain()
    m = Market(usdc_mint=c.usdc_mint, treasury_authority=c.admin.pubkey())
    ix = m.initialize_config(
        c.admin.pubkey(),
        c.admin.pubkey(),
        c.admin.pubkey(),
        protocol_fee_bps=protocol,
        max_protocol_fee_bps=max_protocol,
        max_model_fee_bps=max_model,
    )
    assert_rejected(c, [ix], [c.admin], "FeeAboveCap", watch=[m.config, m.escrow_vault])


# -- the largest payment ---------------------------------------------------------------------------


def test_largest_payment_splits_exactly() -> None:
    """A payment of every micro-USDC the mint can still issue (close to u64::MAX) at the
    hard fee maxima: the 128-bit fee math splits it exactly."""
    world = World(
        protocol_fee_bps=HARD_MAX_PROTOCOL,
        max_protocol_fee_bps=HARD_MAX_PROTOCOL,
        max_model_fee_bps=HARD_MAX_MODEL,
    )
    c, m = world.c, world.m
    world.register("max", HARD_MAX_MODEL, world.creator, approve=True)
    amount = U64_MAX - c.mint_supply(c.usdc_mint)
    c.fund_usdc(world.settler.pubkey(), amount)
    payout, vault = world.payout(world.provider), m.revenue_vault("max")
    before = {a: world.balance(a) for a in (payout, vault, m.treasury)}
    c.send([world.payment_ix("max", amount)], [world.settler])
    got = {a: world.balance(a) - before[a] for a in before}
    protocol = ceil_div(amount * HARD_MAX_PROTOCOL, BPS)
    creator = min(ceil_div(amount * HARD_MAX_MODEL, BPS), amount - protocol)
    assert got == {payout: amount - protocol - creator, vault: creator, m.treasury: protocol}


# -- properties ------------------------------------------------------------------------------------


@dataclass
class FeeWorld:
    w: World
    slugs: dict[int, str] = field(default_factory=dict)

    def model_with_fee(self, fee_bps: int) -> str:
        if fee_bps not in self.slugs:
            slug = f"fee-{fee_bps}"
            self.w.register(slug, fee_bps, self.w.creator, approve=True)
            self.slugs[fee_bps] = slug
        return self.slugs[fee_bps]

    def set_protocol_fee(self, bps: int) -> None:
        self.w.c.send(
            [self.w.m.update_config(self.w.admin.pubkey(), protocol_fee_bps=bps)], [self.w.admin]
        )

    def settle(self, slug: str, amount: int) -> tuple[int, int, int]:
        """Settle `amount`; return what provider, creator vault and treasury received."""
        w, m = self.w, self.w.m
        accounts = (w.payout(w.provider), m.revenue_vault(slug), m.treasury)
        before = [w.balance(a) for a in accounts]
        source_before = w.balance(w.usdc(w.settler))
        w.c.send([w.payment_ix(slug, amount)], [w.settler])
        got = [w.balance(a) - b for a, b in zip(accounts, before, strict=True)]
        assert source_before - w.balance(w.usdc(w.settler)) == amount
        return got[0], got[1], got[2]


@pytest.fixture(scope="module")
def fw() -> FeeWorld:
    world = World(max_protocol_fee_bps=HARD_MAX_PROTOCOL, max_model_fee_bps=HARD_MAX_MODEL)
    world.c.fund_usdc(world.settler.pubkey(), 10**15)
    return FeeWorld(world)


def check_split(amount: int, p: int, c: int, provider: int, creator: int, protocol: int) -> None:
    assert provider + creator + protocol == amount  # exact: nothing created, nothing lost
    assert protocol == ceil_div(amount * p, BPS)  # the protocol's share, rounded up
    assert provider * BPS <= amount * (BPS - p - c)  # never above the provider's exact share
    assert creator * BPS >= amount * c or provider == 0  # the creator is short only on dust


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amount=st.one_of(st.integers(1, 1_000), st.integers(1, 10**12)),
    protocol_bps=st.integers(0, HARD_MAX_PROTOCOL),
    model_bps=st.sampled_from([0, 1, 99, 500, 2_999, HARD_MAX_MODEL]),
)
def test_split_is_exact_and_rounds_against_the_payee(
    fw: FeeWorld, amount: int, protocol_bps: int, model_bps: int
) -> None:
    slug = fw.model_with_fee(model_bps)
    fw.set_protocol_fee(protocol_bps)
    provider, creator, protocol = fw.settle(slug, amount)
    check_split(amount, protocol_bps, model_bps, provider, creator, protocol)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pieces=st.lists(st.integers(1, 60), min_size=2, max_size=12),
    protocol_bps=st.sampled_from([1, 100, 500, HARD_MAX_PROTOCOL]),
    model_bps=st.sampled_from([1, 500, HARD_MAX_MODEL]),
)
def test_many_tiny_settlements_avoid_no_fee(
    fw: FeeWorld, pieces: list[int], protocol_bps: int, model_bps: int
) -> None:
    """The same gross settled as dust: the provider still gets no more than its exact
    share of the whole, the protocol no less, and fees together no less than theirs."""
    slug = fw.model_with_fee(model_bps)
    fw.set_protocol_fee(protocol_bps)
    total = [0, 0, 0]
    for g in pieces:
        got = fw.settle(slug, g)
        check_split(g, protocol_bps, model_bps, *got)
        total = [t + x for t, x in zip(total, got, strict=True)]
    gross = sum(pieces)
    provider, creator, protocol = total
    assert provider + creator + protocol == gross
    assert provider <= gross * (BPS - protocol_bps - model_bps) // BPS
    assert protocol >= ceil_div(gross * protocol_bps, BPS)
    assert creator + protocol >= ceil_div(gross * (protocol_bps + model_bps), BPS)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tokens_in=st.integers(0, 200_000), tokens_out=st.integers(0, 100_000))
def test_usage_charge_rounds_up_and_refund_is_exact(
    w: World, tokens_in: int, tokens_out: int
) -> None:
    """settle_order: gross = min(hold, ceil(in x price) + ceil(out x price)); gross + refund
    = hold exactly; a call is never charged below its exact price."""
    o = w.open(max_in=100_000, max_out=50_000)
    order = Order.decode(w.c.data(o.address))  # type: ignore[arg-type]
    m = w.m
    accounts = [
        w.usdc(o.payer),
        w.payout(o.provider),
        m.revenue_vault("alpha"),
        m.treasury,
        m.escrow_vault,
    ]
    before = [w.balance(a) for a in accounts]
    w.c.send([w.settle_ix(o, tokens_in, tokens_out)], [w.settler])
    refund, provider, creator, protocol, escrow = (
        w.balance(a) - b for a, b in zip(accounts, before, strict=True)
    )
    usage = ceil_div(order.price_input_per_mtok * tokens_in, 10**6) + ceil_div(
        order.price_output_per_mtok * tokens_out, 10**6
    )
    gross = min(order.hold, usage)
    assert escrow == -order.hold
    assert refund == order.hold - gross
    assert provider + creator + protocol == gross
    exact = order.price_input_per_mtok * tokens_in + order.price_output_per_mtok * tokens_out
    assert gross * 10**6 >= exact or gross == order.hold
    check_split(gross, 100, 500, provider, creator, protocol)


def test_status_enum_bounds(w: World) -> None:
    """A status byte outside the enum is malformed data, not a silent cast."""
    ix = w.m.set_model_status(w.admin.pubkey(), "alpha", ModelStatus.APPROVED)
    assert_rejected(
        w.c, [with_data(ix, bytes(ix.data[:8]) + bytes([3]))], [w.admin], "InvalidInstructionData"
    )
