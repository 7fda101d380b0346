//! Account checks and the per-user volume accumulator shared by the two
//! localnet stand-ins of pump.fun's programs (program/pump_standin,
//! program/pump_amm_standin). Errors are Anchor's framework codes, as the
//! real (Anchor) programs return them for these constraints.

use crate::sdk::account::Account;
use crate::sdk::bytes::key_eq;
use crate::sdk::cpi::Signer;
use crate::sdk::ids::ASSOCIATED_TOKEN_PROGRAM;
use crate::sdk::{pda, system, token, ProgramResult, Pubkey};

pub const E_ACCOUNT_NOT_MUTABLE: u32 = 2000;
pub const E_CONSTRAINT_SEEDS: u32 = 2006;
pub const E_CONSTRAINT_ADDRESS: u32 = 2012;
pub const E_CONSTRAINT_TOKEN_MINT: u32 = 2014;
pub const E_CONSTRAINT_TOKEN_OWNER: u32 = 2015;
pub const E_ACCOUNT_DISCRIMINATOR_MISMATCH: u32 = 3002;
pub const E_ACCOUNT_OWNED_BY_WRONG_PROGRAM: u32 = 3007;
pub const E_ACCOUNT_NOT_SIGNER: u32 = 3010;
pub const E_FALLBACK_NOT_FOUND: u32 = 101;
pub const E_INSTRUCTION_DID_NOT_DESERIALIZE: u32 = 102;

pub const SEED_USER_VOLUME: &[u8] = b"user_volume_accumulator";
pub const DISC_USER_VOLUME: [u8; 8] = [86, 255, 112, 14, 102, 53, 154, 250];
const UVA_USER: usize = 8;

pub fn pda_is(a: &Account, seeds: &[&[u8]], program: &Pubkey) -> Result<u8, u32> {
    match pda::find(seeds, program) {
        Some((key, bump)) if key_eq(&key, a.key()) => Ok(bump),
        _ => Err(E_CONSTRAINT_SEEDS),
    }
}

pub fn address_is(a: &Account, key: &Pubkey) -> ProgramResult {
    if key_eq(a.key(), key) {
        Ok(())
    } else {
        Err(E_CONSTRAINT_ADDRESS)
    }
}

pub fn writable(a: &Account) -> ProgramResult {
    if a.is_writable() {
        Ok(())
    } else {
        Err(E_ACCOUNT_NOT_MUTABLE)
    }
}

pub fn signer(a: &Account) -> ProgramResult {
    if a.is_signer() {
        Ok(())
    } else {
        Err(E_ACCOUNT_NOT_SIGNER)
    }
}

/// A token account of `mint` (under `tp`) whose authority is `owner`.
pub fn token_account(a: &Account, tp: &Pubkey, mint: &Pubkey, owner: &Pubkey) -> ProgramResult {
    if !token::is_token_account(a, tp) {
        return Err(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM);
    }
    if !key_eq(&token::account_mint(a.data()), mint) {
        return Err(E_CONSTRAINT_TOKEN_MINT);
    }
    if !key_eq(&token::account_owner(a.data()), owner) {
        return Err(E_CONSTRAINT_TOKEN_OWNER);
    }
    Ok(())
}

/// A token account of `mint` with any authority.
pub fn any_token_account(a: &Account, tp: &Pubkey, mint: &Pubkey) -> ProgramResult {
    if !token::is_token_account(a, tp) {
        return Err(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM);
    }
    if !key_eq(&token::account_mint(a.data()), mint) {
        return Err(E_CONSTRAINT_TOKEN_MINT);
    }
    Ok(())
}

/// The canonical associated token account of (`owner`, `tp`, `mint`).
pub fn associated(a: &Account, owner: &Pubkey, tp: &Pubkey, mint: &Pubkey) -> ProgramResult {
    pda_is(a, &[owner, tp, mint], &ASSOCIATED_TOKEN_PROGRAM)?;
    token_account(a, tp, mint, owner)
}

/// An account of this program with `disc` and at least `len` bytes.
pub fn typed<'a>(a: &'a Account, program_id: &Pubkey, disc: &[u8; 8], len: usize) -> Result<&'a mut [u8], u32> {
    if !a.is_owned_by(program_id) {
        return Err(E_ACCOUNT_OWNED_BY_WRONG_PROGRAM);
    }
    let d = a.data_mut();
    if d.len() < len || d[..8] != disc[..] {
        return Err(E_ACCOUNT_DISCRIMINATOR_MISMATCH);
    }
    Ok(d)
}

pub fn exists(a: &Account, program_id: &Pubkey) -> bool {
    a.lamports() > 0 && a.is_owned_by(program_id)
}

/// Create `user`'s volume accumulator (`len` bytes) unless it exists, `payer`
/// paying the rent: a `payer` that carries data cannot (the system program
/// refuses to debit it), which is why a PDA buyer needs it prepaid.
pub fn ensure_accumulator(program_id: &Pubkey, payer: &Account, user: &Pubkey, uva: &Account, len: usize) -> ProgramResult {
    let bump = pda_is(uva, &[SEED_USER_VOLUME, user], program_id)?;
    if exists(uva, program_id) {
        return Ok(());
    }
    let b = [bump];
    let seeds = Signer::new(&[SEED_USER_VOLUME, user, &b]);
    system::create_pda_account(payer, uva, len, program_id, &seeds)?;
    let d = uva.data_mut();
    d[..8].copy_from_slice(&DISC_USER_VOLUME);
    d[UVA_USER..UVA_USER + 32].copy_from_slice(user);
    Ok(())
}

/// ceil(net * bps / 10_000) for each of three fee rates, summed.
pub fn fees_of(net: u64, a: u64, b: u64, c: u64) -> Result<u64, u32> {
    Ok(fee(net, a)? + fee(net, b)? + fee(net, c)?)
}

pub fn fee(net: u64, bps: u64) -> Result<u64, u32> {
    crate::sdk::math::mul_div_ceil(net, bps, 10_000).ok_or(E_OVERFLOW)
}

pub const E_OVERFLOW: u32 = 6024; // Overflow in pump, Truncation in pump_amm (both "arithmetic")

/// The largest `net` with `net + fees(net) <= spendable` (each fee rounds up,
/// so at most three steps down from the proportional share).
pub fn net_of(spendable: u64, a: u64, b: u64, c: u64) -> Result<u64, u32> {
    let mut net = crate::sdk::math::mul_div_floor(spendable, 10_000, 10_000 + a + b + c).ok_or(E_OVERFLOW)?;
    while net > 0 && net + fees_of(net, a, b, c)? > spendable {
        net -= 1;
    }
    Ok(net)
}

/// `key` is one of the `n` keys stored from `off` in `d`.
pub fn listed(d: &[u8], key: &Pubkey, off: usize, n: usize) -> bool {
    let mut i = 0;
    while i < n {
        if key_eq(key, &crate::sdk::bytes::rd_key(d, off + 32 * i)) {
            return true;
        }
        i += 1;
    }
    false
}
