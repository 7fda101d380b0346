"""The gateway leg of ``bourse demo``, as data: the figures of the paid calls made through
the inference gateway (:class:`GatewayFlow`), the checks on them, and the interface of the leg
itself (:class:`GatewayLeg`). The leg runs the gateway, so it lives in the gateway package
(``gateway.demo_leg.run``: the gateway sits above ``bourse_ops``), and ``bourse demo`` hands
it to :func:`bourse_ops.demo.run_demo`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from solders.keypair import Keypair

from bourse_chain.settlement import Settlement


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
class X402Call:
    """The leg's one x402 call (rail 2): paid by a fresh wallet into the model's inbox, through
    the checkout's Node facilitator, or skipped (``reason``) when that cannot run."""

    status: str = "skipped"  # "served", "failed" or "skipped"
    reason: str = ""  # why skipped (or failed)
    model: str = ""
    http_status: int = 0
    amount: int = 0  # micro-USDC paid: the quoted price
    inbox_delta: int = 0  # the inbox's balance change over the call, read from the chain
    transaction: str = ""  # the facilitator's settlement transaction
    payer: str = ""
    proofs_verified: int = 0  # of the gateway's x402 rows, verified on the chain


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
    x402: X402Call = field(default_factory=X402Call)
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


@dataclass(frozen=True)
class GatewayRun:
    """What the leg gets: the demo's chain, its settler key (the gateway's settlement
    wallet), the provider whose offers it routes to, the models, the calls per model, a
    scratch folder, and progress callbacks (``step`` per step, ``started`` once the gateway
    serves)."""

    rpc_url: str
    settler_path: Path
    provider: Keypair
    models: tuple[GatewayModel, ...]
    calls_per_model: int
    workdir: Path
    settlement: Settlement
    step: Callable[[str], None]
    started: Callable[[], None]
    #: the x402 call: its payer (funded with USDC), the facilitator's fee payer (funded with
    #: SOL; its keypair file) and the facilitator's folder (None: the checkout's)
    x402_payer: Keypair
    x402_fee_payer_path: Path
    x402_facilitator: Path | None = None


#: Paid calls through a gateway on the demo's chain, settled on-chain by its worker.
GatewayLeg = Callable[[GatewayRun], Awaitable[GatewayFlow]]


#: Steps a leg reports: the start, one per model, the x402 call, the settlement, the read-back.
def leg_steps(models: int) -> int:
    return 4 + models


def gateway_checks(flow: GatewayFlow) -> dict[str, bool]:
    """The gateway leg's checks: every call served and settled with a proof that verifies on
    the chain, and the ledger's charges equal — to the micro-USDC — to the totals of the
    batches the program recorded, to what the client was told, and to the credits spent."""
    credits = flow.ledger_charged.get("credits", 0)
    return {**_credit_checks(flow, credits), **x402_checks(flow)}


def x402_checks(flow: GatewayFlow) -> dict[str, bool]:
    """The x402 call (when not skipped): served, the quoted amount landed in the model's inbox,
    the ledger's x402 charges equal what the program settled from the inbox (to the
    micro-USDC), in batches whose proofs verify (counted in the credit checks' proofs)."""
    x = flow.x402
    if x.status == "skipped":
        return {}
    return {
        "x402_call_served": x.status == "served" and x.http_status == 200,
        "x402_inbox_received_the_quoted_amount": x.inbox_delta == x.amount > 0,
        "x402_ledger_charge_equals_onchain_settled": flow.ledger_charged.get("x402", -1)
        == flow.onchain_settled.get("x402", -2)
        == x.amount,
        "x402_call_settled_with_a_verified_proof": x.proofs_verified == 1,
    }


def _credit_checks(flow: GatewayFlow, credits: int) -> dict[str, bool]:
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
