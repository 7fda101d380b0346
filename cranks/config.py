"""The crank daemon's configuration: a TOML file, then ``BOURSE_CRANK_*`` environment overrides.

Every setting has a default, so an empty file (or none) is a valid configuration: the RPC URL
and the keypair then come from the Solana CLI config (``solana config get``). A file looks
like (all keys optional; amounts of USDC are decimal USDC, not micro-USDC)::

    rpc_urls = ["https://rpc-primary.example.com", "https://api.mainnet-beta.solana.com"]
    keypair = "~/.config/solana/crank.json"

    [send]
    daily_fee_budget_sol = 0.25
    priority_fee_percentile = 75

    [buyback]
    interval_secs = 300
    threshold_usdc = 25
    venue = "jupiter"

    [jupiter]
    api_key = "env:JUPITER_API_KEY"

An environment variable overrides one key: ``BOURSE_CRANK_<KEY>`` for a top-level key and
``BOURSE_CRANK_<SECTION>_<KEY>`` for a key of a section, e.g. ``BOURSE_CRANK_RPC_URLS``
(comma-separated), ``BOURSE_CRANK_BUYBACK_THRESHOLD_USDC=5``,
``BOURSE_CRANK_SEND_DAILY_FEE_BUDGET_SOL=0.1``, ``BOURSE_CRANK_METRICS_PORT=9500``.
Unknown keys (in the file or the environment) are errors: a typo never silently falls back
to a default.

>>> cfg = load_config(text="[buyback]\\nthreshold_usdc = 2.5", environ={})
>>> cfg.buyback.threshold_micro_usdc
2500000
>>> load_config(text="", environ={"BOURSE_CRANK_BUYBACK_SLIPPAGE_BPS": "75"}).buyback.slippage_bps
75
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from bourse_chain.cluster import ClusterError, load_cli_config, resolve_cluster
from bourse_chain.tx import MAX_COMPUTE_UNIT_LIMIT
from cranks.reference import ReferencePolicy

ENV_PREFIX = "BOURSE_CRANK_"
#: Environment variable naming the config file (read by the command line, not an override).
CONFIG_ENV = "BOURSE_CRANK_CONFIG"
MICRO_USDC = 1_000_000
LAMPORTS_PER_SOL = 1_000_000_000
VENUES = ("local_pool", "jupiter", "raydium", "pump")
JOBS = ("buyback", "harvest")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key (never a secret's value)."""


def _micro(amount: Decimal) -> int:
    return int((amount * MICRO_USDC).to_integral_value())


@dataclass(frozen=True)
class SendSettings:
    """How transactions are sent (see :class:`cranks.sender.Sender`)."""

    #: Compute-unit limit = units consumed in simulation x margin, at most ``cu_cap``.
    cu_margin: float = 1.2
    cu_cap: int = MAX_COMPUTE_UNIT_LIMIT
    #: Percentile (0-100) of recent prioritization fees of the writable accounts.
    priority_fee_percentile: float = 75.0
    #: Cap on the compute-unit price, micro-lamports per CU (0 = no priority fee).
    max_priority_fee_micro_lamports: int = 100_000
    #: SOL spent on fees per UTC day at most (base + priority); 0 = no budget.
    daily_fee_budget_sol: Decimal = Decimal("0.2")
    #: Re-signings with a fresh blockhash after one expired unconfirmed.
    max_resigns: int = 3
    rpc_timeout_secs: float = 30.0
    #: Attempts per JSON-RPC request, moving down the URL list on each failure.
    rpc_attempts: int = 3
    #: After a failure an endpoint is passed over for this long (then tried again first).
    endpoint_cooloff_secs: float = 30.0
    #: Wait before a request goes back to an endpoint that already failed it (doubles).
    rpc_retry_delay_secs: float = 0.2
    poll_interval_secs: float = 0.5
    rebroadcast_interval_secs: float = 2.0

    @property
    def daily_fee_budget_lamports(self) -> int:
        return int((self.daily_fee_budget_sol * LAMPORTS_PER_SOL).to_integral_value())


