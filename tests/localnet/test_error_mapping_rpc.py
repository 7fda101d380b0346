"""Every program error class, raised on the JSON-RPC localnet and mapped back.

For each error code of both IDLs, a stand-in program that fails with exactly
``Custom(code)`` is deployed through the upgradeable loader; a transaction to it
goes through solana-py's AsyncClient, the node's preflight rejects it in the
real wire shape, and ``bourse_chain.errors.from_tx_error`` (with the stand-in
mapped to the program's error table) must produce that error's class, code and
name. The real programs raise these codes in tests/svm and tests/security;
this proves the path from the RPC wire to the typed exception, class by class.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import VersionedTransaction

from bourse_chain.errors import ProgramError, from_tx_error
from bourse_chain.generated.compute_market import errors as cm_errors
from bourse_chain.generated.cp_pool import errors as pool_errors
from localnet import Localnet
from localnet.elf import failing_program

CASES = [(mod, code) for mod in (cm_errors, pool_errors) for code in sorted(mod.ERRORS)]


@pytest.fixture(scope="module")
async def net(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Localnet]:
    async with Localnet.start(
        port=0, workdir=tmp_path_factory.mktemp("ln"), backend="embedded"
    ) as n:
        yield n


@pytest.mark.parametrize(
    ("errors", "code"), CASES, ids=[f"{m.__name__.split('.')[-2]}-{c}" for m, c in CASES]
)
async def test_error_class_round_trips_through_rpc(
    net: Localnet, errors: ModuleType, code: int
) -> None:
    stand_in = Keypair()
    net.deploy_program(stand_in, failing_program(code))
    payer = net.keypairs["payer"]
    async with AsyncClient(net.rpc_url, commitment=Confirmed) as rpc:
        blockhash = (await rpc.get_latest_blockhash()).value.blockhash
        ix = Instruction(stand_in.pubkey(), bytes([code & 0xFF]), [])
        tx = VersionedTransaction(
            Message.new_with_blockhash([ix], payer.pubkey(), blockhash), [payer]
        )
        with pytest.raises(RPCException) as info:
            await rpc.send_transaction(tx)
    data = info.value.args[0].data
    mapped = from_tx_error(
        data.err,
        [stand_in.pubkey()],
        list(data.logs or []),
        error_maps={stand_in.pubkey(): errors.from_code},
    )
    expected = errors.ERRORS[code]
    assert isinstance(mapped, expected) and isinstance(mapped, ProgramError)
    assert (mapped.code, mapped.name) == (code, expected.__name__)
