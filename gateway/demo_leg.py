"""The gateway leg of ``bourse demo`` (:class:`bourse_ops.demo_gateway.GatewayLeg`): the
inference gateway on the demo's embedded localnet, with a LOCAL STAND-IN upstream (no model
behind it), a ``bs_live_`` key with credits, paid calls made with the official ``openai``
client, and the gateway's own settlement worker settling them on-chain in batches (pinned in
its ledger, each call with its inclusion proof). The figures are read back from the ledger
and the chain (:class:`~bourse_ops.demo_gateway.GatewayFlow`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import select

from bourse_chain.receipts import CallProof, batch_event, verify_on_chain
from bourse_chain.settlement import Settlement
from bourse_ops.demo_gateway import (
    GatewayBatch,
    GatewayFlow,
    GatewayModel,
    GatewayRun,
    X402Call,
)
from gateway import localnet_demo
from gateway.app import build_app
from gateway.db.engine import create_schema, reading
from gateway.db.schema import batches, calls
from gateway.demo_calls import run_paid_calls
from gateway.server import config, free_port
from gateway.service import Gateway
from gateway.settings import Settings
from gateway.settlement.outbox import Outbox
from gateway.standin import StandIn
from gateway.x402 import node_facilitator
from gateway.x402.demo_call import pay_one_call

USDC = 1_000_000
#: The demo user's credits (an admin grant: the stand-in for the card onramp).
CREDITS = 10 * USDC


async def run(r: GatewayRun) -> GatewayFlow:
    """:class:`~bourse_ops.demo_gateway.GatewayLeg`: start (with the x402 route when the
    checkout's Node facilitator can run), call, settle, read back, stop."""
    r.step("Gateway starts: local stand-in upstream, a bs_live_ key with 10 USDC of credits")
    folder = r.x402_facilitator or node_facilitator.FACILITATOR_DIR
    skipped = node_facilitator.missing(folder)
    async with contextlib.AsyncExitStack() as stack:
        facilitator_url = ""
        if skipped is None:
            facilitator_url = await stack.enter_async_context(
                node_facilitator.run_facilitator(folder, r.x402_fee_payer_path, r.rpc_url)
            )
        running = await stack.enter_async_context(
            running_gateway(
                r.rpc_url,
                r.settler_path,
                r.provider,
                r.models,
                r.workdir,
                x402_facilitator_url=facilitator_url,
            )
        )
        r.started()
        x402 = X402Leg(r.x402_payer, r.rpc_url, skipped or "")
        return await gateway_leg(running, r.settlement, r.models, r.calls_per_model, r.step, x402)
    raise AssertionError("unreachable")  # pragma: no cover (mypy: the stack may swallow)


@dataclass(frozen=True)
class X402Leg:
    """The x402 call's payer and chain, or why it is skipped (``skipped`` non-empty)."""

    payer: Keypair
    rpc_url: str
    skipped: str = ""


class _Embedded(uvicorn.Server):
    """Leaves Ctrl-C to the demo (uvicorn would take SIGINT for itself)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RunningGateway:
    """The gateway while the demo's calls go through it."""

    base_url: str  # …/api/v1 (the OpenAI base URL)
    api_key: str
    gateway: Gateway


@contextlib.asynccontextmanager
async def running_gateway(
    rpc_url: str,
    settler_path: Path,
    provider: Keypair,
    models: Sequence[GatewayModel],
    workdir: Path,
    *,
    settle_interval: float = 0.2,
    x402_facilitator_url: str = "",
) -> AsyncIterator[RunningGateway]:
    """A stand-in upstream and a gateway (SQLite in ``workdir``) serving on this event loop,
    with a key holding :data:`CREDITS`, and its x402 route on when ``x402_facilitator_url`` is
    set (the localnet labelled devnet); both stopped on exit."""
    host = "127.0.0.1"
    up_port, gw_port = free_port(host), free_port(host)
    upstream = _Embedded(config(StandIn("good").app, host, up_port))
    offer = localnet_demo.DemoProvider(
        "demo-gpu",
        "Bourse Demo GPU",
        {m.slug: (m.price_input_per_mtok, m.price_output_per_mtok) for m in models},
    )
    settings = localnet_demo.gateway_settings(
        Settings(
            db=f"sqlite+aiosqlite:///{workdir / 'gateway.sqlite3'}",
            rpc_url=rpc_url,
            settler_keypair=str(settler_path),
            admin_token=secrets.token_urlsafe(16),
            settle_interval=settle_interval,
            settle_batch_size=100,
            catalog_refresh_seconds=3600,
            topup_poll_seconds=0,
            rate_limit_per_minute=0,
            log_json=False,
            x402_facilitator_url=x402_facilitator_url,
            x402_network="localnet",
        ),
        [provider],
        [f"http://{host}:{up_port}/v1"],
        offers=(offer,),
        models=tuple(localnet_demo.DemoModel(m.slug, m.slug, m.fee_bps) for m in models),
    )
    gw = Gateway(settings)
    await create_schema(gw.engine)
    key = await gw.keys.create("demo", "bourse demo")
    await gw.ledger.credit(key.info.user_id, CREDITS, "grant", "bourse-demo-credits")
    server = _Embedded(config(build_app(gw), host, gw_port))
    tasks = [asyncio.create_task(upstream.serve()), asyncio.create_task(server.serve())]
    try:
        while not (server.started and upstream.started):
            if any(t.done() for t in tasks):
                raise RuntimeError("the demo gateway failed to start")
            await asyncio.sleep(0.01)
        yield RunningGateway(f"http://{host}:{gw_port}/api/v1", key.secret, gw)
    finally:
        server.should_exit = upstream.should_exit = True
        for t in tasks:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(t, 10)


async def gateway_leg(
    running: RunningGateway,
    settlement: Settlement,
    models: Sequence[GatewayModel],
    calls_per_model: int,
    step: Callable[[str], None],
    x402: X402Leg | None = None,
) -> GatewayFlow:
    """The paid calls (and one x402 call), their settlement by the gateway's worker, and the
    figures."""
    import openai  # noqa: F401  (loaded here, so "calls" times the calls, not the import)

    flow = GatewayFlow(calls=calls_per_model * len(models), credits_granted=CREDITS)
    started = time.perf_counter()
    for m in models:
        step(f"{calls_per_model} paid calls on {m.slug} through the gateway (openai client)")
        paid = await run_paid_calls(
            running.base_url, running.api_key, calls_per_model, model=m.slug
        )
        flow.served += paid.served
        flow.failed += paid.failed
        flow.charged_headers += paid.charged
    flow.seconds["calls"] = time.perf_counter() - started

    # One x402 call (rail 2): its gw_calls row (rail 'x402', paid into the model's inbox) is
    # settled by the same worker below, and counted in flow.ledger_charged["x402"],
    # flow.onchain_settled["x402"] and the proofs.
    if x402 is not None:
        started = time.perf_counter()
        flow.x402 = await _x402_call(running, models[0].slug, x402, step)
        flow.seconds["x402_call"] = time.perf_counter() - started

    step("The gateway's settlement worker settles the calls on-chain, in batches")
    started = time.perf_counter()
    outbox = Outbox(running.gateway.engine)
    deadline = time.monotonic() + 60
    while (await outbox.backlog())[0] > 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the gateway did not settle its calls within 60 s")
        await asyncio.sleep(0.05)
    flow.seconds["settlement"] = time.perf_counter() - started

    step("Reading the gateway's ledger and its batches back from the chain")
    started = time.perf_counter()
    await _figures(running, settlement, flow)
    flow.seconds["verification"] = time.perf_counter() - started
    return flow


async def _x402_call(
    running: RunningGateway, model: str, x402: X402Leg, step: Callable[[str], None]
) -> X402Call:
    if x402.skipped:
        step("x402 call skipped: no facilitator")
        return X402Call(status="skipped", reason=x402.skipped, model=model)
    step(f"One x402 call on {model}, paid in USDC by a fresh wallet (Node facilitator)")
    report = await pay_one_call(running.base_url, x402.payer, x402.rpc_url, model)
    return X402Call(
        status="served" if report.status == 200 else "failed",
        reason="" if report.status == 200 else f"HTTP {report.status}",
        model=model,
        http_status=report.status,
        amount=report.amount,
        inbox_delta=report.inbox_delta,
        transaction=report.transaction or "",
        payer=str(x402.payer.pubkey()),
    )


async def _figures(running: RunningGateway, settlement: Settlement, flow: GatewayFlow) -> None:
    gw = running.gateway
    balance = await gw.ledger.balance(await gw.ledger.user_id("demo"))
    flow.credits_left = balance.available + balance.held
    async with reading(gw.engine) as conn:
        rows = (await conn.execute(select(calls))).all()
        recorded = (await conn.execute(select(batches).where(batches.c.state == "settled"))).all()
    for r in rows:
        flow.ledger_charged[r.rail] = flow.ledger_charged.get(r.rail, 0) + r.gross
        m = flow.per_model.setdefault(
            r.model, {"calls": 0, "gross": 0, "provider": 0, "creator": 0, "protocol": 0}
        )
        m["calls"] += 1
        m["gross"] += r.gross
        m["provider"] += r.provider_amount
        m["creator"] += r.creator_fee
        m["protocol"] += r.protocol_fee
    client = settlement.client
    for b in recorded:
        event = await batch_event(client, Pubkey.from_string(b.stream), b.sequence)
        # a batch whose sequence holds another root on-chain counts as nothing settled
        onchain = event.total if event is not None and bytes(event.root).hex() == b.root else 0
        flow.batches.append(
            GatewayBatch(
                b.id,
                b.model,
                b.rail,
                b.sequence,
                int(b._mapping["count"]),  # Row.count is tuple.count
                b.total,
                onchain,
                b.tx_signature or "",
            )
        )
        flow.onchain_settled[b.rail] = flow.onchain_settled.get(b.rail, 0) + onchain
    flow.settled = sum(1 for r in rows if r.state == "settled")
    for r in rows:
        proof = CallProof.from_json(json.loads(r.proof)) if r.proof else None
        if proof is not None and (await verify_on_chain(client, proof)).ok:
            flow.proofs_verified += 1
            if r.rail == "x402":
                flow.x402.proofs_verified += 1
