"""Every ``bourse`` command that writes, run in-process against the JSON-RPC localnet in
both output modes; the JSON is parsed and compared with the accounts read back.

The tests run in order on one localnet (the config PDA is a singleton per chain):
admin init, model tokens, listings, approval, tokenization, provider and offers, orders
and payments, pool and crank, updates, delisting.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

from bourse_chain.client import AccountType, BourseClient
from bourse_chain.generated.compute_market.accounts import Config, Model, Offer, Order, Provider
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.compute_market.types.token_kind import TokenKind
from bourse_chain.market import Market
from bourse_chain.pda import config_pda, model_pda
from bourse_chain.token_layout import decode_mint
from bourse_ops.common import format_amount
from bourse_ops.sandbox.svm_chain import BIN
from localnet import Localnet
from localnet.net import ThreadedLocalnet
from tests.support.cli import Bourse, chain_read, token_balance, token_supply

pytestmark = pytest.mark.skipif(
    not (BIN / "compute_market.so").exists(), reason="programs not built (python -m program.build)"
)

ROOT = Path(__file__).resolve().parents[2]
USDC = 1_000_000
SPL, T22 = "deepseek-chat", "kimi-k2.6"
STATE: dict[str, str] = {}


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedLocalnet]:
    with Localnet.start_in_thread(port=0, workdir=tmp_path_factory.mktemp("cli-flow")) as n:
        yield n


A = TypeVar("A", bound=AccountType)


@pytest.fixture(scope="module")
def bourse(net: ThreadedLocalnet) -> Bourse:
    return Bourse(net.rpc_url, net.workdir)


def fetch(net: ThreadedLocalnet, address: Pubkey, kind: type[A]) -> A | None:
    async def read(c: BourseClient) -> A | None:
        return await c.fetch(address, kind)

    return chain_read(net.rpc_url, read)


def market_of(net: ThreadedLocalnet) -> Market:
    config = fetch(net, config_pda()[0], Config)
    assert isinstance(config, Config)
    return Market(config.usdc_mint, config.treasury_authority, config.usdc_token_program)


def model_account(net: ThreadedLocalnet, slug: str) -> Model:
    m = fetch(net, model_pda(slug)[0], Model)
    assert isinstance(m, Model)
    return m


def test_admin_init_and_config(net: ThreadedLocalnet, bourse: Bourse) -> None:
    # Given a fresh localnet, when the upgrade authority (the manifest's `admin`) runs init
    got = bourse(
        "admin", "init", "--max-buyback", "1000", "--cooldown", "0", keypair="admin"
    ).json()
    # Then the JSON is the config account as stored on chain
    config = fetch(net, config_pda()[0], Config)
    assert isinstance(config, Config)
    keys = net.keypairs
    assert got["admin"] == str(config.admin) == str(keys["admin"].pubkey())
    assert got["settler"] == str(config.settler) == str(keys["settler"].pubkey())
    assert got["crank"] == str(config.crank) == str(keys["crank"].pubkey())
    assert got["treasury_authority"] == str(keys["admin"].pubkey())
    assert got["usdc_mint"] == str(net.usdc_mint) == str(config.usdc_mint)
    assert got["swap_programs"] == [str(net.program_ids["cp_pool"])]
    assert (got["protocol_fee_bps"], got["max_protocol_fee_bps"], got["max_model_fee_bps"]) == (
        config.protocol_fee_bps,
        config.max_protocol_fee_bps,
        config.max_model_fee_bps,
    )
    assert got["max_buyback_per_call"] == config.max_buyback_per_call == 1_000 * USDC
    # and the table mode shows the same config
    table = bourse("admin", "config", output="table")
    assert table.code == 0 and "compute market config" in table.stdout
    assert str(config.admin) in table.stdout and "100 bps (cap 500 bps)" in table.stdout
    assert bourse("admin", "config").json() == got


def transfer_fee_authority(data: bytes) -> tuple[Pubkey, int]:
    """(withdraw-withheld authority, newer fee bps) of a Token-2022 mint's TransferFeeConfig."""
    fee = decode_mint(data).transfer_fee
    assert fee is not None and fee.withdraw_withheld_authority is not None
    return fee.withdraw_withheld_authority, fee.newer.basis_points