@dataclass(frozen=True)
class BuybackSettings:
    enabled: bool = True
    interval_secs: float = 300.0
    #: A revenue vault is bought back from once it holds at least this much USDC.
    threshold_usdc: Decimal = Decimal("10")
    #: Our own per-call cap, under the program's ``max_buyback_per_call``; 0 = none.
    max_per_call_usdc: Decimal = Decimal("0")
    slippage_bps: int = 100
    #: Quotes moving the price more than this are not executed.
    max_price_impact_bps: int = 500
    venue: str = "local_pool"
    #: Re-quote when the quote is older than this when the transaction is built.
    max_quote_age_secs: float = 20.0
    #: Only these model slugs (empty: all); and never these.
    models: tuple[str, ...] = ()
    exclude_models: tuple[str, ...] = ()
    # -- the reference price guard (cranks/reference.py; docs/operators.md) --
    #: Execution price at most this much worse than the reference price; keep it at or
    #: below the venue's pool fee (a sandwich then loses money).
    max_price_deviation_bps: int = 25
    #: Observations needed before a model is bought back; 0 turns the guard off.
    reference_min_observations: int = 3
    #: Observations kept per model (the reference is their median).
    reference_window: int = 5
    #: One observation per this many seconds of chain time at most.
    reference_min_spacing_secs: int = 240
    #: Observations older than this are dropped.
    reference_max_age_secs: int = 21_600
    #: USDC quoted for each observation (small: its own price impact is part of it).
    probe_usdc: Decimal = Decimal("1")
    #: Venue quoted for the observations (empty: ``venue``); another venue is an
    #: independent source a lying quote API cannot move.
    reference_venue: str = ""
    #: Venue of the USDC -> SOL leg for SOL-paired pump.fun coins (``venue = "pump"``; empty:
    #: those coins are not bought back): ``local_pool`` (localnet) or ``jupiter``.
    sol_venue: str = ""

    @property
    def threshold_micro_usdc(self) -> int:
        return _micro(self.threshold_usdc)

    @property
    def max_per_call_micro_usdc(self) -> int:
        return _micro(self.max_per_call_usdc)

    @property
    def probe_micro_usdc(self) -> int:
        return _micro(self.probe_usdc)

    @property
    def reference_policy(self) -> ReferencePolicy:
        return ReferencePolicy(
            window=self.reference_window,
            min_observations=self.reference_min_observations,
            min_spacing_secs=self.reference_min_spacing_secs,
            max_age_secs=self.reference_max_age_secs,
            max_deviation_bps=self.max_price_deviation_bps,
        )


@dataclass(frozen=True)
class HarvestSettings:
    enabled: bool = True
    interval_secs: float = 3600.0
    #: A token account is harvested once it withholds at least this many raw token units.
    min_withheld: int = 1
    #: Create the treasury's associated token account for a mint when it is missing.
    create_destination: bool = True
    #: Source accounts per harvest transaction (the program takes at most 20).
    max_sources_per_tx: int = 20
    models: tuple[str, ...] = ()
    exclude_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class JupiterSettings:
    base_url: str = "https://api.jup.ag"
    #: ``build`` (Swap API /swap/v2/build) or ``v1`` (/swap/v1/quote + swap-instructions).
    api: str = "build"
    #: The API key, or ``env:NAME`` to read it from the environment variable NAME.
    api_key: str | None = field(default=None, repr=False)
    timeout_secs: float = 10.0
    max_attempts: int = 4


@dataclass(frozen=True)
class RaydiumSettings:
    #: The CPMM program (None: Raydium's devnet CPMM program).
    program_id: Pubkey | None = None
    #: Model mint -> CPMM pool state account (``mint = "pool"`` lines).
    pools: Mapping[str, str] = field(default_factory=dict)
    #: Trade API host for a price check of our own quote (None: no check).
    trade_api_url: str | None = None
    price_tolerance_bps: int = 100


@dataclass(frozen=True)
class LocalPoolSettings:
    #: The ``cp_pool`` program (None: the localnet program id).
    program_id: Pubkey | None = None


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = True
    #: Only 127.0.0.1 by default: put a reverse proxy in front to expose it.
    host: str = "127.0.0.1"
    #: 0 picks a free port (it is logged).
    port: int = 9464
    #: /health reports failure when a job has not succeeded for this many intervals.
    stale_after_intervals: float = 3.0


