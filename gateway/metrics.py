"""Prometheus metrics of one gateway (its own registry, served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.calls = Counter(
            "bourse_gateway_calls",
            "Chat calls by outcome",
            ["model", "provider", "outcome"],
            registry=r,
        )
        self.holds = Counter(
            "bourse_gateway_holds",
            "Holds by outcome (taken, posted, voided, expired, refused)",
            ["outcome"],
            registry=r,
        )
        self.failovers = Counter(
            "bourse_gateway_failovers",
            "Upstream failures before the first byte",
            ["provider"],
            registry=r,
        )
        self.charged = Counter(
            "bourse_gateway_charged_micro_usdc", "Gross charged", ["model"], registry=r
        )
        self.upstream_latency = Histogram(
            "bourse_gateway_upstream_first_chunk_seconds",
            "Time to the upstream's first chunk (streaming) or whole answer (JSON)",
            ["provider"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.settlement_lag = Gauge(
            "bourse_gateway_settlement_lag_seconds",
            "Age of the oldest unsettled call",
            registry=r,
        )
        self.settlement_pending = Gauge(
            "bourse_gateway_settlement_pending_calls", "Calls waiting for settlement", registry=r
        )
        self.settled = Counter("bourse_gateway_settled_calls", "Calls settled on-chain", registry=r)
        self.settle_errors = Counter(
            "bourse_gateway_settlement_errors", "Failed settlement batches", registry=r
        )
        self.ledger = Gauge(
            "bourse_gateway_ledger_micro_usdc",
            "Ledger totals (available, held, credited, posted)",
            ["bucket"],
            registry=r,
        )
        self.topups = Counter(
            "bourse_gateway_topups", "Top-ups by outcome", ["outcome"], registry=r
        )
