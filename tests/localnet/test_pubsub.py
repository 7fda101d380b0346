"""The localnet's PubSub WebSocket (issue 12): real clients, validator-shaped notifications.

solana-py's own ``SolanaWsClient`` (which parses every frame with solders' validator types)
and a raw ``websockets`` client check each subscription against the chain's state.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from solana.rpc.commitment import Confirmed, Finalized, Processed
from solana.rpc.websocket_api import SolanaWsClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    AccountNotification,
    AccountNotificationJsonParsed,
    SignatureNotification,
)
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from websockets.asyncio.client import ClientConnection, connect
from websockets.sync.client import connect as sync_connect

from localnet import Localnet, spl
from localnet.chain import REALISTIC_DEPTHS

REPO = Path(__file__).resolve().parents[2]
WAIT = 10.0
SYSTEM = "11111111111111111111111111111111"


class Ws:
    """A raw JSON-RPC client over one WebSocket, keeping notifications by subscription."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = 0
        self.responses: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.raw: list[dict[str, Any]] = []

    async def _read_one(self) -> None:
        doc = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
        self.raw.append(doc)
        if "method" in doc:
            self.notes.setdefault(doc["params"]["subscription"], []).append(doc)
        else:
            self.responses[doc["id"]] = doc

    async def call(self, method: str, params: list[Any] | None = None) -> dict[str, Any]:
        self.ids += 1
        request_id = self.ids
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            body["params"] = params
        await self.ws.send(json.dumps(body))
        while request_id not in self.responses:
            await self._read_one()
        return self.responses.pop(request_id)

    async def subscribe(self, method: str, params: list[Any] | None = None) -> int:
        reply = await self.call(method, params)
        assert "result" in reply, reply
        sub: int = reply["result"]
        return sub

    async def notes_for(self, sub: int, count: int = 1) -> list[dict[str, Any]]:
        while len(self.notes.get(sub, [])) < count:
            await self._read_one()
        return self.notes[sub][:count]


@pytest.fixture(scope="module")
async def localnet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Localnet]:
    """This module's own localnet, with a validator's commitment lag (confirmed one slot
    after landing, finalized two), so every level is observable."""
    async with Localnet.start(
        port=0, workdir=tmp_path_factory.mktemp("pubsub"), depths=REALISTIC_DEPTHS
    ) as net:
        yield net


@pytest.fixture
async def ws(localnet: Localnet) -> AsyncIterator[Ws]:
    assert localnet.ws_url is not None
    async with connect(localnet.ws_url) as conn:
        yield Ws(conn)


def transfer_ix(src: Keypair, dst: Pubkey, lamports: int) -> Any:
    return transfer(TransferParams(from_pubkey=src.pubkey(), to_pubkey=dst, lamports=lamports))


async def send_unconfirmed(net: Localnet, payer: Keypair, dst: Pubkey, lamports: int) -> str:
    """Send a transfer without waiting for anything (the subscription does the waiting)."""
    from solders.hash import Hash
    from solders.message import Message
    from solders.transaction import VersionedTransaction

    latest = (await net.rpc("getLatestBlockhash"))["value"]["blockhash"]
    message = Message.new_with_blockhash(
        [transfer_ix(payer, dst, lamports)], payer.pubkey(), Hash.from_string(latest)
    )
    tx = VersionedTransaction(message, [payer])
    signature: str = await net.rpc(
        "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]
    )
    return signature


# --------------------------------------------------------------------- manifest / ports
async def test_ws_url_is_the_rpc_port_plus_one_and_in_the_manifest(localnet: Localnet) -> None:
    rpc_port = int(localnet.rpc_url.rsplit(":", 1)[1])
    assert localnet.ws_url == f"ws://127.0.0.1:{rpc_port + 1}"
    manifest = json.loads(localnet.manifest_path.read_text())
    assert manifest["ws_url"] == localnet.ws_url


