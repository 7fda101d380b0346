"""The x402 payments the gateway has seen (rail 2's replay store), one row per payment id.

A row is inserted when a request claims the payment (before /verify), deleted when the route
released it without attempting settlement, and updated with the settlement's outcome. It is
never deleted after a settlement attempt, so a payment is used at most once, across restarts
and across gateway processes sharing the database. Defined on the schema's ``metadata`` (so
``create_schema`` creates it once this module is imported).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from gateway.db.schema import metadata

x402_payments = Table(
    "gw_x402_payments",
    metadata,
    Column("payment_id", String(64), primary_key=True),  # SHA-256 hex of the signed message
    Column("payer", String(44), nullable=False),
    Column("amount", BigInteger, nullable=False),
    # 'claimed' (verifying / serving) | 'settled' (transaction set) | 'failed' (settle failed
    # or its outcome is unknown: never retried with the same signed transaction)
    Column("state", String(8), nullable=False),
    Column("tx_signature", String(100), nullable=True),
    Column("claimed_at", BigInteger, nullable=False),
    Column("settled_at", BigInteger, nullable=True),
)
