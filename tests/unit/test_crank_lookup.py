"""cranks.lookup's pure parts: what a table may hold, the size and locks of a transaction."""

from __future__ import annotations

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from bourse_chain.tx import PACKET_DATA_SIZE
from cranks.lookup import account_locks, compile_probe, fits, loadable_keys, transaction_size
from cranks.sender import writable_keys
from tests.fakes.chain import key

PAYER = key("payer")
PROGRAM = key("program")
SIGNER = key("signer")


def _ix(n: int) -> Instruction:
    metas = [AccountMeta(PAYER, True, True), AccountMeta(SIGNER, True, False)]
    metas += [AccountMeta(key(f"a{i}"), False, i % 2 == 0) for i in range(n)]
    metas += [AccountMeta(PROGRAM, False, False), AccountMeta(key("a0"), False, True)]
    return Instruction(PROGRAM, b"\x01" * 40, metas)


def test_loadable_keys_leave_out_payer_signers_and_invoked_programs() -> None:
    keys = loadable_keys(PAYER, [_ix(3)])
    assert keys == [key("a0"), key("a1"), key("a2")]  # first-use order, each once


def test_a_route_of_56_accounts_needs_a_table_and_fits_with_one() -> None:
    ix = _ix(56)
    assert not fits(PAYER, [ix], [])
    assert transaction_size(compile_probe(PAYER, [ix], [])) > PACKET_DATA_SIZE
    table = AddressLookupTableAccount(key("table"), loadable_keys(PAYER, [ix]))
    msg = compile_probe(PAYER, [ix], [table])
    assert fits(PAYER, [ix], [table])
    # payer, signer, program, ComputeBudget static; the 56 loaded
    assert len(msg.account_keys) == 4
    assert account_locks(msg) == 4 + 56


def test_a_table_missing_keys_leaves_them_static() -> None:
    ix = _ix(56)
    partial = AddressLookupTableAccount(key("table"), loadable_keys(PAYER, [ix])[:10])
    msg = compile_probe(PAYER, [ix], [partial])
    assert len(msg.account_keys) == 4 + 46
    assert account_locks(msg) == 60
    assert not fits(PAYER, [ix], [partial])


def test_unknown_table_keys_do_not_count() -> None:
    ix = _ix(2)
    table = AddressLookupTableAccount(key("table"), [Pubkey.new_unique() for _ in range(5)])
    assert account_locks(compile_probe(PAYER, [ix], [table])) == 6


def test_the_journal_sees_writable_accounts_loaded_from_a_table() -> None:
    # a crash-safe journal must mark a model PDA busy even when the table carries it
    ix = _ix(56)
    table = AddressLookupTableAccount(key("table"), loadable_keys(PAYER, [ix]))
    msg = compile_probe(PAYER, [ix], [table])
    writable_in_ix = {m.pubkey for m in ix.accounts if m.is_writable}
    static = set(writable_keys(msg))
    assert static == {PAYER}
    full = writable_keys(msg, {table.key: list(table.addresses)})
    assert set(full) == writable_in_ix and len(full) == len(writable_in_ix)
