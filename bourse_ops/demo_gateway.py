"""The gateway leg of ``bourse demo``: the inference gateway (``gateway/``) on the demo's
embedded localnet, with a LOCAL STAND-IN upstream (no model behind it), a ``bs_live_`` key
with credits, paid calls made with the official ``openai`` client, and the gateway's own
settlement worker settling them on-chain in batches (pinned in its ledger, each call with its
inclusion proof). :class:`GatewayFlow` has the figures, read back from the ledger and the
chain: what the ledger charged, what the batches the program recorded carried, and whether
every call's proof verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.receipts import CallProof, batch_event, verify_on_chain
from bourse_chain.settlement import Settlement

if TYPE_CHECKING:  # the gateway's stack (FastAPI, SQLAlchemy, openai) loads when the demo
    # runs, not when `bourse` starts
    from gateway.service import Gateway

USDC = 1_000_000
#: The demo user's credits (an admin grant: the stand-in for the card onramp).
CREDITS = 10 * USDC


@dataclass(frozen=True)
class GatewayModel:
    slug: str
    fee_bps: int
    price_input_per_mtok: int
    price_output_per_mtok: int


@dataclass
class GatewayBatch:
    id: str
    model: str
    rail: str
    sequence: int
    count: int
    total: int  # the ledger's
    onchain_total: int  # the BatchSettled event's
    signature: str


@dataclass
class GatewayFlow:
    """What the gateway leg did (raw units: micro-USDC)."""

    calls: int = 0  # asked
    served: int = 0
    failed: int = 0
    credits_granted: int = 0
    credits_left: int = 0
    charged_headers: int = 0  # sum of X-Bourse-Charge, as the client saw it
    #: per rail: sum of gw_calls.gross, and of the BatchSettled totals of the gateway's batches
    ledger_charged: dict[str, int] = field(default_factory=dict)
    onchain_settled: dict[str, int] = field(default_factory=dict)
    settled: int = 0  # gw_calls rows settled
    proofs_verified: int = 0
    per_model: dict[str, dict[str, int]] = field(default_factory=dict)
    batches: list[GatewayBatch] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def calls_per_second(self) -> float:
        t = self.seconds.get("calls", 0.0)
        return self.served / t if t > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = {k: round(v, 3) for k, v in self.seconds.items()}
        d["calls_per_second"] = round(self.calls_per_second, 1)
        return d


@dataclass
class RunningGateway:
    """The gateway while the demo's calls go through it (what a hook gets)."""

    base_url: str  # …/api/v1 (the OpenAI base URL)
    api_key: str
    gateway: Gateway


#: An extra step run while the gateway serves (see the x402 HOOK in :func:`gateway_leg`).
Hook = Callable[[RunningGateway], Awaitable[None]]


@contextlib.asynccontextmanager
async def running_gateway(
    rpc_url: str,
    settler_path: Path,
    provider: Keypair,
    models: Sequence[GatewayModel],
    workdir: Path,
    *,
    settle_interval: float = 0.2,
) -> AsyncIterator[RunningGateway]:
    """A stand-in upstream and a gateway (SQLite in ``workdir``) serving on this event loop,
    with a key holding :data:`CREDITS`; both stopped on exit."""
    import uvicorn

    from gateway import localnet_demo
    from gateway.app import build_app
    from gateway.db.engine import create_schema
    from gateway.server import config, free_port
    from gateway.service import Gateway
    from gateway.settings import Settings
    from gateway.standin import StandIn

    class Embedded(uvicorn.Server):
        """Leaves Ctrl-C to the demo (uvicorn would take SIGINT for itself)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    host = "127.0.0.1"
    up_port, gw_port = free_port(host), free_port(host)
    upstream = Embedded(config(StandIn("good").app, host, up_port))
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
    server = Embedded(config(build_app(gw), host, gw_port))
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
    *,
    hook: Hook | None = None,
) -> GatewayFlow:
    """The paid calls, their settlement by the gateway's worker, and the figures."""
    import openai  # noqa: F401  (loaded here, so "calls" times the calls, not the import)

    from gateway.demo_calls import run_paid_calls
    from gateway.settlement.outbox import Outbox

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

    # ---- x402 HOOK (lead) -------------------------------------------------------------
    # One x402 call through this running gateway goes here (gateway/x402/demo_call.py):
    # pass it as ``hook``. Its gw_calls row (rail 'x402', paid into the model's inbox) is
    # settled by the same worker below and counted in the ledger/on-chain figures.
    if hook is not None:
        await hook(running)
    # -------------------------------------------------------------------------------------

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


async def _figures(running: RunningGateway, settlement: Settlement, flow: GatewayFlow) -> None:
    from sqlalchemy import select

    from gateway.db.engine import reading
    from gateway.db.schema import batches, calls

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


def gateway_checks(flow: GatewayFlow) -> dict[str, bool]:
    """The gateway leg's checks: every call served and settled with a proof that verifies on
    the chain, and the ledger's charges equal — to the micro-USDC — to the totals of the
    batches the program recorded, to what the client was told, and to the credits spent."""
    credits = flow.ledger_charged.get("credits", 0)
    return {
        "gateway_served_every_call": flow.served == flow.calls > 0 and flow.failed == 0,
        "gateway_ledger_charges_equal_onchain_settled": flow.ledger_charged == flow.onchain_settled
        and sum(b.total for b in flow.batches) == sum(flow.onchain_settled.values())
        and credits > 0,
        "gateway_charges_equal_what_the_client_was_told": flow.charged_headers == credits,
        "gateway_credits_spent_equal_charges": flow.credits_granted - flow.credits_left == credits,
        "gateway_every_call_settled_with_a_verified_proof": flow.proofs_verified
        == flow.settled
        == sum(b.count for b in flow.batches)
        >= flow.served,
    }
