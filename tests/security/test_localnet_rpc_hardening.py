"""Issue 11, item 9: one request must not wedge or stall the localnet's JSON-RPC.

Each attack is sent as raw bytes to a running embedded localnet; after each, the clock must
still answer and still be where it was (nothing half-applied), and transactions still land.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from localnet import Localnet
from localnet.chain import MAX_SLOT
from localnet.rpc_envelope import MAX_BATCH, MAX_DEPTH


@pytest.fixture(scope="module")
async def net(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Localnet]:
    workdir: Path = tmp_path_factory.mktemp("hardening")
    async with Localnet.start(port=0, workdir=workdir, backend="embedded") as running:
        yield running


async def post(net: Localnet, body: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(net.rpc_url, data=body, headers={"Content-Type": "application/json"}) as resp,
    ):
        return resp.status, json.loads(await resp.text())


def call(method: str, params_json: str, request_id: str = "1") -> str:
    return f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{params_json}}}'


async def assert_clock_healthy(net: Localnet, before: dict[str, int]) -> None:
    """The clock answers, did not jump, and a transaction still lands."""
    status, reply = await post(net, call("bourse_getClock", "[]"))
    assert status == 200
    clock = reply["result"]
    assert before["slot"] <= clock["slot"] < before["slot"] + 100
    assert before["unixTimestamp"] <= clock["unixTimestamp"] < before["unixTimestamp"] + 60
    signature = await net.airdrop(net.keypairs["payer"].pubkey(), 1)
    assert (await net.rpc("getSignatureStatuses", [[signature]]))["value"][0]["err"] is None


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("bourse_warpTime", "[Infinity]"),
        ("bourse_warpTime", "[-Infinity]"),
        ("bourse_warpTime", "[NaN]"),
        ("bourse_warpTime", "[1e300]"),
        ("bourse_warpTime", '[{"seconds": 1e300}]'),
        ("bourse_warpTime", f"[{10**400}]"),
        ("bourse_setClock", f'[{{"slot": {2**64}}}]'),
        ("bourse_setClock", f'[{{"slot": {MAX_SLOT + 1}}}]'),
        ("bourse_setClock", f'[{{"unixTimestamp": {2**63}}}]'),
        ("bourse_setClock", f'[{{"epoch": {2**64}}}]'),
    ],
)
async def test_clock_controls_refuse_values_that_would_corrupt_the_clock(
    net: Localnet, method: str, params: str
) -> None:
    before = await net.rpc("bourse_getClock")
    status, reply = await post(net, call(method, params))
    assert status == 200
    assert reply["error"]["code"] == -32602
    assert reply["id"] == 1
    await assert_clock_healthy(net, before)


async def test_the_largest_accepted_warp_still_leaves_a_working_chain(net: Localnet) -> None:
    # A legitimate big warp (ten years) works and the chain keeps serving.
    before = await net.rpc("bourse_getClock")
    after = await net.warp_time(10 * 365 * 86_400)
    assert after["unixTimestamp"] >= before["unixTimestamp"] + 10 * 365 * 86_400
    signature = await net.airdrop(net.keypairs["payer"].pubkey(), 1)
    assert (await net.rpc("getSignatureStatuses", [[signature]]))["value"][0]["err"] is None


async def test_batch_larger_than_the_cap_is_refused_whole(net: Localnet) -> None:
    item = call("getSlot", "[]")
    status, reply = await post(net, "[" + ",".join([item] * (MAX_BATCH + 1)) + "]")
    assert status == 200
    assert isinstance(reply, dict)
    assert reply["error"]["code"] == -32600
    assert reply["id"] is None
    # the cap itself is served
    status, replies = await post(net, "[" + ",".join([item] * MAX_BATCH) + "]")
    assert status == 200
    assert len(replies) == MAX_BATCH
    assert all(isinstance(r["result"], int) for r in replies)


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 500, 100_000])
async def test_deep_nesting_is_a_json_rpc_parse_error(net: Localnet, levels: int) -> None:
    before = await net.rpc("bourse_getClock")
    body = call("getBalance", "[" * levels + "]" * levels)
    status, reply = await post(net, body)
    assert status == 200
    assert reply["error"]["code"] == -32700
    assert reply["id"] is None
    await assert_clock_healthy(net, before)


@pytest.mark.parametrize("bad_id", ["NaN", "Infinity", "1.5", "[1]", '{"a":1}', "true", "-1"])
async def test_an_invalid_id_is_never_echoed(net: Localnet, bad_id: str) -> None:
    status, reply = await post(net, call("getSlot", "[]", request_id=bad_id))
    assert status == 200
    assert reply["error"]["code"] == -32600
    assert reply["id"] is None


@pytest.mark.parametrize("good_id", ['"abc"', "0", str(2**64 - 1), "null"])
async def test_valid_ids_are_echoed(net: Localnet, good_id: str) -> None:
    status, reply = await post(net, call("getSlot", "[]", request_id=good_id))
    assert status == 200
    assert isinstance(reply["result"], int)
    assert reply["id"] == json.loads(good_id)
