"""``jsonParsed`` transactions (``UiParsedMessage``), as getTransaction / getBlock answer when
a client asks for them (web3.js ``getParsedTransaction``, explorers).

Account keys carry ``writable`` / ``signer`` / ``source``; instructions are given
partially decoded (``programId``, ``accounts``, base58 ``data``): agave additionally parses
the instructions of the programs it knows (System, SPL Token, ...) into ``parsed``; both forms
are valid members of the same union in every client.
"""

from __future__ import annotations

from collections.abc import Sequence

from solders.pubkey import Pubkey
from solders.transaction_metadata import InnerInstruction

from localnet.b58 import b58encode
from localnet.chain import writable_static
from localnet.records import TxRecord
from localnet.wire import Json


def parsed_account_keys(record: TxRecord) -> list[Json]:
    message = record.transaction.message
    signed = message.header.num_required_signatures
    keys: list[Json] = [
        {
            "pubkey": str(key),
            "writable": writable_static(message, i),
            "signer": i < signed,
            "source": "transaction",
        }
        for i, key in enumerate(message.account_keys)
    ]
    for loaded, writable in ((record.loaded_writable, True), (record.loaded_readonly, False)):
        keys += [
            {"pubkey": str(k), "writable": writable, "signer": False, "source": "lookupTable"}
            for k in loaded
        ]
    return keys


def _partially_decoded(
    keys: Sequence[Pubkey], program_index: int, accounts: bytes, data: bytes, stack: int | None
) -> Json:
    return {
        "programId": str(keys[program_index]),
        "accounts": [str(keys[i]) for i in accounts],
        "data": b58encode(data),
        "stackHeight": stack,
    }


def parsed_transaction_json(record: TxRecord) -> Json:
    tx = record.transaction
    message = tx.message
    keys = record.account_keys
    out: dict[str, Json] = {
        "accountKeys": parsed_account_keys(record),
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [
            _partially_decoded(keys, ix.program_id_index, bytes(ix.accounts), bytes(ix.data), None)
            for ix in message.instructions
        ],
    }
    lookups = getattr(message, "address_table_lookups", None)
    if lookups is not None:
        out["addressTableLookups"] = [
            {
                "accountKey": str(lk.account_key),
                "writableIndexes": list(bytes(lk.writable_indexes)),
                "readonlyIndexes": list(bytes(lk.readonly_indexes)),
            }
            for lk in lookups
        ]
    return {"signatures": [str(s) for s in tx.signatures], "message": out}


def parsed_inner_instructions_json(
    keys: Sequence[Pubkey], inner: Sequence[Sequence[InnerInstruction]]
) -> Json:
    return [
        {
            "index": index,
            "instructions": [
                _partially_decoded(
                    keys,
                    ii.instruction().program_id_index,
                    bytes(ii.instruction().accounts),
                    bytes(ii.instruction().data),
                    ii.stack_height(),
                )
                for ii in group
            ],
        }
        for index, group in enumerate(inner)
        if group
    ]