# ------------------------------------------------------------------------- solana-py
async def test_solana_py_signature_subscribe_each_commitment(
    localnet: Localnet, funded: Keypair
) -> None:
    assert localnet.ws_url is not None
    async with SolanaWsClient(localnet.ws_url) as client:
        dst = Keypair().pubkey()
        signature = await send_unconfirmed(localnet, funded, dst, 5_000_000)
        seen: dict[str, SignatureNotification] = {}
        subs: dict[int, str] = {}
        for commitment in (Processed, Confirmed, Finalized):
            sub = await client.signature_subscribe(
                signature=Signature.from_string(signature), commitment=commitment
            )
            subs[sub.subscription_id] = str(commitment)
        while len(seen) < 3:
            note = await asyncio.wait_for(client.recv(), WAIT)
            assert isinstance(note, SignatureNotification)
            seen[subs[note.subscription]] = note
        status = (await localnet.rpc("getSignatureStatuses", [[signature]]))["value"][0]
        assert status["confirmationStatus"] == "finalized"
        for note in seen.values():
            assert note.result.value.err is None
            assert note.result.context.slot == status["slot"]
    assert (await localnet.rpc("getBalance", [str(dst)]))["value"] == 5_000_000


async def test_solana_py_account_subscribe_base64_and_json_parsed(
    localnet: Localnet, funded: Keypair
) -> None:
    assert localnet.ws_url is not None
    owner = Keypair().pubkey()
    ata = spl.get_associated_token_address(owner, localnet.usdc_mint)
    async with SolanaWsClient(localnet.ws_url) as client:
        plain = await client.account_subscribe(
            pubkey=owner, commitment=Confirmed, encoding="base64"
        )
        parsed = await client.account_subscribe(
            pubkey=ata, commitment=Confirmed, encoding="jsonParsed"
        )
        await localnet.airdrop(owner, 3 * 10**9)
        await localnet.mint_usdc(owner, 1_234_567)
        plain_note: AccountNotification | None = None
        parsed_note: AccountNotificationJsonParsed | None = None
        while plain_note is None or parsed_note is None:
            note = await asyncio.wait_for(client.recv(), WAIT)
            if isinstance(note, AccountNotification):
                assert note.subscription == plain.subscription_id
                plain_note = note
            else:
                assert isinstance(note, AccountNotificationJsonParsed)
                assert note.subscription == parsed.subscription_id
                parsed_note = note
    lamports = plain_note.result.value.lamports
    assert lamports == (await localnet.rpc("getBalance", [str(owner)]))["value"] == 3 * 10**9
    token = parsed_note.result.value
    assert str(token.owner) == str(spl.TOKEN_PROGRAM_ID)
    assert token.data.program == "spl-token"
    parsed_data: Any = token.data.parsed
    assert parsed_data["info"]["tokenAmount"]["amount"] == "1234567"


async def test_json_parsed_token_account_notification(localnet: Localnet, ws: Ws) -> None:
    owner = Keypair().pubkey()
    ata = spl.get_associated_token_address(owner, localnet.usdc_mint)
    sub = await ws.subscribe(
        "accountSubscribe", [str(ata), {"encoding": "jsonParsed", "commitment": "processed"}]
    )
    await localnet.mint_usdc(owner, 777)
    (note,) = await ws.notes_for(sub)
    value = note["params"]["result"]["value"]
    info = value["data"]["parsed"]["info"]
    assert value["data"]["program"] == "spl-token"
    assert info["owner"] == str(owner) and info["mint"] == str(localnet.usdc_mint)
    assert info["tokenAmount"]["amount"] == "777" and info["tokenAmount"]["decimals"] == 6


