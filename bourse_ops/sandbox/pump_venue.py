"""pump.fun's bonding curve and PumpSwap on an in-process LiteSVM chain: the stand-in
programs (``program/pump_standin``, ``program/pump_amm_standin``) deployed at the real program
ids, their ``Global`` / ``GlobalConfig`` accounts, USDC-paired curves and graduated pools
written in the public IDLs' layouts. The stand-ins implement the buys Bourse makes, not
``create_v2`` or the migration: the fixture creates the mint and curve the way ``create_v2``
leaves them (all of the supply in the curve's associated token account, no mint authority) and
graduates a complete curve the way the migration does (its tokens and USDC into the canonical
pool's accounts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    sync_native,
)
from spl.token.models import SyncNativeParams

from bourse_chain import mints, pools, pump_curve, pump_swap
from bourse_chain.generated.pump import PROGRAM_ID
from bourse_chain.generated.pump.accounts import BondingCurve, Global
from bourse_chain.generated.pump_amm import PROGRAM_ID as AMM_ID
from bourse_chain.generated.pump_amm.accounts import GlobalConfig, Pool
from localnet.programs import BIN_DIR


class SvmChain(Protocol):
    """What the fixture needs of a chain: ``bourse_ops.sandbox.svm_chain.SvmChain``, or
    :class:`LocalnetChain` over the embedded localnet."""

    payer: Keypair
    admin: Keypair
    usdc_mint: Pubkey

    @property
    def svm(self) -> Any: ...

    def send(self, ixs: Sequence[Instruction], signers: Sequence[Keypair]) -> object: ...

    def ata(self, owner: Pubkey, mint: Pubkey, token_program: Pubkey = ...) -> Pubkey: ...

    def data(self, address: Pubkey) -> bytes | None: ...

    def token_balance(self, address: Pubkey) -> int: ...


#: pump.fun's own figures for a new coin (token side); the quote side is USDC-sized.
TOTAL_SUPPLY = 1_000_000_000_000_000
INITIAL_VIRTUAL_TOKENS = 1_073_000_000_000_000
INITIAL_REAL_TOKENS = 793_100_000_000_000
INITIAL_VIRTUAL_QUOTE = 5_000_000_000  # 5,000 USDC


@dataclass(frozen=True)
class PumpFees:
    protocol_bps: int = 95
    creator_bps: int = 30
    buyback_bps: int = 5


@dataclass(frozen=True)
class PumpVenue:
    """The installed program's fee recipients (each with a USDC associated account)."""

    fee_recipient: Pubkey
    buyback_fee_recipient: Pubkey
    glob: Global


def install(chain: SvmChain, fees: PumpFees = PumpFees()) -> PumpVenue:
    """Deploy the stand-in at pump.fun's id and write its ``Global``."""
    chain.svm.add_program(PROGRAM_ID, (BIN_DIR / "pump_standin.so").read_bytes())
    fee_recipient, buyback = Keypair().pubkey(), Keypair().pubkey()
    zero = Pubkey.default()
    glob = Global(
        initialized=True,
        authority=chain.admin.pubkey(),
        fee_recipient=fee_recipient,
        initial_virtual_token_reserves=INITIAL_VIRTUAL_TOKENS,
        initial_virtual_sol_reserves=30_000_000_000,
        initial_real_token_reserves=INITIAL_REAL_TOKENS,
        token_total_supply=TOTAL_SUPPLY,
        fee_basis_points=fees.protocol_bps,
        withdraw_authority=chain.admin.pubkey(),
        enable_migrate=True,
        pool_migration_fee=0,
        creator_fee_basis_points=fees.creator_bps,
        fee_recipients=(zero,) * 7,
        set_creator_authority=zero,
        admin_set_creator_authority=zero,
        create_v2_enabled=True,
        whitelist_pda=zero,
        reserved_fee_recipient=zero,
        mayhem_mode_enabled=False,
        reserved_fee_recipients=(zero,) * 7,
        is_cashback_enabled=False,
        buyback_fee_recipients=(buyback,) + (zero,) * 7,
        buyback_basis_points=fees.buyback_bps,
        initial_virtual_quote_reserves=INITIAL_VIRTUAL_QUOTE,
        whitelisted_quote_mints=(chain.usdc_mint,),
        creator_fee_configurable=False,
        max_configurable_creator_fee_bps=0,
        holder_reward_claim_authority=zero,
        is_holder_reward_enabled=False,
    )
    _write(chain, pump_curve.global_address(), glob.encode())
    chain.ata(fee_recipient, chain.usdc_mint)
    chain.ata(buyback, chain.usdc_mint)
    return PumpVenue(fee_recipient, buyback, glob)