def test_model_create_tokens(net: ThreadedLocalnet, bourse: Bourse) -> None:
    spl = bourse("model", "create-token", "--supply", "1000000000", keypair="creator").json()
    assert spl["token_kind"] == "spl" and spl["token_program"] == str(TOKEN_PROGRAM_ID)
    assert (
        spl["supply_base_units"]
        == 10**15
        == token_supply(net.rpc_url, Pubkey.from_string(spl["mint"]))
    )
    assert token_balance(net.rpc_url, Pubkey.from_string(spl["creator_token_account"])) == 10**15

    t22 = bourse(
        "model",
        "create-token",
        "--supply",
        "5000000",
        "--token-2022",
        "--transfer-fee-bps",
        "100",
        "--max-fee",
        "1000",
        output="table",
        keypair="creator",
    )
    assert t22.code == 0 and "model token created" in t22.stdout and "token2022" in t22.stdout
    # whole tokens in the table (5,000,000 tokens of 6 decimals), never base units
    assert "5,000,000 tokens (6 decimals)" in t22.stdout and "1,000 tokens" in t22.stdout
    assert "5,000,000,000,000" not in t22.stdout
    t22j = bourse(
        "model",
        "create-token",
        "--supply",
        "1000000000",
        "--token-2022",
        "--transfer-fee-bps",
        "100",
        keypair="creator",
    ).json()
    mint = Pubkey.from_string(t22j["mint"])
    assert t22j["token_program"] == str(TOKEN_2022_PROGRAM_ID)
    assert t22j["withdraw_withheld_authority"] == str(config_pda()[0])

    async def raw(c: BourseClient) -> bytes:
        acc = await c.get_account(mint)
        assert acc is not None and acc.owner == TOKEN_2022_PROGRAM_ID
        return bytes(acc.data)

    authority, bps = transfer_fee_authority(chain_read(net.rpc_url, raw))
    assert (authority, bps) == (config_pda()[0], 100)
    STATE["spl_mint"], STATE["t22_mint"] = spl["mint"], t22j["mint"]


def test_model_register_approve_tokenize(net: ThreadedLocalnet, bourse: Bourse) -> None:
    got = bourse(
        "model", "register", SPL, "--fee-bps", "800", "--uri", "https://x.org/ds", keypair="creator"
    ).json()
    m = model_account(net, SPL)
    assert (got["status"], got["fee_bps"], got["metadata_uri"]) == (
        "pending",
        800,
        "https://x.org/ds",
    )
    assert m.status == ModelStatus.PENDING and got["address"] == str(model_pda(SPL)[0])
    assert got["creator"] == str(m.creator) and got["revenue_vault"] == str(m.revenue_vault)
    table = bourse("model", "register", T22, "--fee-bps", "1000", keypair="creator", output="table")
    assert table.code == 0 and f"model {T22}" in table.stdout and "pending" in table.stdout

    approved = bourse("admin", "approve", SPL, "--mint", STATE["spl_mint"], keypair="admin").json()
    assert approved["status"] == "approved" == model_account(net, SPL).status.name.lower()
    assert str(model_account(net, SPL).approved_mint) == STATE["spl_mint"]
    table = bourse(
        "admin", "approve", T22, "--mint", STATE["t22_mint"], keypair="admin", output="table"
    )
    assert table.code == 0 and "approved" in table.stdout
    assert model_account(net, T22).status == ModelStatus.APPROVED

    tok = bourse("model", "tokenize", SPL, "--mint", STATE["spl_mint"], keypair="creator").json()
    m = model_account(net, SPL)
    assert tok["mint"] == str(m.mint) == STATE["spl_mint"] and m.token_kind == TokenKind.SPL
    assert tok["buyback_vault"] == str(m.buyback_vault) and tok["supply_base_units"] == 10**15
    table = bourse(
        "model", "tokenize", T22, "--mint", STATE["t22_mint"], keypair="creator", output="table"
    )
    assert table.code == 0 and "token2022" in table.stdout
    assert model_account(net, T22).token_kind == TokenKind.TOKEN2022


