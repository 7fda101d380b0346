"""What the chain remembers about transactions and simulations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from solders.account import Account
from solders.hash import Hash
from solders.message import MessageV0, MessageV1
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import InnerInstruction
from solders.transaction_status import TransactionErrorType, TransactionReturnData

TransactionVersion = Literal["legacy"] | int


@dataclass(frozen=True)
class TokenBalance:
    account_index: int
    mint: Pubkey
    owner: Pubkey
    program_id: Pubkey
    amount: int
    decimals: int


@dataclass(frozen=True)
class TxRecord:
    """A landed transaction, as getTransaction reports it."""

    signature: Signature
    transaction: VersionedTransaction
    slot: int
    block_time: int
    err: TransactionErrorType | None
    fee: int
    logs: list[str]
    compute_units: int
    inner_instructions: list[list[InnerInstruction]]
    return_data: TransactionReturnData | None
    account_keys: list[Pubkey]
    loaded_writable: list[Pubkey]
    loaded_readonly: list[Pubkey]
    pre_balances: list[int]
    post_balances: list[int]
    pre_token_balances: list[TokenBalance]
    post_token_balances: list[TokenBalance]
    compute_unit_price: int

    @property
    def version(self) -> TransactionVersion:
        message = self.transaction.message
        if isinstance(message, MessageV0):
            return 0
        return 1 if isinstance(message, MessageV1) else "legacy"


@dataclass(frozen=True)
class Submission:
    """What happened to a sent transaction; ``landed`` is False when it left no trace."""

    signature: Signature
    err: TransactionErrorType | None
    landed: bool


@dataclass(frozen=True)
class Simulation:
    err: TransactionErrorType | None
    logs: list[str]
    units_consumed: int
    return_data: TransactionReturnData | None
    inner_instructions: list[list[InnerInstruction]]
    post_accounts: dict[Pubkey, Account]
    account_keys: list[Pubkey]
    loaded_accounts_data_size: int
    replacement_blockhash: tuple[Hash, int] | None
    fee: int
    loaded_writable: list[Pubkey] = field(default_factory=list)
    loaded_readonly: list[Pubkey] = field(default_factory=list)
    pre_balances: list[int] | None = None
    post_balances: list[int] | None = None
    pre_token_balances: list[TokenBalance] | None = None
    post_token_balances: list[TokenBalance] | None = None
