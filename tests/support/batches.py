"""One-call settle_batch instructions for in-process (LiteSVM) tests: what a test that pays
for one call needs, with the stream's next sequence and the provider's recorded payout read
from the chain. Builds through ``Market.settle_batch`` (the one builder)."""

from __future__ import annotations

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from bourse_chain import merkle
from bourse_chain.generated.compute_market.accounts import Provider, SettlementStream
from bourse_chain.market import Market, payment_id_bytes
from bourse_ops.sandbox.svm_chain import SvmChain


def next_sequence(c: SvmChain, m: Market, model: Pubkey, provider: Pubkey) -> int:
    data = c.data(m.stream(model, provider))
    return SettlementStream.decode(data).next_sequence if data else 0


def pay_one(
    c: SvmChain,
    m: Market,
    settler: Pubkey,
    *,
    slug: str,
    provider_authority: Pubkey,
    payment_id: str | bytes,
    amount: int,
    source_authority: Pubkey,
) -> Instruction:
    """settle_batch of one call of ``amount`` from ``source_authority``'s USDC account."""
    model, provider = m.model(slug), m.provider(provider_authority)
    data = c.data(provider)
    assert data is not None, f"provider {provider_authority} is not registered"
    pid = payment_id_bytes(payment_id)
    return m.settle_batch(
        settler,
        model=model,
        provider=provider,
        provider_payout=Provider.decode(data).payout,
        revenue_vault=m.revenue_vault(slug),
        sequence=next_sequence(c, m, model, provider),
        count=1,
        total=amount,
        root=merkle.root(merkle.leaves([(pid, amount)])),
        source=m.usdc_account(source_authority),
        source_authority=source_authority,
    )
