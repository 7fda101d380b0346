"""Gateway settings: a TOML file (see ``docs/gateway.md``) plus command-line overrides.

```toml
db = "sqlite+aiosqlite:///bourse-gateway.sqlite3"   # or postgresql+asyncpg://…
rpc_url = "localnet"
settler_keypair = "~/.config/bourse/settler.json"  # the config's settler
wallet_keypair = ""        # the settlement wallet (source of settled USDC); default: settler
admin_token_env = "BOURSE_GATEWAY_ADMIN_TOKEN"

[[providers]]
key = "cerebras"           # prefix of qualified model ids: cerebras/<slug>
name = "Cerebras"          # X-Bourse-Provider
authority = "<provider authority pubkey>"
base_url = "https://api.cerebras.ai/v1"
api_key_env = "CEREBRAS_API_KEY"
models = { "llama-3.3-70b" = "llama-3.3-70b" }   # on-chain slug -> upstream model id

[[models]]
slug = "llama-3.3-70b"
name = "Llama 3.3 70B"
context_window = 131072
max_output = 16384
```
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gateway.db.engine import DEFAULT_SQLITE


@dataclass(frozen=True)
class ProviderConfig:
    key: str
    name: str
    authority: str
    base_url: str
    api_key_env: str = ""
    models: dict[str, str] = field(default_factory=dict)

    @property
    def api_key(self) -> str:
        return os.environ.get(self.api_key_env, "") if self.api_key_env else ""


@dataclass(frozen=True)
class ModelConfig:
    slug: str
    name: str = ""
    context_window: int = 131_072
    max_output: int = 16_384


@dataclass(frozen=True)
class Settings:
    db: str = DEFAULT_SQLITE
    rpc_url: str = "localnet"
    settler_keypair: str = ""
    wallet_keypair: str = ""
    admin_token_env: str = "BOURSE_GATEWAY_ADMIN_TOKEN"
    admin_token: str = ""
    providers: tuple[ProviderConfig, ...] = ()
    models: tuple[ModelConfig, ...] = ()
    #: Default model parameters when a model has no [[models]] entry.
    default_context_window: int = 131_072
    default_max_output: int = 16_384
    #: Requests larger than this are refused with 413.
    max_body_bytes: int = 1_000_000
    #: Per-key requests per minute (0: unlimited) and burst size.
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 60
    hold_ttl_seconds: float = 600.0
    upstream_connect_timeout: float = 5.0
    upstream_first_byte_timeout: float = 30.0
    upstream_read_timeout: float = 120.0
    #: Settlement worker: run in this process, every interval seconds, batches of size.
    worker: bool = True
    settle_interval: float = 5.0
    settle_batch_size: int = 50
    catalog_refresh_seconds: float = 30.0
    topup_poll_seconds: float = 5.0
    key_cache_ttl: float = 1.0
    log_json: bool = True
    #: The market page (docs/market.md): seconds a chain read is reused, seconds between an
    #: open page's updates, days in its charts and histories.
    market_ttl_seconds: float = 5.0
    market_refresh_seconds: float = 5.0
    market_window_days: int = 30
    #: x402 pay-per-call (rail 2): enabled when a facilitator URL is set. The network label is
    #: "mainnet", "devnet" or "localnet" (a localnet is labelled as devnet on the wire).
    x402_facilitator_url: str = ""
    x402_network: str = "devnet"

    def admin_secret(self) -> str:
        return self.admin_token or os.environ.get(self.admin_token_env, "")

    def model(self, slug: str) -> ModelConfig:
        for m in self.models:
            if m.slug == slug:
                return m
        return ModelConfig(slug, slug, self.default_context_window, self.default_max_output)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def to_toml(settings: Settings) -> str:
    """The TOML text :func:`load_settings` reads back as ``settings``."""
    lines = []
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name not in ("providers", "models"):
            lines.append(f"{f.name} = {json.dumps(value)}")
    for p in settings.providers:
        lines += ["", "[[providers]]"]
        lines += [
            f"{k} = {json.dumps(getattr(p, k))}"
            for k in ("key", "name", "authority", "base_url", "api_key_env")
        ]
        lines.append("[providers.models]")
        lines += [f"{json.dumps(a)} = {json.dumps(b)}" for a, b in p.models.items()]
    for m in settings.models:
        lines += ["", "[[models]]"]
        lines += [
            f"{k} = {json.dumps(getattr(m, k))}"
            for k in ("slug", "name", "context_window", "max_output")
        ]
    return "\n".join(lines) + "\n"


def load_settings(path: str | Path | None, **overrides: Any) -> Settings:
    data: dict[str, Any] = {}
    if path:
        data = tomllib.loads(Path(path).read_text())
    providers = tuple(ProviderConfig(**p) for p in data.pop("providers", []))
    models = tuple(ModelConfig(**m) for m in data.pop("models", []))
    base = Settings(**data, providers=providers, models=models)
    return base.with_(**overrides)
