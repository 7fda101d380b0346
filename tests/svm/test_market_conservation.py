"""Property: random sequences of open_order / settle_order / cancel_order /
settle_batch never create or lose a micro-USDC. payer + provider + revenue
vaults + treasury + escrow (+ the settler's collection account) is constant,
every split sums to its gross, and the escrow always equals the open holds."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts import Order
from bourse_chain.generated.compute_market.events import BatchSettled, OrderSettled
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_ops.sandbox.svm_chain import BIN, Market, SvmChain, TxFailed, new_chain
from tests.support.batches import pay_one

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists(), reason="programs not built (python -m program.build)"
)

USDC = 1_000_000
SLUGS = ("alpha", "beta")
FEES = {"alpha": 0, "beta": 2_999}


@dataclass
class Market2:
    c: SvmChain
    m: Market
    settler: Keypair
    payers: list[Keypair]
    providers: list[Keypair]
    open_orders: dict[Pubkey, int] = field(default_factory=dict)
    next_nonce: int = 0
    next_payment: int = 0

    def holders(self) -> list[Pubkey]:
        m = self.m
        out = [m.usdc_account(p.pubkey()) for p in self.payers]
        out += [m.usdc_account(p.pubkey()) for p in self.providers]
        out += [m.revenue_vault(s) for s in SLUGS]
        out += [m.treasury, m.escrow_vault, m.usdc_account(self.settler.pubkey())]
        return out

    def total(self) -> int:
        return sum(self.c.token_balance(a) for a in self.holders())


@pytest.fixture(scope="module")
def market() -> Market2:
    c = new_chain()
    settler, crank, treasury = c.new_wallet(), c.new_wallet(), c.new_wallet()
    m = Market(usdc_mint=c.usdc_mint, treasury_authority=treasury.pubkey())
    c.ata(treasury.pubkey(), c.usdc_mint)
    c.send(
        [
            m.initialize_config(
                c.admin.pubkey(), settler.pubkey(), crank.pubkey(), protocol_fee_bps=137
            )
        ],
        [c.admin],
    )
    creator = c.new_wallet()
    providers = [c.new_wallet() for _ in range(2)]
    for p in providers:
        c.ata(p.pubkey(), c.usdc_mint)
        c.send([m.register_provider(p.pubkey(), "p")], [p])
    for s in SLUGS:
        c.send([m.register_model(creator.pubkey(), s, FEES[s])], [creator])
        c.send([m.set_model_status(c.admin.pubkey(), s, ModelStatus.APPROVED)], [c.admin])
        for i, p in enumerate(providers):
            c.send([m.upsert_offer(p.pubkey(), s, 1 + 333_333 * i, 7 + 1_234_567 * i)], [p])
    payers = [c.new_wallet(usdc=1_000_000 * USDC) for _ in range(2)]
    c.fund_usdc(settler.pubkey(), 1_000_000 * USDC)
    return Market2(c, m, settler, payers, providers)


op = st.one_of(
    st.tuples(
        st.just("open"),
        st.integers(0, 1),
        st.sampled_from(SLUGS),
        st.integers(0, 1),
        st.integers(0, 2_000_000),
        st.integers(0, 500_000),
    ),
    st.tuples(
        st.just("settle"), st.integers(0, 50), st.integers(0, 3_000_000), st.integers(0, 900_000)
    ),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("pay"), st.sampled_from(SLUGS), st.integers(0, 1), st.integers(1, 50 * USDC)),
)


def _pick(market: Market2, i: int) -> Pubkey | None:
    if not market.open_orders:
        return None
    keys = sorted(market.open_orders, key=bytes)
    return keys[i % len(keys)]


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op, min_size=1, max_size=12))
def test_value_is_conserved(market: Market2, ops: list[tuple[object, ...]]) -> None:
    c, m = market.c, market.m
    start = market.total()
    for o in ops:
        kind = o[0]
        if kind == "open":
            _, pi, slug, vi, tin, tout = o
            payer, prov = market.payers[_int(pi)], market.providers[_int(vi)]
            nonce = market.next_nonce
            market.next_nonce += 1
            try:
                c.send(
                    [
                        m.open_order(
                            payer.pubkey(), str(slug), prov.pubkey(), nonce, _int(tin), _int(tout)
                        )
                    ],
                    [payer],
                )
            except TxFailed as e:
                assert e.custom_code == 6024  # ZeroAmount (0 tokens)
                continue
            order = m.order(payer.pubkey(), nonce)
            market.open_orders[order] = Order.decode(c.data(order)).hold  # type: ignore[arg-type]
        elif kind == "settle":
            order_addr = _pick(market, _int(o[1]))
            if order_addr is None:
                continue
            od = Order.decode(c.existing_data(order_addr))
            prov = next(p for p in market.providers if m.provider(p.pubkey()) == od.provider)
            slug = next(s for s in SLUGS if m.model(s) == od.model)
            meta = c.send(
                [
                    m.settle_order(
                        market.settler.pubkey(),
                        order=order_addr,
                        payer=od.payer,
                        payer_token=od.payer_token,
                        model=od.model,
                        provider=od.provider,
                        provider_payout=m.usdc_account(prov.pubkey()),
                        revenue_vault=m.revenue_vault(slug),
                        input_tokens=_int(o[2]),
                        output_tokens=_int(o[3]),
                    )
                ],
                [market.settler],
            )
            (ev,) = [e for e in c.events(meta) if isinstance(e, OrderSettled)]
            assert ev.provider_amount + ev.creator_fee + ev.protocol_fee == ev.gross
            assert ev.gross + ev.refund == market.open_orders.pop(order_addr)
        elif kind == "cancel":
            order_addr = _pick(market, _int(o[1]))
            if order_addr is None:
                continue
            od = Order.decode(c.existing_data(order_addr))
            c.send(
                [
                    m.cancel_order(
                        market.settler.pubkey(),
                        order=order_addr,
                        payer=od.payer,
                        payer_token=od.payer_token,
                    )
                ],
                [market.settler],
            )
            market.open_orders.pop(order_addr)
        else:
            _, slug, vi, amount = o
            prov = market.providers[_int(vi)]
            market.next_payment += 1
            meta = c.send(
                [
                    pay_one(
                        c,
                        m,
                        market.settler.pubkey(),
                        slug=str(slug),
                        provider_authority=prov.pubkey(),
                        payment_id=f"pay-{market.next_payment}",
                        amount=_int(amount),
                        source_authority=market.settler.pubkey(),
                    )
                ],
                [market.settler],
            )
            (pv,) = [e for e in c.events(meta) if isinstance(e, BatchSettled)]
            assert pv.provider_amount + pv.creator_fee + pv.protocol_fee == pv.total == amount
            assert pv.protocol_fee >= 1  # fees round up: no payment avoids the protocol fee
        assert c.token_balance(m.escrow_vault) == sum(market.open_orders.values())
        assert market.total() == start