# ------------------------------------------------------------------ exact shapes (raw)
async def test_notification_shapes_are_a_validators(
    localnet: Localnet, ws: Ws, funded: Keypair
) -> None:
    dst = Keypair().pubkey()
    account_sub = await ws.subscribe(
        "accountSubscribe", [str(dst), {"encoding": "base64", "commitment": "processed"}]
    )
    logs_sub = await ws.subscribe(
        "logsSubscribe", [{"mentions": [str(dst)]}, {"commitment": "processed"}]
    )
    program_sub = await ws.subscribe(
        "programSubscribe",
        [SYSTEM, {"encoding": "base64", "commitment": "processed", "filters": [{"dataSize": 0}]}],
    )
    slot_sub = await ws.subscribe("slotSubscribe")
    root_sub = await ws.subscribe("rootSubscribe")
    signature = await send_unconfirmed(localnet, funded, dst, 2_000_000)
    sig_sub = await ws.subscribe(
        "signatureSubscribe",
        [signature, {"commitment": "finalized", "enableReceivedNotification": True}],
    )
    landed = (await localnet.rpc("getSignatureStatuses", [[signature]]))["value"][0]["slot"]

    (account,) = await ws.notes_for(account_sub)
    assert account == {
        "jsonrpc": "2.0",
        "method": "accountNotification",
        "params": {
            "result": {
                "context": {"slot": landed},
                "value": {
                    "lamports": 2_000_000,
                    "data": ["", "base64"],
                    "owner": SYSTEM,
                    "executable": False,
                    "rentEpoch": account["params"]["result"]["value"]["rentEpoch"],
                    "space": 0,
                },
            },
            "subscription": account_sub,
        },
    }
    (logs,) = await ws.notes_for(logs_sub)
    assert logs["method"] == "logsNotification"
    assert logs["params"]["result"]["context"] == {"slot": landed}
    assert logs["params"]["result"]["value"] == {
        "signature": signature,
        "err": None,
        "logs": [f"Program {SYSTEM} invoke [1]", f"Program {SYSTEM} success"],
    }
    programs = await ws.notes_for(program_sub, 2)
    pubkeys = {n["params"]["result"]["value"]["pubkey"] for n in programs}
    assert str(dst) in pubkeys  # the payer (also system-owned, no data) changed too
    assert all(n["method"] == "programNotification" for n in programs)
    received, final = await ws.notes_for(sig_sub, 2)
    assert received["params"]["result"] == {
        "context": {"slot": landed},
        "value": "receivedSignature",
    }
    assert final == {
        "jsonrpc": "2.0",
        "method": "signatureNotification",
        "params": {
            "result": {"context": {"slot": landed}, "value": {"err": None}},
            "subscription": sig_sub,
        },
    }
    (slot_note,) = await ws.notes_for(slot_sub)
    result = slot_note["params"]["result"]
    assert set(result) == {"parent", "root", "slot"}
    assert result["parent"] == result["slot"] - 1 and result["root"] <= result["parent"]
    (root_note,) = await ws.notes_for(root_sub)
    assert isinstance(root_note["params"]["result"], int)
    # a signature subscription ends with its notification
    assert (await ws.call("signatureUnsubscribe", [sig_sub]))["error"]["code"] == -32602


