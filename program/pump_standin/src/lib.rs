//! Localnet stand-in for pump.fun's bonding-curve program, deployed at its
//! real id (6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P). It implements only
//! what Bourse calls, with the public IDL's discriminators, account order and
//! error codes (npm @pump-fun/pump-sdk src/idl/pump.json, bindings in
//! bourse_chain/generated/pump):
//!
//! * `init_user_volume_accumulator` — `payer` funds the per-user PDA
//!   ["user_volume_accumulator", user] (what lets a data-carrying PDA buy);
//! * `buy_exact_quote_in_v2` — a USDC-paired (quote-mint) curve buy:
//!   the quote comes from the user's canonical associated token account,
//!   fees go to the fee, buyback-fee and creator-vault ATAs, tokens leave
//!   the curve's ATA signed by the curve PDA, and the curve's `complete`
//!   flag switches on when its real token reserves run out. A missing
//!   volume accumulator is created with rent charged to `user` (so a PDA
//!   that carries data cannot buy until someone prepays it).
//!
//! * `buy_exact_sol_in` — a SOL-paired curve buy (legacy `create` and
//!   ClawPump coins): price and fees are native SOL moved from `user` by
//!   System transfers (price into the curve account, the protocol fee to
//!   `fee_recipient`, the creator fee to the creator vault, topped up to its
//!   rent-exempt minimum at the user's expense), the IDL's quote formula
//!   (`net - 1`), tokens to any token account of the mint, the volume
//!   accumulator's rent charged to `user` as above.
//!
//! `Global` and `BondingCurve` accounts are written by the localnet fixture
//! (bourse_ops.sandbox.pump) in the IDL's layout; `create_v2`, mayhem mode,
//! cashback and migration are not implemented.
#![no_std]

#[path = "../../sdk/mod.rs"]
mod sdk;
#[path = "../../pump_common.rs"]
mod common;

use common::*;
use sdk::account::Account;
use sdk::bytes::{key_eq, rd_key, rd_u64, rd_u8, wr_u64, wr_u8, Reader};
use sdk::cpi::Signer;
use sdk::entrypoint::deserialize;
use sdk::ids::{ASSOCIATED_TOKEN_PROGRAM, NATIVE_MINT, SYSTEM_PROGRAM};
use sdk::{token, ProgramResult, Pubkey};

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    unsafe { sdk::syscalls::abort() }
}

// Discriminators (first 8 data bytes, little-endian u64).
const IX_BUY_EXACT_QUOTE_IN_V2: u64 = u64::from_le_bytes([194, 171, 28, 70, 104, 77, 91, 47]);
const IX_BUY_EXACT_SOL_IN: u64 = u64::from_le_bytes([56, 252, 116, 8, 158, 223, 205, 95]);
const IX_INIT_USER_VOLUME_ACCUMULATOR: u64 = u64::from_le_bytes([94, 6, 202, 115, 255, 96, 232, 183]);
const DISC_GLOBAL: [u8; 8] = [167, 232, 232, 177, 200, 108, 114, 127];
const DISC_BONDING_CURVE: [u8; 8] = [23, 183, 248, 55, 96, 216, 172, 96];

// Error codes of the public IDL.
const E_NOT_AUTHORIZED: u32 = 6000;
const E_MINT_MISMATCH: u32 = 6004;
const E_COMPLETE: u32 = 6005;
const E_BUY_ZERO: u32 = 6020;
const E_NOT_ENOUGH_ACCOUNTS: u32 = 6027;
const E_SLIPPAGE: u32 = 6042;
const E_BUYBACK_FEE_RECIPIENT: u32 = 6057;

// Global (IDL field order; borsh offsets after the 8-byte discriminator).
const G_FEE_RECIPIENT: usize = 41;
const G_FEE_BPS: usize = 105;
const G_CREATOR_FEE_BPS: usize = 154;
const G_FEE_RECIPIENTS: usize = 162; // [pubkey; 7]
const G_BUYBACK_FEE_RECIPIENTS: usize = 741; // [pubkey; 8]
const G_BUYBACK_BPS: usize = 997;
const G_MIN_LEN: usize = 1005;
// BondingCurve.
const C_VIRTUAL_TOKEN: usize = 8;
const C_VIRTUAL_QUOTE: usize = 16;
const C_REAL_TOKEN: usize = 24;
const C_REAL_QUOTE: usize = 32;
const C_COMPLETE: usize = 48;
const C_CREATOR: usize = 49;
const C_QUOTE_MINT: usize = 83;
const C_LEN: usize = 125;
const UVA_LEN: usize = 106; // UserVolumeAccumulator


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
        IX_BUY_EXACT_QUOTE_IN_V2 => buy_exact_quote_in_v2(program_id, accounts, args),
        IX_BUY_EXACT_SOL_IN => buy_exact_sol_in(program_id, accounts, args),
        IX_INIT_USER_VOLUME_ACCUMULATOR => init_user_volume_accumulator(program_id, accounts),
        _ => Err(E_FALLBACK_NOT_FOUND),
    }
}

