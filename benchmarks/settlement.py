"""Settlement at scale: batch settlement (settle_batch) against the per-payment path it
replaced (settle_payment + a PaymentReceipt PDA per payment), on the embedded localnet, in one
run.

    python -m benchmarks.settlement      # prints and rewrites benchmarks/settlement.md

Both paths settle 1,000 paid calls of one model and provider from the settler's own USDC
account (the credits rail) through BourseClient over JSON-RPC. The baseline runs the program
as it was before batching (``compute_market.so`` of git revision ``BASELINE_REV``, read with
``git show``) on a second localnet, with its ``settle_payment`` instructions packed as many per
transaction as fit in 1,232 bytes and sent 4 transactions at a time, as the old
``Settlement.settle_payments`` did. Rent: the settler's lamports spent minus the fees of its
transactions, per call; the stream account the first batch of a (model, provider) creates is
shown separately (paid once, amortised over every later batch of that pair).
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import create_idempotent_associated_token_account

from bourse_chain import pda
from bourse_chain.client import BourseClient, SendOptions
from bourse_chain.generated.compute_market.accounts import SettlementStream
from bourse_chain.generated.compute_market.constants import SYSTEM_PROGRAM_ID
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.market import Market, payment_id_bytes
from bourse_chain.settlement import PaidCall, Settlement
from bourse_chain.tx import MAX_COMPUTE_UNIT_LIMIT, ComputeBudget, fits, with_compute_budget
from localnet import Localnet
from localnet.programs import BIN_DIR

OUT = Path(__file__).with_name("settlement.md")
ROOT = Path(__file__).resolve().parents[1]
BASELINE_REV = "89a6da0"
CALLS = 1_000
BIG_BATCH = 10_000
AMOUNT = 10_000  # micro-USDC per call (0.01 USDC)
SLUG = "bench-model"
FAST = SendOptions(poll_interval=0.02, rebroadcast_interval=0.5)


@dataclass
class Figures:
    calls: int
    transactions: int
    seconds: float
    rent: int  # lamports the settler spent beyond fees
    once: int = 0  # rent paid once per (model, provider): the stream

    @property
    def per_tx(self) -> float:
        return self.calls / self.transactions

    @property
    def tx_per_1000(self) -> float:
        return self.transactions * 1_000 / self.calls


async def _lamports(client: BourseClient, key: Pubkey) -> int:
    return (await client.rpc.get_balance(key)).value


async def _setup(net: Localnet, client: BourseClient, build: _Builders) -> tuple[Keypair, Pubkey]:
    """Config, an approved model and a provider; returns (settler, provider account)."""
    k = net.keypairs
    admin, settler, creator, prov = k["admin"], k["settler"], k["creator"], k["provider"]
    await client.send(build.setup(admin, settler, creator, prov, net.usdc_mint), [admin])
    await client.send([build.register_model(creator)], [creator])
    await client.send([build.approve(admin)], [admin])
    await client.send([build.register_provider(prov)], [prov])
    await net.mint_usdc(settler.pubkey(), 100 * CALLS * AMOUNT + BIG_BATCH * AMOUNT)
    return settler, pda.provider_pda(prov.pubkey())[0]


class _Builders:
    """Setup instructions for one localnet (current interface: through Market)."""

    def __init__(self, usdc_mint: Pubkey, treasury: Keypair) -> None:
        self.m = Market(usdc_mint=usdc_mint, treasury_authority=treasury.pubkey())
        self.treasury = treasury

    def setup(
        self, admin: Keypair, settler: Keypair, creator: Keypair, prov: Keypair, mint: Pubkey
    ) -> list[Instruction]:
        del creator, prov
        return [
            create_idempotent_associated_token_account(
                admin.pubkey(), self.treasury.pubkey(), mint, TOKEN_PROGRAM_ID
            ),
            self.m.initialize_config(admin.pubkey(), settler.pubkey(), admin.pubkey()),
        ]

    def register_model(self, creator: Keypair) -> Instruction:
        return self.m.register_model(creator.pubkey(), SLUG, 500, "ipfs://bench")

    def approve(self, admin: Keypair) -> Instruction:
        return self.m.set_model_status(admin.pubkey(), SLUG, ModelStatus.APPROVED)

    def register_provider(self, prov: Keypair) -> Instruction:
        return self.m.register_provider(prov.pubkey(), "bench")


class _OldBuilders(_Builders):
    """The baseline program's interface at BASELINE_REV, encoded here (borsh by hand) so the
    benchmark does not depend on today's bindings for an instruction that no longer exists.
    Its setup instructions (initialize_config, register_model, set_model_status,
    register_provider) are unchanged since BASELINE_REV and come from :class:`_Builders`."""

    def settle_payment(
        self, settler: Pubkey, provider: Pubkey, payout: Pubkey, pid: bytes, amount: int
    ) -> Instruction:
        m = self.m
        model = m.model(SLUG)
        receipt = Pubkey.find_program_address([b"payment", pid], m.program_id)[0]
        data = _disc("settle_payment") + pid + struct.pack("<Q", amount)

        def meta(key: Pubkey, w: bool = False, s: bool = False) -> AccountMeta:
            return AccountMeta(key, is_signer=s, is_writable=w)

        metas = [
            meta(settler, w=True, s=True),
            meta(m.config),
            meta(model, w=True),
            meta(provider, w=True),
            meta(m.usdc_account(settler), w=True),
            meta(settler, s=True),
            meta(payout, w=True),
            meta(m.revenue_vault(SLUG), w=True),
            meta(m.treasury, w=True),
            meta(receipt, w=True),
            meta(m.usdc_mint),
            meta(m.usdc_token_program),
            meta(SYSTEM_PROGRAM_ID),
        ]
        return Instruction(m.program_id, data, metas)


def _disc(name: str) -> bytes:
    return hashlib.sha256(f"global:{name}".encode()).digest()[:8]


def _baseline_programs(tmp: Path) -> Path:
    out = tmp / "baseline-programs"
    (out / "bin").mkdir(parents=True)
    (out / "keys").mkdir()
    so = subprocess.run(
        ["git", "show", f"{BASELINE_REV}:localnet/programs/bin/compute_market.so"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    (out / "bin" / "compute_market.so").write_bytes(so)
    key = BIN_DIR.parent / "keys" / "compute_market-keypair.json"
    (out / "keys" / key.name).write_bytes(key.read_bytes())
    return out


def _pack(settler: Pubkey, ixs: Sequence[Instruction]) -> list[list[Instruction]]:
    budget = ComputeBudget(MAX_COMPUTE_UNIT_LIMIT, 1)
    batches: list[list[Instruction]] = []
    current: list[Instruction] = []
    for ix in ixs:
        candidate = [*current, ix]
        if current and not fits(settler, with_compute_budget(candidate, budget)):
            batches.append(current)
            current = [ix]
        else:
            current = candidate
    if current:
        batches.append(current)
    return batches


async def run_baseline(tmp: Path) -> Figures:
    async with Localnet.start(
        port=0, workdir=tmp / "old", backend="embedded", programs_dir=_baseline_programs(tmp)
    ) as net:
        client = BourseClient.connect(net.rpc_url, options=FAST)
        try:
            old = _OldBuilders(net.usdc_mint, Keypair())
            settler, provider = await _setup(net, client, old)
            payout = old.m.usdc_account(net.keypairs["provider"].pubkey())
            ixs = [
                old.settle_payment(
                    settler.pubkey(), provider, payout, payment_id_bytes(f"old:{i}"), AMOUNT
                )
                for i in range(CALLS)
            ]
            txs = _pack(settler.pubkey(), ixs)
            gate = asyncio.Semaphore(4)
            fees: list[int] = []

            async def send(batch: list[Instruction]) -> None:
                async with gate:
                    result = await client.send(batch, [settler])
                    fees.append(result.fee or 0)

            before = await _lamports(client, settler.pubkey())
            started = time.perf_counter()
            await asyncio.gather(*(send(b) for b in txs))
            seconds = time.perf_counter() - started
            spent = before - await _lamports(client, settler.pubkey())
            return Figures(CALLS, len(txs), seconds, spent - sum(fees))
        finally:
            await client.close()


async def run_batches(tmp: Path) -> tuple[Figures, Figures]:
    async with Localnet.start(port=0, workdir=tmp / "new", backend="embedded") as net:
        client = BourseClient.connect(net.rpc_url, options=FAST)
        try:
            new = _Builders(net.usdc_mint, Keypair())
            settler, provider = await _setup(net, client, new)
            s = await Settlement.load(client, settler)
            source = s.market.usdc_account(settler.pubkey())

            async def settle(tag: str, n: int) -> tuple[Figures, int]:
                calls = [PaidCall(f"{tag}:{i}", AMOUNT, SLUG, provider) for i in range(n)]
                before = await _lamports(client, settler.pubkey())
                started = time.perf_counter()
                result = await s.settle_batch(calls, source=source)
                seconds = time.perf_counter() - started
                assert result.signature is not None
                tx = await client.get_transaction(result.signature)
                spent = before - await _lamports(client, settler.pubkey())
                return Figures(n, 1, seconds, spent - (tx.fee or 0)), tx.compute_units or 0

            first, _ = await settle("first", CALLS)  # creates the stream
            stream = s.market.stream(s.market.model(SLUG), provider)
            stream_rent = await _lamports(client, stream)
            assert await client.fetch(stream, SettlementStream) is not None
            steady, _ = await settle("steady", CALLS)
            big, _ = await settle("big", BIG_BATCH)
            assert first.rent == stream_rent, (first.rent, stream_rent)
            steady.once = stream_rent
            return steady, big
        finally:
            await client.close()


def render(old: Figures, new: Figures, big: Figures) -> str:
    rows = [
        ("calls per transaction", f"{new.per_tx:,.0f}"),
        ("transactions per 1,000 calls", f"{new.tx_per_1000:g}"),
        ("settler rent per call (lamports)", f"{new.rent // new.calls:,}"),
        (
            "stream rent, once per (model, provider) (lamports)",
            f"{new.once:,} (over 1,000 calls: {new.once / new.calls:,.0f} per call)",
        ),
        ("calls settled per second", f"{new.calls / new.seconds:,.0f}"),
        ("largest batch measured: calls in one transaction", f"{big.calls:,}"),
        (f"calls settled per second ({big.calls:,}-call batch)", f"{big.calls / big.seconds:,.0f}"),
        ("baseline (per payment): calls per transaction", f"{old.per_tx:,.1f}"),
        ("baseline (per payment): transactions per 1,000 calls", f"{old.tx_per_1000:g}"),
        ("baseline (per payment): settler rent per call (lamports)", f"{old.rent // old.calls:,}"),
        ("baseline (per payment): calls settled per second", f"{old.calls / old.seconds:,.0f}"),
        (
            "ratio: calls settled per second, batch / per payment",
            f"{(new.calls / new.seconds) / (old.calls / old.seconds):,.1f}x",
        ),
    ]
    lines = [
        "# Settlement at scale (embedded localnet, one run)",
        "",
        "Measured by `python -m benchmarks.settlement` (rewrites this file): 1,000 paid calls of",
        f"one model and provider, {AMOUNT:,} micro-USDC each, settled from the settler's USDC",
        "account through `BourseClient` over JSON-RPC. Batch: `Settlement.settle_batch` (one",
        "`settle_batch` instruction, after a first batch created the stream). Baseline: the",
        f"program at `{BASELINE_REV}` (`settle_payment`, one `PaymentReceipt` PDA per payment),",
        "instructions packed per 1,232-byte transaction, 4 transactions in flight, on a second",
        "localnet in the same run. Rent = the settler's lamports spent minus its fees.",
        "",
        "| name | value |",
        "|---|---:|",
        *[f"| {n} | {v} |" for n, v in rows],
        "",
    ]
    return "\n".join(lines)


async def main_async() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-settlement-") as tmp:
        old = await run_baseline(Path(tmp))
        new, big = await run_batches(Path(tmp))
    return render(old, new, big)


def main() -> int:
    text = asyncio.run(main_async())
    OUT.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
