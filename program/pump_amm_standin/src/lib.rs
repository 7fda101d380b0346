//! Localnet stand-in for PumpSwap (pump_amm), deployed at its real id
//! (pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA). It implements only what
//! Bourse calls, with the public IDL's discriminators, account order and
//! error codes (npm @pump-fun/pump-sdk src/idl/pump_amm.json, bindings in
//! bourse_chain/generated/pump_amm):
//!
//! * `init_user_volume_accumulator` — `payer` funds the per-user PDA;
//! * `buy_exact_quote_in` — spend at most `spendable_quote_in` from the
//!   user's quote account (any account the user is the authority of: the
//!   IDL leaves both user token accounts free), LP fee kept in the pool,
//!   protocol fee to the recipient's ATA, creator fee to the coin creator
//!   vault's ATA; base tokens leave the pool signed by the pool PDA
//!   ["pool", index, creator, base_mint, quote_mint]. A missing volume
//!   accumulator is created with rent charged to `user`.
//!
//! `GlobalConfig` and graduated `Pool` accounts are written by the localnet
//! fixture (bourse_ops.sandbox.pump_venue) in the IDL's layout.
#![no_std]

#[path = "../../sdk/mod.rs"]
mod sdk;
#[path = "../../pump_common.rs"]
mod common;

use common::*;
use sdk::account::Account;
use sdk::bytes::{key_eq, rd_key, rd_u16, rd_u64, rd_u8, Reader};
use sdk::cpi::{Meta, SolAccountInfo, SolAccountMeta, SolInstruction, SolSignerSeed, SolSignerSeeds};
use sdk::entrypoint::deserialize;
use sdk::ids::{ASSOCIATED_TOKEN_PROGRAM, SYSTEM_PROGRAM};
use sdk::bytes::Writer;
use sdk::{token, ProgramResult, Pubkey};

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    unsafe { sdk::syscalls::abort() }
}

const IX_BUY_EXACT_QUOTE_IN: u64 = u64::from_le_bytes([198, 46, 21, 82, 180, 217, 232, 112]);
const IX_INIT_USER_VOLUME_ACCUMULATOR: u64 = u64::from_le_bytes([94, 6, 202, 115, 255, 96, 232, 183]);
const DISC_GLOBAL_CONFIG: [u8; 8] = [149, 8, 156, 202, 160, 252, 176, 217];
const DISC_POOL: [u8; 8] = [241, 154, 109, 4, 17, 177, 109, 188];

// Error codes of the public IDL.
const E_ZERO_QUOTE: u32 = 6002;
const E_SLIPPAGE: u32 = 6004;
const E_INVALID_BASE_MINT: u32 = 6008;
const E_INVALID_QUOTE_MINT: u32 = 6009;
const E_INVALID_PROTOCOL_FEE_RECIPIENT: u32 = 6013;
const E_INVALID_POOL_BASE: u32 = 6014;
const E_INVALID_POOL_QUOTE: u32 = 6015;
const E_DISABLED_BUY: u32 = 6020;
const E_NOT_ENOUGH_ACCOUNTS: u32 = 3005; // Anchor AccountNotEnoughKeys

// GlobalConfig (borsh offsets after the discriminator).
const GC_LP_FEE_BPS: usize = 40;
const GC_PROTOCOL_FEE_BPS: usize = 48;
const GC_DISABLE_FLAGS: usize = 56;
const GC_PROTOCOL_FEE_RECIPIENTS: usize = 57; // [pubkey; 8]
const GC_COIN_CREATOR_FEE_BPS: usize = 313;
const GC_MIN_LEN: usize = 321;
// Pool.
const P_BUMP: usize = 8;
const P_INDEX: usize = 9;
const P_CREATOR: usize = 11;
const P_BASE_MINT: usize = 43;
const P_QUOTE_MINT: usize = 75;
const P_POOL_BASE: usize = 139;
const P_POOL_QUOTE: usize = 171;
const P_COIN_CREATOR: usize = 211;
const P_LEN: usize = 271;
const UVA_LEN: usize = 90; // UserVolumeAccumulator

/// # Safety
/// Called by the runtime with its serialized input buffer.
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    let parsed = match deserialize(input) {
        Some(p) => p,
        None => return E_NOT_ENOUGH_ACCOUNTS as u64,
    };
    match dispatch(parsed.program_id(), parsed.accounts(), parsed.data()) {
        Ok(()) => 0,
        Err(code) => code as u64,
    }
}

