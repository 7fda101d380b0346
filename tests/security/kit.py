"""The adversarial suite's kit: a populated market on LiteSVM, the rejection assertion
(exact error of the expected program + every involved account byte-for-byte unchanged),
account patching for forged instructions, raw SPL Token / Token-2022 instruction encoders,
and the script encoder of the test-only `evil_router` program.

Used by tests/security/* and tests/svm/test_market_rejections.py.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.constants import WRAPPED_SOL_MINT

from bourse_chain import merkle, mints, pda, pools, pump_curve, pump_sol, token_layout
from bourse_chain.generated.compute_market.accounts import Order, Provider, SettlementStream
from bourse_chain.generated.compute_market.program_id import PROGRAM_ID as MARKET_ID
from bourse_chain.generated.compute_market.types.model_status import ModelStatus
from bourse_chain.generated.cp_pool import instructions as pool_ix
from bourse_chain.generated.cp_pool.program_id import PROGRAM_ID as CP_POOL_ID
from bourse_chain.generated.pump import PROGRAM_ID as PUMP_ID
from bourse_chain.market import payment_id_bytes
from bourse_ops.sandbox import pump_venue
from bourse_ops.sandbox.svm_chain import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    Market,
    SvmChain,
    TxFailed,
    new_chain,
)
from cranks.venues.local_pool import quote_exact_in
from localnet.loader import deploy_upgradeable

REPO = Path(__file__).resolve().parents[2]
USDC = 1_000_000
SOL = 1_000_000_000
SYSTEM_PROGRAM_ID = Pubkey.default()
EVIL_ROUTER_DIR = Path(__file__).resolve().parent / "programs" / "evil_router"


# -- errors and instruction layouts from the IDLs ---------------------------------------------


def _idl(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((REPO / "idl" / f"{name}.json").read_text())
    return data


def _errors(name: str) -> dict[str, int]:
    errs = _idl(name)["errors"]
    assert isinstance(errs, list)
    return {e["name"]: int(e["code"]) for e in errs}


def _layouts(name: str) -> dict[bytes, tuple[str, list[str]]]:
    ixs = _idl(name)["instructions"]
    assert isinstance(ixs, list)
    return {bytes(i["discriminator"]): (i["name"], [a["name"] for a in i["accounts"]]) for i in ixs}


#: compute_market error name → code (from idl/compute_market.json).
MARKET_ERRORS: dict[str, int] = _errors("compute_market")
#: cp_pool error name → code (from idl/cp_pool.json).
POOL_ERRORS: dict[str, int] = _errors("cp_pool")
_MARKET_IXS = _layouts("compute_market")
#: Every compute_market instruction name, in IDL order.
INSTRUCTIONS: tuple[str, ...] = tuple(name for name, _ in _MARKET_IXS.values())


def ix_name(ix: Instruction) -> str:
    return _MARKET_IXS[bytes(ix.data[:8])][0]


def patch(
    ix: Instruction,
    account: str,
    pubkey: Pubkey | None = None,
    *,
    signer: bool | None = None,
    writable: bool | None = None,
) -> Instruction:
    """``ix`` with its IDL-named ``account`` replaced and/or its flags changed."""
    names = _MARKET_IXS[bytes(ix.data[:8])][1]
    i = names.index(account)
    metas = list(ix.accounts)
    old = metas[i]
    metas[i] = AccountMeta(
        old.pubkey if pubkey is None else pubkey,
        old.is_signer if signer is None else signer,
        old.is_writable if writable is None else writable,
    )
    return Instruction(ix.program_id, bytes(ix.data), metas)


def account_of(ix: Instruction, account: str) -> Pubkey:
    names = _MARKET_IXS[bytes(ix.data[:8])][1]
    return ix.accounts[names.index(account)].pubkey


def with_data(ix: Instruction, data: bytes) -> Instruction:
    return Instruction(ix.program_id, data, list(ix.accounts))


def append_accounts(ix: Instruction, extra: Iterable[AccountMeta]) -> Instruction:
    return Instruction(ix.program_id, bytes(ix.data), [*ix.accounts, *extra])


# -- the rejection assertion -------------------------------------------------------------------


def involved(ixs: Sequence[Instruction]) -> list[Pubkey]:
    """Every account the instructions name (programs included), once, in order."""
    seen: dict[Pubkey, None] = {}
    for ix in ixs:
        seen.setdefault(ix.program_id)
        for meta in ix.accounts:
            seen.setdefault(meta.pubkey)
    return list(seen)


def failing_program(logs: Sequence[str]) -> Pubkey | None:
    """The program whose failure aborted the transaction (the innermost `failed` line)."""
    for line in logs:
        m = re.match(r"Program (\w+) failed: ", line)
        if m:
            return Pubkey.from_string(m.group(1))
    return None


def assert_rejected(
    c: SvmChain,
    ixs: Sequence[Instruction],
    signers: Sequence[Keypair],
    error: str | int,
    *,
    watch: Iterable[Pubkey] = (),
    program: Pubkey = MARKET_ID,
) -> TxFailed:
    """Send a forged transaction: it must fail with `error` raised by `program` (an IDL
    error name of compute_market or cp_pool, or a raw custom code for other programs), and
    every account it names (plus `watch`) must be byte-for-byte unchanged, lamports
    included. The fee payer is left out: it pays the fee of the failed transaction."""
    if isinstance(error, str):
        code = (POOL_ERRORS if program == CP_POOL_ID else MARKET_ERRORS)[error]
    else:
        code = error
    addresses = list(dict.fromkeys(a for a in [*involved(ixs), *watch] if a != c.payer.pubkey()))
    before = c.snapshot(addresses)
    failed = c.fails(ixs, signers)
    logs = "\n".join(failed.logs)
    origin = failing_program(failed.logs)
    assert origin == program, f"expected a failure in {program}, got {origin}:\n{logs}"
    assert failed.custom_code == code, (
        f"expected {error} ({code}), got {failed.custom_code}:\n{logs}"
    )
    assert_unchanged(c, before)
    return failed


def assert_aborted(
    c: SvmChain,
    ixs: Sequence[Instruction],
    signers: Sequence[Keypair],
    runtime_error: str,
    *,
    watch: Iterable[Pubkey] = (),
) -> TxFailed:
    """Like `assert_rejected` for a failure the runtime itself raises (e.g.
    ReentrancyNotAllowed, PrivilegeEscalation): its name must appear in the error."""
    addresses = list(dict.fromkeys(a for a in [*involved(ixs), *watch] if a != c.payer.pubkey()))
    before = c.snapshot(addresses)
    failed = c.fails(ixs, signers)
    assert runtime_error in str(failed.meta.err()), f"{failed.meta.err()}\n" + "\n".join(
        failed.logs
    )
    assert_unchanged(c, before)
    return failed


def assert_unchanged(c: SvmChain, before: dict[Pubkey, tuple[int, bytes]]) -> None:
    after = c.snapshot(list(before))
    changed = [str(a) for a in before if before[a] != after[a]]
    assert not changed, f"a failed transaction changed {changed}"


#: SPL Token / Token-2022 error codes (TokenError) the token program answers forged transfers with.
TOKEN_INSUFFICIENT_FUNDS = 1
TOKEN_OWNER_MISMATCH = 4


def set_program_account(c: SvmChain, address: Pubkey, data: bytes, owner: Pubkey) -> Pubkey:
    """Write an arbitrary account (LiteSVM): used to forge look-alikes under another owner."""
    lamports = c.svm.minimum_balance_for_rent_exemption(len(data))
    c.svm.set_account(address, Account(lamports, data, owner, False, 0))
    return address


def clone_account(c: SvmChain, source: Pubkey, *, owner: Pubkey | None = None) -> Pubkey:
    """A new address holding `source`'s exact bytes, owned by `owner` (default: the same)."""
    acc = c.svm.get_account(source)
    assert acc is not None
    address = Keypair().pubkey()
    c.svm.set_account(
        address, Account(acc.lamports, bytes(acc.data), owner or acc.owner, acc.executable, 0)
    )
    return address