def launch(
    chain: SvmChain,
    venue: PumpVenue,
    creator: Pubkey,
    *,
    token2022: bool = True,
    real_tokens: int = INITIAL_REAL_TOKENS,
    virtual_quote: int = INITIAL_VIRTUAL_QUOTE,
    quote_mint: Pubkey | None = None,
) -> pump_curve.CurveMarket:
    """A USDC-paired coin as ``create_v2`` leaves it (``real_tokens`` below pump.fun's figure
    makes the curve graduate after fewer buys; ``quote_mint`` other than USDC, e.g. WSOL, makes
    a coin paired with it, as ``create`` and ClawPump launches are)."""
    quote = quote_mint or chain.usdc_mint
    mint = Keypair()
    curve = pump_curve.curve_address(mint.pubkey())
    tp = TOKEN_2022_PROGRAM_ID if token2022 else TOKEN_PROGRAM_ID
    make = mints.token2022_model_mint if token2022 else mints.spl_model_mint
    mm = make(chain.payer.pubkey(), mint.pubkey(), curve, TOTAL_SUPPLY, 6)
    chain.send(mm.instructions, [mint])
    if quote == chain.usdc_mint:
        chain.ata(curve, chain.usdc_mint)
        chain.ata(pump_curve.creator_vault(creator), chain.usdc_mint)
    else:  # SOL fees land in System accounts, as they exist after a coin's first trades
        for account in (venue.fee_recipient, pump_curve.creator_vault(creator)):
            if chain.data(account) is None:
                rent = mints.rent_exempt_lamports(0)
                chain.svm.set_account(account, Account(rent, b"", Pubkey.default(), False, 0))
    state = BondingCurve(
        virtual_token_reserves=INITIAL_VIRTUAL_TOKENS,
        virtual_quote_reserves=virtual_quote,
        real_token_reserves=real_tokens,
        real_quote_reserves=0,
        token_total_supply=TOTAL_SUPPLY,
        complete=False,
        creator=creator,
        is_mayhem_mode=False,
        is_cashback_coin=False,
        quote_mint=quote,
        creator_fee_bps=0,
        can_edit_creator_fee=False,
        is_holder_reward=False,
    )
    _write(chain, curve, state.encode())
    return pump_curve.CurveMarket(
        mint=mint.pubkey(),
        token_program=tp,
        quote_mint=quote,
        quote_token_program=TOKEN_PROGRAM_ID,
        curve=state,
        glob=venue.glob,
    )


def refresh(chain: SvmChain, market: pump_curve.CurveMarket) -> pump_curve.CurveMarket:
    """``market`` with the curve state read back from the chain."""
    data = chain.data(pump_curve.curve_address(market.mint))
    assert data is not None
    return replace(market, curve=BondingCurve.decode(data))


def _write(chain: SvmChain, address: Pubkey, data: bytes, owner: Pubkey = PROGRAM_ID) -> None:
    lamports = mints.rent_exempt_lamports(len(data))
    chain.svm.set_account(address, Account(lamports, data, owner, False, 0))


# -- PumpSwap ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmmFees:
    lp_bps: int = 20
    protocol_bps: int = 5
    creator_bps: int = 5


def install_amm(chain: SvmChain, fees: AmmFees = AmmFees()) -> GlobalConfig:
    """Deploy the PumpSwap stand-in at its id and write its ``GlobalConfig``."""
    chain.svm.add_program(AMM_ID, (BIN_DIR / "pump_amm_standin.so").read_bytes())
    recipient = Keypair().pubkey()
    zero = Pubkey.default()
    config = GlobalConfig(
        admin=chain.admin.pubkey(),
        lp_fee_basis_points=fees.lp_bps,
        protocol_fee_basis_points=fees.protocol_bps,
        disable_flags=0,
        protocol_fee_recipients=(recipient,) + (zero,) * 7,
        coin_creator_fee_basis_points=fees.creator_bps,
        admin_set_coin_creator_authority=zero,
        whitelist_pda=zero,
        reserved_fee_recipient=zero,
        mayhem_mode_enabled=False,
        reserved_fee_recipients=(zero,) * 7,
        is_cashback_enabled=False,
        buyback_fee_recipients=(zero,) * 8,
        buyback_basis_points=0,
        boost_authority=zero,
        boost_enabled=False,
        creator_fee_configurable=False,
        max_configurable_creator_fee_bps=0,
    )
    _write(chain, pump_swap.global_config_address(), config.encode(), AMM_ID)
    chain.ata(recipient, chain.usdc_mint)
    return config


