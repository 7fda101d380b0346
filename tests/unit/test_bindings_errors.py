"""Program errors: one class per IDL error, reached from a code, RPC JSON, solders, or logs."""

from __future__ import annotations

import doctest
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey
from solders.transaction_status import (
    InstructionErrorCustom,
    InstructionErrorFieldless,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
)

import bourse_chain.errors as errors_mod
from bourse_chain.codegen.names import pascal
from bourse_chain.errors import (
    BourseError,
    ProgramError,
    TransactionFailed,
    from_code,
    from_logs,
    from_tx_error,
)
from bourse_chain.generated import ERROR_MAPS, compute_market, cp_pool, pump, pump_amm

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = {"compute_market": compute_market, "cp_pool": cp_pool}
CASES = [
    (prog, e)
    for prog in PROGRAMS
    for e in json.loads((ROOT / "idl" / f"{prog}.json").read_text())["errors"]
]
IDS = [f"{prog}.{e['name']}" for prog, e in CASES]
OTHER = Pubkey.from_string("11111111111111111111111111111111")


def _cls(prog: str, e: dict[str, Any]) -> type[ProgramError]:
    cls = getattr(PROGRAMS[prog].errors, pascal(e["name"]))
    assert issubclass(cls, ProgramError)
    return cls  # type: ignore[no-any-return]


def _check(err: BourseError | None, prog: str, e: dict[str, Any]) -> ProgramError:
    assert type(err) is _cls(prog, e)
    assert isinstance(err, ProgramError)
    assert (err.code, err.name, err.msg) == (e["code"], e["name"], e["msg"])
    assert err.program_name == prog
    assert err.program_id == PROGRAMS[prog].PROGRAM_ID
    return err


def _failure_logs(prog_id: Pubkey, code: int, caller: Pubkey | None = None) -> list[str]:
    logs = []
    if caller is not None:
        logs.append(f"Program {caller} invoke [1]")
    depth = 2 if caller else 1
    logs += [
        f"Program {prog_id} invoke [{depth}]",
        "Program log: failing",
        f"Program {prog_id} consumed 1234 of 200000 compute units",
        f"Program {prog_id} failed: custom program error: {code:#x}",
    ]
    if caller is not None:
        logs.append(f"Program {caller} failed: custom program error: {code:#x}")
    return logs


@pytest.mark.parametrize(("prog", "e"), CASES, ids=IDS)
def test_from_code(prog: str, e: dict[str, Any]) -> None:
    pkg = PROGRAMS[prog]
    cls = _cls(prog, e)
    assert (cls.code, cls.name, cls.msg) == (e["code"], e["name"], e["msg"])
    assert pkg.errors.ERRORS[e["code"]] is cls
    _check(pkg.errors.from_code(e["code"]), prog, e)
    _check(from_code(pkg.PROGRAM_ID, e["code"]), prog, e)
    assert str(cls()) == f"{prog}: {e['name']} ({e['code']}, {e['code']:#x}): {e['msg']}"
    # Cranks catch a program's errors by its base class, or any of ours by BourseError
    base = getattr(pkg.errors, pascal(prog) + "Error")
    with pytest.raises(base):
        raise cls()


@pytest.mark.parametrize(("prog", "e"), CASES, ids=IDS)
def test_from_rpc_json_error(prog: str, e: dict[str, Any]) -> None:
    pid = PROGRAMS[prog].PROGRAM_ID
    rpc = {"InstructionError": [1, {"Custom": e["code"]}]}
    err = _check(from_tx_error(rpc, [OTHER, pid]), prog, e)
    assert err.instruction_index == 1
    # the same error as JSON text
    _check(from_tx_error(json.dumps(rpc), [OTHER, pid]), prog, e)


@pytest.mark.parametrize(("prog", "e"), CASES, ids=IDS)
def test_from_solders_error(prog: str, e: dict[str, Any]) -> None:
    pid = PROGRAMS[prog].PROGRAM_ID
    tx_err = TransactionErrorInstructionError(0, InstructionErrorCustom(e["code"]))
    err = _check(from_tx_error(tx_err, [pid]), prog, e)
    assert err.instruction_index == 0