def rewrite(c: SvmChain, address: Pubkey, offset: int, value: bytes) -> None:
    """Overwrite bytes of an existing account in place (to reach extreme stored values)."""
    acc = c.svm.get_account(address)
    assert acc is not None
    data = bytearray(acc.data)
    data[offset : offset + len(value)] = value
    c.svm.set_account(address, Account(acc.lamports, bytes(data), acc.owner, acc.executable, 0))


# -- raw SPL Token / Token-2022 instructions (layouts of the token interface) -------------------


def _meta(pubkey: Pubkey, *, w: bool = False, s: bool = False) -> AccountMeta:
    return AccountMeta(pubkey, is_signer=s, is_writable=w)


def tk_transfer_checked(
    program: Pubkey,
    src: Pubkey,
    mint: Pubkey,
    dst: Pubkey,
    owner: Pubkey,
    amount: int,
    decimals: int = 6,
) -> Instruction:
    data = struct.pack("<BQB", 12, amount, decimals)
    metas = [_meta(src, w=True), _meta(mint), _meta(dst, w=True), _meta(owner, s=True)]
    return Instruction(program, data, metas)


def tk_approve(
    program: Pubkey, src: Pubkey, delegate: Pubkey, owner: Pubkey, amount: int
) -> Instruction:
    data = struct.pack("<BQ", 4, amount)
    return Instruction(program, data, [_meta(src, w=True), _meta(delegate), _meta(owner, s=True)])


#: SetAuthority authority types.
MINT_TOKENS, FREEZE_ACCOUNT, ACCOUNT_OWNER, CLOSE_ACCOUNT = 0, 1, 2, 3


def tk_set_authority(
    program: Pubkey, account: Pubkey, current: Pubkey, kind: int, new: Pubkey | None
) -> Instruction:
    data = bytes([6, kind]) + (bytes([1]) + bytes(new) if new else bytes([0]))
    return Instruction(program, data, [_meta(account, w=True), _meta(current, s=True)])


def tk_close(program: Pubkey, account: Pubkey, dest: Pubkey, owner: Pubkey) -> Instruction:
    metas = [_meta(account, w=True), _meta(dest, w=True), _meta(owner, s=True)]
    return Instruction(program, bytes([9]), metas)


def t22_mint_ix(mint: Pubkey, data: bytes) -> Instruction:
    """A Token-2022 mint-extension initialisation (one writable account: the mint)."""
    return Instruction(TOKEN_2022_PROGRAM_ID, data, [_meta(mint, w=True)])


@dataclass(frozen=True)
class Ext:
    """One Token-2022 mint extension: its TLV value length and its init instruction data."""

    name: str
    value_len: int
    data: bytes


def ext_mint_close_authority(authority: Pubkey) -> Ext:
    return Ext("MintCloseAuthority", 32, bytes([25, 1]) + bytes(authority))


def ext_permanent_delegate(delegate: Pubkey) -> Ext:
    return Ext("PermanentDelegate", 32, bytes([35]) + bytes(delegate))