fn dispatch(program_id: &Pubkey, accounts: &[Account], data: &[u8]) -> ProgramResult {
    if data.len() < 8 {
        return Err(E_FALLBACK_NOT_FOUND);
    }
    let args = &data[8..];
    match rd_u64(data, 0) {
        IX_BUY_EXACT_QUOTE_IN => buy_exact_quote_in(program_id, accounts, args),
        IX_INIT_USER_VOLUME_ACCUMULATOR => init_user_volume_accumulator(program_id, accounts),
        _ => Err(E_FALLBACK_NOT_FOUND),
    }
}

fn init_user_volume_accumulator(program_id: &Pubkey, accounts: &[Account]) -> ProgramResult {
    let [payer, user, uva, system_program, _event_authority, _program, ..] = accounts else {
        return Err(E_NOT_ENOUGH_ACCOUNTS);
    };
    signer(payer)?;
    writable(payer)?;
    writable(uva)?;
    address_is(system_program, &SYSTEM_PROGRAM)?;
    if exists(uva, program_id) {
        return Err(0); // Anchor `init`: the account is already in use (system error)
    }
    ensure_accumulator(program_id, payer, user.key(), uva, UVA_LEN)
}

/// transfer_checked out of a pool account, signed by the pool PDA (five
/// seeds and the bump: more than the sdk's Signer holds).
struct PoolSigner<'a> {
    index: [u8; 2],
    creator: &'a [u8],
    base: &'a [u8],
    quote: &'a [u8],
    bump: [u8; 1],
}

fn pool_transfer(tp: &Pubkey, from: &Account, mint: &Account, to: &Account, pool: &Account, amount: u64, ps: &PoolSigner) -> ProgramResult {
    if amount == 0 {
        return Ok(());
    }
    let mut d = Writer::<10>::new();
    d.u8(12).u64(amount).u8(token::mint_decimals(mint.data()));
    let metas = [Meta::w(from), Meta::r(mint), Meta::w(to), Meta::rs(pool)];
    let mut c_metas = [SolAccountMeta { pubkey: core::ptr::null(), is_writable: false, is_signer: false }; 4];
    let mut c_infos = [SolAccountInfo {
        key: core::ptr::null(),
        lamports: core::ptr::null_mut(),
        data_len: 0,
        data: core::ptr::null_mut(),
        owner: core::ptr::null(),
        rent_epoch: 0,
        is_signer: false,
        is_writable: false,
        executable: false,
    }; 4];
    let mut i = 0;
    while i < 4 {
        let a = &metas[i].account;
        c_metas[i] = SolAccountMeta { pubkey: a.key_ptr(), is_writable: metas[i].writable, is_signer: metas[i].signer };
        c_infos[i] = SolAccountInfo {
            key: a.key_ptr(),
            lamports: a.lamports_ptr(),
            data_len: a.data_len() as u64,
            data: a.data_ptr(),
            owner: a.owner_ptr(),
            rent_epoch: 0,
            is_signer: a.is_signer() || metas[i].signer,
            is_writable: a.is_writable(),
            executable: a.executable(),
        };
        i += 1;
    }
    let seeds: [&[u8]; 6] = [b"pool", &ps.index, ps.creator, ps.base, ps.quote, &ps.bump];
    let mut seed_buf = [SolSignerSeed { addr: core::ptr::null(), len: 0 }; 6];
    let mut j = 0;
    while j < 6 {
        seed_buf[j] = SolSignerSeed { addr: seeds[j].as_ptr(), len: seeds[j].len() as u64 };
        j += 1;
    }
    let set = SolSignerSeeds { addr: seed_buf.as_ptr(), len: 6 };
    let data = d.as_slice();
    let ix = SolInstruction {
        program_id: tp as *const Pubkey,
        accounts: c_metas.as_ptr(),
        account_len: 4,
        data: data.as_ptr(),
        data_len: data.len() as u64,
    };
    let rc = unsafe { sdk::syscalls::sol_invoke_signed_c(&ix, c_infos.as_ptr(), 4, &set, 1) };
    if rc == 0 {
        Ok(())
    } else {
        Err(rc as u32)
    }
}

