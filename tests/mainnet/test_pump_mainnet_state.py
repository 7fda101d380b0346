"""The final check against real mainnet state: pump.fun's ``Global`` and PumpSwap's
``GlobalConfig`` decode with the bindings generated from the public IDLs, and a live
USDC-paired curve (``BOURSE_PUMP_MAINNET_MINT``) decodes and quotes a buy. Skipped, with the
reason, when no mainnet RPC is reachable (``BOURSE_MAINNET_RPC_URL``, default ``https://api.mainnet-beta.solana.com``)."""

from __future__ import annotations

import os

import httpx
import pytest
from solders.pubkey import Pubkey

from bourse_chain import pump_curve, pump_swap
from bourse_chain.generated.pump.accounts import BondingCurve, Global
from bourse_chain.generated.pump_amm.accounts import GlobalConfig

RPC = os.environ.get("BOURSE_MAINNET_RPC_URL", "https://api.mainnet-beta.solana.com")


def _account(address: Pubkey) -> bytes | None:
    import base64

    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "getAccountInfo",
        "params": [str(address), {"encoding": "base64"}],
    }
    resp = httpx.post(RPC, json=body, timeout=10)
    resp.raise_for_status()
    value = resp.json()["result"]["value"]
    return None if value is None else base64.b64decode(value["data"][0])


def _reachable() -> str | None:
    try:
        httpx.post(RPC, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}, timeout=5)
    except httpx.HTTPError as exc:
        return f"no mainnet RPC reachable at {RPC}: {type(exc).__name__}"
    return None


REASON = _reachable()
pytestmark = [
    pytest.mark.optional_backend,
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
]


def _prefix(data: bytes | None, length: int) -> bytes:
    # Anchor accounts may be larger than the IDL layout (space reserved for new fields).
    assert data is not None
    return data[:length]


def test_globals_decode_with_the_generated_bindings() -> None:
    glob = Global.decode(_prefix(_account(pump_curve.global_address()), Global.LEN))
    assert glob.token_total_supply > 0 and glob.fee_basis_points <= 10_000
    data = _account(pump_swap.global_config_address())
    config = GlobalConfig.decode(_prefix(data, GlobalConfig.LEN))
    assert config.lp_fee_basis_points <= 10_000


def test_a_live_usdc_paired_curve_quotes() -> None:
    mint = os.environ.get("BOURSE_PUMP_MAINNET_MINT")
    if not mint:
        pytest.skip("set BOURSE_PUMP_MAINNET_MINT to a USDC-paired pump.fun coin")
    key = Pubkey.from_string(mint)
    curve = BondingCurve.decode(_prefix(_account(pump_curve.curve_address(key)), BondingCurve.LEN))
    glob = Global.decode(_prefix(_account(pump_curve.global_address()), Global.LEN))
    assert curve.token_total_supply > 0 and curve.quote_mint in glob.whitelisted_quote_mints
    if not curve.complete:
        market = pump_curve.CurveMarket(key, key, curve.quote_mint, key, curve, glob)
        q = pump_curve.quote_buy(market, 10_000_000)
        assert 0 < q.spent <= 10_000_000 and q.tokens > 0