def ext_transfer_hook(authority: Pubkey, hook_program: Pubkey) -> Ext:
    return Ext("TransferHook", 64, bytes([36, 0]) + bytes(authority) + bytes(hook_program))


def ext_default_account_state(state: int) -> Ext:
    """state: 1 = Initialized, 2 = Frozen."""
    return Ext("DefaultAccountState", 1, bytes([28, 0, state]))


def ext_non_transferable() -> Ext:
    return Ext("NonTransferable", 0, bytes([32]))


def ext_pausable(authority: Pubkey) -> Ext:
    return Ext("Pausable", 33, bytes([44, 0]) + bytes(authority))


def ext_interest_bearing(authority: Pubkey, rate_bps: int) -> Ext:
    return Ext(
        "InterestBearingConfig", 52, bytes([33, 0]) + bytes(authority) + struct.pack("<h", rate_bps)
    )


def ext_scaled_ui_amount(authority: Pubkey, multiplier: float) -> Ext:
    return Ext(
        "ScaledUiAmount", 56, bytes([43, 0]) + bytes(authority) + struct.pack("<d", multiplier)
    )


def ext_confidential_transfer_mint(authority: Pubkey) -> Ext:
    """authority, auto-approve new accounts, no auditor ElGamal key."""
    return Ext(
        "ConfidentialTransferMint", 65, bytes([27, 0]) + bytes(authority) + bytes([1]) + bytes(32)
    )


def ext_group_pointer(authority: Pubkey, group: Pubkey) -> Ext:
    return Ext("GroupPointer", 64, bytes([40, 0]) + bytes(authority) + bytes(group))


def ext_metadata_pointer(authority: Pubkey, address: Pubkey) -> Ext:
    return Ext("MetadataPointer", 64, bytes([39, 0]) + bytes(authority) + bytes(address))


def ext_transfer_fee(
    config_authority: Pubkey | None, withdraw_authority: Pubkey | None, bps: int, max_fee: int
) -> Ext:
    def opt(k: Pubkey | None) -> bytes:
        return bytes([1]) + bytes(k) if k else bytes([0])

    data = (
        bytes([26, 0])
        + opt(config_authority)
        + opt(withdraw_authority)
        + struct.pack("<HQ", bps, max_fee)
    )
    return Ext("TransferFeeConfig", 108, data)


def t22_mint_len(exts: Sequence[Ext]) -> int:
    """Base mint padded to 165 bytes, the account-type byte, then one TLV entry per extension."""
    return 165 + 1 + sum(4 + e.value_len for e in exts) if exts else 82


def create_t22_mint(
    c: SvmChain,
    exts: Sequence[Ext],
    *,
    freeze_authority: Pubkey | None = None,
    revoke_mint_authority: bool = True,
    decimals: int = 6,
) -> Pubkey:
    """A Token-2022 mint carrying `exts`, built from raw instructions; the chain's payer is
    its mint authority, revoked in the same transaction unless asked otherwise."""
    mint_kp = Keypair()
    mint = mint_kp.pubkey()
    payer = c.payer.pubkey()
    size = t22_mint_len(exts)
    freeze = bytes([1]) + bytes(freeze_authority) if freeze_authority else bytes([0])
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer,
                to_pubkey=mint,
                lamports=c.svm.minimum_balance_for_rent_exemption(size),
                space=size,
                owner=TOKEN_2022_PROGRAM_ID,
            )
        ),
        *[t22_mint_ix(mint, e.data) for e in exts],
        t22_mint_ix(mint, bytes([20, decimals]) + bytes(payer) + freeze),
    ]
    if revoke_mint_authority:
        ixs.append(tk_set_authority(TOKEN_2022_PROGRAM_ID, mint, payer, MINT_TOKENS, None))
    c.send(ixs, [mint_kp])
    return mint


def create_spl_mint(
    c: SvmChain, *, mint_authority: Pubkey | None = None, freeze_authority: Pubkey | None = None
) -> Pubkey:
    mint_kp = Keypair()
    mint, payer = mint_kp.pubkey(), c.payer.pubkey()
    freeze = bytes([1]) + bytes(freeze_authority) if freeze_authority else bytes([0])
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer,
                to_pubkey=mint,
                lamports=c.svm.minimum_balance_for_rent_exemption(82),
                space=82,
                owner=TOKEN_PROGRAM_ID,
            )
        ),
        Instruction(
            TOKEN_PROGRAM_ID, bytes([20, 6]) + bytes(payer) + freeze, [_meta(mint, w=True)]
        ),
    ]
    if mint_authority is None:
        ixs.append(tk_set_authority(TOKEN_PROGRAM_ID, mint, payer, MINT_TOKENS, None))
    elif mint_authority != payer:
        ixs.append(tk_set_authority(TOKEN_PROGRAM_ID, mint, payer, MINT_TOKENS, mint_authority))
    c.send(ixs, [mint_kp])
    return mint


def token_account(
    c: SvmChain, owner: Pubkey, mint: Pubkey, program: Pubkey = TOKEN_PROGRAM_ID
) -> Pubkey:
    """A fresh (non-associated) token account of `mint` owned by `owner`."""
    kp = Keypair()
    mint_data = c.data(mint)
    assert mint_data is not None
    # A Token-2022 account of a fee-bearing mint carries TransferFeeAmount (4 + 8 bytes).
    size = 178 if program == TOKEN_2022_PROGRAM_ID and _has_ext(mint_data, 1) else 165
    c.send(
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=c.payer.pubkey(),
                    to_pubkey=kp.pubkey(),
                    lamports=c.svm.minimum_balance_for_rent_exemption(size),
                    space=size,
                    owner=program,
                )
            ),
            Instruction(
                program, bytes([18]) + bytes(owner), [_meta(kp.pubkey(), w=True), _meta(mint)]
            ),
        ],
        [kp],
    )
    return kp.pubkey()


