"""The localnet's starting state: funded keypairs, a USDC-like mint, our programs, a manifest.

The state is built with real transactions on a ``Chain`` (System transfers, SPL Token
InitializeMint2 / ATA CreateIdempotent / MintTo, upgradeable-loader deploys). The validator
backend builds the same state on a throwaway ``Chain`` and exports the accounts as
``--account`` JSON files, so both backends start identical.

Keypairs are Solana CLI JSON files (``<role>-keypair.json``) in the work folder; existing
files are reused, so addresses stay stable across restarts of the same folder.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction

from localnet import spl
from localnet.chain import Chain
from localnet.programs import PROGRAMS_DIR

log = logging.getLogger(__name__)

ROLES = ("admin", "settler", "crank", "creator", "provider", "payer", "mint_authority")
USDC_DECIMALS = 6
SOL_PER_ROLE = 1_000 * 10**9
USDC_PER_ROLE = 1_000_000 * 10**USDC_DECIMALS
MANIFEST_NAME = "localnet.json"
USDC_MINT_FILE = "usdc_mint-keypair.json"


class FixtureError(RuntimeError):
    """The starting state could not be built."""


def load_or_create_keypair(path: Path) -> Keypair:
    """Read a Solana CLI keypair file (a JSON array of 64 bytes), creating it if absent."""
    if path.exists():
        return Keypair.from_bytes(bytes(json.loads(path.read_text())))
    keypair = Keypair()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(list(bytes(keypair)), fh)
    return keypair


def default_programs_dir() -> Path:
    """The programs shipped with this package (:mod:`localnet.programs`)."""
    return PROGRAMS_DIR


@dataclass(frozen=True)
class ProgramSpec:
    name: str
    keypair: Keypair
    so_path: Path

    @property
    def program_id(self) -> Pubkey:
        return self.keypair.pubkey()

    @property
    def built(self) -> bool:
        return self.so_path.is_file()


def discover_programs(programs_dir: Path | None) -> list[ProgramSpec]:
    """Every ``keys/<name>-keypair.json`` with its ``bin/<name>.so`` (which may be absent)."""
    if programs_dir is None:
        return []
    specs = []
    for key_file in sorted((programs_dir / "keys").glob("*-keypair.json")):
        name = key_file.name.removesuffix("-keypair.json")
        keypair = Keypair.from_bytes(bytes(json.loads(key_file.read_text())))
        specs.append(ProgramSpec(name, keypair, programs_dir / "bin" / f"{name}.so"))
    return specs


@dataclass
class Fixtures:
    """Everything a client needs to know about the starting state."""

    workdir: Path
    keypairs: dict[str, Keypair]
    keypair_paths: dict[str, Path]
    usdc_mint: Pubkey
    usdc_accounts: dict[str, Pubkey]
    programs: list[ProgramSpec] = field(default_factory=list)

    @property
    def program_ids(self) -> dict[str, Pubkey]:
        """Ids of the programs that are deployed."""
        return {p.name: p.program_id for p in self.programs if p.built}

    @property
    def missing_programs(self) -> list[str]:
        return [p.name for p in self.programs if not p.built]

    def manifest(self, *, rpc_url: str, backend: str, ws_url: str | None) -> dict[str, Any]:
        return {
            "rpc_url": rpc_url,
            "ws_url": ws_url,
            "backend": backend,
            "program_ids": {name: str(pid) for name, pid in self.program_ids.items()},
            "missing_programs": self.missing_programs,
            "upgrade_authority": str(self.keypairs["admin"].pubkey()),
            "usdc_mint": str(self.usdc_mint),
            "usdc_decimals": USDC_DECIMALS,
            "usdc_token_program": str(spl.TOKEN_PROGRAM_ID),
            "usdc_mint_authority": str(self.keypairs["mint_authority"].pubkey()),
            "usdc_accounts": {role: str(ata) for role, ata in self.usdc_accounts.items()},
            "keypairs": {role: str(path) for role, path in self.keypair_paths.items()},
            "pubkeys": {role: str(kp.pubkey()) for role, kp in self.keypairs.items()},
            "pid": os.getpid(),
        }

    def write_manifest(
        self,
        *,
        rpc_url: str,
        backend: str,
        ws_url: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Path:
        path = self.workdir / MANIFEST_NAME
        data = {**self.manifest(rpc_url=rpc_url, backend=backend, ws_url=ws_url), **(extra or {})}
        path.write_text(json.dumps(data, indent=2) + "\n")
        return path


def prepare(workdir: Path, programs_dir: Path | None) -> Fixtures:
    """Load or create the keypairs; find the programs. Builds no chain state."""
    workdir.mkdir(parents=True, exist_ok=True)
    keypairs: dict[str, Keypair] = {}
    paths: dict[str, Path] = {}
    for role in ROLES:
        paths[role] = (workdir / f"{role}-keypair.json").resolve()
        keypairs[role] = load_or_create_keypair(paths[role])
    mint = load_or_create_keypair(workdir / USDC_MINT_FILE).pubkey()
    atas = {
        role: spl.get_associated_token_address(kp.pubkey(), mint) for role, kp in keypairs.items()
    }
    programs = discover_programs(programs_dir)
    for spec in programs:
        if not spec.built:
            log.warning("%s not built (%s missing): not deployed", spec.name, spec.so_path)
    return Fixtures(workdir.resolve(), keypairs, paths, mint, atas, programs)


def _send(chain: Chain, ixs: Sequence[Instruction], payer: Keypair, *signers: Keypair) -> None:
    blockhash, _ = chain.latest_blockhash()
    message = Message.new_with_blockhash(list(ixs), payer.pubkey(), blockhash)
    unique = {kp.pubkey(): kp for kp in (payer, *signers)}
    result = chain.submit(VersionedTransaction(message, list(unique.values())))
    if result.err is not None:
        raise FixtureError(f"fixture transaction failed: {result.err}")


def build_state(chain: Chain, fixtures: Fixtures, *, deploy: bool = True) -> None:
    """Fund the keypairs, create the USDC mint and ATAs, deploy the built programs."""
    for role, keypair in fixtures.keypairs.items():
        result = chain.airdrop(keypair.pubkey(), SOL_PER_ROLE)
        if result.err is not None:
            raise FixtureError(f"airdrop to {role} failed: {result.err}")
    authority = fixtures.keypairs["mint_authority"]
    mint_keypair = load_or_create_keypair(fixtures.workdir / USDC_MINT_FILE)
    _send(
        chain,
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=authority.pubkey(),
                    to_pubkey=mint_keypair.pubkey(),
                    lamports=chain.minimum_balance_for_rent_exemption(spl.MINT_LEN),
                    space=spl.MINT_LEN,
                    owner=spl.TOKEN_PROGRAM_ID,
                )
            ),
            spl.initialize_mint2(mint_keypair.pubkey(), USDC_DECIMALS, authority.pubkey()),
        ],
        authority,
        mint_keypair,
    )
    for role, keypair in fixtures.keypairs.items():
        ata = fixtures.usdc_accounts[role]
        _send(
            chain,
            [
                spl.create_associated_token_account_idempotent(
                    authority.pubkey(), keypair.pubkey(), fixtures.usdc_mint
                ),
                spl.mint_to(fixtures.usdc_mint, ata, authority.pubkey(), USDC_PER_ROLE),
            ],
            authority,
        )
    if deploy:
        admin = fixtures.keypairs["admin"]
        for spec in fixtures.programs:
            if spec.built:
                chain.deploy(admin, spec.keypair, spec.so_path.read_bytes(), admin)
                log.info("deployed %s at %s", spec.name, spec.program_id)


def account_file_json(pubkey: Pubkey, account: Account) -> dict[str, Any]:
    """The ``solana account --output json`` shape that ``--account`` files use."""
    return {
        "pubkey": str(pubkey),
        "account": {
            "lamports": account.lamports,
            "data": [base64.b64encode(bytes(account.data)).decode(), "base64"],
            "owner": str(account.owner),
            "executable": account.executable,
            "rentEpoch": account.rent_epoch,
            "space": len(account.data),
        },
    }


def export_accounts(fixtures: Fixtures, folder: Path) -> list[tuple[Pubkey, Path]]:
    """Build the state on a throwaway chain and write one ``--account`` file per account."""
    chain = Chain()
    build_state(chain, fixtures, deploy=False)
    folder.mkdir(parents=True, exist_ok=True)
    keys: Iterable[Pubkey] = [
        *(kp.pubkey() for kp in fixtures.keypairs.values()),
        fixtures.usdc_mint,
        *fixtures.usdc_accounts.values(),
    ]
    out: list[tuple[Pubkey, Path]] = []
    for key in keys:
        account = chain.get_account(key)
        if account is None:
            raise FixtureError(f"fixture account {key} missing")
        path = folder / f"{key}.json"
        path.write_text(json.dumps(account_file_json(key, account)))
        out.append((key, path))
    return out