def test_provider_register_offer_status(net: ThreadedLocalnet, bourse: Bourse) -> None:
    got = bourse("provider", "register", "DeepSeek Direct", keypair="provider").json()
    authority = net.keypairs["provider"].pubkey()
    m = market_of(net)
    p = fetch(net, m.provider(authority), Provider)
    assert isinstance(p, Provider)
    assert got["name"] == "DeepSeek Direct" and got["payout"] == str(p.payout)
    assert got["payout"] == str(m.usdc_account(authority)) and got["offers"] == []

    offer = bourse(
        "provider",
        "offer",
        SPL,
        "--input-price",
        "0.27",
        "--output-price",
        "1.10",
        keypair="provider",
    ).json()
    o = fetch(net, m.offer(SPL, authority), Offer)
    assert isinstance(o, Offer)
    assert (offer["price_input_per_mtok"], offer["price_output_per_mtok"]) == (270_000, 1_100_000)
    assert (o.price_input_per_mtok, o.price_output_per_mtok, o.active) == (270_000, 1_100_000, True)
    table = bourse(
        "provider",
        "offer",
        T22,
        "--input-price",
        "0.6",
        "--output-price",
        "2.5",
        keypair="provider",
        output="table",
    )
    assert table.code == 0 and "2.5 USDC per 1M tokens" in table.stdout

    status = bourse("provider", "status", keypair="provider").json()
    assert [x["slug"] for x in status["offers"]] == [SPL, T22]
    assert status["payout_balance"] == token_balance(net.rpc_url, p.payout)
    table = bourse("provider", "status", str(authority), output="table")
    assert table.code == 0 and "DeepSeek Direct" in table.stdout and T22 in table.stdout


