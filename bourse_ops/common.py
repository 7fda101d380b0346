"""What every script needs: the deployment's facts, a session on one cluster, sending with
errors in the user's words, and token account / mint reads.

Deployment facts (program id, USDC mint, treasury authority) come from the on-chain
``Config`` account when it exists; on a localnet, the manifest ``python -m localnet`` writes
(``.localnet/localnet.json``) also gives the USDC mint and the program ids, which is what
``bourse admin init`` needs before any config exists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from bourse_chain.client import BourseClient
from bourse_chain.errors import TransactionFailed
from bourse_chain.generated.compute_market.accounts import Config, Model
from bourse_chain.generated.compute_market.program_id import PROGRAM_ID
from bourse_chain.market import Market
from bourse_chain.pda import config_pda
from bourse_chain.results import TxResult
from bourse_chain.token_layout import (
    TOKEN_PROGRAM_ID,
    TOKEN_PROGRAMS,
    TokenDecodeError,
    decode_mint,
    token_amount,
)
from bourse_ops.errors import InsufficientSol, InsufficientUsdc, InvalidInput, NotInitialized

USDC_DECIMALS = 6


# ---------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class LocalnetManifest:
    """The parts of ``localnet.json`` the scripts use."""

    path: Path
    rpc_url: str
    usdc_mint: Pubkey
    usdc_token_program: Pubkey
    program_ids: dict[str, Pubkey]
    pubkeys: dict[str, Pubkey]
    keypairs: dict[str, Path]


def read_manifest(path: Path, rpc_url: str | None = None) -> LocalnetManifest | None:
    """The manifest at ``path``; ``None`` if absent, unreadable, or (when ``rpc_url`` is
    given) written by a localnet serving another URL."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        manifest = LocalnetManifest(
            path=path,
            rpc_url=str(data["rpc_url"]),
            usdc_mint=Pubkey.from_string(data["usdc_mint"]),
            usdc_token_program=Pubkey.from_string(
                data.get("usdc_token_program", str(TOKEN_PROGRAM_ID))
            ),
            program_ids={k: Pubkey.from_string(v) for k, v in data.get("program_ids", {}).items()},
            pubkeys={k: Pubkey.from_string(v) for k, v in data.get("pubkeys", {}).items()},
            keypairs={k: Path(v) for k, v in data.get("keypairs", {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if rpc_url is not None and _norm_url(manifest.rpc_url) != _norm_url(rpc_url):
        return None
    return manifest


def _norm_url(url: str) -> str:
    return url.rstrip("/").replace("://localhost", "://127.0.0.1")


# -------------------------------------------------------------------------- deployment


@dataclass(frozen=True)
class Deployment:
    """One deployment of the compute market, as far as it is known."""

    program_id: Pubkey
    config: Config | None
    usdc_mint: Pubkey | None
    usdc_token_program: Pubkey = TOKEN_PROGRAM_ID
    manifest: LocalnetManifest | None = None

    @property
    def config_address(self) -> Pubkey:
        return config_pda(self.program_id)[0]

    def market(self, treasury_authority: Pubkey | None = None) -> Market:
        """The ``Market`` builders; the treasury authority is the config's unless given."""
        if self.usdc_mint is None:
            raise InvalidInput(
                "the USDC mint is unknown: the market is not initialized and no localnet "
                "manifest names it (pass --usdc-mint)"
            )
        treasury = treasury_authority or (self.config.treasury_authority if self.config else None)
        if treasury is None:
            raise InvalidInput("the treasury authority is unknown before `bourse admin init`")
        return Market(
            usdc_mint=self.usdc_mint,
            treasury_authority=treasury,
            usdc_token_program=self.usdc_token_program,
            program_id=self.program_id,
        )


async def load_deployment(
    client: BourseClient, manifest: LocalnetManifest | None = None
) -> Deployment:
    """The config account's facts if it exists, else the manifest's."""
    program_id = client.program_id
    config = await client.fetch(config_pda(program_id)[0], Config)
    if config is not None:
        return Deployment(program_id, config, config.usdc_mint, config.usdc_token_program, manifest)
    if manifest is not None:
        return Deployment(
            program_id, None, manifest.usdc_mint, manifest.usdc_token_program, manifest
        )
    return Deployment(program_id, None, None, TOKEN_PROGRAM_ID, None)


@dataclass
class Session:
    """A client on one cluster plus what is known of the deployment there."""

    client: BourseClient
    deployment: Deployment
    rpc_url: str
    _models: dict[str, Model] = field(default_factory=dict, repr=False)

    @classmethod
    async def open(
        cls,
        rpc_url: str,
        *,
        manifest: LocalnetManifest | None = None,
        rpc_timeout: float = 30.0,
    ) -> Session:
        program_id = PROGRAM_ID
        if manifest is not None:
            program_id = manifest.program_ids.get("compute_market", PROGRAM_ID)
        client = BourseClient.connect(rpc_url, program_id=program_id, timeout=rpc_timeout)
        try:
            deployment = await load_deployment(client, manifest)
        except BaseException:
            await client.close()
            raise
        return cls(client, deployment, rpc_url)

    async def close(self) -> None:
        await self.client.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def config(self) -> Config:
        """The config account; raises ``NotInitialized`` before ``bourse admin init``."""
        if self.deployment.config is None:
            raise NotInitialized(self.rpc_url)
        return self.deployment.config

    @property
    def market(self) -> Market:
        self.config  # noqa: B018 (raises NotInitialized)
        return self.deployment.market()

    async def reload(self) -> None:
        """Re-read the config (after ``admin init`` or ``update_config``)."""
        self.deployment = await load_deployment(self.client, self.deployment.manifest)

    async def send(
        self, instructions: Sequence[Instruction], signers: Sequence[Keypair]
    ) -> TxResult:
        """Send through the client; a failure for want of SOL or of tokens becomes
        ``InsufficientSol`` / ``InsufficientUsdc`` naming the fee payer."""
        try:
            return await self.client.send(instructions, signers)
        except TransactionFailed as exc:
            raise await self.explain(exc, signers[0].pubkey()) from exc

    async def explain(self, exc: TransactionFailed, payer: Pubkey) -> Exception:
        text = f"{exc.err}"
        logs = "\n".join(exc.logs)
        if (
            "AccountNotFound" in text
            or "InsufficientFunds" in text
            or "insufficient lamports" in logs
        ):
            return InsufficientSol(payer, await self.lamports(payer))
        if "Error: insufficient funds" in logs:
            return InsufficientUsdc(None, None, None)
        return exc

    async def lamports(self, address: Pubkey) -> int:
        return (await self.client.rpc.get_balance(address, commitment=self.client.commitment)).value

    async def token_balance(self, account: Pubkey) -> int | None:
        """A token account's amount; ``None`` when it does not exist."""
        found = await self.client.get_account(account)
        if found is None:
            return None
        try:
            return token_amount(bytes(found.data))
        except TokenDecodeError as exc:
            raise InvalidInput(f"{account} is not a token account: {exc}") from None

    async def mint_info(self, mint: Pubkey) -> tuple[Pubkey, int, int]:
        """``(token program, supply, decimals)`` of a mint."""
        found = await self.client.get_account(mint)
        if found is None or found.owner not in TOKEN_PROGRAMS:
            raise InvalidInput(f"{mint} is not a mint of SPL Token or Token-2022")
        try:
            info = decode_mint(bytes(found.data))
        except TokenDecodeError as exc:
            raise InvalidInput(f"{mint} is not a mint: {exc}") from None
        return found.owner, info.supply, info.decimals

    async def require_sol(self, payer: Pubkey, minimum: int = 5_000) -> int:
        """The payer's lamports; ``InsufficientSol`` below ``minimum``."""
        lamports = await self.lamports(payer)
        if lamports < minimum:
            raise InsufficientSol(payer, lamports)
        return lamports


# ------------------------------------------------------------------------------ amounts


def parse_amount(text: str | int | Decimal, decimals: int, what: str = "amount") -> int:
    """Base units from a decimal amount: ``parse_amount("0.27", 6) == 270_000``.

    >>> parse_amount("1.1", 6), parse_amount("5", 0)
    (1100000, 5)
    """
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise InvalidInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(f"{what} must be a non-negative number, got {text}")
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise InvalidInput(f"{what} {text} has more than {decimals} decimals")
    result = int(scaled)
    if result >= 2**64:
        raise InvalidInput(f"{what} {text} is too large")
    return result


BASE_UNITS_SUFFIX = "_base_units"


def base_units_json(data: dict[str, Any], *token_fields: str) -> dict[str, Any]:
    """``data`` with each model-token amount in ``token_fields`` renamed ``<name>_base_units``
    (the JSON output names raw token amounts as such; tables show whole tokens).

    >>> base_units_json({"supply": 5, "token_decimals": 0}, "supply")
    {'supply_base_units': 5, 'token_decimals': 0}
    """
    return {(k + BASE_UNITS_SUFFIX if k in token_fields else k): v for k, v in data.items()}


def format_amount(raw: int, decimals: int) -> str:
    """``format_amount(1_100_000, 6) == "1.1"`` (thousands separated)."""
    whole, frac = divmod(raw, 10**decimals) if decimals else (raw, 0)
    text = f"{whole:,}"
    if frac:
        text += "." + f"{frac:0{decimals}d}".rstrip("0")
    return text


def pubkey(text: str, what: str = "address") -> Pubkey:
    try:
        return Pubkey.from_string(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a base58 public key") from None