def graduate(
    chain: SvmChain, market: pump_curve.CurveMarket, config: GlobalConfig
) -> pump_swap.SwapMarket:
    """What pump.fun's migration does to a complete curve, as fixture writes: the canonical
    pool (index 0, creator = pump's ``pool-authority`` PDA of the mint) is created and every
    token and USDC left in the curve's accounts moves into the pool's accounts (amounts
    conserve exactly; the curve's accounts end empty)."""
    curve_state = refresh(chain, market).curve
    if not curve_state.complete:
        raise ValueError("the curve is not complete")
    sol_paired = market.quote_mint in (Pubkey.default(), WRAPPED_SOL_MINT)
    quote_mint = WRAPPED_SOL_MINT if sol_paired else market.quote_mint
    pool, bump = pump_swap.canonical_pool(market.mint, quote_mint)
    authority = Pubkey.find_program_address(
        [pump_swap.SEED_POOL_AUTHORITY, bytes(market.mint)], PROGRAM_ID
    )[0]
    curve = pump_curve.curve_address(market.mint)
    moved = []
    for mint, tp in ((market.mint, market.token_program), (quote_mint, TOKEN_PROGRAM_ID)):
        dst = chain.ata(pool, mint, tp)
        if mint == WRAPPED_SOL_MINT:  # the curve's SOL, wrapped into the pool's WSOL account
            amount = curve_state.real_quote_reserves
            _move_lamports(chain, curve, dst, amount)
        else:
            src = get_associated_token_address(curve, mint, tp)
            amount = chain.token_balance(src)
            _set_amount(chain, src, 0)
        _set_amount(chain, dst, amount)
        moved.append((dst, amount))
    state = Pool(
        pool_bump=bump,
        index=0,
        creator=authority,
        base_mint=market.mint,
        quote_mint=quote_mint,
        lp_mint=Pubkey.default(),
        pool_base_token_account=moved[0][0],
        pool_quote_token_account=moved[1][0],
        lp_supply=0,
        coin_creator=curve_state.creator,
        is_mayhem_mode=False,
        is_cashback_coin=False,
        virtual_quote_reserves=0,
        creator_fee_bps=0,
        can_edit_creator_fee=False,
        is_holder_reward=False,
    )
    _write(chain, pool, state.encode(), AMM_ID)
    chain.ata(pump_swap.creator_vault_authority(curve_state.creator), quote_mint)
    chain.ata(config.protocol_fee_recipients[0], quote_mint)
    return swap_market(chain, pool, market.token_program, config)


def swap_market(
    chain: SvmChain, pool: Pubkey, base_token_program: Pubkey, config: GlobalConfig
) -> pump_swap.SwapMarket:
    data = chain.data(pool)
    assert data is not None
    state = Pool.decode(data)
    return pump_swap.SwapMarket(
        address=pool,
        pool=state,
        config=config,
        base_token_program=base_token_program,
        quote_token_program=TOKEN_PROGRAM_ID,
        base_reserve=chain.token_balance(state.pool_base_token_account),
        quote_reserve=chain.token_balance(state.pool_quote_token_account),
    )


