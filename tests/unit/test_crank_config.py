"""The crank's configuration: TOML, ``BOURSE_CRANK_*`` overrides, validation, redaction."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from cranks.config import (
    ConfigError,
    CrankConfig,
    env_names,
    load_config,
    redacted,
    secret,
)

EXAMPLE = """
rpc_urls = ["https://rpc.example.com/key/abc123", "devnet"]
keypair = "~/.config/solana/crank.json"
program_id = "HXs6nArt6sTodCHtza2eRxCMEeAHRfnU5gXR9zPCuGt1"

[send]
daily_fee_budget_sol = 0.25
priority_fee_percentile = 90
cu_margin = 1.3

[buyback]
interval_secs = 120
threshold_usdc = 12.345678
max_per_call_usdc = 500
venue = "jupiter"
models = ["deepseek-chat", "kimi-k2.6"]

[harvest]
enabled = false

[jupiter]
api_key = "env:JUP_KEY"

[raydium.pools]
So11111111111111111111111111111111111111112 = "HXs6nArt6sTodCHtza2eRxCMEeAHRfnU5gXR9zPCuGt1"
"""


def test_an_empty_file_is_the_defaults() -> None:
    assert load_config(text="", environ={}) == CrankConfig()


def test_file_values_are_typed() -> None:
    cfg = load_config(text=EXAMPLE, environ={})
    assert cfg.rpc_urls == ("https://rpc.example.com/key/abc123", "devnet")
    assert cfg.resolved_rpc_urls() == (
        "https://rpc.example.com/key/abc123",
        "https://api.devnet.solana.com",
    )
    assert cfg.program_id == Pubkey.from_string("HXs6nArt6sTodCHtza2eRxCMEeAHRfnU5gXR9zPCuGt1")
    assert cfg.send.daily_fee_budget_lamports == 250_000_000
    assert cfg.send.priority_fee_percentile == 90.0
    # Decimal USDC in the file, exact micro-USDC in the code (no float rounding)
    assert cfg.buyback.threshold_micro_usdc == 12_345_678
    assert cfg.buyback.max_per_call_micro_usdc == 500_000_000
    assert cfg.buyback.models == ("deepseek-chat", "kimi-k2.6")
    assert cfg.harvest.enabled is False
    assert cfg.raydium.pools == {
        "So11111111111111111111111111111111111111112": (
            "HXs6nArt6sTodCHtza2eRxCMEeAHRfnU5gXR9zPCuGt1"
        )
    }


def test_environment_overrides_the_file() -> None:
    env = {
        "BOURSE_CRANK_RPC_URLS": "https://a.example.com, https://b.example.com",
        "BOURSE_CRANK_BUYBACK_THRESHOLD_USDC": "0.5",
        "BOURSE_CRANK_HARVEST_ENABLED": "yes",
        "BOURSE_CRANK_METRICS_PORT": "9500",
        "BOURSE_CRANK_SEND_DAILY_FEE_BUDGET_SOL": "0",
        "BOURSE_CRANK_LOCK_DIR": "/run/bourse",
        "BOURSE_CRANK_CONFIG": "/etc/bourse/crank.toml",  # the file's name: not an override
        "OTHER": "ignored",
    }
    cfg = load_config(text=EXAMPLE, environ=env)
    assert cfg.rpc_urls == ("https://a.example.com", "https://b.example.com")
    assert cfg.buyback.threshold_usdc == Decimal("0.5")
    assert cfg.buyback.venue == "jupiter"  # untouched keys keep the file's value
    assert cfg.harvest.enabled is True
    assert cfg.metrics.port == 9500
    assert cfg.send.daily_fee_budget_lamports == 0
    assert cfg.lock_path == Path("/run/bourse")


def test_every_key_has_an_environment_name() -> None:
    names = env_names()
    assert names["BOURSE_CRANK_KEYPAIR"] == ("keypair",)
    assert names["BOURSE_CRANK_BUYBACK_SLIPPAGE_BPS"] == ("buyback", "slippage_bps")
    assert names["BOURSE_CRANK_JUPITER_API_KEY"] == ("jupiter", "api_key")
    assert len(names) > 50


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[buyback]\nthreshhold_usdc = 1", {}, "unknown key(s) in buyback: threshhold_usdc"),
        ("colour = 1", {}, "unknown key(s) in config: colour"),
        ("", {"BOURSE_CRANK_BUYBACK_TRESHOLD": "1"}, "unknown environment override"),
        ("[buyback]\nslippage_bps = 'lots'", {}, "buyback.slippage_bps: expected int"),
        ("", {"BOURSE_CRANK_METRICS_PORT": "http"}, "metrics.port: cannot read"),
        ("[buyback]\nslippage_bps = 10000", {}, "slippage_bps must be 0-9999"),
        ("[send]\ncu_cap = 1400001", {}, "send.cu_cap must be 1..1400000"),
        ("[buyback]\nvenue = 'orca'", {}, "buyback.venue must be one of"),
        ("[buyback]\nvenue = 'raydium'", {}, "needs raydium.pools"),
        ("rpc_urls = ['ftp://x']", {}, "rpc_urls: an entry is not"),
        ("[raydium]\npools = { a = 'b' }", {}, "is not a public key"),
        ("[send\n", {}, "not valid TOML"),
        ("buyback = 3", {}, "buyback must be a table"),
    ],
)
def test_mistakes_are_errors_naming_the_key(text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(text=text, environ=env)
    assert message in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.toml", environ={})


def test_secrets_from_the_environment_and_redaction() -> None:
    cfg = load_config(text=EXAMPLE, environ={})
    assert secret(cfg.jupiter.api_key, {"JUP_KEY": "s3cret"}) == "s3cret"
    with pytest.raises(ConfigError, match="JUP_KEY"):
        secret(cfg.jupiter.api_key, {})
    shown = redacted(
        cfg.replace(keypair="[1,2,3]", jupiter=cfg.jupiter.__class__(api_key="plain-key"))
    )
    assert shown["keypair"] == "***" and shown["jupiter"]["api_key"] == "***"
    # API keys in RPC URL paths are never shown
    assert shown["rpc_urls"] == ["https://rpc.example.com/***", "devnet"]
    assert "s3cret" not in repr(cfg) and "plain-key" not in repr(shown)


def test_defaults_use_the_solana_cli_rpc_url(tmp_path: Path) -> None:
    home = tmp_path
    (home / ".config/solana/cli").mkdir(parents=True)
    (home / ".config/solana/cli/config.yml").write_text(
        "json_rpc_url: 'http://127.0.0.1:8899'\nkeypair_path: /keys/crank.json\n"
    )
    assert CrankConfig().resolved_rpc_urls({"HOME": str(home)}) == ("http://127.0.0.1:8899",)


def test_the_operators_page_example_is_a_valid_config() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "operators.md").read_text()
    example = page.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = load_config(text=example, environ={})
    assert cfg.buyback.venue == "jupiter" and cfg.buyback.threshold_micro_usdc == 25_000_000
    assert cfg.send.daily_fee_budget_lamports == 200_000_000
    assert len(cfg.rpc_urls) == 2 and cfg.metrics.port == 9464
    assert "BOURSE_CRANK_RAYDIUM_POOLS" in env_names()


def test_sol_venue_is_one_of_the_sol_leg_venues() -> None:
    cfg = load_config(
        text='[buyback]\nvenue = "pump"\nsol_venue = "local_pool"\n',
        environ={"BOURSE_CRANK_BUYBACK_SOL_VENUE": "jupiter"},
    )
    assert cfg.buyback.sol_venue == "jupiter"  # the variable overrides the file
    assert "BOURSE_CRANK_BUYBACK_SOL_VENUE" in env_names()
    with pytest.raises(ConfigError, match="sol_venue"):
        load_config(text='[buyback]\nsol_venue = "raydium"\n', environ={})
