"""Every JSON-RPC method of the embedded localnet, driven through solana-py's AsyncClient
(whose solders parsers reject any shape that differs from the real RPC), plus raw requests
where solana-py has no wrapper or where the exact wire JSON matters."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Processed
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.sysvar import CLOCK
from solders.transaction import VersionedTransaction
from solders.transaction_status import (
    InstructionErrorCustom,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
)

from localnet import Localnet, elf

SOL = 10**9


async def raw(net: Localnet, method: str, params: list[Any] | None = None) -> dict[str, Any]:
    """The whole JSON-RPC response document (result or error)."""
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or []}
    async with (
        aiohttp.ClientSession() as session,
        session.post(net.rpc_url, json=body) as resp,
    ):
        doc: dict[str, Any] = await resp.json()
        return doc


async def is_valid(net: Localnet, blockhash: Hash) -> bool:
    reply = await raw(net, "isBlockhashValid", [str(blockhash), {"commitment": "processed"}])
    value: bool = reply["result"]["value"]
    return value


def pay(src: Keypair, dst: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=src.pubkey(), to_pubkey=dst, lamports=lamports))


@pytest.fixture(scope="module")
def custom_error_program(localnet: Localnet) -> Pubkey:
    """A program that always fails with Custom(6003), deployed through the real loader."""
    return localnet.deploy_program(Keypair(), elf.failing_program(6003))


@pytest.fixture(scope="module")
def log_program(localnet: Localnet) -> Pubkey:
    return localnet.deploy_program(Keypair(), elf.log_program("hello from localnet"))


@pytest.fixture(scope="module")
def return_data_program(localnet: Localnet) -> Pubkey:
    return localnet.deploy_program(Keypair(), elf.return_data_program(b"answer=42"))


# ---------------------------------------------------------------- node and cluster
async def test_health_version_genesis_identity(localnet: Localnet, rpc: AsyncClient) -> None:
    assert await rpc.is_connected()
    assert (await raw(localnet, "getHealth"))["result"] == "ok"
    version = (await rpc.get_version()).value
    assert version.solana_core
    genesis = (await rpc.get_genesis_hash()).value
    assert genesis == localnet.chain.genesis_hash  # type: ignore[union-attr]
    assert (await rpc.get_identity()).value.identity
    async with aiohttp.ClientSession() as session, session.get(f"{localnet.rpc_url}/health") as r:
        assert await r.text() == "ok"


async def test_slots_advance_with_wall_time(rpc: AsyncClient) -> None:
    first = (await rpc.get_slot()).value
    height = (await rpc.get_block_height()).value
    await asyncio.sleep(0.45)
    assert (await rpc.get_slot(Processed)).value > first
    assert (await rpc.get_block_height()).value > height
    info = (await rpc.get_epoch_info()).value
    assert info.slots_in_epoch == 432_000
    assert info.absolute_slot >= first + 1
    assert info.transaction_count is not None and info.transaction_count > 0


async def test_rent_exemption(rpc: AsyncClient) -> None:
    assert (await rpc.get_minimum_balance_for_rent_exemption(0)).value == 890_880
    assert (await rpc.get_minimum_balance_for_rent_exemption(165)).value == 2_039_280


# ---------------------------------------------------------------- airdrop and transfer
async def test_airdrop_then_balance(rpc: AsyncClient) -> None:
    who = Keypair().pubkey()
    sig = (await rpc.request_airdrop(who, 2 * SOL)).value
    await rpc.confirm_transaction(sig, Confirmed, sleep_seconds=0.05)
    assert (await rpc.get_balance(who)).value == 2 * SOL
    # the same airdrop again in the same slot is a distinct transaction
    sig2 = (await rpc.request_airdrop(who, 2 * SOL)).value
    assert sig2 != sig
    assert (await rpc.get_balance(who)).value == 4 * SOL


async def test_system_transfer_lands_with_full_metadata(
    rpc: AsyncClient, send: Any, funded: Keypair
) -> None:
    # Given a funded payer, When it pays a new account
    dest = Keypair().pubkey()
    sig = await send([pay(funded, dest, SOL)], funded)

    # Then the status is confirmed, without error, and becomes finalized as slots pass
    status = (await rpc.get_signature_statuses([sig])).value[0]
    assert status is not None and status.err is None
    assert str(status.confirmation_status) in (
        "TransactionConfirmationStatus.Confirmed",
        "TransactionConfirmationStatus.Finalized",
    )
    for _ in range(100):
        status = (await rpc.get_signature_statuses([sig])).value[0]
        assert status is not None
        if str(status.confirmation_status) == "TransactionConfirmationStatus.Finalized":
            break
        await asyncio.sleep(0.05)
    assert str(status.confirmation_status) == "TransactionConfirmationStatus.Finalized"
    assert status.confirmations is None

    # and getTransaction has fee, balances and logs
    tx = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert tx is not None
    meta = tx.transaction.meta
    assert meta is not None and meta.err is None
    assert meta.fee == 5_000
    assert meta.pre_balances[0] - meta.post_balances[0] == SOL + 5_000
    assert meta.post_balances[1] == SOL
    assert meta.log_messages is not None
    assert meta.log_messages[0] == "Program 11111111111111111111111111111111 invoke [1]"
    assert meta.compute_units_consumed == 150
    assert tx.block_time is not None and tx.slot <= (await rpc.get_slot()).value

    # and the base64 encoding round-trips the exact transaction
    tx64 = (await rpc.get_transaction(sig, "base64", max_supported_transaction_version=0)).value
    assert tx64 is not None
    assert tx64.transaction.transaction.signatures[0] == sig


async def test_send_base58_without_preflight(localnet: Localnet, funded: Keypair) -> None:
    latest = (await raw(localnet, "getLatestBlockhash"))["result"]["value"]
    msg = Message.new_with_blockhash(
        [pay(funded, Keypair().pubkey(), SOL)],
        funded.pubkey(),
        Hash.from_string(latest["blockhash"]),
    )
    tx = VersionedTransaction(msg, [funded])
    from localnet.b58 import b58encode

    reply = await raw(localnet, "sendTransaction", [b58encode(bytes(tx)), {"skipPreflight": True}])
    assert reply["result"] == str(tx.signatures[0])
    statuses = await raw(localnet, "getSignatureStatuses", [[reply["result"]]])
    assert statuses["result"]["value"][0]["status"] == {"Ok": None}


async def test_v0_transaction_needs_max_supported_version(
    rpc: AsyncClient, funded: Keypair
) -> None:
    blockhash = (await rpc.get_latest_blockhash()).value.blockhash
    msg = MessageV0.try_compile(
        funded.pubkey(), [pay(funded, Keypair().pubkey(), SOL)], [], blockhash
    )
    tx = VersionedTransaction(msg, [funded])
    sig = (await rpc.send_transaction(tx)).value
    with pytest.raises(RPCException) as info:
        await rpc.get_transaction(sig)
    assert "maxSupportedTransactionVersion" in str(info.value)
    found = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert found is not None and found.transaction.version == 0


# ---------------------------------------------------------------- errors
async def test_failing_transaction_error_shapes(
    localnet: Localnet,
    rpc: AsyncClient,
    send: Any,
    funded: Keypair,
    custom_error_program: Pubkey,
) -> None:
    ix = Instruction(custom_error_program, b"", [])
    expected = TransactionErrorInstructionError(0, InstructionErrorCustom(6003))

    # With preflight: -32002 and the simulation in data, parsed by solders
    tx = await send.build([ix], funded)
    with pytest.raises(RPCException) as info:
        await rpc.send_transaction(tx)
    failure = info.value.args[0]
    assert isinstance(failure, SendTransactionPreflightFailureMessage)
    assert failure.message == (
        "Transaction simulation failed: Error processing Instruction 0: "
        "custom program error: 0x1773"
    )
    assert failure.data.err == expected
    assert failure.data.logs is not None and failure.data.logs[-1].endswith(
        "failed: custom program error: 0x1773"
    )
    reply = await raw(
        localnet, "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]
    )
    assert reply["error"]["code"] == -32002
    assert reply["error"]["data"]["err"] == {"InstructionError": [0, {"Custom": 6003}]}

    # Without preflight: it lands, the fee is charged, the error is in status and history
    before = (await rpc.get_balance(funded.pubkey())).value
    sig = (await rpc.send_transaction(tx, TxOpts(skip_preflight=True))).value
    status = (await rpc.get_signature_statuses([sig])).value[0]
    assert status is not None and status.err == expected
    assert (await rpc.get_balance(funded.pubkey())).value == before - 5_000
    got = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert got is not None and got.transaction.meta is not None
    assert got.transaction.meta.err == expected
    wire = (await raw(localnet, "getTransaction", [str(sig), {"encoding": "json"}]))["result"]
    assert wire["meta"]["err"] == {"InstructionError": [0, {"Custom": 6003}]}
    assert wire["meta"]["status"] == {"Err": {"InstructionError": [0, {"Custom": 6003}]}}


async def test_already_processed(rpc: AsyncClient, send: Any, funded: Keypair) -> None:
    tx = await send.build([pay(funded, Keypair().pubkey(), SOL)], funded)
    await rpc.send_transaction(tx)
    with pytest.raises(RPCException) as info:
        await rpc.send_transaction(tx)
    assert info.value.args[0].data.err == TransactionErrorFieldless.AlreadyProcessed


async def test_signature_verification_failure(localnet: Localnet, funded: Keypair) -> None:
    latest = (await raw(localnet, "getLatestBlockhash"))["result"]["value"]
    msg = Message.new_with_blockhash(
        [pay(funded, Keypair().pubkey(), SOL)],
        funded.pubkey(),
        Hash.from_string(latest["blockhash"]),
    )
    forged = VersionedTransaction.populate(msg, [Signature.new_unique()])
    encoded = base64.b64encode(bytes(forged)).decode()
    reply = await raw(localnet, "sendTransaction", [encoded, {"encoding": "base64"}])
    assert reply["error"] == {
        "code": -32003,
        "message": "Transaction signature verification failure",
    }
    # skipPreflight: accepted by the RPC, but it never lands
    sig = (
        await raw(
            localnet, "sendTransaction", [encoded, {"encoding": "base64", "skipPreflight": True}]
        )
    )["result"]
    statuses = await raw(localnet, "getSignatureStatuses", [[sig]])
    assert statuses["result"]["value"] == [None]


async def test_unknown_method_and_bad_params(localnet: Localnet) -> None:
    assert (await raw(localnet, "getNothing"))["error"] == {
        "code": -32601,
        "message": "Method not found",
    }
    bad = await raw(localnet, "getBalance", ["not-a-pubkey"])
    assert bad["error"]["code"] == -32602
    assert bad["error"]["message"] == "Invalid param: Invalid"
    missing = await raw(localnet, "getMultipleAccounts", [[str(Pubkey.new_unique())] * 101])
    assert missing["error"] == {"code": -32602, "message": "Too many inputs provided; max 100"}
    future = await raw(
        localnet, "getBalance", [str(Pubkey.new_unique()), {"minContextSlot": 10**12}]
    )
    assert future["error"]["code"] == -32016


async def test_batch_request(localnet: Localnet) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
        {"jsonrpc": "2.0", "id": "two", "method": "getBalance", "params": [str(CLOCK)]},
        {"jsonrpc": "2.0", "id": 3, "method": "noSuchMethod"},
    ]
    async with aiohttp.ClientSession() as session:
        async with session.post(localnet.rpc_url, json=batch) as resp:
            replies = await resp.json()
        async with session.post(localnet.rpc_url, json=[]) as resp:
            empty = await resp.json()
        async with session.post(localnet.rpc_url, data=b"{nope") as resp:
            broken = await resp.json()
    assert [r["id"] for r in replies] == [1, "two", 3]
    assert isinstance(replies[0]["result"], int)
    assert replies[1]["result"]["value"] > 0
    assert replies[2]["error"]["code"] == -32601
    assert empty["error"]["code"] == -32600
    assert broken == {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Parse error"},
        "id": None,
    }


# ---------------------------------------------------------------- blockhashes and time
async def test_blockhash_expiry(localnet: Localnet, rpc: AsyncClient, funded: Keypair) -> None:
    # Given a transaction signed over the current blockhash
    latest = (await rpc.get_latest_blockhash()).value
    height = (await rpc.get_block_height()).value
    assert height < latest.last_valid_block_height <= height + 150
    assert await is_valid(localnet, latest.blockhash)
    msg = Message.new_with_blockhash(
        [pay(funded, Keypair().pubkey(), SOL)], funded.pubkey(), latest.blockhash
    )
    tx = VersionedTransaction(msg, [funded])

    # When every blockhash handed out so far expires
    fresh = (await raw(localnet, "bourse_expireBlockhash"))["result"]
    assert fresh["blockhash"] != str(latest.blockhash)

    # Then it is invalid, preflight says BlockhashNotFound, and without preflight it never lands
    assert not await is_valid(localnet, latest.blockhash)
    with pytest.raises(RPCException) as info:
        await rpc.send_transaction(tx)
    assert info.value.args[0].message == "Transaction simulation failed: Blockhash not found"
    assert info.value.args[0].data.err == TransactionErrorFieldless.BlockhashNotFound
    sig = (await rpc.send_transaction(tx, TxOpts(skip_preflight=True))).value
    assert (await rpc.get_signature_statuses([sig])).value == [None]
    assert (await rpc.get_fee_for_message(msg)).value is None  # type: ignore[arg-type]


async def test_blockhash_expires_after_150_blocks(localnet: Localnet, rpc: AsyncClient) -> None:
    latest = (await rpc.get_latest_blockhash()).value
    await localnet.warp_time(30)  # 75 slots
    assert await is_valid(localnet, latest.blockhash)
    await localnet.warp_time(31)  # 152 slots in all
    assert not await is_valid(localnet, latest.blockhash)
    assert (await rpc.get_block_height()).value > latest.last_valid_block_height


async def test_set_clock_and_warp_time_move_the_clock_sysvar(
    localnet: Localnet, rpc: AsyncClient
) -> None:
    slot = (await rpc.get_slot()).value
    clock = (
        await raw(
            localnet,
            "bourse_setClock",
            [{"unixTimestamp": 2_000_000_000, "slot": slot + 10, "epoch": 7}],
        )
    )["result"]
    assert clock["epoch"] == 7 and clock["slot"] >= slot + 10
    assert clock["unixTimestamp"] >= 2_000_000_000
    data = (await rpc.get_account_info(CLOCK)).value
    assert data is not None
    sysvar_slot = int.from_bytes(bytes(data.data)[0:8], "little")
    epoch = int.from_bytes(bytes(data.data)[16:24], "little")
    unix = int.from_bytes(bytes(data.data)[32:40], "little", signed=True)
    assert sysvar_slot >= slot + 10 and epoch == 7 and 2_000_000_000 <= unix < 2_000_000_005
    after = await localnet.warp_time(3_600)
    assert after["unixTimestamp"] >= 2_000_003_600
    assert (await rpc.get_epoch_info()).value.epoch == 7


# ---------------------------------------------------------------- simulation
async def test_simulate_logs_units_return_data(
    rpc: AsyncClient,
    send: Any,
    funded: Keypair,
    log_program: Pubkey,
    return_data_program: Pubkey,
) -> None:
    tx = await send.build(
        [Instruction(log_program, b"", []), Instruction(return_data_program, b"", [])], funded
    )
    sim = (await rpc.simulate_transaction(tx, sig_verify=True)).value
    assert sim.err is None
    assert sim.logs is not None and "Program log: hello from localnet" in sim.logs
    assert sim.units_consumed == 105 + 105
    assert sim.return_data is not None
    assert sim.return_data.program_id == return_data_program
    assert bytes(sim.return_data.data) == b"answer=42"

    # landed, the same return data is in the transaction's meta
    sig = (await rpc.send_transaction(tx)).value
    got = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert got is not None and got.transaction.meta is not None
    assert got.transaction.meta.return_data is not None
    assert bytes(got.transaction.meta.return_data.data) == b"answer=42"


async def test_simulate_unsigned_with_replaced_blockhash_and_accounts(
    localnet: Localnet, rpc: AsyncClient, funded: Keypair
) -> None:
    dest = Keypair().pubkey()
    stale = Message.new_with_blockhash(
        [pay(funded, dest, 3 * SOL)], funded.pubkey(), Hash.default()
    )
    unsigned = VersionedTransaction.populate(stale, [Signature.default()])
    sim = (
        await rpc.simulate_transaction(
            unsigned, replace_recent_blockhash=True, accounts_addresses=[dest]
        )
    ).value
    assert sim.err is None
    assert sim.replacement_blockhash is not None
    assert sim.accounts is not None and sim.accounts[0] is not None
    assert sim.accounts[0].lamports == 3 * SOL
    assert (await rpc.get_balance(dest)).value == 0  # nothing committed

    # without replacement the default blockhash is unknown; sigVerify rejects the blank signature
    sim2 = (await rpc.simulate_transaction(unsigned)).value
    assert sim2.err == TransactionErrorFieldless.BlockhashNotFound
    encoded = base64.b64encode(bytes(unsigned)).decode()
    both = await raw(
        localnet,
        "simulateTransaction",
        [encoded, {"encoding": "base64", "sigVerify": True, "replaceRecentBlockhash": True}],
    )
    assert both["error"]["message"] == "sigVerify may not be used with replaceRecentBlockhash"


# ---------------------------------------------------------------- accounts
async def test_account_info_and_multiple_accounts(localnet: Localnet, rpc: AsyncClient) -> None:
    admin = localnet.keypairs["admin"].pubkey()
    missing = Pubkey.new_unique()
    info = (await rpc.get_account_info(admin)).value
    assert info is not None and info.lamports > 0
    many = (await rpc.get_multiple_accounts([admin, missing, localnet.usdc_mint])).value
    assert many[0] is not None and many[1] is None and many[2] is not None
    assert len(bytes(many[2].data)) == 82
    # data slices, base58, the real error for base58 over 128 bytes, base64+zstd
    sliced = (
        await raw(
            localnet,
            "getAccountInfo",
            [
                str(localnet.usdc_mint),
                {"encoding": "base64", "dataSlice": {"offset": 44, "length": 1}},
            ],
        )
    )["result"]["value"]
    assert sliced["data"] == [base64.b64encode(b"\x06").decode(), "base64"]
    assert sliced["space"] == 82
    b58 = await raw(localnet, "getAccountInfo", [str(localnet.usdc_mint), {"encoding": "base58"}])
    assert b58["result"]["value"]["data"][1] == "base58"
    program = localnet.program_ids.get("compute_market")
    if program is not None:
        from localnet.loader import programdata_address

        too_big = await raw(localnet, "getAccountInfo", [str(programdata_address(program))])
        assert too_big["error"]["code"] == -32600
    zstd = (await rpc.get_multiple_accounts([localnet.usdc_mint], encoding="base64+zstd")).value
    assert zstd[0] is not None and bytes(zstd[0].data) == bytes(many[2].data)


async def test_program_accounts_filters(localnet: Localnet, rpc: AsyncClient) -> None:
    from solana.rpc.models import DataSliceOpts, MemcmpOpts
    from spl.token.constants import TOKEN_PROGRAM_ID

    owner = localnet.keypairs["creator"].pubkey()
    # dataSize + base58 memcmp on the token account's owner field
    found = (
        await rpc.get_program_accounts(
            TOKEN_PROGRAM_ID,
            encoding="base64",
            filters=[165, MemcmpOpts(offset=32, bytes=str(owner))],
        )
    ).value
    assert [a.pubkey for a in found] == [localnet.usdc_accounts["creator"]]
    # a base64 memcmp on the mint, with a data slice, wrapped in a context
    reply = await raw(
        localnet,
        "getProgramAccounts",
        [
            str(TOKEN_PROGRAM_ID),
            {
                "encoding": "base64",
                "withContext": True,
                "dataSlice": {"offset": 0, "length": 32},
                "filters": [
                    {"dataSize": 165},
                    {
                        "memcmp": {
                            "offset": 0,
                            "bytes": base64.b64encode(bytes(localnet.usdc_mint)).decode(),
                            "encoding": "base64",
                        }
                    },
                ],
            },
        ],
    )
    value = reply["result"]["value"]
    assert reply["result"]["context"]["slot"] > 0
    assert {v["pubkey"] for v in value} >= {str(a) for a in localnet.usdc_accounts.values()}
    assert all(
        base64.b64decode(v["account"]["data"][0]) == bytes(localnet.usdc_mint) for v in value
    )
    sliced = (
        await rpc.get_program_accounts(
            TOKEN_PROGRAM_ID,
            encoding="base64",
            data_slice=DataSliceOpts(offset=64, length=8),
            filters=[165, MemcmpOpts(offset=32, bytes=str(owner))],
        )
    ).value
    assert int.from_bytes(bytes(sliced[0].account.data), "little") >= 1_000_000 * 10**6
    too_many = await raw(
        localnet, "getProgramAccounts", [str(TOKEN_PROGRAM_ID), {"filters": [{"dataSize": 1}] * 5}]
    )
    assert too_many["error"]["message"] == "Too many filters provided; max 4"


async def test_set_account_is_listed(localnet: Localnet, rpc: AsyncClient) -> None:
    key, owner = Pubkey.new_unique(), Pubkey.new_unique()
    await raw(
        localnet,
        "bourse_setAccount",
        [
            str(key),
            {
                "lamports": 5 * SOL,
                "data": [base64.b64encode(b"abcd").decode(), "base64"],
                "owner": str(owner),
            },
        ],
    )
    info = (await rpc.get_account_info(key)).value
    assert info is not None and bytes(info.data) == b"abcd" and info.owner == owner
    listed = (await rpc.get_program_accounts(owner, encoding="base64")).value
    assert [a.pubkey for a in listed] == [key]


# ---------------------------------------------------------------- fees and history
async def test_fee_for_message(rpc: AsyncClient, funded: Keypair) -> None:
    blockhash = (await rpc.get_latest_blockhash()).value.blockhash
    plain = MessageV0.try_compile(
        funded.pubkey(), [pay(funded, Keypair().pubkey(), 1)], [], blockhash
    )
    assert (await rpc.get_fee_for_message(plain)).value == 5_000
    priced = MessageV0.try_compile(
        funded.pubkey(),
        [
            set_compute_unit_limit(10_000),
            set_compute_unit_price(2_500_000),
            pay(funded, Keypair().pubkey(), SOL),
        ],
        [],
        blockhash,
    )
    assert (await rpc.get_fee_for_message(priced)).value == 5_000 + 25_000


async def test_recent_prioritization_fees(rpc: AsyncClient, send: Any, funded: Keypair) -> None:
    hot = Keypair()
    await send([set_compute_unit_price(1_234), pay(funded, hot.pubkey(), SOL)], funded)
    fees = (await rpc.get_recent_prioritization_fees([hot.pubkey()])).value
    assert max(f.prioritization_fee for f in fees) == 1_234
    untouched = (await rpc.get_recent_prioritization_fees([Pubkey.new_unique()])).value
    assert all(f.prioritization_fee <= 1_234 for f in untouched)


async def test_signatures_for_address(rpc: AsyncClient, send: Any, funded: Keypair) -> None:
    dest = Keypair().pubkey()
    sigs = [await send([pay(funded, dest, SOL + i)], funded) for i in range(3)]
    listed = (await rpc.get_signatures_for_address(dest)).value
    assert [s.signature for s in listed] == list(reversed(sigs))
    assert all(s.err is None and s.block_time for s in listed)
    older = (await rpc.get_signatures_for_address(dest, before=sigs[2], limit=1)).value
    assert [s.signature for s in older] == [sigs[1]]
    until = (await rpc.get_signatures_for_address(dest, until=sigs[0])).value
    assert [s.signature for s in until] == [sigs[2], sigs[1]]


async def test_v0_transaction_through_a_lookup_table(
    localnet: Localnet, rpc: AsyncClient, send: Any, funded: Keypair
) -> None:
    from solders.address_lookup_table_account import AddressLookupTableAccount
    from solders.system_program import (
        CreateLookupTableParams,
        ExtendLookupTableParams,
        create_lookup_table,
        extend_lookup_table,
    )

    # Given a lookup table holding two destinations
    dests = [Keypair().pubkey(), Keypair().pubkey()]
    slot = (await rpc.get_slot()).value
    create, table = create_lookup_table(
        CreateLookupTableParams(
            authority_address=funded.pubkey(), payer_address=funded.pubkey(), recent_slot=slot
        )
    )
    extend = extend_lookup_table(
        ExtendLookupTableParams(
            payer_address=funded.pubkey(),
            lookup_table_address=table,
            authority_address=funded.pubkey(),
            new_addresses=dests,
        )
    )
    await send([create, extend], funded)
    await localnet.warp_time(1)  # addresses become usable from the next slot

    # When a v0 transaction pays both through the table
    blockhash = (await rpc.get_latest_blockhash()).value.blockhash
    msg = MessageV0.try_compile(
        funded.pubkey(),
        [pay(funded, d, SOL) for d in dests],
        [AddressLookupTableAccount(table, dests)],
        blockhash,
    )
    sig = (await rpc.send_transaction(VersionedTransaction(msg, [funded]))).value

    # Then the loaded addresses and their balances are in the transaction's meta
    got = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert got is not None and got.transaction.meta is not None
    meta = got.transaction.meta
    assert meta.err is None
    assert meta.loaded_addresses is not None
    assert sorted(map(str, meta.loaded_addresses.writable)) == sorted(map(str, dests))
    assert meta.post_balances[-2:] == [SOL, SOL]
    assert len(meta.post_balances) == len(msg.account_keys) + 2
    for d in dests:
        assert (await rpc.get_signatures_for_address(d)).value[0].signature == sig


@pytest.mark.parametrize(
    "shape",
    ["transfer", "price-no-limit", "memo-price", "limit-price", "two-signers"],
)
async def test_fee_for_message_matches_the_fee_charged(
    rpc: AsyncClient, send: Any, funded: Keypair, shape: str
) -> None:
    from spl.memo.constants import MEMO_PROGRAM_ID

    other = Keypair()
    memo = Instruction(MEMO_PROGRAM_ID, b"fee check", [])
    ixs = {
        "transfer": [pay(funded, Keypair().pubkey(), SOL)],
        "price-no-limit": [set_compute_unit_price(777_777), pay(funded, Keypair().pubkey(), SOL)],
        "memo-price": [set_compute_unit_price(3_000_001), memo],
        "limit-price": [set_compute_unit_limit(50_001), set_compute_unit_price(1_000_003), memo],
        "two-signers": [pay(funded, other.pubkey(), SOL), pay(other, funded.pubkey(), 1)],
    }[shape]
    signers = [other] if shape == "two-signers" else []
    tx = await send.build(ixs, funded, *signers)
    quoted = (await rpc.get_fee_for_message(tx.message)).value
    sig = await send(ixs, funded, *signers)
    got = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert got is not None and got.transaction.meta is not None
    assert quoted == got.transaction.meta.fee


async def test_logs_are_truncated_at_10k_bytes_like_agave(
    rpc: AsyncClient, send: Any, funded: Keypair, log_program: Pubkey
) -> None:
    # 60 log-only instructions write ~14 KB of logs; the runtime keeps 10,000 bytes
    sig = await send([Instruction(log_program, bytes([i]), []) for i in range(60)], funded)
    got = (await rpc.get_transaction(sig, max_supported_transaction_version=0)).value
    assert got is not None and got.transaction.meta is not None
    logs = got.transaction.meta.log_messages or []
    assert logs[-1] == "Log truncated"
    assert sum(len(line) for line in logs[:-1]) <= 10_000
