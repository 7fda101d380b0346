"""The market API's response models (they are what ``/openapi.json`` documents).

Amounts are raw base units, exactly as ``bourse market list -o json`` prints them: USDC in
micro-USDC (6 decimals), model tokens in base units of ``token_decimals``, under the same
names (a model-token amount ``x`` is serialized as ``x_base_units``, as the CLI's JSON names
it; Python code reads the attribute ``x``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MarketModel(BaseModel):
    """One model on the chain: its token, vaults and totals (the fields of
    ``bourse market list -o json``), plus its daily revenue over the chart window."""

    model_config = ConfigDict(frozen=True)

    slug: str = Field(description="The model's slug (its id on the chain and the gateway)")
    address: str = Field(description="The Model account (PDA of the slug)")
    status: str = Field(description="pending | approved | delisted")
    creator: str = Field(description="The creator's wallet")
    fee_bps: int = Field(description="Creator fee on each settled call, basis points")
    metadata_uri: str = Field(description="Creator-supplied metadata URI")
    token_kind: str = Field(description="none | spl | token2022")
    mint: str | None = Field(description="The model token's mint (null before tokenizing)")
    token_program: str | None = Field(description="SPL Token or Token-2022 program id")
    revenue_vault: str = Field(description="USDC revenue vault (creator fees accrue here)")
    buyback_vault: str | None = Field(description="Vault of tokens bought back, to burn")
    vault_balance: int = Field(description="Revenue vault balance, micro-USDC")
    buyback_vault_balance: int = Field(
        serialization_alias="buyback_vault_balance_base_units",
        description="Buyback vault balance, token base units",
    )
    volume: int = Field(description="Gross settled inference volume, micro-USDC")
    creator_fees: int = Field(description="Creator fees settled so far, micro-USDC")
    protocol_fees: int = Field(description="Protocol fees settled so far, micro-USDC")
    provider_payouts: int = Field(description="Paid to providers so far, micro-USDC")
    settlements: int = Field(description="Settled calls: orders, and each call of a batch")
    usdc_spent: int = Field(description="USDC spent on buyback so far, micro-USDC")
    tokens_bought: int = Field(
        serialization_alias="tokens_bought_base_units",
        description="Tokens bought back so far, base units",
    )
    tokens_burned: int = Field(
        serialization_alias="tokens_burned_base_units",
        description="Tokens burned so far, base units",
    )
    supply: int | None = Field(
        serialization_alias="supply_base_units", description="Current token supply, base units"
    )
    token_decimals: int | None = Field(description="Decimals of the model token")
    last_buyback_ts: int = Field(description="Unix time of the last buyback (0: never)")
    created_at: int = Field(description="Unix time the model was registered")
    transfer_fee_bps: int | None = Field(
        description="Token-2022 transfer fee, basis points (null: no transfer fee)"
    )
    transfer_fee_max: int | None = Field(
        description="Token-2022 transfer fee cap per transfer, token base units"
    )
    revenue_days: list[int] = Field(
        description="Gross revenue per UTC day over the chart window (oldest first, aligned "
        "with `MarketSnapshot.dates`), micro-USDC"
    )
    revenue_window: int = Field(description="Sum of `revenue_days`, micro-USDC")


class DayPoint(BaseModel):
    """One UTC day of a chart."""

    date: str = Field(description="ISO date (UTC)")
    revenue: int = Field(description="Gross settled revenue, micro-USDC")
    creator_fees: int = Field(description="Creator fees, micro-USDC")
    usdc_spent: int = Field(description="USDC spent on buyback, micro-USDC")
    tokens_burned: int = Field(
        serialization_alias="tokens_burned_base_units",
        description="Tokens burned, base units (0 market-wide)",
    )
    calls: int = Field(description="Settled calls: orders, and each call of a batch")


class CatalogEntry(BaseModel):
    """A model the gateway routes; shown as a preview card while it has no token."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The gateway's model id (the slug it would be listed under)")
    name: str = Field(description="Display name")
    description: str = Field(default="", description="One line about the model")
    context_length: int | None = Field(default=None, description="Context window, tokens")
    price_input_per_mtok: int | None = Field(
        default=None, description="Cheapest input price, micro-USDC per million tokens"
    )
    price_output_per_mtok: int | None = Field(
        default=None, description="Cheapest output price, micro-USDC per million tokens"
    )


class MarketTotals(BaseModel):
    """Sums over every model."""

    models: int = Field(description="Models on the chain (any status)")
    approved: int = Field(description="Approved models")
    tokenized: int = Field(description="Models with a token")
    volume: int = Field(description="Gross settled volume, micro-USDC")
    settlements: int = Field(description="Settled calls: orders, and each call of a batch")
    creator_fees: int = Field(description="Creator fees, micro-USDC")
    usdc_spent: int = Field(description="USDC spent on buyback, micro-USDC")
    vault_balance: int = Field(description="USDC waiting in revenue vaults, micro-USDC")
    revenue_window: int = Field(description="Revenue over the chart window, micro-USDC")


class MarketSnapshot(BaseModel):
    """The whole market: ``GET /api/market``."""

    chain_time: int = Field(description="The chain's unix time when read")
    refreshed_at: float = Field(description="Server unix time of the read")
    window_days: int = Field(description="Days in the charts")
    dates: list[str] = Field(description="The chart's UTC days, oldest first")
    totals: MarketTotals
    days: list[DayPoint] = Field(description="Market-wide daily figures")
    models: list[MarketModel] = Field(description="Every model, largest volume first")
    catalog: list[CatalogEntry] = Field(description="Routed models without a token yet")
    events_indexed: int = Field(description="Program events held for charts and history")
    stale: bool = Field(
        default=False, description="True when the chain could not be read: the last read"
    )


class HistoryEvent(BaseModel):
    """One program event of a model, with its transaction."""

    signature: str = Field(description="Transaction signature")
    slot: int
    block_time: int | None = Field(description="Unix time of the block")
    event: str = Field(description="OrderSettled, BatchSettled, BuybackExecuted, ...")
    fields: dict[str, object] = Field(description="The event's fields (raw units)")


class ModelDetail(BaseModel):
    """One model: ``GET /api/market/{slug}``."""

    chain_time: int
    window_days: int
    model: MarketModel
    days: list[DayPoint] = Field(description="The model's daily figures, oldest first")
    history: list[HistoryEvent] = Field(description="Its events in the window, newest first")


class TransactionView(BaseModel):
    """One transaction's program events and logs: ``GET /api/market/tx/{signature}``."""

    signature: str
    slot: int
    block_time: int | None
    succeeded: bool
    fee: int = Field(description="Fee paid, lamports")
    events: list[HistoryEvent]
    logs: list[str]