def _has_ext(mint_data: bytes, ext_type: int) -> bool:
    return any(
        ty == ext_type
        for ty, _ in token_layout.extensions(mint_data, token_layout.ACCOUNT_TYPE_MINT)
    )


# -- token account fields ---------------------------------------------------------------------


def token_owner(c: SvmChain, account: Pubkey) -> Pubkey:
    return token_layout.decode_token_account(c.existing_data(account)).owner


def token_delegate(c: SvmChain, account: Pubkey) -> Pubkey | None:
    return token_layout.decode_token_account(c.existing_data(account)).delegate


def token_close_authority(c: SvmChain, account: Pubkey) -> Pubkey | None:
    return token_layout.decode_token_account(c.existing_data(account)).close_authority


def token_withheld(c: SvmChain, account: Pubkey) -> int:
    """TransferFeeAmount.withheld_amount of a Token-2022 account (0 without the extension)."""
    return token_layout.decode_token_account(c.existing_data(account)).withheld


# -- the evil router (tests/security/programs/evil_router) --------------------------------------


@dataclass(frozen=True)
class Call:
    """One CPI the evil router makes: program, accounts with the flags it passes, data."""

    program: Pubkey
    accounts: tuple[AccountMeta, ...]
    data: bytes

    @classmethod
    def of(cls, ix: Instruction) -> Call:
        return cls(ix.program_id, tuple(ix.accounts), bytes(ix.data))

    def instruction(self) -> Instruction:
        return Instruction(self.program, self.data, list(self.accounts))


def evil_script(
    calls: Sequence[Call], *, signers: Iterable[Pubkey] = ()
) -> tuple[bytes, list[AccountMeta]]:
    """(instruction data, accounts) that make the evil router run `calls` in order.

    Accounts a call needs as signer are passed read-only-unsigned to the router unless
    listed in `signers` (outer transaction signers): the model PDA gets its signature from
    the compute market's buyback, not from the transaction."""
    outer_signers = set(signers)
    order: dict[Pubkey, list[bool]] = {}
    for call in calls:
        order.setdefault(call.program, [False, False])
        for m in call.accounts:
            flags = order.setdefault(m.pubkey, [False, False])
            flags[0] |= m.is_writable
            flags[1] |= m.is_signer and m.pubkey in outer_signers
    keys = list(order)
    data = bytearray([len(calls)])
    for call in calls:
        data += bytes([keys.index(call.program), len(call.accounts)])
        for m in call.accounts:
            data += bytes([keys.index(m.pubkey), int(m.is_writable) | (int(m.is_signer) << 1)])
        data += struct.pack("<H", len(call.data)) + call.data
    metas = [AccountMeta(k, is_signer=f[1], is_writable=f[0]) for k, f in order.items()]
    return bytes(data), metas


def build_evil_router() -> bytes:
    """Build the evil router with the project's toolchain (program/toolchain)."""
    from program.toolchain import Toolchain

    with Toolchain() as tc:
        result = tc.build(
            EVIL_ROUTER_DIR / "src" / "lib.rs", "evil_router", crate_dir=EVIL_ROUTER_DIR
        )
    return result.image


def deploy_program(c: SvmChain, image: bytes) -> Pubkey:
    """Deploy `image` through the upgradeable loader at a fresh address (admin upgrades)."""
    kp = Keypair()
    deploy_upgradeable(c.svm, c.payer, kp, image, c.admin)
    return kp.pubkey()


# -- a populated market -----------------------------------------------------------------------


@dataclass
class OpenOrder:
    address: Pubkey
    payer: Keypair
    nonce: int
    hold: int
    slug: str
    provider: Keypair


PRICE_IN, PRICE_OUT = 270_000, 1_100_000
GENESIS_UNIX = 1_764_000_000  # 2025-11-24
T22_FEE_BPS, T22_MAX_FEE = 100, 5_000 * USDC


