"""Confirmation latency on the embedded localnet: PubSub ``signatureSubscribe`` vs polling.

``python -m benchmarks.confirm_latency`` rewrites ``benchmarks/confirm_latency.md``. For each
commitment, N transfers are sent; the time from ``sendTransaction`` returning to the
confirmation is measured (a) by a ``signatureSubscribe`` on the localnet's WebSocket and (b)
by polling ``getSignatureStatuses`` every 0.5 s (solana-py's ``confirm_transaction`` default),
the baseline, in the same run on the same chain. Both the default commitment depths (0, 1)
and a validator-like lag (1, 2) are measured.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import statistics
import sys
import time
from pathlib import Path

from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from websockets.asyncio.client import connect

from localnet import Localnet
from localnet.chain import DEFAULT_DEPTHS, REALISTIC_DEPTHS

OUT = Path(__file__).with_name("confirm_latency.md")
SENDS = 10
POLL_SECONDS = 0.5
RANK = {"processed": 0, "confirmed": 1, "finalized": 2}


async def _send(net: Localnet, payer: Keypair) -> str:
    latest = (await net.rpc("getLatestBlockhash"))["value"]["blockhash"]
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=10**6)
    )
    tx = VersionedTransaction(
        Message.new_with_blockhash([ix], payer.pubkey(), Hash.from_string(latest)), [payer]
    )
    signature: str = await net.rpc(
        "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]
    )
    return signature


async def _by_subscription(net: Localnet, payer: Keypair, commitment: str) -> float:
    assert net.ws_url is not None
    async with connect(net.ws_url) as ws:
        started = time.perf_counter()
        signature = await _send(net, payer)
        sent = time.perf_counter()
        request = [signature, {"commitment": commitment}]
        await ws.send(
            json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "signatureSubscribe", "params": request}
            )
        )
        for _ in range(10):  # the subscribe answer, then the notification
            doc = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if doc.get("method") == "signatureNotification":
                return time.perf_counter() - sent
        raise RuntimeError(f"no notification after {time.perf_counter() - started:.1f} s")


async def _by_polling(net: Localnet, payer: Keypair, commitment: str) -> float:
    signature = await _send(net, payer)
    sent = time.perf_counter()
    for _ in range(100):
        status = (await net.rpc("getSignatureStatuses", [[signature]]))["value"][0]
        if status is not None and RANK[status["confirmationStatus"]] >= RANK[commitment]:
            return time.perf_counter() - sent
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError("never confirmed")


async def measure(depths: tuple[int, int]) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = []
    rng = random.Random(12)
    async with Localnet.start(port=0, backend="embedded", depths=depths) as net:
        payer = Keypair()
        await net.airdrop(payer.pubkey(), 10**12)
        for commitment in ("processed", "confirmed", "finalized"):
            ws: list[float] = []
            poll: list[float] = []
            for _ in range(SENDS):
                # a random phase within the 400 ms slot, so sends are not aligned to slot starts
                await asyncio.sleep(rng.uniform(0, 0.4))
                ws.append(await _by_subscription(net, payer, commitment))
                await asyncio.sleep(rng.uniform(0, 0.4))
                poll.append(await _by_polling(net, payer, commitment))
            rows.append((commitment, statistics.median(ws), statistics.median(poll)))
    return rows


def render(results: dict[tuple[int, int], list[tuple[str, float, float]]]) -> str:
    lines = [
        "# Confirmation latency: PubSub vs HTTP polling (embedded localnet)",
        "",
        "Measured by `python -m benchmarks.confirm_latency` (rewrites this file): median over",
        f"{SENDS} transfers (sent at a random phase of the 400 ms slot) of the time from",
        "`sendTransaction` returning to the confirmation, by a `signatureSubscribe` notification",
        f"and by polling `getSignatureStatuses` every {POLL_SECONDS} s (solana-py's default), the",
        "baseline, in the same run. Depths = slots until confirmed, finalized; ratio =",
        "baseline / PubSub (processed and, at depths 0,1, confirmed are answered by the first",
        "poll, so both are ~1 ms there).",
        "",
        "| depths | commitment | signatureSubscribe | polling (baseline) | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for depths, rows in results.items():
        for commitment, ws, poll in rows:
            ratio = poll / ws if ws > 0 else float("inf")
            lines.append(
                f"| {depths[0]},{depths[1]} | {commitment} | {ws * 1000:.0f} ms | "
                f"{poll * 1000:.0f} ms | {ratio:.1f}x |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    results = {d: asyncio.run(measure(d)) for d in (DEFAULT_DEPTHS, REALISTIC_DEPTHS)}
    OUT.write_text(render(results))
    sys.stdout.write(OUT.read_text())


if __name__ == "__main__":
    main()
