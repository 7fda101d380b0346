"""The crank's RPC transport: ordered failover, cool-off, what is retried and what is final,
counting, the send journal hook, and making node errors parseable by solders."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from cranks.config import SendSettings
from cranks.metrics import Metrics
from cranks.sender import RpcTransport, connect_rpc, endpoint_label, writable_keys

A, B, C = "https://a.example.com/key/x", "https://b.example.com", "https://c.example.com"
Handler = Callable[[httpx2.Request], httpx2.Response]


def ok(request: httpx2.Request, result: object = 1) -> httpx2.Response:
    body = json.loads(request.content)
    return httpx2.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": result})


class Hosts:
    """A mock transport answering per host; records which host each request went to."""

    def __init__(self, **handlers: Handler) -> None:
        self.handlers = handlers
        self.seen: list[str] = []

    def transport(self) -> httpx2.MockTransport:
        def handle(request: httpx2.Request) -> httpx2.Response:
            host = request.url.host.split(".")[0]
            self.seen.append(host)
            if host not in self.handlers:
                raise httpx2.ConnectError("refused", request=request)
            return self.handlers[host](request)

        return httpx2.MockTransport(handle)


async def call(t: RpcTransport, method: str = "getSlot", params: list[Any] | None = None) -> Any:
    async with httpx2.AsyncClient(transport=t) as http:
        body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or []}
        resp = await http.post("http://ignored.example", json=body)
        return resp.status_code, resp.json() if resp.status_code == 200 else resp.text


async def test_first_healthy_endpoint_answers_and_failures_move_down_the_list() -> None:
    hosts = Hosts(b=ok, c=ok)  # a refuses connections
    metrics = Metrics()
    clock = [100.0]
    t = RpcTransport([A, B, C], inner=hosts.transport(), metrics=metrics, clock=lambda: clock[0])
    assert (await call(t))[1]["result"] == 1
    assert hosts.seen == ["a", "b"]
    # a is cooling off: the next request starts at b
    await call(t)
    assert hosts.seen == ["a", "b", "b"]
    # after the cool-off, a is tried first again
    clock[0] += 31
    await call(t)
    assert hosts.seen[-2:] == ["a", "b"]
    assert t.calls["getSlot"] == 3
    assert (
        metrics.value(
            "rpc_errors_total",
            {
                "method": "getSlot",
                "endpoint": "https://a.example.com",
                "kind": "ConnectError",
            },
        )
        == 2
    )
    assert metrics.value("rpc_failovers_total") == 2


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (lambda r: httpx2.Response(429, text="slow down"), "http_429"),
        (lambda r: httpx2.Response(502, text="bad gateway"), "http_502"),
        (lambda r: httpx2.Response(200, text="<html>oops</html>"), "bad_json"),
        (
            lambda r: httpx2.Response(
                200,
                json={"jsonrpc": "2.0", "id": 7, "error": {"code": -32005, "message": "behind"}},
            ),
            "rpc_-32005",
        ),
    ],
)
async def test_retryable_answers_fail_over(answer: Handler, kind: str) -> None:
    hosts = Hosts(a=answer, b=ok)
    t = RpcTransport([A, B], inner=hosts.transport())
    status, body = await call(t)
    assert status == 200 and body["result"] == 1
    assert hosts.seen == ["a", "b"] and t.errors["getSlot"] == 1, kind


async def test_a_program_error_is_final_and_not_retried() -> None:
    def preflight(request: httpx2.Request) -> httpx2.Response:
        err = {"code": -32002, "message": "Transaction simulation failed"}
        return httpx2.Response(200, json={"jsonrpc": "2.0", "id": 7, "error": err})

    hosts = Hosts(a=preflight, b=ok)
    t = RpcTransport([A, B], inner=hosts.transport())
    _, body = await call(t)
    assert hosts.seen == ["a"]
    # solders needs a data object for this code: the transport adds one
    assert body["error"]["data"] == {}


async def test_all_endpoints_failing_returns_the_last_answer_or_raises() -> None:
    t = RpcTransport(
        [A, B],
        inner=Hosts(a=lambda r: httpx2.Response(503)).transport(),
        attempts=2,
        retry_delay_secs=0,
    )
    with pytest.raises(httpx2.ConnectError):  # b refused last
        await call(t)
    t = RpcTransport(
        [B],
        inner=Hosts(b=lambda r: httpx2.Response(503)).transport(),
        attempts=3,
        retry_delay_secs=0,
    )
    assert (await call(t))[0] == 503


async def test_node_behind_without_data_becomes_a_typed_error_not_a_panic() -> None:
    """solders 0.29 panics (a BaseException) parsing -32005 without ``data``."""

    def behind(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        err = {"code": -32005, "message": "Node is behind"}
        return httpx2.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "error": err})

    rpc, _ = connect_rpc(
        [B],
        SendSettings(rpc_attempts=1),
        commitment="confirmed",  # type: ignore[arg-type]
        inner=Hosts(b=behind).transport(),
    )
    try:
        with pytest.raises(RPCException):
            await rpc.get_account_info(Pubkey.new_unique())
    finally:
        await rpc.close()


def signed_transfer() -> VersionedTransaction:
    payer = Keypair()
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=5)
    )
    msg = MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.new_unique())
    return VersionedTransaction(msg, [payer])


async def test_send_hook_sees_the_transaction_before_it_leaves_with_its_last_valid_height() -> None:
    tx = signed_transfer()
    blockhash = str(tx.message.recent_blockhash)
    order: list[str] = []

    def node(request: httpx2.Request) -> httpx2.Response:
        method = json.loads(request.content)["method"]
        order.append(f"node:{method}")
        if method == "getLatestBlockhash":
            value = {"blockhash": blockhash, "lastValidBlockHeight": 4242}
            return ok(request, {"context": {"slot": 1}, "value": value})
        return ok(request, str(tx.signatures[0]))

    seen: list[tuple[VersionedTransaction, int | None]] = []

    def hook(sent: VersionedTransaction, last_valid: int | None) -> None:
        order.append("journal")
        seen.append((sent, last_valid))

    t = RpcTransport([B], inner=Hosts(b=node).transport(), on_send=hook)
    await call(t, "getLatestBlockhash")
    raw = base64.b64encode(bytes(tx)).decode()
    await call(t, "sendTransaction", [raw, {"encoding": "base64"}])
    assert order == ["node:getLatestBlockhash", "journal", "node:sendTransaction"]
    assert seen == [(tx, 4242)]
    assert writable_keys(tx.message) == list(tx.message.account_keys[:2])  # type: ignore[arg-type]


async def test_a_failing_journal_stops_the_send() -> None:
    def hook(sent: VersionedTransaction, last_valid: int | None) -> None:
        raise OSError("disk full")

    hosts = Hosts(b=ok)
    t = RpcTransport([B], inner=hosts.transport(), on_send=hook)
    raw = base64.b64encode(bytes(signed_transfer())).decode()
    with pytest.raises(OSError):
        await call(t, "sendTransaction", [raw, {"encoding": "base64"}])
    assert hosts.seen == []


def test_endpoint_labels_hide_paths_and_queries() -> None:
    assert endpoint_label("https://mainnet.helius-rpc.com/?api-key=abc") == (
        "https://mainnet.helius-rpc.com"
    )
    assert endpoint_label("http://127.0.0.1:8899") == "http://127.0.0.1:8899"


async def test_connect_rpc_routes_solana_py_through_the_transport() -> None:
    hosts = Hosts(b=lambda r: ok(r, {"context": {"slot": 5}, "value": 123}))
    rpc, t = connect_rpc(
        [A, B],
        SendSettings(),
        commitment="confirmed",  # type: ignore[arg-type]
        inner=hosts.transport(),
    )
    assert isinstance(rpc, AsyncClient)
    try:
        assert (await rpc.get_balance(Pubkey.new_unique())).value == 123
    finally:
        await rpc.close()
    assert hosts.seen == ["a", "b"] and t.calls["getBalance"] == 1