async def test_failed_transaction_notifies_its_error(
    localnet: Localnet, ws: Ws, funded: Keypair
) -> None:
    dst = Keypair().pubkey()
    too_much = 10**15  # more than the payer holds: lands, fails, fee charged
    from solders.hash import Hash
    from solders.message import Message
    from solders.transaction import VersionedTransaction

    latest = (await localnet.rpc("getLatestBlockhash"))["value"]["blockhash"]
    tx = VersionedTransaction(
        Message.new_with_blockhash(
            [transfer_ix(funded, dst, too_much)], funded.pubkey(), Hash.from_string(latest)
        ),
        [funded],
    )
    before = (await localnet.rpc("getBalance", [str(funded.pubkey())]))["value"]
    payer_sub = await ws.subscribe(
        "accountSubscribe", [str(funded.pubkey()), {"commitment": "confirmed"}]
    )
    logs_sub = await ws.subscribe("logsSubscribe", ["all", {"commitment": "confirmed"}])
    signature = await localnet.rpc(
        "sendTransaction",
        [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64", "skipPreflight": True}],
    )
    sig_sub = await ws.subscribe("signatureSubscribe", [signature, {"commitment": "confirmed"}])
    (final,) = await ws.notes_for(sig_sub)
    assert final["params"]["result"]["value"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    (payer,) = await ws.notes_for(payer_sub)
    assert payer["params"]["result"]["value"]["lamports"] == before - 5_000
    for _ in range(50):
        mine = [
            n
            for n in ws.notes.get(logs_sub, [])
            if n["params"]["result"]["value"]["signature"] == signature
        ]
        if mine:
            break
        await ws._read_one()
    assert mine[0]["params"]["result"]["value"]["err"] is not None


# ------------------------------------------------------------------- requests / errors
async def test_unsubscribe_and_request_errors(localnet: Localnet, ws: Ws) -> None:
    sub = await ws.subscribe("slotSubscribe")
    assert (await ws.call("slotUnsubscribe", [sub]))["result"] is True
    assert (await ws.call("slotUnsubscribe", [sub]))["error"] == {
        "code": -32602,
        "message": "Invalid subscription id.",
    }
    assert (await ws.call("blockSubscribe", ["all"]))["error"]["code"] == -32601
    assert (await ws.call("accountSubscribe", ["not-a-key"]))["error"]["code"] == -32602
    bad_logs = await ws.call("logsSubscribe", [{"mentions": [SYSTEM, SYSTEM]}])
    assert bad_logs["error"]["code"] == -32602
    bad_filter = await ws.call("programSubscribe", [SYSTEM, {"filters": [{"dataSize": "x"}]}])
    assert bad_filter["error"]["code"] in (-32602, -32603)
    assert (await ws.call("slotUnsubscribe", [True]))["error"]["code"] == -32602
    # a JSON-RPC notification (web3.js / Kit send a `ping` one) gets no answer at all
    await ws.ws.send(json.dumps({"jsonrpc": "2.0", "method": "ping"}))
    assert (await ws.call("slotSubscribe"))["result"] >= 0
    assert all("id" in doc or "method" in doc for doc in ws.raw)
    assert not any(doc.get("id") is None and "error" in doc for doc in ws.raw)
    # garbage and deep nesting are JSON-RPC errors, and the connection stays usable
    await ws.ws.send("{not json")
    doc = json.loads(await asyncio.wait_for(ws.ws.recv(), WAIT))
    while "method" in doc:
        doc = json.loads(await asyncio.wait_for(ws.ws.recv(), WAIT))
    assert doc["error"]["code"] == -32700 and doc["id"] is None
    assert (await ws.call("rootSubscribe"))["result"] >= 0


async def test_program_subscribe_filters(localnet: Localnet, ws: Ws) -> None:
    owner = Keypair().pubkey()
    other = Keypair().pubkey()
    mint = localnet.usdc_mint
    matching = await ws.subscribe(
        "programSubscribe",
        [
            str(spl.TOKEN_PROGRAM_ID),
            {
                "encoding": "base64",
                "commitment": "processed",
                "filters": [{"dataSize": 165}, {"memcmp": {"offset": 32, "bytes": str(owner)}}],
            },
        ],
    )
    await localnet.mint_usdc(other, 5)
    await localnet.mint_usdc(owner, 9)
    (note,) = await ws.notes_for(matching)
    value = note["params"]["result"]["value"]
    assert value["pubkey"] == str(spl.get_associated_token_address(owner, mint))
    data = base64.b64decode(value["account"]["data"][0])
    assert int.from_bytes(data[64:72], "little") == 9
    # the other owner's account and the mint (both written) never matched
    assert all(
        n["params"]["result"]["value"]["pubkey"] == value["pubkey"]
        for n in ws.notes.get(matching, [])
    )


# ------------------------------------------------------------------- robustness
async def test_abrupt_disconnect_leaves_the_others_served(
    localnet: Localnet, funded: Keypair
) -> None:
    assert localnet.ws_url is not None and localnet.pubsub is not None
    dst = Keypair().pubkey()
    params = [str(dst), {"commitment": "processed", "encoding": "base64"}]
    async with connect(localnet.ws_url) as stays:
        keeper = Ws(stays)
        kept = await keeper.subscribe("accountSubscribe", params)
        before = len(localnet.pubsub.hub)
        leaver = Ws(await connect(localnet.ws_url))
        await leaver.subscribe("accountSubscribe", params)
        await leaver.subscribe("slotSubscribe")
        assert len(localnet.pubsub.hub) == before + 2
        # the client vanishes without a closing handshake (TCP torn down)
        leaver.ws.transport.abort()
        for _ in range(100):
            if len(localnet.pubsub.hub) == before:
                break
            await asyncio.sleep(0.02)
        assert len(localnet.pubsub.hub) == before
        await send_unconfirmed(localnet, funded, dst, 1_500_000)
        (note,) = await keeper.notes_for(kept)
        assert note["params"]["result"]["value"]["lamports"] == 1_500_000
        async with connect(localnet.ws_url) as fresh:
            assert await Ws(fresh).subscribe("slotSubscribe") >= 0


async def test_200_concurrent_subscribers_get_every_notification(
    localnet: Localnet, funded: Keypair
) -> None:
    assert localnet.ws_url is not None
    dst = Keypair().pubkey()
    clients = [Ws(await connect(localnet.ws_url)) for _ in range(200)]
    try:
        subs = await asyncio.gather(
            *(
                c.subscribe("accountSubscribe", [str(dst), {"commitment": "processed"}])
                for c in clients
            )
        )
        amounts = [1_000_000 * (i + 1) for i in range(5)]
        for amount in amounts:
            await send_unconfirmed(localnet, funded, dst, amount)
        expected = [sum(amounts[: i + 1]) for i in range(len(amounts))]
        received = await asyncio.gather(
            *(c.notes_for(s, len(amounts)) for c, s in zip(clients, subs, strict=True))
        )
        for notes in received:
            assert [n["params"]["result"]["value"]["lamports"] for n in notes] == expected
        assert (await localnet.rpc("getBalance", [str(dst)]))["value"] == expected[-1]
    finally:
        await asyncio.gather(*(c.ws.close() for c in clients))


async def test_commitment_advances_with_slots(localnet: Localnet, funded: Keypair) -> None:
    signature = await send_unconfirmed(localnet, funded, Keypair().pubkey(), 1_000_000)
    seen: list[str] = []
    for _ in range(200):
        status = (await localnet.rpc("getSignatureStatuses", [[signature]]))["value"][0]
        if not seen or seen[-1] != status["confirmationStatus"]:
            seen.append(status["confirmationStatus"])
        if status["confirmationStatus"] == "finalized":
            assert status["confirmations"] is None
            break
        assert status["confirmations"] >= 0
        await asyncio.sleep(0.02)
    assert seen[-1] == "finalized"
    assert seen == ["processed", "confirmed", "finalized"][-len(seen) :]


# ------------------------------------------------------ both ways of running a localnet
def _airdrop_seen_over_ws(rpc_url: str, ws_url: str) -> tuple[int, int]:
    """Subscribe to a fresh account over PubSub (sync client), airdrop to it over HTTP;
    (notified lamports, balance over HTTP)."""
    who = Keypair().pubkey()
    with sync_connect(ws_url, open_timeout=WAIT) as conn:
        conn.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "accountSubscribe",
                    "params": [str(who), {"commitment": "confirmed", "encoding": "base64"}],
                }
            )
        )
        assert isinstance(json.loads(conn.recv(timeout=WAIT))["result"], int)
        httpx.post(
            rpc_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "requestAirdrop",
                "params": [str(who), 10**9],
            },
            timeout=WAIT,
        ).raise_for_status()
        note = json.loads(conn.recv(timeout=WAIT))
    balance = httpx.post(
        rpc_url,
        json={"jsonrpc": "2.0", "id": 2, "method": "getBalance", "params": [str(who)]},
        timeout=WAIT,
    ).json()["result"]["value"]
    assert note["method"] == "accountNotification"
    return note["params"]["result"]["value"]["lamports"], balance


def test_pubsub_of_a_localnet_on_a_background_thread(tmp_path: Path) -> None:
    with Localnet.start_in_thread(port=0, workdir=tmp_path, backend="embedded") as net:
        assert net.ws_url is not None
        notified, balance = _airdrop_seen_over_ws(net.rpc_url, net.ws_url)
    assert notified == balance == 10**9


def test_pubsub_of_python_m_localnet(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "localnet", "--port", "0", "--dir", str(tmp_path),
         "--backend", "embedded", "--commitment-depths", "1,2"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[1].strip().startswith("pubsub: ws://127.0.0.1:"), lines
        for _ in range(50):  # the manifest line follows the program list
            if proc.stdout.readline().startswith("manifest:"):
                break
        manifest = json.loads((tmp_path / "localnet.json").read_text())
        rpc_port = int(manifest["rpc_url"].rsplit(":", 1)[1])
        assert manifest["ws_url"] == f"ws://127.0.0.1:{rpc_port + 1}"
        notified, balance = _airdrop_seen_over_ws(manifest["rpc_url"], manifest["ws_url"])
        assert notified == balance == 10**9
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
