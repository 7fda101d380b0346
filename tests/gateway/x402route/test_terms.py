"""The 402 of the gateway's x402 route: the terms of this request's upper bound at the cheapest
offer, paid to the model's inbox authority, in both wire versions; GET and HEAD answer too; the
x402conf tool passes every offline check against it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from x402.http.utils import decode_payment_required_header
from x402.schemas import PaymentRequired

from gateway.chat_request import parse
from gateway.quote import bound, hold_amount
from tests.gateway.harness import Chain, Upstreams, database_url, gateway_thread
from tests.gateway.x402route.harness import (
    OTHER,
    PATH,
    SLUG,
    NodeFacilitator,
    chat_body,
    inbox,
    inbox_authority,
    route_url,
    x402_rows,
    x402_settings,
)


def test_the_402_carries_this_requests_price_paid_to_the_models_inbox(
    chain: Chain, upstreams: Upstreams, facilitator: NodeFacilitator, tmp_path: Path
) -> None:
    db = database_url("sqlite", tmp_path)
    with gateway_thread(x402_settings(chain, upstreams, db, facilitator.url)) as gw:
        assert gw.gateway is not None
        for slug in (SLUG, OTHER):  # the gateway created every routed model's inbox
            found = chain.net.rpc(
                "getAccountInfo", [str(inbox(chain, slug)), {"encoding": "base64"}]
            )
            assert found["value"] is not None
        for slug, max_tokens in ((SLUG, None), (SLUG, 50), (OTHER, 7)):
            body = chat_body(slug, text="how much " * 40)
            if max_tokens:
                body["max_tokens"] = max_tokens
            raw = json.dumps(body).encode()
            answer = httpx.post(
                route_url(gw), content=raw, headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 402
            cheapest = gw.gateway.catalog.resolve(slug)[0]
            req = parse(raw, None)
            price = hold_amount(cheapest, bound(req.size, req.messages, req.max_output, cheapest))
            v2 = decode_payment_required_header(answer.headers["PAYMENT-REQUIRED"])
            assert isinstance(v2, PaymentRequired)
            (offer,) = v2.accepts
            assert (offer.scheme, offer.network) == (
                "exact",
                "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
            )
            assert offer.amount == str(price)
            assert offer.pay_to == str(inbox_authority(slug))
            assert offer.asset == str(chain.net.usdc_mint)
            assert offer.extra["feePayer"] == str(facilitator.fee_payer.pubkey())
            assert v2.resource is not None and v2.resource.url.endswith(PATH)
            assert slug in (v2.resource.description or "")
            (v1,) = answer.json()["accepts"]
            assert v1["maxAmountRequired"] == v1["amount"] == str(price)
            assert v1["network"] == "solana-devnet"
            assert v1["payTo"] == offer.pay_to and v1["asset"] == offer.asset
        # the payTo is never the gateway's wallet (the settler)
        assert offer.pay_to != str(chain.keypairs["settler"].pubkey())
        for method in ("GET", "HEAD"):
            probe = httpx.request(method, route_url(gw))
            assert probe.status_code == 402
            assert "PAYMENT-REQUIRED" in probe.headers
        probe = httpx.get(route_url(gw), params={"model": OTHER})
        (offer,) = probe.json()["accepts"]
        assert offer["payTo"] == str(inbox_authority(OTHER))
        # bad requests are refused before any terms: nothing to pay for
        assert httpx.post(route_url(gw), json={"model": SLUG}).status_code == 400
        unknown = httpx.post(route_url(gw), json=chat_body("no-such-model"))
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "MODEL_NOT_FOUND"
    assert x402_rows(db) == []


def test_the_route_is_absent_without_a_facilitator(
    chain: Chain, upstreams: Upstreams, tmp_path: Path
) -> None:
    settings = x402_settings(chain, upstreams, database_url("sqlite", tmp_path), "")
    with gateway_thread(settings) as gw:
        answer = httpx.post(route_url(gw), json=chat_body())
        assert answer.status_code == 404


X402CONF = shutil.which("x402conf", path=str(Path(sys.executable).parent)) or shutil.which(
    "x402conf"
)


def test_x402conf_resource_checks_pass_against_the_route(
    chain: Chain, upstreams: Upstreams, facilitator: NodeFacilitator, tmp_path: Path
) -> None:
    assert X402CONF is not None, "x402-conformance is a dev dependency"
    db = database_url("sqlite", tmp_path)
    with gateway_thread(x402_settings(chain, upstreams, db, facilitator.url)) as gw:
        done = subprocess.run(
            [X402CONF, "resource", route_url(gw), "--fail-on-error"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    report = json.loads(done.stdout)
    checks = [check for result in report["results"] for check in result["checks"]]
    assert sorted(c["check"].split()[0] for c in checks) == [f"P{i}" for i in range(1, 8)]
    assert [c for c in checks if not c["pass"]] == [] and done.returncode == 0


def test_the_route_is_summarised_in_the_openapi_spec(tmp_path: Path) -> None:
    import warnings

    from gateway.app import create_app
    from gateway.service import Gateway
    from gateway.settings import Settings

    app = create_app(Gateway(Settings(db=database_url("sqlite", tmp_path))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. FastAPI's duplicate operation id warning
        spec = app.openapi()
    ops = spec["paths"][PATH]
    assert set(ops) == {"get", "head", "post"}
    assert all(op["summary"] and op["description"] for op in ops.values())
    assert len({op["operationId"] for op in ops.values()}) == 3
