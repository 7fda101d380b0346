"""The batch money rule: a batch is split once on its total and its per-call attributions
(bourse_chain.money.attribute) sum to that split exactly, for any batch (hypothesis: 1..5,000
calls of 1..10^12 micro-USDC, any fees within the hard caps); and the program's settle_batch
pays exactly money.batch_split, checked on LiteSVM over random batches."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bourse_chain import merkle
from bourse_chain.generated.compute_market.accounts import Config, Model
from bourse_chain.generated.compute_market.constants import (
    HARD_MAX_MODEL_FEE_BPS,
    HARD_MAX_PROTOCOL_FEE_BPS,
)
from bourse_chain.generated.compute_market.events import BatchSettled
from bourse_chain.market import payment_id_bytes
from bourse_chain.money import Parts, attribute, batch_split, expected_split
from tests.security.kit import World

amounts_st = st.lists(st.integers(1, 10**12), min_size=1, max_size=5_000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    amounts=amounts_st,
    protocol_bps=st.integers(0, HARD_MAX_PROTOCOL_FEE_BPS),
    creator_bps=st.integers(0, HARD_MAX_MODEL_FEE_BPS),
)
def test_attributions_sum_to_the_batch_split(
    amounts: list[int], protocol_bps: int, creator_bps: int
) -> None:
    total = sum(amounts)
    split = batch_split(amounts, protocol_bps, creator_bps)
    assert split == expected_split(total, protocol_bps, creator_bps)
    assert split.provider + split.creator + split.protocol == total
    shares = attribute(amounts, split)
    assert len(shares) == len(amounts)
    for amount, share in zip(amounts, shares, strict=True):
        assert min(share) >= 0
        assert sum(share) == amount
    assert Parts(*(sum(col) for col in zip(*shares, strict=True))) == split


def test_rounding_rule_at_gross_one() -> None:
    """The documented rule: protocol first (rounded up), creator capped by what is left."""
    assert expected_split(1, 100, 500) == Parts(provider=0, creator=0, protocol=1)
    assert expected_split(1, 0, 500) == Parts(provider=0, creator=1, protocol=0)
    # 100 payments of 1 each pay the protocol 100; one batch of 100 pays 94 / 5 / 1
    assert batch_split([1] * 100, 100, 500) == Parts(94, 5, 1)


@pytest.fixture(scope="module")
def w() -> World:
    return World()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(amounts=st.lists(st.integers(1, 10**9), min_size=1, max_size=300))
def test_program_pays_the_reference_split(w: World, amounts: list[int]) -> None:
    total = sum(amounts)
    w.c.fund_usdc(w.settler.pubkey(), total)
    ids = [payment_id_bytes(f"prop:{w.next_payment_id().hex()}:{i}") for i in range(len(amounts))]
    root = merkle.root(merkle.leaves(list(zip(ids, amounts, strict=True))))
    ix = w.m.settle_batch(
        w.settler.pubkey(),
        model=w.m.model("alpha"),
        provider=w.m.provider(w.provider.pubkey()),
        provider_payout=w.payout(w.provider),
        revenue_vault=w.m.revenue_vault("alpha"),
        sequence=w.next_sequence("alpha"),
        count=len(amounts),
        total=total,
        root=root,
        source=w.usdc(w.settler),
        source_authority=w.settler.pubkey(),
    )
    before = {a: w.balance(a) for a in (w.payout(w.provider), w.m.revenue_vault("alpha"))}
    meta = w.c.send([ix], [w.settler])
    (event,) = [e for e in w.c.events(meta) if isinstance(e, BatchSettled)]
    cfg = Config.decode(w.c.data(w.m.config))  # type: ignore[arg-type]
    model = Model.decode(w.c.data(w.m.model("alpha")))  # type: ignore[arg-type]
    expected = batch_split(amounts, cfg.protocol_fee_bps, model.fee_bps)
    paid = Parts(event.provider_amount, event.creator_fee, event.protocol_fee)
    assert paid == expected
    assert bytes(event.root) == root and event.count == len(amounts)
    assert w.balance(w.payout(w.provider)) - before[w.payout(w.provider)] == expected.provider
    assert w.balance(w.m.revenue_vault("alpha")) - before[w.m.revenue_vault("alpha")] == (
        expected.creator
    )
