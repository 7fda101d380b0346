//! Account checks shared by the processors. Every account an instruction
//! reads is checked for owner, type (discriminator + exact length), signer
//! and writability before any state is trusted.

use crate::generated::{config, err};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, rd_key, rd_u8};
use crate::sdk::cpi::Signer;
use crate::sdk::ids::{is_token_program, SYSTEM_PROGRAM};
use crate::sdk::pda;
use crate::sdk::token;
use crate::sdk::{ProgramResult, Pubkey};

pub fn signer(a: &Account) -> ProgramResult {
    if a.is_signer() {
        Ok(())
    } else {
        Err(err::MISSING_SIGNER)
    }
}

pub fn writable(a: &Account) -> ProgramResult {
    if a.is_writable() {
        Ok(())
    } else {
        Err(err::NOT_WRITABLE)
    }
}

pub fn key_is(a: &Account, expected: &Pubkey, code: u32) -> ProgramResult {
    if key_eq(a.key(), expected) {
        Ok(())
    } else {
        Err(code)
    }
}

pub fn distinct(a: &Account, b: &Account) -> ProgramResult {
    if a.same(b) {
        Err(err::DUPLICATE_ACCOUNT)
    } else {
        Ok(())
    }
}

pub fn system_program(a: &Account) -> ProgramResult {
    key_is(a, &SYSTEM_PROGRAM, err::INVALID_PROGRAM_ID)
}

/// An account of ours of one type: owned by this program, exact length,
/// matching discriminator. Only this program writes discriminators, and only
/// into accounts it created at their canonical PDA, so this also proves the
/// address (no type cosplay, no foreign-program look-alikes).
#[allow(clippy::mut_from_ref)]
pub fn typed<'a>(
    a: &'a Account,
    program_id: &Pubkey,
    discriminator: &[u8; 8],
    len: usize,
) -> Result<&'a mut [u8], u32> {
    if !a.is_owned_by(program_id) {
        return Err(err::INVALID_ACCOUNT_OWNER);
    }
    let d = a.data_mut();
    if d.len() != len {
        return Err(err::INVALID_DISCRIMINATOR);
    }
    // One 8-byte compare (the length check above guarantees 8 bytes).
    let have = unsafe { core::ptr::read_unaligned(d.as_ptr() as *const u64) };
    let want = unsafe { core::ptr::read_unaligned(discriminator.as_ptr() as *const u64) };
    if have != want {
        return Err(err::INVALID_DISCRIMINATOR);
    }
    Ok(d)
}

pub fn load_config<'a>(a: &'a Account, program_id: &Pubkey) -> Result<&'a mut [u8], u32> {
    typed(a, program_id, &config::DISCRIMINATOR, config::LEN)
}

pub fn not_paused(cfg: &[u8]) -> ProgramResult {
    if rd_u8(cfg, config::PAUSED) != 0 {
        Err(err::PROGRAM_PAUSED)
    } else {
        Ok(())
    }
}

/// `a` must sign and be the key stored at `field` of the config.
pub fn config_authority(a: &Account, cfg: &[u8], field: usize) -> ProgramResult {
    signer(a)?;
    key_is(a, &rd_key(cfg, field), err::UNAUTHORIZED)
}

/// The USDC mint and its token program recorded in the config.
pub fn usdc(mint: &Account, token_program: &Account, cfg: &[u8]) -> ProgramResult {
    key_is(mint, &rd_key(cfg, config::USDC_MINT), err::INVALID_MINT)?;
    key_is(token_program, &rd_key(cfg, config::USDC_TOKEN_PROGRAM), err::INVALID_TOKEN_PROGRAM)
}

/// An initialized token account of `mint` under `token_program`.
pub fn token_account_of(a: &Account, token_program: &Pubkey, mint: &Pubkey) -> ProgramResult {
    if !is_token_program(token_program) {
        return Err(err::INVALID_TOKEN_PROGRAM);
    }
    if !token::is_token_account(a, token_program) || !key_eq(&token::account_mint(a.data()), mint) {
        return Err(err::INVALID_TOKEN_ACCOUNT);
    }
    Ok(())
}

