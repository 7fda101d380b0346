"""The chain's change journal (the PubSub feed): ordered, bounded, listeners woken."""

from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey

from localnet.journal import Journal


def _account(lamports: int) -> tuple[tuple[Pubkey, Account], ...]:
    return ((Pubkey.default(), Account(lamports, b"", Pubkey.default(), False, 0)),)


def test_changes_follow_in_order_and_listeners_are_woken() -> None:
    journal = Journal(capacity=10)
    woken: list[int] = []
    journal.add_listener(lambda: woken.append(journal.last_seq))
    assert journal.next_after(0) == (None, 0)
    for n in range(3):
        journal.append(5 + n, None, _account(n))
    assert woken == [1, 2, 3]
    seq, seen = 0, []
    while (change := journal.next_after(seq)[0]) is not None:
        seen.append((change.seq, change.slot, change.accounts[0][1].lamports))
        seq = change.seq
    assert seen == [(1, 5, 0), (2, 6, 1), (3, 7, 2)]


def test_a_reader_too_far_behind_is_told_what_it_lost() -> None:
    journal = Journal(capacity=4)
    for n in range(10):
        journal.append(1, None, _account(n))
    change, lost = journal.next_after(0)
    assert change is not None and change.seq == 7 and lost == 6
    assert journal.next_after(10) == (None, 0)


def test_a_failing_listener_does_not_break_appends() -> None:
    journal = Journal()

    def boom() -> None:
        raise RuntimeError("listener bug")

    journal.add_listener(boom)
    journal.append(1, None, _account(1))
    journal.remove_listener(boom)
    assert journal.last_seq == 1