class World:
    """One chain with the market configured, models in every state, providers, offers,
    revenue in the vaults and cp_pool pools, ready to be attacked.

    Models: ``alpha`` (SPL token, 5%), ``beta`` (SPL token, 10%, another creator),
    ``gamma`` (Token-2022 with a 1% transfer fee withheld to the config PDA, 10%),
    ``plain`` (approved, not tokenized), ``pending`` (registered only)."""

    def __init__(
        self,
        *,
        evil_image: bytes | None = None,
        max_buyback_per_call: int = 0,
        buyback_cooldown_secs: int = 0,
        protocol_fee_bps: int = 100,
        max_protocol_fee_bps: int = 500,
        max_model_fee_bps: int = 3_000,
    ) -> None:
        self.c = c = new_chain()
        # LiteSVM starts its clock at unix time 0; a real cluster never reads 0 (and the
        # buyback cooldown treats 0 as "never bought back"), so start at a real date.
        self.warp(GENESIS_UNIX)
        self.admin = c.admin
        self.settler, self.crank, self.treasury_owner = (
            c.new_wallet(),
            c.new_wallet(),
            c.new_wallet(),
        )
        self.creator, self.creator2 = c.new_wallet(), c.new_wallet()
        self.provider, self.provider2 = c.new_wallet(), c.new_wallet()
        self.payer = c.new_wallet(usdc=10_000 * USDC)
        self.attacker = c.new_wallet(usdc=1_000 * USDC)
        self.m = m = Market(usdc_mint=c.usdc_mint, treasury_authority=self.treasury_owner.pubkey())
        for w in (self.treasury_owner, self.provider, self.provider2):
            c.ata(w.pubkey(), c.usdc_mint)
        c.send(
            [
                m.initialize_config(
                    c.admin.pubkey(),
                    self.settler.pubkey(),
                    self.crank.pubkey(),
                    protocol_fee_bps=protocol_fee_bps,
                    max_protocol_fee_bps=max_protocol_fee_bps,
                    max_model_fee_bps=max_model_fee_bps,
                    max_buyback_per_call=max_buyback_per_call,
                    buyback_cooldown_secs=buyback_cooldown_secs,
                )
            ],
            [c.admin],
        )
        self.evil: Pubkey | None = deploy_program(c, evil_image) if evil_image else None
        self._sol: tuple[pump_curve.CurveMarket, pools.PoolAddresses] | None = None
        self.allow([CP_POOL_ID])

        self.mints: dict[str, Pubkey] = {}
        self.token_programs: dict[str, Pubkey] = {}
        self.creators: dict[str, Keypair] = {}
        self.list_model("alpha", 500, self.creator, TOKEN_PROGRAM_ID)
        self.list_model("beta", 1_000, self.creator2, TOKEN_PROGRAM_ID)
        self.list_model("gamma", 1_000, self.creator, TOKEN_2022_PROGRAM_ID)
        self.register("plain", 0, self.creator, approve=True)
        self.register("pending", 0, self.creator2, approve=False)

        c.send([m.register_provider(self.provider.pubkey(), "prov-one")], [self.provider])
        c.send([m.register_provider(self.provider2.pubkey(), "prov-two")], [self.provider2])
        for slug in ("alpha", "beta", "gamma"):
            c.send(
                [m.upsert_offer(self.provider.pubkey(), slug, PRICE_IN, PRICE_OUT)], [self.provider]
            )
        c.send(
            [m.upsert_offer(self.provider2.pubkey(), "alpha", PRICE_IN, PRICE_OUT)],
            [self.provider2],
        )

        self.payment_seq = 0
        self.nonce_seq = 0
        for slug in ("alpha", "beta", "gamma"):
            self.pay(slug, 1_000 * USDC)
        self.pools: dict[str, Pubkey] = {}
        for slug in ("alpha", "beta", "gamma"):
            self.make_pool(slug)

    # -- setup helpers ---------------------------------------------------------------------

    def allow(self, programs: Sequence[Pubkey]) -> None:
        self.c.send(
            [self.m.update_config(self.admin.pubkey(), swap_programs=list(programs))], [self.admin]
        )

    def register(self, slug: str, fee_bps: int, creator: Keypair, *, approve: bool) -> None:
        c, m = self.c, self.m
        c.send([m.register_model(creator.pubkey(), slug, fee_bps, f"ipfs://{slug}")], [creator])
        if approve:
            self.approve(slug)
        self.creators[slug] = creator

    def approve(self, slug: str, mint: Pubkey | None = None) -> None:
        """The admin approves `slug`, pinning `mint` as the one it may tokenize with."""
        self.c.send(
            [self.m.set_model_status(self.admin.pubkey(), slug, ModelStatus.APPROVED, mint)],
            [self.admin],
        )

    def list_model(self, slug: str, fee_bps: int, creator: Keypair, token_program: Pubkey) -> None:
        c, m = self.c, self.m
        self.register(slug, fee_bps, creator, approve=False)
        fee = None
        if token_program == TOKEN_2022_PROGRAM_ID:
            fee = mints.TransferFeeSetup(
                T22_FEE_BPS, T22_MAX_FEE, withdraw_withheld_authority=m.config
            )
        mint = c.create_model_mint(
            creator.pubkey(), 1_000_000 * USDC, token2022=fee is not None, fee=fee
        )
        self.approve(slug, mint)
        c.send([m.tokenize_model(creator.pubkey(), slug, mint, token_program)], [creator])
        self.mints[slug] = mint
        self.token_programs[slug] = token_program

    def make_pool(self, slug: str) -> None:
        """A cp_pool pool model-token/USDC: 200k tokens vs 2,000 USDC from the creator."""
        mint, tp = self.mints[slug], self.token_programs[slug]
        seeded = self.c.seed_pool(self.creators[slug], mint, tp, 200_000 * USDC, 2_000 * USDC)
        pool = seeded.pool
        self.pools[slug] = pool

    # -- addresses -------------------------------------------------------------------------

    def model(self, slug: str) -> Pubkey:
        return self.m.model(slug)

    def usdc(self, owner: Keypair | Pubkey) -> Pubkey:
        key = owner.pubkey() if isinstance(owner, Keypair) else owner
        return self.m.usdc_account(key)

    def payout(self, provider: Keypair) -> Pubkey:
        """The payout account recorded in `provider`'s Provider account."""
        data = self.c.data(self.m.provider(provider.pubkey()))
        assert data is not None
        return Provider.decode(data).payout

    def balance(self, account: Pubkey) -> int:
        return self.c.token_balance(account)

    # -- instructions ----------------------------------------------------------------------

    def next_payment_id(self) -> bytes:
        self.payment_seq += 1
        return payment_id_bytes(f"payment-{self.payment_seq}")

    def stream(self, slug: str, provider: Keypair | None = None) -> Pubkey:
        return self.m.stream(
            self.m.model(slug), self.m.provider((provider or self.provider).pubkey())
        )

    def next_sequence(self, slug: str, provider: Keypair | None = None) -> int:
        data = self.c.data(self.stream(slug, provider))
        return SettlementStream.decode(data).next_sequence if data else 0

    def payment_ix(
        self,
        slug: str,
        amount: int,
        *,
        payment_id: bytes | None = None,
        source_owner: Keypair | None = None,
        provider: Keypair | None = None,
        sequence: int | None = None,
    ) -> Instruction:
        """settle_batch of one paid call of `amount` (the stream's next sequence by default)
        from `source_owner`'s USDC account (default: the settler's)."""
        owner = source_owner or self.settler
        prov = provider or self.provider
        model = self.m.model(slug)
        pid = payment_id or self.next_payment_id()
        return self.m.settle_batch(
            self.settler.pubkey(),
            model=model,
            provider=self.m.provider(prov.pubkey()),
            provider_payout=self.payout(prov),
            revenue_vault=self.m.revenue_vault(slug),
            sequence=self.next_sequence(slug, prov) if sequence is None else sequence,
            count=1,
            total=amount,
            root=merkle.root(merkle.leaves([(pid, amount)])),
            source=self.usdc(owner),
            source_authority=owner.pubkey(),
        )

    def pay(self, slug: str, amount: int) -> None:
        """Settle a collected payment of `amount` (funds the settler's collection account)."""
        self.c.fund_usdc(self.settler.pubkey(), amount)
        self.c.send([self.payment_ix(slug, amount)], [self.settler])

    def open_ix(
        self,
        *,
        slug: str = "alpha",
        payer: Keypair | None = None,
        provider: Keypair | None = None,
        nonce: int | None = None,
        max_in: int = 100_000,
        max_out: int = 50_000,
        ttl: int = 600,
    ) -> tuple[Instruction, int]:
        if nonce is None:
            self.nonce_seq += 1
            nonce = self.nonce_seq
        p = payer or self.payer
        ix = self.m.open_order(
            p.pubkey(), slug, (provider or self.provider).pubkey(), nonce, max_in, max_out, ttl
        )
        return ix, nonce

    def open(
        self,
        *,
        slug: str = "alpha",
        payer: Keypair | None = None,
        provider: Keypair | None = None,
        max_in: int = 100_000,
        max_out: int = 50_000,
        ttl: int = 600,
    ) -> OpenOrder:
        p, prov = payer or self.payer, provider or self.provider
        ix, nonce = self.open_ix(
            slug=slug, payer=p, provider=prov, max_in=max_in, max_out=max_out, ttl=ttl
        )
        self.c.send([ix], [p])
        address = self.m.order(p.pubkey(), nonce)
        order = Order.decode(self.c.data(address))  # type: ignore[arg-type]
        return OpenOrder(address, p, nonce, order.hold, slug, prov)

    def settle_ix(
        self,
        o: OpenOrder,
        input_tokens: int = 40_000,
        output_tokens: int = 10_000,
        *,
        settler: Pubkey | None = None,
    ) -> Instruction:
        m = self.m
        return m.settle_order(
            settler or self.settler.pubkey(),
            order=o.address,
            payer=o.payer.pubkey(),
            payer_token=self.usdc(o.payer),
            model=m.model(o.slug),
            provider=m.provider(o.provider.pubkey()),
            provider_payout=self.payout(o.provider),
            revenue_vault=m.revenue_vault(o.slug),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def cancel_ix(self, o: OpenOrder, authority: Pubkey) -> Instruction:
        return self.m.cancel_order(
            authority, order=o.address, payer=o.payer.pubkey(), payer_token=self.usdc(o.payer)
        )

    def pool_swap(self, slug: str, amount_in: int, pool_min_out: int = 1) -> Instruction:
        """The cp_pool swap USDC → model token from the revenue vault into the buyback vault."""
        c, m = self.c, self.m
        mint, tp = self.mints[slug], self.token_programs[slug]
        pool = self.pools[slug]
        return pool_ix.swap(
            pool_ix.SwapArgs(amount_in=amount_in, min_out=pool_min_out),
            pool_ix.SwapAccounts(
                user=m.model(slug),
                pool=pool,
                user_source=m.revenue_vault(slug),
                user_destination=m.buyback_vault(slug),
                vault_in=pda.pool_vault_pda(pool, c.usdc_mint)[0],
                vault_out=pda.pool_vault_pda(pool, mint)[0],
                mint_in=c.usdc_mint,
                mint_out=mint,
                token_program_in=TOKEN_PROGRAM_ID,
                token_program_out=tp,
            ),
        )

    def quote(self, slug: str, amount_in: int) -> int:
        """cp_pool's output for `amount_in` USDC (30 bps pool fee, rounded up)."""
        pool = self.pools[slug]
        r_in = self.balance(pda.pool_vault_pda(pool, self.c.usdc_mint)[0])
        r_out = self.balance(pda.pool_vault_pda(pool, self.mints[slug])[0])
        net = amount_in - (-(-amount_in * 30 // 10_000))
        return r_out * net // (r_in + net)

    def buyback_ix(
        self,
        slug: str,
        amount_in: int,
        min_out: int,
        *,
        route: Instruction | None = None,
        crank: Pubkey | None = None,
    ) -> Instruction:
        swap = route or self.pool_swap(slug, amount_in)
        accounts = [
            AccountMeta(a.pubkey, is_signer=False, is_writable=a.is_writable) for a in swap.accounts
        ]
        return self.m.buyback(
            crank or self.crank.pubkey(),
            slug,
            swap_program=swap.program_id,
            swap_data=bytes(swap.data),
            swap_accounts=accounts,
            amount_in=amount_in,
            min_out=min_out,
        )

    def buyback_sol_ix(
        self,
        slug: str,
        amount_in: int,
        min_out: int,
        *,
        buy: Instruction,
        crank: Pubkey | None = None,
    ) -> Instruction:
        """``buyback_sol`` whose swap leg is the model's cp_pool route (rejection cases stop
        before it runs) and whose buy leg is ``buy``."""
        swap = self.pool_swap(slug, amount_in)

        def cpi(ix: Instruction) -> list[AccountMeta]:
            return [AccountMeta(a.pubkey, False, a.is_writable) for a in ix.accounts]

        return self.m.buyback_sol(
            crank or self.crank.pubkey(),
            slug,
            swap_program=swap.program_id,
            swap_data=bytes(swap.data),
            swap_accounts=cpi(swap),
            buy_program=buy.program_id,
            buy_data=bytes(buy.data),
            buy_accounts=cpi(buy),
            amount_in=amount_in,
            min_out=min_out,
        )

    def evil_buyback_ix(
        self,
        slug: str,
        amount_in: int,
        min_out: int,
        calls: Sequence[Call],
        *,
        signers: Iterable[Pubkey] = (),
    ) -> Instruction:
        assert self.evil is not None, "World built without the evil router"
        data, accounts = evil_script(calls, signers=signers)
        return self.m.buyback(
            self.crank.pubkey(),
            slug,
            swap_program=self.evil,
            swap_data=data,
            swap_accounts=accounts,
            amount_in=amount_in,
            min_out=min_out,
        )

    def burn_ix(self, slug: str) -> Instruction:
        return self.m.burn(self.crank.pubkey(), slug, self.mints[slug], self.token_programs[slug])

    def harvest_ix(
        self, slug: str, sources: list[Pubkey], destination: Pubkey | None = None
    ) -> Instruction:
        mint = self.mints[slug]
        dest = destination or self.c.ata(self.treasury_owner.pubkey(), mint, TOKEN_2022_PROGRAM_ID)
        return self.m.harvest_fees(self.crank.pubkey(), slug, mint, dest, sources)

    def give_tokens(self, slug: str, owner: Keypair, amount: int) -> Pubkey:
        """Move `amount` model tokens from the creator to `owner`'s associated account."""
        c, mint, tp = self.c, self.mints[slug], self.token_programs[slug]
        creator = self.creators[slug]
        dest = c.ata(owner.pubkey(), mint, tp)
        src = c.ata(creator.pubkey(), mint, tp)
        c.send([tk_transfer_checked(tp, src, mint, dest, creator.pubkey(), amount)], [creator])
        return dest

    def list_sol_coin(
        self, slug: str, *, real_tokens: int = 60_000_000_000_000
    ) -> tuple[pump_curve.CurveMarket, pools.PoolAddresses]:
        """A SOL-paired pump.fun coin (legacy SPL mint, curve quoted in SOL, as ClawPump
        launches) listed as ``slug`` with revenue in its vault, the pump.fun stand-in
        installed, and the cp_pool pool of WSOL/USDC (the stand-in for the Jupiter leg)."""
        c = self.c
        venue = pump_venue.install(c)
        market = pump_venue.launch(
            c,
            venue,
            self.creator.pubkey(),
            token2022=False,
            quote_mint=WRAPPED_SOL_MINT,
            virtual_quote=30 * SOL,
            real_tokens=real_tokens,
        )
        self.register(slug, 500, self.creator, approve=False)
        self.approve(slug, market.mint)
        c.send(
            [self.m.tokenize_model(self.creator.pubkey(), slug, market.mint, TOKEN_PROGRAM_ID)],
            [self.creator],
        )
        c.send(
            [self.m.upsert_offer(self.provider.pubkey(), slug, PRICE_IN, PRICE_OUT)],
            [self.provider],
        )
        self.pay(slug, 4_000 * USDC)
        lp = c.new_wallet(sol=1_100)
        pool = pump_venue.seed_wsol_pool(c, lp, 1_000 * SOL, 150_000 * USDC)
        return market, pool

    def _sol_sample(self) -> Instruction:
        """A valid ``buyback_sol`` of 1 USDC on a SOL-paired coin (listed on first use)."""
        if self._sol is None:
            self._sol = self.list_sol_coin("solcoin")
            self.allow([CP_POOL_ID, PUMP_ID])
            model = self.model("solcoin")
            self.c.send(pump_sol.prepare_instructions(self.c.payer.pubkey(), model, 0, False), [])
        market, pool = self._sol
        buyer = pump_sol.buyer_address(self.model("solcoin"))
        sol = quote_exact_in(
            1 * USDC,
            self.balance(pool.vault(self.c.usdc_mint)),
            self.balance(pool.vault(WRAPPED_SOL_MINT)),
            30,
        )[1]
        swap = pools.swap(
            self.model("solcoin"),
            pools.Side(self.c.usdc_mint, TOKEN_PROGRAM_ID, self.m.revenue_vault("solcoin")),
            pools.Side(WRAPPED_SOL_MINT, TOKEN_PROGRAM_ID, pump_sol.buyer_wsol(buyer)),
            1 * USDC,
            1,
        )
        buy = pump_sol.buy_sol_instruction(market, buyer, self.m.buyback_vault("solcoin"), sol, 1)
        return self.m.buyback_sol(
            self.crank.pubkey(),
            "solcoin",
            swap_program=CP_POOL_ID,
            swap_data=bytes(swap.data),
            swap_accounts=pools.as_cpi_accounts(swap),
            buy_program=PUMP_ID,
            buy_data=bytes(buy.data),
            buy_accounts=pump_sol.as_cpi_accounts(buy),
            amount_in=1 * USDC,
            min_out=1,
        )

    def samples(self) -> dict[str, tuple[Instruction, list[Keypair]]]:
        """A valid instance of every instruction but initialize_config, with its signers
        (fresh state each call: new wallets, a new approved model, a new open order)."""
        c, m = self.c, self.m
        self.nonce_seq += 1
        n = self.nonce_seq
        pending, newcomer = c.new_wallet(), c.new_wallet(usdc=1 * USDC)
        c.send([m.update_config(self.admin.pubkey(), pending_admin=pending.pubkey())], [self.admin])
        slug = f"sample-{n}"
        self.register(slug, 0, self.creator, approve=False)
        mint = c.create_model_mint(self.creator.pubkey(), 1_000)
        self.approve(slug, mint)
        o, o2 = self.open(), self.open()
        c.fund_usdc(self.settler.pubkey(), 1 * USDC)
        bv = m.buyback_vault("alpha")
        if self.balance(bv) == 0:
            src = c.ata(self.creator.pubkey(), self.mints["alpha"])
            c.send(
                [
                    tk_transfer_checked(
                        TOKEN_PROGRAM_ID, src, self.mints["alpha"], bv, self.creator.pubkey(), 7
                    )
                ],
                [self.creator],
            )
        return {
            "update_config": (m.update_config(self.admin.pubkey(), paused=False), [self.admin]),
            "register_model": (m.register_model(newcomer.pubkey(), f"new-{n}", 0), [newcomer]),
            "set_model_status": (
                m.set_model_status(self.admin.pubkey(), "alpha", ModelStatus.APPROVED),
                [self.admin],
            ),
            "tokenize_model": (
                m.tokenize_model(self.creator.pubkey(), slug, mint, TOKEN_PROGRAM_ID),
                [self.creator],
            ),
            "register_provider": (m.register_provider(newcomer.pubkey(), "newcomer"), [newcomer]),
            "upsert_offer": (
                m.upsert_offer(self.provider.pubkey(), "alpha", PRICE_IN, PRICE_OUT),
                [self.provider],
            ),
            "open_order": (self.open_ix()[0], [self.payer]),
            "settle_order": (self.settle_ix(o), [self.settler]),
            "cancel_order": (self.cancel_ix(o2, self.settler.pubkey()), [self.settler]),
            "settle_batch": (self.payment_ix("alpha", 1 * USDC), [self.settler]),
            "buyback": (self.buyback_ix("alpha", 1 * USDC, 1), [self.crank]),
            "buyback_sol": (self._sol_sample(), [self.crank]),
            "burn": (self.burn_ix("alpha"), [self.crank]),
            "harvest_fees": (self.harvest_ix("gamma", []), [self.crank]),
            "accept_admin": (
                m.accept_admin(pending.pubkey()),
                [pending],
            ),  # last: changes the admin
        }

    def set_paused(self, paused: bool) -> None:
        self.c.send([self.m.update_config(self.admin.pubkey(), paused=paused)], [self.admin])

    def warp(self, seconds: int) -> None:
        clock = self.c.svm.get_clock()
        clock.unix_timestamp = clock.unix_timestamp + seconds
        self.c.svm.set_clock(clock)


__all__ = [
    "ACCOUNT_OWNER",
    "CLOSE_ACCOUNT",
    "CP_POOL_ID",
    "EVIL_ROUTER_DIR",
    "FREEZE_ACCOUNT",
    "GENESIS_UNIX",
    "INSTRUCTIONS",
    "MARKET_ERRORS",
    "MARKET_ID",
    "MINT_TOKENS",
    "POOL_ERRORS",
    "PRICE_IN",
    "PRICE_OUT",
    "REPO",
    "SYSTEM_PROGRAM_ID",
    "T22_FEE_BPS",
    "T22_MAX_FEE",
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_INSUFFICIENT_FUNDS",
    "TOKEN_OWNER_MISMATCH",
    "TOKEN_PROGRAM_ID",
    "USDC",
    "Call",
    "Ext",
    "OpenOrder",
    "World",
    "account_of",
    "append_accounts",
    "assert_aborted",
    "assert_rejected",
    "assert_unchanged",
    "build_evil_router",
    "clone_account",
    "create_spl_mint",
    "create_t22_mint",
    "deploy_program",
    "evil_script",
    "ext_confidential_transfer_mint",
    "ext_default_account_state",
    "ext_group_pointer",
    "ext_interest_bearing",
    "ext_metadata_pointer",
    "ext_mint_close_authority",
    "ext_non_transferable",
    "ext_pausable",
    "ext_permanent_delegate",
    "ext_scaled_ui_amount",
    "ext_transfer_fee",
    "ext_transfer_hook",
    "failing_program",
    "involved",
    "ix_name",
    "patch",
    "rewrite",
    "set_program_account",
    "t22_mint_ix",
    "t22_mint_len",
    "tk_approve",
    "tk_close",
    "tk_set_authority",
    "tk_transfer_checked",
    "token_account",
    "token_close_authority",
    "token_delegate",
    "token_owner",
    "token_withheld",
    "with_data",
]