fn init_user_volume_accumulator(program_id: &Pubkey, accounts: &[Account]) -> ProgramResult {
    let [payer, user, uva, system_program, _event_authority, _program, ..] = accounts else {
        return Err(E_NOT_ENOUGH_ACCOUNTS);
    };
    if !payer.is_signer() {
        return Err(E_ACCOUNT_NOT_SIGNER);
    }
    writable(payer)?;
    writable(uva)?;
    address_is(system_program, &SYSTEM_PROGRAM)?;
    if exists(uva, program_id) {
        return Err(6001); // AlreadyInitialized
    }
    ensure_accumulator(program_id, payer, user.key(), uva, UVA_LEN)
}

fn buy_exact_quote_in_v2(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [global, base_mint, quote_mint, base_tp, quote_tp, ata_program, fee_recipient, fee_ata, buyback_recipient, buyback_ata, curve, curve_base, curve_quote, user, user_base, user_quote, creator_vault, creator_ata, _sharing_config, global_volume, uva, _uva_ata, _fee_config, _fee_program, system_program, _event_authority, _program, ..] =
        accounts
    else {
        return Err(E_NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let spendable = r.u64().map_err(|_| E_INSTRUCTION_DID_NOT_DESERIALIZE)?;
    let min_tokens_out = r.u64().map_err(|_| E_INSTRUCTION_DID_NOT_DESERIALIZE)?;
    if spendable == 0 {
        return Err(E_BUY_ZERO);
    }

    // Account constraints of the IDL.
    pda_is(global, &[b"global"], program_id)?;
    let g = typed(global, program_id, &DISC_GLOBAL, G_MIN_LEN)?;
    address_is(ata_program, &ASSOCIATED_TOKEN_PROGRAM)?;
    address_is(system_program, &SYSTEM_PROGRAM)?;
    let curve_bump = pda_is(curve, &[b"bonding-curve", base_mint.key()], program_id)?;
    let c = typed(curve, program_id, &DISC_BONDING_CURVE, C_LEN)?;
    if !key_eq(&rd_key(c, C_QUOTE_MINT), quote_mint.key()) {
        return Err(E_MINT_MISMATCH);
    }
    if !token::is_mint(base_mint, base_tp.key()) || !token::is_mint(quote_mint, quote_tp.key()) {
        return Err(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM);
    }
    if !user.is_signer() {
        return Err(E_ACCOUNT_NOT_SIGNER);
    }
    let mut k = 0;
    let must_write = [fee_recipient, fee_ata, buyback_recipient, buyback_ata, curve, curve_base, curve_quote, user, user_base, user_quote, creator_vault, creator_ata, uva];
    while k < must_write.len() {
        writable(must_write[k])?;
        k += 1;
    }
    if !key_eq(fee_recipient.key(), &rd_key(g, G_FEE_RECIPIENT)) && !listed(g, fee_recipient.key(), G_FEE_RECIPIENTS, 7) {
        return Err(E_NOT_AUTHORIZED);
    }
    if !listed(g, buyback_recipient.key(), G_BUYBACK_FEE_RECIPIENTS, 8) {
        return Err(E_BUYBACK_FEE_RECIPIENT);
    }
    associated(fee_ata, fee_recipient.key(), quote_tp.key(), quote_mint.key())?;
    associated(buyback_ata, buyback_recipient.key(), quote_tp.key(), quote_mint.key())?;
    associated(curve_base, curve.key(), base_tp.key(), base_mint.key())?;
    associated(curve_quote, curve.key(), quote_tp.key(), quote_mint.key())?;
    let creator = rd_key(c, C_CREATOR);
    pda_is(creator_vault, &[b"creator-vault", &creator], program_id)?;
    associated(creator_ata, creator_vault.key(), quote_tp.key(), quote_mint.key())?;
    // The quote is spent from the user's canonical associated token account.
    associated(user_quote, user.key(), quote_tp.key(), quote_mint.key())?;
    // The tokens may go to any account of the base mint.
    token_account(user_base, base_tp.key(), base_mint.key(), &token::account_owner(user_base.data()))?;
    pda_is(global_volume, &[b"global_volume_accumulator"], program_id)?;
    // SOL: the volume accumulator's rent is charged to the user.
    ensure_accumulator(program_id, user, user.key(), uva, UVA_LEN)?;

    if rd_u8(c, C_COMPLETE) != 0 {
        return Err(E_COMPLETE);
    }
    // Fees are taken on top of the amount that goes into the curve.
    let fee_bps = rd_u64(g, G_FEE_BPS);
    let creator_bps = rd_u64(g, G_CREATOR_FEE_BPS);
    let buyback_bps = rd_u64(g, G_BUYBACK_BPS);
    let vt = rd_u64(c, C_VIRTUAL_TOKEN);
    let vq = rd_u64(c, C_VIRTUAL_QUOTE);
    let rt = rd_u64(c, C_REAL_TOKEN);
    let mut net = net_of(spendable, fee_bps, creator_bps, buyback_bps)?;
    let mut tokens = sdk::math::mul_div_floor(vt, net, vq.checked_add(net).ok_or(E_OVERFLOW)?).ok_or(E_OVERFLOW)?;
    let mut complete = false;
    if tokens >= rt {
        // The last buy takes what is left and pays only its price.
        tokens = rt;
        net = sdk::math::mul_div_ceil(vq, tokens, vt.checked_sub(tokens).ok_or(E_OVERFLOW)?).ok_or(E_OVERFLOW)?;
        complete = true;
    }
    if tokens == 0 || tokens < min_tokens_out {
        return Err(E_SLIPPAGE);
    }
    let protocol_fee = fee(net, fee_bps)?;
    let creator_fee = fee(net, creator_bps)?;
    let buyback_fee = fee(net, buyback_bps)?;
    let total = net + protocol_fee + creator_fee + buyback_fee;
    if total > spendable {
        // Rounding up the fees of the last buy may not exceed what the user offered.
        return Err(6002); // TooMuchSolRequired
    }

    let qd = token::mint_decimals(quote_mint.data());
    token::transfer_checked(quote_tp.key(), user_quote, quote_mint, curve_quote, user, net, qd, None)?;
    token::transfer_checked(quote_tp.key(), user_quote, quote_mint, fee_ata, user, protocol_fee, qd, None)?;
    token::transfer_checked(quote_tp.key(), user_quote, quote_mint, creator_ata, user, creator_fee, qd, None)?;
    token::transfer_checked(quote_tp.key(), user_quote, quote_mint, buyback_ata, user, buyback_fee, qd, None)?;
    let b = [curve_bump];
    let signer = Signer::new(&[b"bonding-curve", base_mint.key(), &b]);
    let bd = token::mint_decimals(base_mint.data());
    token::transfer_checked(base_tp.key(), curve_base, base_mint, user_base, curve, tokens, bd, Some(&signer))?;

    let c = curve.data_mut();
    wr_u64(c, C_VIRTUAL_TOKEN, vt - tokens);
    wr_u64(c, C_VIRTUAL_QUOTE, vq + net);
    wr_u64(c, C_REAL_TOKEN, rt - tokens);
    wr_u64(c, C_REAL_QUOTE, rd_u64(c, C_REAL_QUOTE) + net);
    if complete {
        wr_u8(c, C_COMPLETE, 1);
    }
    Ok(())
}

fn buy_exact_sol_in(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [global, fee_recipient, mint, curve, curve_base, user_base, user, system_program, base_tp, creator_vault, _event_authority, _program, global_volume, uva, _fee_config, _fee_program, ..] =
        accounts
    else {
        return Err(E_NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let spendable = r.u64().map_err(|_| E_INSTRUCTION_DID_NOT_DESERIALIZE)?;
    let min_tokens_out = r.u64().map_err(|_| E_INSTRUCTION_DID_NOT_DESERIALIZE)?;
    r.u8().map_err(|_| E_INSTRUCTION_DID_NOT_DESERIALIZE)?; // track_volume: OptionBool
    if spendable == 0 {
        return Err(E_BUY_ZERO);
    }

    pda_is(global, &[b"global"], program_id)?;
    let g = typed(global, program_id, &DISC_GLOBAL, G_MIN_LEN)?;
    address_is(system_program, &SYSTEM_PROGRAM)?;
    let curve_bump = pda_is(curve, &[b"bonding-curve", mint.key()], program_id)?;
    let c = typed(curve, program_id, &DISC_BONDING_CURVE, C_LEN)?;
    let quote = rd_key(c, C_QUOTE_MINT);
    if !key_eq(&quote, &NATIVE_MINT) && !key_eq(&quote, &[0u8; 32]) {
        return Err(E_MINT_MISMATCH); // a quote-mint curve buys with buy_exact_quote_in_v2
    }
    if !token::is_mint(mint, base_tp.key()) {
        return Err(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM);
    }
    signer(user)?;
    let mut k = 0;
    let must_write = [fee_recipient, curve, curve_base, user_base, user, creator_vault, uva];
    while k < must_write.len() {
        writable(must_write[k])?;
        k += 1;
    }
    if !key_eq(fee_recipient.key(), &rd_key(g, G_FEE_RECIPIENT)) && !listed(g, fee_recipient.key(), G_FEE_RECIPIENTS, 7) {
        return Err(E_NOT_AUTHORIZED);
    }
    associated(curve_base, curve.key(), base_tp.key(), mint.key())?;
    any_token_account(user_base, base_tp.key(), mint.key())?;
    let creator = rd_key(c, C_CREATOR);
    pda_is(creator_vault, &[b"creator-vault", &creator], program_id)?;
    pda_is(global_volume, &[b"global_volume_accumulator"], program_id)?;
    ensure_accumulator(program_id, user, user.key(), uva, UVA_LEN)?;
    if rd_u8(c, C_COMPLETE) != 0 {
        return Err(E_COMPLETE);
    }

    // The IDL's quote: net = floor(spendable * 1e4 / (1e4 + fees)), less any
    // excess of the rounded-up fees; tokens = floor((net - 1) vt / (vs + net - 1)).
    let fee_bps = rd_u64(g, G_FEE_BPS);
    let creator_bps = if key_eq(&creator, &[0u8; 32]) { 0 } else { rd_u64(g, G_CREATOR_FEE_BPS) };
    let vt = rd_u64(c, C_VIRTUAL_TOKEN);
    let vs = rd_u64(c, C_VIRTUAL_QUOTE);
    let rt = rd_u64(c, C_REAL_TOKEN);
    let mut net = sdk::math::mul_div_floor(spendable, 10_000, 10_000 + fee_bps + creator_bps).ok_or(E_OVERFLOW)?;
    let fees = fee(net, fee_bps)? + fee(net, creator_bps)?;
    if net + fees > spendable {
        net -= net + fees - spendable;
    }
    if net <= 1 {
        return Err(E_BUY_ZERO);
    }
    let mut tokens = sdk::math::mul_div_floor(net - 1, vt, vs.checked_add(net - 1).ok_or(E_OVERFLOW)?).ok_or(E_OVERFLOW)?;
    let mut complete = false;
    if tokens >= rt {
        // The last buy takes what is left and pays its reverse quote.
        tokens = rt;
        net = sdk::math::mul_div_ceil(vs, tokens, vt.checked_sub(tokens).ok_or(E_OVERFLOW)?).ok_or(E_OVERFLOW)? + 1;
        complete = true;
    }
    if tokens == 0 || tokens < min_tokens_out {
        return Err(E_SLIPPAGE);
    }
    let protocol_fee = fee(net, fee_bps)?;
    let creator_fee = fee(net, creator_bps)?;
    if net + protocol_fee + creator_fee > spendable {
        return Err(6002); // TooMuchSolRequired
    }

    sdk::system::transfer(user, curve, net, None)?;
    sdk::system::transfer(user, fee_recipient, protocol_fee, None)?;
    let vault_rent = sdk::sysvars::minimum_balance(0);
    let mut to_creator = creator_fee;
    if creator_vault.lamports() + creator_fee < vault_rent {
        to_creator = vault_rent - creator_vault.lamports();
    }
    if to_creator > 0 {
        sdk::system::transfer(user, creator_vault, to_creator, None)?;
    }
    let b = [curve_bump];
    let curve_signer = Signer::new(&[b"bonding-curve", mint.key(), &b]);
    let bd = token::mint_decimals(mint.data());
    token::transfer_checked(base_tp.key(), curve_base, mint, user_base, curve, tokens, bd, Some(&curve_signer))?;

    let c = curve.data_mut();
    wr_u64(c, C_VIRTUAL_TOKEN, vt - tokens);
    wr_u64(c, C_VIRTUAL_QUOTE, vs + net);
    wr_u64(c, C_REAL_TOKEN, rt - tokens);
    wr_u64(c, C_REAL_QUOTE, rd_u64(c, C_REAL_QUOTE) + net);
    if complete {
        wr_u8(c, C_COMPLETE, 1);
    }
    Ok(())
}
