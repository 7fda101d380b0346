"""Solana JSON-RPC wire shapes (what agave's RPC serializes), built from solders objects.

solders' own ``to_json`` differs from the RPC in places (e.g. instruction errors come out as
``[0, 6003]`` instead of ``{"InstructionError": [0, {"Custom": 6003}]}``), which breaks
clients, so every shape here is written out by hand.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import InnerInstruction
from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    InstructionErrorFieldless,
    InstructionErrorType,
    TransactionErrorDuplicateInstruction,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
    TransactionErrorProgramExecutionTemporarilyRestricted,
    TransactionErrorType,
    TransactionReturnData,
)

from localnet import spl
from localnet.b58 import b58encode

Json = Any

#: The ``Display`` strings of ``TransactionError`` (solana-sdk transaction-error).
_TX_ERROR_TEXT = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "ClusterMaintenance": "Transactions are currently disabled due to cluster maintenance",
    "AccountBorrowOutstanding": (
        "Transaction processing left an account with an outstanding borrowed reference"
    ),
    "WouldExceedMaxBlockCostLimit": "Transaction would exceed max Block Cost Limit",
    "UnsupportedVersion": "Transaction version is unsupported",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "WouldExceedMaxAccountCostLimit": "Transaction would exceed max account limit within the block",
    "WouldExceedAccountDataBlockLimit": (
        "Transaction would exceed account data limit within the block"
    ),
    "TooManyAccountLocks": "Transaction locked too many accounts",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "InvalidAddressLookupTableOwner": (
        "Transaction loads an address table account with an invalid owner"
    ),
    "InvalidAddressLookupTableData": (
        "Transaction loads an address table account with invalid data"
    ),
    "InvalidAddressLookupTableIndex": "Transaction address table lookup uses an invalid index",
    "InvalidRentPayingAccount": (
        "Transaction leaves an account with a lower balance than rent-exempt minimum"
    ),
    "WouldExceedMaxVoteCostLimit": "Transaction would exceed max Vote Cost Limit",
    "WouldExceedAccountDataTotalLimit": "Transaction would exceed total account data limit",
    "MaxLoadedAccountsDataSizeExceeded": "Transaction exceeded max loaded accounts data size cap",
    "InvalidLoadedAccountsDataSizeLimit": (
        "LoadedAccountsDataSizeLimit set for transaction must be greater than 0."
    ),
    "ResanitizationNeeded": "ResanitizationNeeded",
    "UnbalancedTransaction": "Sum of account balances before and after transaction do not match",
    "ProgramCacheHitMaxLimit": "Program cache hit max limit",
    "CommitCancelled": "CommitCancelled",
}

#: The ``Display`` strings of the commonest ``InstructionError``s (solana-sdk instruction-error).
_IX_ERROR_TEXT = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ModifiedProgramId": "instruction illegally modified the program id of an account",
    "ExternalAccountLamportSpend": (
        "instruction spent from the balance of an account it does not own"
    ),
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountNotExecutable": "instruction expected an executable account",
    "InvalidError": "program returned invalid error code",
    "UnsupportedProgramId": "Unsupported program id",
    "CallDepth": "Cross-program invocation call depth too deep",
    "MissingAccount": "An account required by the instruction is missing",
    "ReentrancyNotAllowed": "Cross-program invocation reentrancy not allowed for this instruction",
    "MaxSeedLengthExceeded": "Length of the seed is too long for address generation",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "InvalidRealloc": "Failed to reallocate account data",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "PrivilegeEscalation": "Cross-program invocation with unauthorized signer or writable account",
    "ProgramEnvironmentSetupFailure": "Failed to create program execution environment",
    "ProgramFailedToComplete": "Program failed to complete",
    "ProgramFailedToCompile": "Program failed to compile",
    "Immutable": "Account is immutable",
    "IncorrectAuthority": "Incorrect authority provided",
    "BorshIoError": "Failed to serialize or deserialize account data",
    "AccountNotRentExempt": "An account does not have enough lamports to be rent-exempt",
    "InvalidAccountOwner": "Invalid account owner",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "UnsupportedSysvar": "Unsupported sysvar",
    "IllegalOwner": "Provided owner is not allowed",
    "MaxAccountsDataAllocationsExceeded": (
        "Accounts data allocations exceeded the maximum allowed per transaction"
    ),
    "MaxAccountsExceeded": "Max accounts exceeded",
    "MaxInstructionTraceLengthExceeded": "Max instruction trace length exceeded",
    "BuiltinProgramsMustConsumeComputeUnits": "Builtin programs must consume compute units",
}


def _variant(value: object) -> str:
    """``TransactionErrorFieldless.AccountNotFound`` -> ``AccountNotFound``."""
    return str(value).rsplit(".", 1)[-1]


def instruction_error_json(err: InstructionErrorType) -> Json:
    if isinstance(err, InstructionErrorCustom):
        return {"Custom": err.code}
    if isinstance(err, InstructionErrorBorshIO):
        return {"BorshIoError": err.value}
    return _variant(err)


def transaction_error_json(err: TransactionErrorType | None) -> Json:
    """The RPC's (serde externally tagged) shape of a ``TransactionError``."""
    if err is None:
        return None
    if isinstance(err, TransactionErrorInstructionError):
        return {"InstructionError": [err.index, instruction_error_json(err.err)]}
    if isinstance(err, TransactionErrorDuplicateInstruction):
        return {"DuplicateInstruction": err.index}
    if isinstance(err, TransactionErrorInsufficientFundsForRent):
        return {"InsufficientFundsForRent": {"account_index": err.account_index}}
    if isinstance(err, TransactionErrorProgramExecutionTemporarilyRestricted):
        return {"ProgramExecutionTemporarilyRestricted": {"account_index": err.account_index}}
    return _variant(err)