def test_orders_and_payments(net: ThreadedLocalnet, bourse: Bourse) -> None:
    m = market_of(net)
    provider = str(net.keypairs["provider"].pubkey())
    payer_ata = m.usdc_account(net.keypairs["payer"].pubkey())
    before = token_balance(net.rpc_url, payer_ata)
    opened = bourse(
        "order",
        "open",
        SPL,
        "--provider",
        provider,
        "--max-input",
        "200000",
        "--max-output",
        "100000",
        "--key",
        "call-1",
        keypair="payer",
    ).json()
    order = Pubkey.from_string(opened["order"])
    o = fetch(net, order, Order)
    assert isinstance(o, Order) and opened["hold"] == o.hold == 54_000 + 110_000
    assert token_balance(net.rpc_url, payer_ata) == before - o.hold
    # the same idempotency key opens nothing new
    again = bourse(
        "order",
        "open",
        SPL,
        "--provider",
        provider,
        "--max-input",
        "200000",
        "--max-output",
        "100000",
        "--key",
        "call-1",
        keypair="payer",
    ).json()
    assert again == opened
    listed = bourse("order", "list").json()
    assert [x["order"] for x in listed] == [opened["order"]]
    table = bourse("order", "list", output="table")
    assert table.code == 0 and opened["order"] in table.stdout

    split = bourse(
        "order",
        "settle",
        opened["order"],
        "--input-tokens",
        "100000",
        "--output-tokens",
        "10000",
        keypair="settler",
    ).json()
    gross = 27_000 + 11_000
    assert split["gross"] == gross and split["refund"] == o.hold - gross
    assert split["provider"] + split["creator"] + split["protocol"] == gross
    assert split["creator"] == -(-gross * 800 // 10_000) and split["protocol"] == gross // 100
    assert token_balance(net.rpc_url, payer_ata) == before - gross
    assert fetch(net, order, Order) is None

    opened2 = bourse(
        "order",
        "open",
        T22,
        "--provider",
        provider,
        "--max-input",
        "1000",
        "--max-output",
        "1000",
        keypair="payer",
        output="table",
    )
    assert opened2.code == 0 and "hold" in opened2.stdout
    [open_order] = bourse("order", "list").json()
    released = bourse("order", "release", open_order["order"], keypair="settler", output="table")
    assert released.code == 0 and "refund" in released.stdout
    assert token_balance(net.rpc_url, payer_ata) == before - gross

    paid = bourse(
        "order",
        "pay",
        T22,
        "--provider",
        provider,
        "--amount",
        "2.5",
        "--id",
        "x402:1",
        keypair="settler",
    ).json()
    assert paid["gross"] == 2_500_000 and paid["refund"] == 0
    assert paid["creator"] == 250_000 and paid["protocol"] == 25_000
    assert token_balance(net.rpc_url, m.revenue_vault(T22)) == 250_000
    replay = bourse(
        "order",
        "pay",
        T22,
        "--provider",
        provider,
        "--amount",
        "2.5",
        "--id",
        "x402:1",
        keypair="settler",
    ).json()
    # a replay moves nothing and says so: the recorded split, flagged already settled
    assert paid["already_settled"] is False and replay["already_settled"] is True
    assert {k: v for k, v in replay.items() if k != "already_settled"} == {
        k: v for k, v in paid.items() if k != "already_settled"
    }
    assert token_balance(net.rpc_url, m.revenue_vault(T22)) == 250_000
    vault_before = token_balance(net.rpc_url, m.revenue_vault(T22))
    table = bourse(
        "order",
        "pay",
        T22,
        "--provider",
        provider,
        "--amount",
        "2.5",
        "--id",
        "x402:1",
        keypair="settler",
        output="table",
    )
    assert table.code == 0 and "already settled (nothing moved)" in table.stdout
    assert "2.5 USDC" in table.stdout
    assert token_balance(net.rpc_url, m.revenue_vault(T22)) == vault_before
    STATE["released_order"] = open_order["order"]


def test_model_status_matches_chain(net: ThreadedLocalnet, bourse: Bourse) -> None:
    for slug in (SPL, T22):
        got = bourse("model", "status", slug).json()
        m = model_account(net, slug)
        assert (got["volume"], got["creator_fees"], got["protocol_fees"]) == (
            m.total_volume,
            m.total_creator_fees,
            m.total_protocol_fees,
        )
        assert got["provider_payouts"] == m.total_provider_payouts
        assert got["settlements"] == m.settlement_count
        assert got["vault_balance"] == token_balance(net.rpc_url, m.revenue_vault)
        assert got["supply_base_units"] == token_supply(net.rpc_url, m.mint)
        table = bourse("model", "status", slug, output="table")
        assert table.code == 0 and f"model {slug}" in table.stdout


def test_pool_and_crank(net: ThreadedLocalnet, bourse: Bourse, tmp_path: Path) -> None:
    state = ("--state-dir", str(tmp_path / "crank-state"))
    pools = {}
    for slug in (SPL, T22):
        pool = pools[slug] = bourse(
            "pool", "add", slug, "--tokens", "100000000", "--usdc", "10000", keypair="creator"
        ).json()
        assert pool["usdc_reserve"] == 10_000 * USDC
        assert pool["usdc_reserve"] == token_balance(
            net.rpc_url, Pubkey.from_string(pool["usdc_vault"])
        )
    # the pool exists: another fee is refused (fixed at creation), nothing is deposited
    reserve = pools[SPL]["usdc_reserve"]
    refused = bourse(
        "pool", "add", SPL, "--tokens", "5", "--usdc", "1", "--fee-bps", "50", keypair="creator"
    )
    assert refused.code == 1 and refused.stdout == ""
    assert refused.stderr.startswith("error: ") and len(refused.stderr.splitlines()) == 1
    assert (
        "30 bps fee, fixed at its creation" in refused.stderr and "--fee-bps 50" in refused.stderr
    )
    pool_vault = Pubkey.from_string(pools[SPL]["usdc_vault"])
    assert token_balance(net.rpc_url, pool_vault) == reserve
    table = bourse(
        "pool", "add", SPL, "--tokens", "1.5", "--usdc", "0.01", keypair="creator", output="table"
    )
    assert table.code == 0 and "100,000,001.5 tokens" in table.stdout and "30 bps" in table.stdout
    assert "10,000.01 USDC" in table.stdout

    m = model_account(net, SPL)
    vault = token_balance(net.rpc_url, m.revenue_vault)
    supply = token_supply(net.rpc_url, m.mint)
    got = bourse("crank", "buyback", SPL, *state, keypair="crank").json()
    assert (
        got["usdc_spent"] == vault > 0
        and got["tokens_burned_base_units"] == got["tokens_bought_base_units"] > 0
    )
    assert got["supply_before_base_units"] == supply
    assert (
        got["supply_after_base_units"]
        == token_supply(net.rpc_url, m.mint)
        == supply - got["tokens_burned_base_units"]
    )
    m = model_account(net, SPL)
    assert (m.usdc_spent, m.tokens_burned) == (got["usdc_spent"], got["tokens_burned_base_units"])

    t22 = model_account(net, T22)
    table = bourse(
        "crank", "buyback", T22, "--amount", "0.1", *state, keypair="crank", output="table"
    )
    assert table.code == 0 and "USDC spent" in table.stdout and "0.1 USDC" in table.stdout
    assert model_account(net, T22).usdc_spent == 100_000
    assert token_balance(net.rpc_url, t22.revenue_vault) == 150_000

    # the harvest table shows whole tokens of the model, the JSON base units (named so)
    harvest = bourse("crank", "harvest", T22, *state, keypair="crank").json()
    assert harvest["harvested_base_units"] > 0 and harvest["sources"] >= 1
    assert harvest["token_decimals"] == 6 and "harvested" not in harvest
    dest = Pubkey.from_string(harvest["destination"])
    assert token_balance(net.rpc_url, dest) == harvest["harvested_base_units"]
    # more fees withheld (a transfer of the model token), harvested with the table output
    moved = bourse("crank", "buyback", T22, "--amount", "0.05", *state, keypair="crank")
    assert moved.code == 0
    before = token_balance(net.rpc_url, dest)
    table = bourse("crank", "harvest", T22, *state, keypair="crank", output="table")
    gained = token_balance(net.rpc_url, dest) - before
    assert table.code == 0 and gained > 0
    assert f"{format_amount(gained, 6)} tokens" in table.stdout


def test_market_views(net: ThreadedLocalnet, bourse: Bourse) -> None:
    rows = bourse("market", "list").json()
    assert [r["slug"] for r in rows] == [T22, SPL]  # by volume
    for r in rows:
        m = model_account(net, r["slug"])
        assert (r["volume"], r["usdc_spent"], r["tokens_burned_base_units"]) == (
            m.total_volume,
            m.usdc_spent,
            m.tokens_burned,
        )
        assert r["supply_base_units"] == token_supply(net.rpc_url, m.mint)
    table = bourse("market", "list", output="table")
    assert table.code == 0 and "Bourse market" in table.stdout and SPL in table.stdout
    assert bourse("market", "list", "--status", "pending").json() == []

    watch = bourse("market", "list", "--watch", "--count", "2", "--interval", "0.05")
    lines = [line for line in watch.stdout.splitlines() if line]
    assert watch.code == 0 and len(lines) == 2
    assert [r["slug"] for r in json.loads(lines[-1])["models"]] == [T22, SPL]
    live = bourse("market", "list", "--watch", "--count", "1", output="table")
    assert live.code == 0 and "refreshed" in live.stdout

    history = bourse("market", "history", SPL).json()
    kinds = [e["event"] for e in history]
    assert kinds[:2] == ["BuybackExecuted", "TokensBurned"] or set(kinds[:2]) == {
        "BuybackExecuted",
        "TokensBurned",
    }
    assert "OrderSettled" in kinds and "ModelRegistered" in kinds
    # the hold released on T22 (its transaction does not touch the model) is in T22's history
    t22_history = bourse("market", "history", T22).json()
    released = [e for e in t22_history if e["event"] == "OrderCancelled"]
    assert [e["fields"]["order"] for e in released] == [STATE["released_order"]]
    assert released[0]["fields"]["by_settler"] is True and released[0]["fields"]["refund"] > 0
    table = bourse("market", "history", T22, output="table")
    assert table.code == 0 and "released by the settler" in table.stdout
    settled = next(e for e in history if e["event"] == "OrderSettled")
    assert settled["fields"]["gross"] == 38_000
    table = bourse("market", "history", SPL, output="table")
    assert table.code == 0 and "OrderSettled" in table.stdout

    chart = bourse("market", "chart", T22, "--days", "30").json()
    assert len(chart["days"]) == 30
    m = model_account(net, T22)
    assert sum(d["revenue"] for d in chart["days"]) == m.total_volume
    assert sum(d["tokens_burned_base_units"] for d in chart["days"]) == m.tokens_burned
    table = bourse("market", "chart", T22, output="table")
    assert table.code == 0 and "revenue and burn" in table.stdout and "█" in table.stdout


def test_market_chart_png(bourse: Bourse, tmp_path: Path) -> None:
    png = tmp_path / "chart.png"
    run = bourse("market", "chart", SPL, "--png", str(png))
    if importlib.util.find_spec("matplotlib") is None:
        # Without matplotlib: one line saying what to install, exit 1
        assert run.code == 1 and run.stderr.startswith("error: --png needs matplotlib")
        assert run.stderr.count("\n") == 1
    else:
        assert run.json()["png"] == str(png) and png.read_bytes()[:4] == b"\x89PNG"


def test_admin_updates_and_delist(net: ThreadedLocalnet, bourse: Bourse) -> None:
    got = bourse("admin", "update-fees", "--protocol-fee-bps", "150", keypair="admin").json()
    config = fetch(net, config_pda()[0], Config)
    assert isinstance(config, Config)
    assert got["protocol_fee_bps"] == config.protocol_fee_bps == 150
    table = bourse(
        "admin", "update", "--pause", "--cooldown", "60", keypair="admin", output="table"
    )
    assert table.code == 0 and "paused" in table.stdout
    config = fetch(net, config_pda()[0], Config)
    assert isinstance(config, Config) and config.paused and config.buyback_cooldown_secs == 60
    assert bourse("admin", "update", "--unpause", keypair="admin").json()["paused"] is False

    delisted = bourse("admin", "delist", T22, keypair="admin").json()
    assert delisted["status"] == "delisted" == model_account(net, T22).status.name.lower()
    table = bourse("admin", "delist", SPL, keypair="admin", output="table")
    assert table.code == 0 and "delisted" in table.stdout


def test_scripts_run_as_modules(net: ThreadedLocalnet) -> None:
    # `python scripts/<name>.py` is the matching command group.
    argv = ["-u", net.rpc_url, "--localnet-dir", str(net.workdir), "-o", "json"]
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "market_view.py"), *argv, "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert {r["slug"] for r in json.loads(out.stdout)} == {SPL, T22}
    out = subprocess.run(
        [sys.executable, "-m", "bourse_cli", "model", "status", SPL, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "delisted"