fn buy_exact_quote_in(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [pool, user, global_config, base_mint, quote_mint, user_base, user_quote, pool_base, pool_quote, protocol_fee_recipient, protocol_fee_ata, base_tp, quote_tp, system_program, ata_program, _event_authority, _program, creator_vault_ata, creator_vault_authority, global_volume, uva, _fee_config, _fee_program, ..] =
        accounts
    else {
        return Err(E_NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let spendable = r.u64().map_err(|_| E_INSTRUCTION_DID_NOT_DESERIALIZE)?;
    let min_base_out = r.u64().map_err(|_| E_INSTRUCTION_DID_NOT_DESERIALIZE)?;
    // track_volume: OptionBool (EOF-tolerant), ignored here.
    if spendable == 0 {
        return Err(E_ZERO_QUOTE);
    }

    let p = typed(pool, program_id, &DISC_POOL, P_LEN)?;
    let g = typed(global_config, program_id, &DISC_GLOBAL_CONFIG, GC_MIN_LEN)?;
    signer(user)?;
    let must_write = [pool, user, user_base, user_quote, pool_base, pool_quote, protocol_fee_ata, creator_vault_ata, uva];
    let mut k = 0;
    while k < must_write.len() {
        writable(must_write[k])?;
        k += 1;
    }
    address_is(system_program, &SYSTEM_PROGRAM)?;
    address_is(ata_program, &ASSOCIATED_TOKEN_PROGRAM)?;
    // has_one relations of the IDL.
    if !key_eq(base_mint.key(), &rd_key(p, P_BASE_MINT)) {
        return Err(E_INVALID_BASE_MINT);
    }
    if !key_eq(quote_mint.key(), &rd_key(p, P_QUOTE_MINT)) {
        return Err(E_INVALID_QUOTE_MINT);
    }
    if !key_eq(pool_base.key(), &rd_key(p, P_POOL_BASE)) {
        return Err(E_INVALID_POOL_BASE);
    }
    if !key_eq(pool_quote.key(), &rd_key(p, P_POOL_QUOTE)) {
        return Err(E_INVALID_POOL_QUOTE);
    }
    if !token::is_mint(base_mint, base_tp.key()) || !token::is_mint(quote_mint, quote_tp.key()) {
        return Err(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM);
    }
    if rd_u8(g, GC_DISABLE_FLAGS) & 0b1000 != 0 {
        return Err(E_DISABLED_BUY);
    }
    if !listed(g, protocol_fee_recipient.key(), GC_PROTOCOL_FEE_RECIPIENTS, 8) {
        return Err(E_INVALID_PROTOCOL_FEE_RECIPIENT);
    }
    associated(protocol_fee_ata, protocol_fee_recipient.key(), quote_tp.key(), quote_mint.key())?;
    let coin_creator = rd_key(p, P_COIN_CREATOR);
    pda_is(creator_vault_authority, &[b"creator_vault", &coin_creator], program_id)?;
    associated(creator_vault_ata, creator_vault_authority.key(), quote_tp.key(), quote_mint.key())?;
    pda_is(global_volume, &[b"global_volume_accumulator"], program_id)?;
    token_account(pool_base, base_tp.key(), base_mint.key(), pool.key())?;
    token_account(pool_quote, quote_tp.key(), quote_mint.key(), pool.key())?;
    any_token_account(user_base, base_tp.key(), base_mint.key())?;
    token_account(user_quote, quote_tp.key(), quote_mint.key(), user.key())?;
    ensure_accumulator(program_id, user, user.key(), uva, UVA_LEN)?;

    let lp_bps = rd_u64(g, GC_LP_FEE_BPS);
    let protocol_bps = rd_u64(g, GC_PROTOCOL_FEE_BPS);
    let creator_bps = rd_u64(g, GC_COIN_CREATOR_FEE_BPS);
    let net = net_of(spendable, lp_bps, protocol_bps, creator_bps)?;
    let base_reserve = token::account_amount(pool_base.data());
    let quote_reserve = token::account_amount(pool_quote.data());
    let out = sdk::math::mul_div_floor(base_reserve, net, quote_reserve.checked_add(net).ok_or(E_OVERFLOW)?).ok_or(E_OVERFLOW)?;
    if out == 0 || out < min_base_out {
        return Err(E_SLIPPAGE);
    }
    let lp_fee = fee(net, lp_bps)?;
    let protocol_fee = fee(net, protocol_bps)?;
    let creator_fee = fee(net, creator_bps)?;

    let qd = token::mint_decimals(quote_mint.data());
    token::transfer_checked(quote_tp.key(), user_quote, quote_mint, pool_quote, user, net + lp_fee, qd, None)?;
    token::transfer_checked(quote_tp.key(), user_quote, quote_mint, protocol_fee_ata, user, protocol_fee, qd, None)?;
    token::transfer_checked(quote_tp.key(), user_quote, quote_mint, creator_vault_ata, user, creator_fee, qd, None)?;
    let index = rd_u16(p, P_INDEX).to_le_bytes();
    let creator = rd_key(p, P_CREATOR);
    let base = rd_key(p, P_BASE_MINT);
    let quote = rd_key(p, P_QUOTE_MINT);
    let ps = PoolSigner { index, creator: &creator, base: &base, quote: &quote, bump: [rd_u8(p, P_BUMP)] };
    pool_transfer(base_tp.key(), pool_base, base_mint, user_base, pool, out, &ps)
}