def instruction_error_text(err: InstructionErrorType) -> str:
    if isinstance(err, InstructionErrorCustom):
        return f"custom program error: {err.code:#x}"
    if isinstance(err, InstructionErrorBorshIO):
        return _IX_ERROR_TEXT["BorshIoError"]
    assert isinstance(err, InstructionErrorFieldless)
    name = _variant(err)
    return _IX_ERROR_TEXT.get(name, name)


def transaction_error_text(err: TransactionErrorType) -> str:
    """``TransactionError``'s ``Display``, as in "Transaction simulation failed: <text>"."""
    if isinstance(err, TransactionErrorInstructionError):
        return f"Error processing Instruction {err.index}: {instruction_error_text(err.err)}"
    if isinstance(err, TransactionErrorDuplicateInstruction):
        return f"Transaction contains a duplicate instruction ({err.index}) that is not allowed"
    if isinstance(err, TransactionErrorInsufficientFundsForRent):
        return (
            f"Transaction results in an account ({err.account_index}) with insufficient "
            "funds for rent"
        )
    if isinstance(err, TransactionErrorProgramExecutionTemporarilyRestricted):
        return (
            "Execution of the program referenced by account at index "
            f"{err.account_index} is temporarily restricted."
        )
    assert isinstance(err, TransactionErrorFieldless)
    name = _variant(err)
    return _TX_ERROR_TEXT.get(name, name)


def status_json(err: TransactionErrorType | None) -> Json:
    """The deprecated ``status`` field: ``{"Ok": null}`` or ``{"Err": <error>}``."""
    return {"Ok": None} if err is None else {"Err": transaction_error_json(err)}


def return_data_json(rd: TransactionReturnData | None) -> Json:
    if rd is None or not bytes(rd.data):
        return None
    return {
        "programId": str(rd.program_id),
        "data": [base64.b64encode(bytes(rd.data)).decode(), "base64"],
    }


def inner_instructions_json(inner: Sequence[Sequence[InnerInstruction]]) -> Json:
    out = []
    for index, group in enumerate(inner):
        if not group:
            continue
        out.append(
            {
                "index": index,
                "instructions": [
                    {
                        "programIdIndex": ii.instruction().program_id_index,
                        "accounts": list(bytes(ii.instruction().accounts)),
                        "data": b58encode(bytes(ii.instruction().data)),
                        "stackHeight": ii.stack_height(),
                    }
                    for ii in group
                ],
            }
        )
    return out


def transaction_json(tx: VersionedTransaction) -> Json:
    """``EncodedTransaction::Json`` (a ``UiTransaction`` with a raw ``UiMessage``)."""
    msg = tx.message
    header = msg.header
    message: dict[str, Json] = {
        "header": {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        },
        "accountKeys": [str(k) for k in msg.account_keys],
        "recentBlockhash": str(msg.recent_blockhash),
        "instructions": [
            {
                "programIdIndex": ix.program_id_index,
                "accounts": list(bytes(ix.accounts)),
                "data": b58encode(bytes(ix.data)),
                "stackHeight": None,
            }
            for ix in msg.instructions
        ],
    }
    lookups = getattr(msg, "address_table_lookups", None)
    if lookups is not None:
        message["addressTableLookups"] = [
            {
                "accountKey": str(lk.account_key),
                "writableIndexes": list(bytes(lk.writable_indexes)),
                "readonlyIndexes": list(bytes(lk.readonly_indexes)),
            }
            for lk in lookups
        ]
    return {"signatures": [str(s) for s in tx.signatures], "message": message}


def token_balance_json(
    account_index: int,
    mint: Pubkey,
    owner: Pubkey,
    program_id: Pubkey,
    amount: int,
    decimals: int,
) -> Json:
    return {
        "accountIndex": account_index,
        "mint": str(mint),
        "owner": str(owner),
        "programId": str(program_id),
        "uiTokenAmount": spl.ui_token_amount(amount, decimals),
    }