@pytest.mark.parametrize(("prog", "e"), CASES, ids=IDS)
def test_from_logs(prog: str, e: dict[str, Any]) -> None:
    pid = PROGRAMS[prog].PROGRAM_ID
    logs = _failure_logs(pid, e["code"])
    err = _check(from_logs(logs), prog, e)
    assert err.logs == tuple(logs)
    # Given the error raised inside a CPI from the other program, then the failing
    # (innermost) program's class is chosen, whatever the top-level instruction was
    other = cp_pool if prog == "compute_market" else compute_market
    nested = _failure_logs(pid, e["code"], caller=other.PROGRAM_ID)
    _check(from_logs(nested), prog, e)
    tx_err = TransactionErrorInstructionError(0, InstructionErrorCustom(e["code"]))
    _check(from_tx_error(tx_err, [other.PROGRAM_ID], nested), prog, e)


def test_no_error_is_none() -> None:
    assert from_tx_error(None, []) is None
    assert from_logs(["Program 11111111111111111111111111111111 success"]) is None


def test_other_failures_are_transaction_failed() -> None:
    pid = compute_market.PROGRAM_ID
    cases: list[object] = [
        TransactionErrorFieldless.BlockhashNotFound,
        TransactionErrorInstructionError(0, InstructionErrorFieldless.MissingRequiredSignature),
        {"InstructionError": [0, "MissingRequiredSignature"]},
        "AccountNotFound",
        {"InstructionError": [0, {"Custom": 1}]},  # a code the IDL does not name
        {"InstructionError": [3, {"Custom": 6000}]},  # no program id for instruction 3
    ]
    for err in cases:
        out = from_tx_error(err, [pid], ["Program log: x"])
        assert isinstance(out, TransactionFailed), err
        assert out.err is err
        assert out.logs == ("Program log: x",)
    unknown = TransactionErrorInstructionError(0, InstructionErrorCustom(6000))
    assert isinstance(from_tx_error(unknown, [OTHER]), TransactionFailed)
    index = from_tx_error({"InstructionError": [2, "InvalidAccountData"]}, [pid])
    assert isinstance(index, TransactionFailed) and index.instruction_index == 2


def test_logs_of_an_unknown_program_map_to_nothing() -> None:
    assert from_logs(_failure_logs(Pubkey.new_unique(), 6000)) is None


def test_a_code_raised_by_an_unknown_program_under_cpi_is_not_ours() -> None:
    # Given compute_market's buyback calling a swap venue that fails with its own 6001
    venue = Pubkey.new_unique()
    logs = _failure_logs(venue, 6001, caller=compute_market.PROGRAM_ID)
    tx_err = TransactionErrorInstructionError(0, InstructionErrorCustom(6001))
    # then it is not mistaken for compute_market's ArithmeticOverflow
    out = from_tx_error(tx_err, [compute_market.PROGRAM_ID], logs)
    assert isinstance(out, TransactionFailed)
    assert out.logs == tuple(logs)
    # while without logs the instruction's program is all there is to go by
    no_logs = from_tx_error(tx_err, [compute_market.PROGRAM_ID])
    assert isinstance(no_logs, compute_market.errors.ArithmeticOverflow)


def test_error_maps_can_name_another_deployment() -> None:
    elsewhere = Pubkey.new_unique()
    maps = {elsewhere: compute_market.errors.from_code}
    err = from_tx_error({"InstructionError": [0, {"Custom": 6002}]}, [elsewhere], error_maps=maps)
    assert isinstance(err, compute_market.errors.Unauthorized)
    assert err.program_id == elsewhere
    assert from_code(elsewhere, 6002) is None  # not in the default maps


def test_registry_and_pickling() -> None:
    assert set(ERROR_MAPS) == {
        compute_market.PROGRAM_ID,
        cp_pool.PROGRAM_ID,
        pump.PROGRAM_ID,
        pump_amm.PROGRAM_ID,
    }
    err = from_tx_error({"InstructionError": [0, {"Custom": 6018}]}, [cp_pool.PROGRAM_ID])
    assert isinstance(err, cp_pool.errors.SlippageExceeded)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err) and str(back) == str(err)
    generic = ProgramError(42, "Custom42", "no IDL names it")
    assert str(generic) == "Custom42 (42, 0x2a): no IDL names it"


def test_module_doctest() -> None:
    result = doctest.testmod(errors_mod)
    assert result.failed == 0 and result.attempted > 0