/// A USDC token account owned by the treasury authority, never the escrow
/// (a fee "paid" into the escrow would strand there, owed to no order).
pub fn treasury(a: &Account, cfg: &[u8]) -> ProgramResult {
    writable(a)?;
    token_account_of(a, &rd_key(cfg, config::USDC_TOKEN_PROGRAM), &rd_key(cfg, config::USDC_MINT))?;
    if key_eq(a.key(), &rd_key(cfg, config::ESCROW_VAULT)) {
        return Err(err::DUPLICATE_ACCOUNT);
    }
    if !key_eq(&token::account_owner(a.data()), &rd_key(cfg, config::TREASURY_AUTHORITY)) {
        return Err(err::INVALID_TREASURY);
    }
    Ok(())
}

/// A vault of ours after someone else's code ran with its authority's
/// signature: still owned by `authority`, with no delegate and no close
/// authority, so nothing but this program can ever move or close it, and
/// still `len` bytes long (no extension added by a Token-2022 Reallocate,
/// e.g. required memos that would make every later buyback fail).
/// Call after `token_account_of` (the account is at least 165 bytes).
pub fn vault_intact(a: &Account, authority: &Pubkey, len: usize) -> ProgramResult {
    let d = a.data();
    if d.len() != len
        || !key_eq(&token::account_owner(d), authority)
        || token::account_has_delegate(d)
        || token::account_has_close_authority(d)
    {
        return Err(err::VAULT_TAMPERED);
    }
    Ok(())
}

/// Create a new program account at the canonical PDA of `seeds`, write its
/// discriminator and return the bump. Refuses an account that already holds
/// data or belongs to any program (re-initialisation).
#[inline(never)]
pub fn init_pda(
    payer: &Account,
    account: &Account,
    program_id: &Pubkey,
    seeds: &[&[u8]],
    len: usize,
    discriminator: &[u8; 8],
) -> Result<u8, u32> {
    writable(account)?;
    if !account.is_owned_by(&SYSTEM_PROGRAM) || account.data_len() != 0 {
        return Err(err::ALREADY_INITIALIZED);
    }
    let (key, bump) = pda::find(seeds, program_id).ok_or(err::INVALID_PDA)?;
    if !key_eq(&key, account.key()) {
        return Err(err::INVALID_PDA);
    }
    let b = [bump];
    let mut all: [&[u8]; 4] = [&[]; 4];
    let mut i = 0;
    while i < seeds.len() {
        all[i] = seeds[i];
        i += 1;
    }
    all[i] = &b;
    let signer = Signer::new(&all[..seeds.len() + 1]);
    crate::sdk::system::create_pda_account(payer, account, len, program_id, &signer)?;
    let d = account.data_mut();
    let mut j = 0;
    while j < 8 {
        d[j] = discriminator[j];
        j += 1;
    }
    Ok(bump)
}

/// Create a token account for `mint` at the canonical PDA of `seeds`, its
/// owner (authority) being `authority`. Returns the bump.
#[inline(never)]
pub fn init_token_pda(
    payer: &Account,
    account: &Account,
    mint: &Account,
    token_program: &Pubkey,
    authority: &Pubkey,
    program_id: &Pubkey,
    seeds: &[&[u8]],
) -> Result<u8, u32> {
    writable(account)?;
    if !account.is_owned_by(&SYSTEM_PROGRAM) || account.data_len() != 0 {
        return Err(err::ALREADY_INITIALIZED);
    }
    let (key, bump) = pda::find(seeds, program_id).ok_or(err::INVALID_PDA)?;
    if !key_eq(&key, account.key()) {
        return Err(err::INVALID_PDA);
    }
    let b = [bump];
    let mut all: [&[u8]; 4] = [&[]; 4];
    let mut i = 0;
    while i < seeds.len() {
        all[i] = seeds[i];
        i += 1;
    }
    all[i] = &b;
    let signer = Signer::new(&all[..seeds.len() + 1]);
    token::create_pda_token_account(payer, account, mint, authority, token_program, &signer)?;
    Ok(bump)
}

/// Slugs: 1-32 bytes of [A-Za-z0-9._/:-].
pub fn valid_slug(s: &[u8]) -> bool {
    if s.is_empty() || s.len() > crate::seeds::MAX_SLUG_LEN {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let ok = c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'/' || c == b':' || c == b'-';
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Copy `src` into `dst[off..off+src.len()]`.
pub fn put_bytes(dst: &mut [u8], off: usize, src: &[u8]) {
    let mut i = 0;
    while i < src.len() {
        dst[off + i] = src[i];
        i += 1;
    }
}
