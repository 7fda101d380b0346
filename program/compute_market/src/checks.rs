//! Account checks shared by the processors. Every account an instruction
//! reads is checked for owner, type (discriminator + exact length), signer
//! and writability before any state is trusted.

use crate::generated::{config, err};
use crate::seeds::MAX_MODEL_TOKEN_TRANSFER_FEE_BPS;
use crate::sdk::account::Account;
use crate::sdk::bytes::{is_zero_key, key_eq, rd_key, rd_u16, rd_u8};
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
#[inline(always)]
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

#[inline(always)]
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

/// A provider's payout: a USDC token account, never the escrow (the escrow as
/// payout would make every settlement's provider leg a self-transfer: the
/// share would strand in the escrow, owed to no order).
pub fn payout(a: &Account, cfg: &[u8]) -> ProgramResult {
    token_account_of(a, &rd_key(cfg, config::USDC_TOKEN_PROGRAM), &rd_key(cfg, config::USDC_MINT))?;
    if key_eq(a.key(), &rd_key(cfg, config::ESCROW_VAULT)) {
        return Err(err::DUPLICATE_ACCOUNT);
    }
    Ok(())
}

/// Token-2022 mint extension types this program names.
pub const EXT_UNINITIALIZED: u16 = 0;
pub const EXT_TRANSFER_FEE_CONFIG: u16 = 1;
pub const EXT_METADATA_POINTER: u16 = 18;
pub const EXT_TOKEN_METADATA: u16 = 19;

/// TransferFeeConfig value: config authority (32), withdraw-withheld
/// authority (32), withheld (8), older fee and newer fee (epoch 8, maximum 8,
/// basis points 2 each).
pub const TRANSFER_FEE_CONFIG_LEN: usize = 108;
const OLDER_FEE_BPS: usize = 88;
const NEWER_FEE_BPS: usize = 106;

/// Call `f(type, value)` for each extension of a mint of `token_program`'s
/// layout: none for an 82-byte mint, else the TLV entries after the 165-byte
/// base and the account-type byte (1 = Mint). Malformed TLV is INVALID_MINT.
pub fn each_mint_extension(mint: &[u8], mut f: impl FnMut(u16, &[u8]) -> ProgramResult) -> ProgramResult {
    if mint.len() == token::MINT_LEN {
        return Ok(());
    }
    if mint.len() < token::ACCOUNT_LEN + 1 || rd_u8(mint, token::ACCOUNT_LEN) != 1 {
        return Err(err::INVALID_MINT);
    }
    let mut off = token::ACCOUNT_LEN + 1;
    while off + 4 <= mint.len() {
        let ty = rd_u16(mint, off);
        let len = rd_u16(mint, off + 2) as usize;
        let value = off + 4;
        if value + len > mint.len() {
            return Err(err::INVALID_MINT);
        }
        if ty == EXT_UNINITIALIZED {
            break;
        }
        f(ty, &mint[value..value + len])?;
        off = value + len;
    }
    Ok(())
}

/// A model token's transfer fee can never rise and never exceeds the cap: its
/// config authority is none or the config PDA (which never signs a fee
/// change), and both the current and the scheduled fee are within
/// MAX_MODEL_TOKEN_TRANSFER_FEE_BPS. A creator keeping the authority could
/// raise the fee to 100% and freeze every buyback (`value`: TransferFeeConfig).
pub fn transfer_fee_fixed(value: &[u8], config_pda: &Pubkey) -> ProgramResult {
    if value.len() != TRANSFER_FEE_CONFIG_LEN {
        return Err(err::INVALID_MINT);
    }
    let authority = rd_key(value, 0);
    if !is_zero_key(&authority) && !key_eq(&authority, config_pda) {
        return Err(err::TRANSFER_FEE_AUTHORITY_PRESENT);
    }
    if rd_u16(value, OLDER_FEE_BPS) > MAX_MODEL_TOKEN_TRANSFER_FEE_BPS
        || rd_u16(value, NEWER_FEE_BPS) > MAX_MODEL_TOKEN_TRANSFER_FEE_BPS
    {
        return Err(err::TRANSFER_FEE_TOO_HIGH);
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
