"""Tables of the ledger, keys, calls (the settlement outbox) and top-ups.

Amounts are integer micro-USDC (BigInteger). The journal is append-only: every change of a
user's ``available`` / ``held`` is one journal row with the same deltas, so the balances are
always the journal's sums.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "gw_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("available", BigInteger, nullable=False, default=0),
    Column("held", BigInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
)

api_keys = Table(
    "gw_api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(24), nullable=False),
    Column("label", String(128), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

#: Two-phase holds: pending -> posted | voided | expired (TigerBeetle's pending transfers).
holds = Table(
    "gw_holds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("state", String(8), nullable=False),
    Column("posted_amount", BigInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=True),
    Index("gw_holds_pending", "state", "expires_at"),
)

#: Append-only: one row per balance change (deltas of available and held).
journal = Table(
    "gw_journal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("available_delta", BigInteger, nullable=False),
    Column("held_delta", BigInteger, nullable=False),
    Column("hold_id", String(40), nullable=True),
    Column("ref", String(128), nullable=True),
    Column("at", BigInteger, nullable=False),
)

#: Credits from outside (admin grants, Solana Pay top-ups): one row per external id, ever.
credits = Table(
    "gw_credits",
    metadata,
    Column("external_id", String(128), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("at", BigInteger, nullable=False),
)

#: Served calls: the settlement outbox. state: pending -> sending -> settled.
calls = Table(
    "gw_calls",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("hold_id", String(40), nullable=False, unique=True),
    Column("model", String(64), nullable=False),
    Column("provider", String(44), nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("usage_source", String(16), nullable=False),
    Column("gross", BigInteger, nullable=False),
    Column("provider_amount", BigInteger, nullable=False),
    Column("creator_fee", BigInteger, nullable=False),
    Column("protocol_fee", BigInteger, nullable=False),
    Column("state", String(8), nullable=False),
    # 'credits' (rail 1: paid from the gateway's settlement account) | 'x402' (rail 2: paid
    # into the model's x402 inbox, which the program signs for)
    Column("rail", String(8), nullable=False, default="credits", server_default="credits"),
    Column("batch_id", String(40), nullable=True),
    Column("tx_signature", String(100), nullable=True),
    Column("proof", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("settled_at", BigInteger, nullable=True),
    Index("gw_calls_state", "state", "model", "provider", "rail"),
)

#: Settlement batches, recorded before their transaction is sent: (stream, sequence, root) pins
#: the batch, so a worker that died between send and confirm resumes by asking the chain what
#: that sequence holds (never by sending the rows again at another). Its rows are the
#: ``gw_calls`` with this ``batch_id`` and a positive gross, in id order.
#: state: sending -> settled | void (another batch holds the sequence: this one never landed)
batches = Table(
    "gw_batches",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("model", String(64), nullable=False),
    Column("provider", String(44), nullable=False),
    Column("rail", String(8), nullable=False),
    Column("stream", String(44), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("root", String(64), nullable=False),
    Column("count", Integer, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("state", String(8), nullable=False),
    Column("tx_signature", String(100), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("settled_at", BigInteger, nullable=True),
    Index("gw_batches_stream", "stream", "sequence"),
)

#: Solana Pay transfer requests: credited once, by the signature that paid them.
topups = Table(
    "gw_topups",
    metadata,
    Column("reference", String(44), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("recipient", String(44), nullable=False),
    Column("mint", String(44), nullable=False),
    Column("state", String(10), nullable=False),
    Column("signature", String(100), nullable=True, unique=True),
    Column("reason", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("credited_at", BigInteger, nullable=True),
)

#: Leases of singleton jobs (the settlement worker) where no advisory lock exists (SQLite).
leases = Table(
    "gw_leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)