def seed_wsol_pool(
    chain: SvmChain, depositor: Keypair, lamports: int, usdc: int, fee_bps: int = 30
) -> pools.PoolAddresses:
    """The ``cp_pool`` pool of WSOL against USDC (the localnet stand-in for the USDC -> SOL
    leg Jupiter routes on mainnet): ``lamports`` wrapped from the depositor's SOL, ``usdc``
    minted to it, both deposited."""
    install_native_mint(chain)
    wsol = chain.ata(depositor.pubkey(), WRAPPED_SOL_MINT)
    usdc_account = chain.ata(depositor.pubkey(), chain.usdc_mint)
    chain.send(
        [
            transfer(
                TransferParams(from_pubkey=depositor.pubkey(), to_pubkey=wsol, lamports=lamports)
            ),
            sync_native(SyncNativeParams(program_id=TOKEN_PROGRAM_ID, account=wsol)),
        ],
        [depositor],
    )
    _set_amount(chain, usdc_account, chain.token_balance(usdc_account) + usdc)
    _add_supply(chain, chain.usdc_mint, usdc)
    sol_side = pools.Side(WRAPPED_SOL_MINT, TOKEN_PROGRAM_ID, wsol)
    cash = pools.Side(chain.usdc_mint, TOKEN_PROGRAM_ID, usdc_account)
    chain.send([pools.create_pool(chain.payer.pubkey(), sol_side, cash, fee_bps)], [])
    chain.send(
        [pools.add_liquidity(depositor.pubkey(), sol_side, lamports, cash, usdc)], [depositor]
    )
    return pools.pool_addresses(WRAPPED_SOL_MINT, chain.usdc_mint)


def install_native_mint(chain: SvmChain) -> None:
    """SPL Token's native mint (WSOL) as on every cluster (LiteSVM starts without it):
    no authorities, 9 decimals, initialized."""
    if chain.data(WRAPPED_SOL_MINT) is not None:
        return
    data = bytes(4 + 32) + (0).to_bytes(8, "little") + bytes([9, 1]) + bytes(4 + 32)
    lamports = mints.rent_exempt_lamports(len(data))
    chain.svm.set_account(WRAPPED_SOL_MINT, Account(lamports, data, TOKEN_PROGRAM_ID, False, 0))


def _add_supply(chain: SvmChain, mint: Pubkey, amount: int) -> None:
    acc = chain.svm.get_account(mint)
    assert acc is not None
    data = bytearray(acc.data)
    supply = int.from_bytes(data[36:44], "little") + amount
    data[36:44] = supply.to_bytes(8, "little")
    chain.svm.set_account(mint, Account(acc.lamports, bytes(data), acc.owner, False, 0))


def _move_lamports(chain: SvmChain, source: Pubkey, destination: Pubkey, lamports: int) -> None:
    for address, delta in ((source, -lamports), (destination, lamports)):
        acc = chain.svm.get_account(address)
        assert acc is not None
        chain.svm.set_account(
            address, Account(acc.lamports + delta, bytes(acc.data), acc.owner, False, 0)
        )


def _set_amount(chain: SvmChain, account: Pubkey, amount: int) -> None:
    acc = chain.svm.get_account(account)
    assert acc is not None
    data = bytearray(acc.data)
    data[64:72] = amount.to_bytes(8, "little")
    chain.svm.set_account(account, Account(acc.lamports, bytes(data), acc.owner, False, 0))


class LocalnetChain:
    """The fixture's chain over an embedded localnet (``localnet.chain.Chain``): instructions
    go through its ``submit`` (recorded, visible over JSON-RPC), account writes through its
    LiteSVM under its lock."""

    def __init__(self, chain: Any, payer: Keypair, admin: Keypair, usdc_mint: Pubkey) -> None:
        self._chain = chain
        self.payer, self.admin, self.usdc_mint = payer, admin, usdc_mint

    @property
    def svm(self) -> Any:
        return self._chain.svm

    def send(self, ixs: Sequence[Instruction], signers: Sequence[Keypair]) -> object:
        blockhash, _ = self._chain.latest_blockhash()
        keys = {self.payer.pubkey(): self.payer}
        for k in signers:
            keys.setdefault(k.pubkey(), k)
        msg = Message.new_with_blockhash(list(ixs), self.payer.pubkey(), blockhash)
        done = self._chain.submit(VersionedTransaction(msg, list(keys.values())))
        if done.err is not None:
            raise RuntimeError(f"fixture transaction failed: {done.err}")
        return done

    def ata(self, owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Pubkey:
        address = get_associated_token_address(owner, mint, token_program)
        if self.data(address) is None:
            self.send(
                [create_associated_token_account(self.payer.pubkey(), owner, mint, token_program)],
                [],
            )
        return address

    def data(self, address: Pubkey) -> bytes | None:
        acc = self._chain.get_account(address)
        return None if acc is None or acc.lamports == 0 else bytes(acc.data)

    def token_balance(self, address: Pubkey) -> int:
        d = self.data(address)
        return 0 if d is None else int.from_bytes(d[64:72], "little")
