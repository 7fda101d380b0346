"""``bourse demo``: the whole value flow on an embedded localnet started in-process.

1. The admin initializes the market (1% protocol fee, the local pool allow-listed).
2. A creator lists two models: ``deepseek-chat`` with a classic SPL token and ``kimi-k2.6``
   with a Token-2022 token carrying a 1% transfer fee; the admin approves both; each token
   gets a pool against USDC.
3. A provider registers and offers both models.
4. Paid calls, two ways: on-chain orders (hold, then settle of actual usage; one released
   after an upstream failure), and calls through the inference gateway (``gateway/``, rail 1:
   a ``bs_live_`` key with credits) made with the official ``openai`` client against a LOCAL
   STAND-IN upstream; the gateway's own settlement worker settles them on-chain in batches
   (the leg ``gateway.demo_leg.run`` that ``bourse demo`` passes in; its figures and checks:
   ``bourse_ops.demo_gateway``).
5. One crank cycle: buyback with each revenue vault's USDC (orders' and gateway calls'
   creator fees), burn, Token-2022 fee harvest.

The :class:`DemoReport` holds the figures (raw units: micro-USDC, token base units), the
seconds each phase took, and the checks that make them assertable: value is conserved call by
call and in the balances read back from the chain, the gateway's ledger charges equal the
totals of the batches the program recorded (to the micro-USDC) and every gateway call's proof
verifies, and each token's supply fell by exactly what was burned.
``python scripts/demo.py`` is ``bourse demo``.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.generated.compute_market.accounts import Model
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.market import Market
from bourse_chain.results import Split
from bourse_chain.settlement import Settlement
from bourse_ops import admin, crank, list_model, pool, provider
from bourse_ops.common import Session, base_units_json, read_manifest
from bourse_ops.crank import CrankReport
from bourse_ops.demo_gateway import (
    GatewayFlow,
    GatewayLeg,
    GatewayModel,
    GatewayRun,
    gateway_checks,
    leg_steps,
)

USDC = 1_000_000
TOKEN_DECIMALS = 6
SUPPLY = 1_000_000_000 * 10**TOKEN_DECIMALS
POOL_TOKENS = 100_000_000 * 10**TOKEN_DECIMALS
POOL_USDC = 10_000 * USDC
PROTOCOL_FEE_BPS = 100
SEED = 5
#: the x402 call's wallet: USDC only (the facilitator's fee payer pays the fees, in SOL)
X402_PAYER_USDC = 1 * USDC
X402_FEE_PAYER_LAMPORTS = 1_000_000_000


@dataclass(frozen=True)
class DemoModel:
    slug: str
    fee_bps: int
    price_input_per_mtok: int
    price_output_per_mtok: int
    transfer_fee_bps: int | None = None  # set: a Token-2022 listing with this transfer fee
    uri: str = ""

    @property
    def token_2022(self) -> bool:
        return self.transfer_fee_bps is not None


MODELS = (
    DemoModel("deepseek-chat", 800, 270_000, 1_100_000, None, "https://example.org/deepseek-chat"),
    DemoModel("kimi-k2.6", 1_000, 600_000, 2_500_000, 100, "https://example.org/kimi-k2.6"),
)


class Reporter(Protocol):
    """Progress of the demo: ``begin`` once with the number of steps, then ``step`` each."""

    def begin(self, total: int) -> None: ...

    def step(self, description: str) -> None: ...


class _Silent:
    def begin(self, total: int) -> None:
        pass

    def step(self, description: str) -> None:
        pass


@dataclass
class ModelFlow:
    """The figures of one model (raw units)."""

    slug: str
    token_kind: str
    creator_fee_bps: int
    transfer_fee_bps: int | None
    mint: str = ""
    orders: int = 0
    released: int = 0
    gateway_calls: int = 0
    paid_in: int = 0
    gross: int = 0
    provider: int = 0
    creator: int = 0
    protocol: int = 0
    refund: int = 0
    usdc_spent: int = 0
    tokens_bought: int = 0
    tokens_burned: int = 0
    supply_before: int = 0
    supply_after: int = 0
    revenue_vault_after: int = 0
    transfer_fees_harvested: int = 0

    def add(self, split: Split, paid_in: int) -> None:
        self.paid_in += paid_in
        self.gross += split.gross
        self.provider += split.provider
        self.creator += split.creator
        self.protocol += split.protocol
        self.refund += split.refund


#: ModelFlow fields counted in model-token base units.
TOKEN_FIELDS = (
    "tokens_bought",
    "tokens_burned",
    "supply_before",
    "supply_after",
    "transfer_fees_harvested",
)


@dataclass
class DemoReport:
    elapsed_seconds: float = 0.0
    protocol_fee_bps: int = PROTOCOL_FEE_BPS
    models: list[ModelFlow] = field(default_factory=list)
    parties: dict[str, dict[str, int]] = field(default_factory=dict)
    gateway: GatewayFlow = field(default_factory=GatewayFlow)
    #: seconds per phase
    timings: dict[str, float] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        keys = [
            "orders",
            "released",
            "gateway_calls",
            "paid_in",
            "gross",
            "provider",
            "creator",
            "protocol",
            "refund",
            "usdc_spent",
        ]
        return {k: sum(int(getattr(m, k)) for m in self.models) for k in keys}

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    def to_json(self) -> dict[str, Any]:
        """Raw units: micro-USDC, and model-token amounts as ``*_base_units`` of each model's
        own token (``token_decimals``); the totals are USDC and counts only, since different
        models' tokens do not add up."""
        return {
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "protocol_fee_bps": self.protocol_fee_bps,
            "models": [
                base_units_json({**asdict(m), "token_decimals": TOKEN_DECIMALS}, *TOKEN_FIELDS)
                for m in self.models
            ],
            "totals": self.totals,
            "parties": self.parties,
            "gateway": self.gateway.to_json(),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "checks": self.checks,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class _Call:
    model: DemoModel
    index: int
    max_input: int
    max_output: int
    used_input: int
    used_output: int
    fails_upstream: bool


def plan_calls(orders: int) -> list[_Call]:
    """The demo's orders, deterministic: per model ``orders`` orders (the last one released)."""
    rng = random.Random(SEED)
    calls = []
    for m in MODELS:
        for i in range(orders):
            max_in, max_out = rng.randint(50, 400) * 1_000, rng.randint(10, 100) * 1_000
            calls.append(
                _Call(
                    m,
                    i,
                    max_in,
                    max_out,
                    rng.randint(max_in // 10, max_in),
                    rng.randint(max_out // 10, max_out),
                    fails_upstream=i == orders - 1,
                )
            )
    return calls


class _Phases:
    """Seconds per phase of the demo (``report.timings``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._at = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = now - self._at
        self._at = now


async def run_demo(
    *,
    reporter: Reporter | None = None,
    workdir: str | Path | None = None,
    orders: int = 6,
    calls: int = 8,
    gateway_leg: GatewayLeg,
    x402_facilitator: Path | None = None,
) -> DemoReport:
    """Run the demo on a fresh embedded localnet; returns its report. ``gateway_leg`` makes
    ``calls`` paid calls per model through the gateway (``gateway.demo_leg.run``), and one x402
    call paid by a fresh wallet through the Node facilitator in ``x402_facilitator`` (None:
    the checkout's ``x402_facilitator/``; skipped, and said so, when it cannot run)."""
    started = time.perf_counter()
    rep = reporter or _Silent()
    planned = plan_calls(orders)
    # steps: 5 once (start, init, provider, harvest, read back), 7 per model (5 listing,
    # offer, buyback), one per order, and the gateway leg's
    rep.begin(5 + 7 * len(MODELS) + len(planned) + leg_steps(len(MODELS)))
    rep.step("Starting an embedded localnet")
    phases = _Phases()
    with tempfile.TemporaryDirectory(prefix="bourse-demo-") as tmp:
        from localnet import Localnet

        async with Localnet.start(port=0, workdir=workdir or tmp, backend="embedded") as net:
            phases.done("localnet")
            manifest = read_manifest(net.manifest_path)
            # the x402 call's wallet (USDC only) and its facilitator's fee payer (SOL only)
            x402_payer, fee_payer = Keypair(), Keypair()
            await net.mint_usdc(x402_payer.pubkey(), X402_PAYER_USDC)
            await net.airdrop(fee_payer.pubkey(), X402_FEE_PAYER_LAMPORTS)
            fee_payer_path = Path(tmp) / "x402-fee-payer.json"
            fee_payer_path.write_text(json.dumps(list(bytes(fee_payer))))
            session = await Session.open(net.rpc_url, manifest=manifest)
            async with session:
                report = await _flow(
                    session,
                    net.keypairs,
                    planned,
                    _Env(
                        net.rpc_url,
                        net.keypair_paths["settler"],
                        Path(tmp),
                        calls,
                        x402_payer,
                        fee_payer_path,
                        x402_facilitator,
                    ),
                    rep,
                    phases,
                    gateway_leg,
                )
    report.elapsed_seconds = time.perf_counter() - started
    report.timings = {**phases.seconds, "total": report.elapsed_seconds}
    return report


@dataclass(frozen=True)
class _Env:
    """The demo's chain and scratch folder, and the gateway calls per model."""

    rpc_url: str
    settler_path: Path
    workdir: Path
    calls_per_model: int
    x402_payer: Keypair
    x402_fee_payer_path: Path
    x402_facilitator: Path | None

    @property
    def crank_state(self) -> Path:
        return self.workdir / "crank-state"


async def _flow(
    s: Session,
    k: dict[str, Keypair],
    calls: list[_Call],
    env: _Env,
    rep: Reporter,
    phases: _Phases,
    leg: GatewayLeg,
) -> DemoReport:
    report = DemoReport()
    treasury = Keypair()
    cp_pool = (s.deployment.manifest.program_ids if s.deployment.manifest else {}).get(
        "cp_pool", CP_POOL_ID
    )
    rep.step("Admin initializes the market (1% protocol fee, local pool allow-listed)")
    await admin.init_config(
        s,
        k["admin"],
        settler=k["settler"].pubkey(),
        crank=k["crank"].pubkey(),
        treasury_authority=treasury.pubkey(),
        protocol_fee_bps=PROTOCOL_FEE_BPS,
        swap_programs=[cp_pool],
    )
    flows = {}
    for m in MODELS:
        flows[m.slug] = await _list(s, k, m, rep)
    report.models = list(flows.values())

    rep.step("Provider registers")
    prov = k["provider"]
    await provider.register_provider(s, prov, "Bourse Demo GPU")
    for m in MODELS:
        rep.step(f"Provider offers {m.slug}")
        await provider.upsert_offer(
            s, prov, m.slug, m.price_input_per_mtok, m.price_output_per_mtok
        )
    phases.done("market_setup")

    market = s.market
    payer, gateway = k["payer"], k["settler"]
    watched = {
        "payer": market.usdc_account(payer.pubkey()),
        "gateway": market.usdc_account(gateway.pubkey()),
        "x402_payer": market.usdc_account(env.x402_payer.pubkey()),
        "provider": market.usdc_account(prov.pubkey()),
        "treasury": market.treasury,
        "escrow": market.escrow_vault,
    }
    before = {name: await s.token_balance(a) or 0 for name, a in watched.items()}
    settlement = await Settlement.load(s.client, k["settler"])
    await _orders(s, settlement, payer, prov.pubkey(), calls, flows, rep)
    phases.done("orders")
    report.gateway = await _gateway(settlement, prov, env, flows, rep, phases, leg)
    after_calls = {name: await s.token_balance(a) or 0 for name, a in watched.items()}

    cycle: dict[str, CrankReport] = {}
    for m in MODELS:
        rep.step(f"Crank buys back and burns {m.slug}")
        cycle[m.slug] = await crank.buyback_and_burn(
            s, k["crank"], m.slug, state_dir=env.crank_state
        )
    rep.step("Crank harvests Token-2022 transfer fees")
    for m in MODELS:
        if m.token_2022:
            flows[m.slug].transfer_fees_harvested = (
                await crank.harvest_fees(s, k["crank"], m.slug, state_dir=env.crank_state)
            ).harvested
    phases.done("buyback_and_burn")
    rep.step("Reading the chain back")
    await _settle_figures(s, report, flows, cycle, market)
    _parties(report, before, after_calls, flows)
    report.checks = {
        **await _checks(s, report, flows, before, after_calls, market),
        **gateway_checks(report.gateway),
    }
    # the gateway paid, from its settlement wallet, exactly its ledger's credits charges
    report.checks["gateway_wallet_paid_its_ledger_charges"] = report.parties["gateway"][
        "paid"
    ] == report.gateway.ledger_charged.get("credits", -1)
    # and the x402 wallet paid exactly the ledger's x402 charge (nothing when skipped)
    report.checks["x402_payer_paid_its_ledger_charge"] = report.parties["x402_payer"][
        "paid"
    ] == report.gateway.ledger_charged.get("x402", 0)
    phases.done("read_back")
    return report


async def _gateway(
    settlement: Settlement,
    prov: Keypair,
    run: _Env,
    flows: dict[str, ModelFlow],
    rep: Reporter,
    phases: _Phases,
    leg: GatewayLeg,
) -> GatewayFlow:
    """Paid calls through the gateway, settled on-chain by its worker (before the buyback:
    their creator fees are in the revenue vaults it spends)."""
    models = tuple(
        GatewayModel(m.slug, m.fee_bps, m.price_input_per_mtok, m.price_output_per_mtok)
        for m in MODELS
    )
    flow = await leg(
        GatewayRun(
            run.rpc_url,
            run.settler_path,
            prov,
            models,
            run.calls_per_model,
            run.workdir,
            settlement,
            rep.step,
            lambda: phases.done("gateway_start"),
            run.x402_payer,
            run.x402_fee_payer_path,
            run.x402_facilitator,
        )
    )
    phases.seconds.update({f"gateway_{k}": v for k, v in flow.seconds.items()})
    phases.done("gateway")
    for slug, m in flow.per_model.items():
        if slug in flows:
            flows[slug].gateway_calls += m["calls"]
            flows[slug].add(
                Split(
                    gross=m["gross"],
                    provider=m["provider"],
                    creator=m["creator"],
                    protocol=m["protocol"],
                ),
                m["gross"],
            )
    return flow


async def _list(s: Session, k: dict[str, Keypair], m: DemoModel, rep: Reporter) -> ModelFlow:
    creator, adm = k["creator"], k["admin"]
    kind = "Token-2022 (1% transfer fee)" if m.token_2022 else "SPL"
    rep.step(f"Creator registers {m.slug} ({m.fee_bps / 100:g}% creator fee)")
    await list_model.register_model(s, creator, m.slug, m.fee_bps, m.uri)
    rep.step(f"Creator mints a fixed {kind} supply for {m.slug}")
    token = await list_model.create_model_token(
        s,
        creator,
        supply=SUPPLY,
        decimals=TOKEN_DECIMALS,
        token_2022=m.token_2022,
        transfer_fee_bps=m.transfer_fee_bps,
    )
    mint = Pubkey.from_string(token.mint)
    rep.step(f"Admin approves {m.slug} with that mint")
    await admin.set_model_status(s, adm, m.slug, ModelStatus.APPROVED, mint)
    rep.step(f"Creator tokenizes {m.slug}")
    await list_model.tokenize_model(s, creator, m.slug, mint)
    rep.step(f"Creator seeds a {m.slug}/USDC pool")
    await pool.add_pool(s, creator, m.slug, tokens=POOL_TOKENS, usdc=POOL_USDC)
    return ModelFlow(
        slug=m.slug,
        token_kind="token2022" if m.token_2022 else "spl",
        creator_fee_bps=m.fee_bps,
        transfer_fee_bps=m.transfer_fee_bps,
        mint=token.mint,
    )


async def _orders(
    s: Session,
    settlement: Settlement,
    payer: Keypair,
    provider_authority: Pubkey,
    calls: list[_Call],
    flows: dict[str, ModelFlow],
    rep: Reporter,
) -> None:
    provider_pda = s.market.provider(provider_authority)
    gate = asyncio.Semaphore(8)

    async def one(call: _Call) -> None:
        async with gate:
            hold = await settlement.open_hold(
                payer,
                call.model.slug,
                provider_pda,
                call.max_input,
                call.max_output,
                600,
                f"demo:{call.model.slug}:{call.index}",
            )
            if call.fails_upstream:
                split = await settlement.release(hold)
                flows[call.model.slug].released += 1
            else:
                split = await settlement.settle(hold, call.used_input, call.used_output)
            flows[call.model.slug].orders += 1
            flows[call.model.slug].add(split, hold.amount)
            verb = "released (upstream failure)" if call.fails_upstream else "settled"
            rep.step(f"Order {call.index + 1} on {call.model.slug} {verb}")

    await asyncio.gather(*(one(c) for c in calls))


async def _settle_figures(
    s: Session,
    report: DemoReport,
    flows: dict[str, ModelFlow],
    cycle: dict[str, CrankReport],
    market: Market,
) -> None:
    for slug, flow in flows.items():
        c = cycle[slug]
        flow.usdc_spent, flow.tokens_bought, flow.tokens_burned = (
            c.usdc_spent,
            c.tokens_bought,
            c.tokens_burned,
        )
        flow.supply_before, flow.supply_after = c.supply_before, c.supply_after
        flow.revenue_vault_after = await s.token_balance(market.revenue_vault(slug)) or 0


def _parties(
    report: DemoReport,
    before: dict[str, int],
    after: dict[str, int],
    flows: dict[str, ModelFlow],
) -> None:
    t = report.totals
    report.parties = {
        "payer": {"paid": before["payer"] - after["payer"]},
        "gateway": {"paid": before["gateway"] - after["gateway"]},
        "x402_payer": {"paid": before["x402_payer"] - after["x402_payer"]},
        "provider": {"received": after["provider"] - before["provider"]},
        "treasury": {"received": after["treasury"] - before["treasury"]},
        "revenue_vaults": {
            "received": t["creator"],
            "spent_on_buyback": t["usdc_spent"],
            "left": sum(f.revenue_vault_after for f in flows.values()),
        },
        "escrow": {"left": after["escrow"]},
    }


async def _checks(
    s: Session,
    report: DemoReport,
    flows: dict[str, ModelFlow],
    before: dict[str, int],
    after: dict[str, int],
    market: Market,
) -> dict[str, bool]:
    t, p = report.totals, report.parties
    models = await s.client.fetch_many([market.model(slug) for slug in flows], Model)
    accounts_agree = all(
        acc is not None
        and (acc.total_volume, acc.total_creator_fees, acc.total_protocol_fees)
        == (f.gross, f.creator, f.protocol)
        and (acc.total_provider_payouts, acc.usdc_spent, acc.tokens_burned)
        == (f.provider, f.usdc_spent, f.tokens_burned)
        for acc, f in zip(models, flows.values(), strict=True)
    )
    return {
        "paid_in_equals_provider_creator_protocol_refund": all(
            f.paid_in == f.provider + f.creator + f.protocol + f.refund for f in flows.values()
        ),
        "gross_equals_provider_creator_protocol": all(
            f.gross == f.provider + f.creator + f.protocol for f in flows.values()
        ),
        "payers_paid_gross": p["payer"]["paid"] + p["gateway"]["paid"] + p["x402_payer"]["paid"]
        == t["gross"],
        "provider_received_its_share": p["provider"]["received"] == t["provider"],
        "treasury_received_protocol_fees": p["treasury"]["received"] == t["protocol"],
        "revenue_vaults_hold_creator_fees_minus_buyback": all(
            f.revenue_vault_after == f.creator - f.usdc_spent for f in flows.values()
        ),
        "escrow_empty": after["escrow"] == before["escrow"] == 0,
        "supply_fell_by_burned": all(
            f.supply_before - f.supply_after == f.tokens_burned and f.tokens_burned > 0
            for f in flows.values()
        ),
        "burned_everything_bought": all(f.tokens_burned == f.tokens_bought for f in flows.values()),
        "model_accounts_agree": accounts_agree,
    }