@dataclass(frozen=True)
class SchedulerSettings:
    #: A run that could not start on time may still start this late (seconds).
    misfire_grace_secs: float = 60.0
    #: On SIGTERM/SIGINT, wait this long for a running job to finish its transaction.
    stop_timeout_secs: float = 120.0


@dataclass(frozen=True)
class LogSettings:
    #: ``json`` (one object per line) or ``text``.
    format: str = "json"
    level: str = "INFO"


@dataclass(frozen=True)
class CrankConfig:
    #: RPC URLs (or cluster names) in order of preference; empty: the Solana CLI's URL.
    rpc_urls: tuple[str, ...] = ()
    #: The operator (crank) keypair: a file, ``env:NAME``, a JSON array or base58;
    #: None: $BOURSE_KEYPAIR, else the Solana CLI config's keypair.
    keypair: str | None = field(default=None, repr=False)
    #: The compute-market program (None: the built-in program id).
    program_id: Pubkey | None = None
    commitment: str = "confirmed"
    #: Crash-safe state (fee ledger, sent-transaction journal) and, by default, the locks.
    state_dir: str = "~/.local/state/bourse-crank"
    lock_dir: str | None = None
    send: SendSettings = field(default_factory=SendSettings)
    buyback: BuybackSettings = field(default_factory=BuybackSettings)
    harvest: HarvestSettings = field(default_factory=HarvestSettings)
    jupiter: JupiterSettings = field(default_factory=JupiterSettings)
    raydium: RaydiumSettings = field(default_factory=RaydiumSettings)
    local_pool: LocalPoolSettings = field(default_factory=LocalPoolSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    log: LogSettings = field(default_factory=LogSettings)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir).expanduser()

    @property
    def lock_path(self) -> Path:
        return Path(self.lock_dir).expanduser() if self.lock_dir else self.state_path / "locks"

    def resolved_rpc_urls(self, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """The RPC URLs to use: ours, else the Solana CLI config's."""
        if self.rpc_urls:
            return tuple(resolve_cluster(u).url for u in self.rpc_urls)
        return (load_cli_config(environ=environ).json_rpc_url,)

    def replace(self, **changes: Any) -> CrankConfig:
        return dataclasses.replace(self, **changes)


# -- loading ----------------------------------------------------------------------------------


def load_config(
    path: str | Path | None = None,
    *,
    text: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> CrankConfig:
    """The configuration from ``path`` (or ``text``), then the environment's overrides."""
    env = os.environ if environ is None else environ
    if text is None and path is not None:
        file = Path(path).expanduser()
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read config file {file}: {e.strerror}") from None
    try:
        raw: dict[str, Any] = tomllib.loads(text or "", parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file is not valid TOML: {e}") from None
    _apply_env(raw, env)
    config: CrankConfig = _build(CrankConfig, raw, "")
    validate(config)
    return config


def _section_types() -> dict[str, type[Any]]:
    hints = typing.get_type_hints(CrankConfig)
    return {
        f.name: hints[f.name]
        for f in dataclasses.fields(CrankConfig)
        if dataclasses.is_dataclass(hints[f.name])
    }


def env_names() -> dict[str, tuple[str, ...]]:
    """Every override variable -> the key path it sets."""
    out: dict[str, tuple[str, ...]] = {}
    sections = _section_types()
    for f in dataclasses.fields(CrankConfig):
        if f.name in sections:
            for sf in dataclasses.fields(sections[f.name]):
                out[f"{ENV_PREFIX}{f.name}_{sf.name}".upper()] = (f.name, sf.name)
        else:
            out[f"{ENV_PREFIX}{f.name}".upper()] = (f.name,)
    return out


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    known = env_names()
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        keys = known.get(name)
        if keys is None:
            raise ConfigError(f"unknown environment override {name}")
        target = raw
        for k in keys[:-1]:
            target = target.setdefault(k, {})
            if not isinstance(target, dict):
                raise ConfigError(f"{k} must be a table")
        target[keys[-1]] = _EnvValue(value)


@dataclass(frozen=True)
class _EnvValue:
    """A string from the environment, parsed by the field's type rather than TOML's."""

    text: str


def _build(cls: type[Any], raw: object, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'config'} must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) in {where or 'config'}: {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        hint = hints[key]
        path = f"{where}.{key}" if where else key
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, path)  # type: ignore[arg-type]
        else:
            kwargs[key] = _coerce(value, hint, path)
    return cls(**kwargs)


def _coerce(value: object, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if isinstance(value, _EnvValue) and value.text.strip().lower() in ("", "none", "null"):
            return None
        return _coerce(value, inner[0], where)
    text = value.text.strip() if isinstance(value, _EnvValue) else None
    try:
        if hint is bool:
            if text is not None:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True
                if text.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            if isinstance(value, bool):
                return value
        elif hint is int:
            if text is not None:
                return int(text.replace("_", ""))
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif hint is float:
            if text is not None:
                return float(text)
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                return float(value)
        elif hint is Decimal:
            if text is not None:
                return Decimal(text)
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                return Decimal(value)
        elif hint is str:
            if text is not None:
                return text
            if isinstance(value, str):
                return value
        elif hint is Pubkey:
            return Pubkey.from_string(text if text is not None else str(value))
        elif origin is tuple:
            items = [t.strip() for t in text.split(",") if t.strip()] if text is not None else value
            if isinstance(items, list) and all(isinstance(i, str) for i in items):
                return tuple(items)
        elif origin in (Mapping, dict):
            if text is not None:
                pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
                if any(len(p) != 2 for p in pairs):
                    raise ValueError(text)
                return {k.strip(): v.strip() for k, v in pairs}
            if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                return dict(value)
    except (ValueError, InvalidOperation):
        what = f"{_describe(value)} as {_type_name(hint)}"
        raise ConfigError(f"{where}: cannot read {what}") from None
    raise ConfigError(f"{where}: expected {_type_name(hint)}, got {_describe(value)}")


def _describe(value: object) -> str:
    if isinstance(value, _EnvValue):
        return "the environment value"
    return type(value).__name__


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is tuple:
        return "a list of strings"
    if origin in (Mapping, dict):
        return "a table of strings"
    return getattr(hint, "__name__", str(hint))


def validate(config: CrankConfig) -> None:
    """Range checks; :class:`ConfigError` lists every problem found."""
    problems: list[str] = []
    s, b, h = config.send, config.buyback, config.harvest

    def check(ok: bool, message: str) -> None:
        if not ok:
            problems.append(message)

    for url in config.rpc_urls:
        try:
            resolve_cluster(url)
        except ClusterError:
            problems.append("rpc_urls: an entry is not a cluster name nor an http(s) URL")
    check(
        config.commitment in ("processed", "confirmed", "finalized"),
        "commitment must be processed, confirmed or finalized",
    )
    check(s.cu_margin >= 1.0, "send.cu_margin must be >= 1.0")
    check(
        0 < s.cu_cap <= MAX_COMPUTE_UNIT_LIMIT, f"send.cu_cap must be 1..{MAX_COMPUTE_UNIT_LIMIT}"
    )
    check(0 <= s.priority_fee_percentile <= 100, "send.priority_fee_percentile must be 0-100")
    check(
        s.max_priority_fee_micro_lamports >= 0, "send.max_priority_fee_micro_lamports must be >= 0"
    )
    check(s.daily_fee_budget_sol >= 0, "send.daily_fee_budget_sol must be >= 0")
    check(s.max_resigns >= 0, "send.max_resigns must be >= 0")
    check(s.rpc_timeout_secs > 0, "send.rpc_timeout_secs must be > 0")
    check(s.rpc_attempts >= 1, "send.rpc_attempts must be >= 1")
    check(
        s.poll_interval_secs > 0 and s.rebroadcast_interval_secs > 0,
        "send.poll_interval_secs and send.rebroadcast_interval_secs must be > 0",
    )
    check(b.interval_secs > 0 and h.interval_secs > 0, "job interval_secs must be > 0")
    check(b.threshold_usdc > 0, "buyback.threshold_usdc must be > 0")
    check(b.max_per_call_usdc >= 0, "buyback.max_per_call_usdc must be >= 0")
    check(0 <= b.slippage_bps < 10_000, "buyback.slippage_bps must be 0-9999")
    check(0 <= b.max_price_impact_bps <= 10_000, "buyback.max_price_impact_bps must be 0-10000")
    check(b.venue in VENUES, f"buyback.venue must be one of {', '.join(VENUES)}")
    check(b.max_quote_age_secs > 0, "buyback.max_quote_age_secs must be > 0")
    check(0 <= b.max_price_deviation_bps < 10_000, "buyback.max_price_deviation_bps must be 0-9999")
    check(1 <= b.reference_window <= 100, "buyback.reference_window must be 1-100")
    check(
        0 <= b.reference_min_observations <= b.reference_window,
        "buyback.reference_min_observations must be 0..reference_window",
    )
    check(b.reference_min_spacing_secs >= 0, "buyback.reference_min_spacing_secs must be >= 0")
    check(b.reference_max_age_secs > 0, "buyback.reference_max_age_secs must be > 0")
    check(b.probe_micro_usdc > 0, "buyback.probe_usdc must be > 0")
    check(
        b.reference_venue in ("", *VENUES),
        f"buyback.reference_venue must be empty or one of {', '.join(VENUES)}",
    )
    check(
        b.sol_venue in ("", "local_pool", "jupiter"),
        "buyback.sol_venue must be empty, local_pool or jupiter",
    )
    check(h.min_withheld >= 1, "harvest.min_withheld must be >= 1")
    check(1 <= h.max_sources_per_tx <= 20, "harvest.max_sources_per_tx must be 1-20")
    check(config.jupiter.api in ("build", "v1"), "jupiter.api must be build or v1")
    check(
        config.metrics.host != "" and 0 <= config.metrics.port <= 65535,
        "metrics.port must be 0-65535",
    )
    check(config.scheduler.misfire_grace_secs > 0, "scheduler.misfire_grace_secs must be > 0")
    check(config.scheduler.stop_timeout_secs > 0, "scheduler.stop_timeout_secs must be > 0")
    check(config.log.format in ("json", "text"), "log.format must be json or text")
    check(
        config.log.level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
        "log.level must be DEBUG, INFO, WARNING or ERROR",
    )
    for mint, pool in config.raydium.pools.items():
        for label, value in (("mint", mint), ("pool", pool)):
            try:
                Pubkey.from_string(value)
            except ValueError:
                problems.append(f"raydium.pools: {label} {value!r} is not a public key")
    if "raydium" in (b.venue, b.reference_venue) and not config.raydium.pools:
        problems.append("venue raydium needs raydium.pools (mint = pool)")
    if problems:
        raise ConfigError("; ".join(problems))


def secret(value: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """A secret setting's value: ``env:NAME`` reads the variable NAME."""
    if value is None or not value.startswith("env:"):
        return value
    env = os.environ if environ is None else environ
    name = value[4:]
    found = env.get(name)
    if not found:
        raise ConfigError(f"environment variable {name} (named by a secret setting) is not set")
    return found


def redacted(config: CrankConfig) -> dict[str, Any]:
    """The configuration as plain data with secrets masked (``bourse-crank config``)."""

    def plain(v: object) -> object:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, tuple):
            return [plain(i) for i in v]
        if isinstance(v, Mapping):
            return {str(k): plain(i) for k, i in v.items()}
        if isinstance(v, Decimal | Pubkey):
            return str(v)
        return v

    data = typing.cast(dict[str, Any], plain(config))
    if config.keypair is not None and not config.keypair.startswith(("env:", "~", "/", ".")):
        data["keypair"] = "***"
    if config.jupiter.api_key is not None and not config.jupiter.api_key.startswith("env:"):
        data["jupiter"]["api_key"] = "***"
    data["rpc_urls"] = [_mask_url(u) for u in config.rpc_urls]
    return data


def _mask_url(url: str) -> str:
    """Providers put API keys in URL paths and queries: show scheme and host only."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.scheme:
        return url
    tail = "/***" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{parts.netloc}{tail}"
