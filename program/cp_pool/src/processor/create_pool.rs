//! create_pool(fee_bps): the pool PDA ["pool", mint_a, mint_b] and its two
//! vault token accounts ["vault", pool, mint] (authority = the pool PDA).

use crate::checks;
use crate::generated::{err, event, pool};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, wr_key, wr_u16, wr_u8, Reader, Writer};
use crate::sdk::cpi::Signer;
use crate::sdk::ids::SYSTEM_PROGRAM;
use crate::sdk::{log, pda, system, token, ProgramResult, Pubkey};
use crate::state::{MAX_FEE_BPS, SEED_POOL, SEED_VAULT};

pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [payer, pool_acc, mint_a, mint_b, vault_a, vault_b, tp_a, tp_b, system_program, ..] = accounts
    else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let fee_bps = r.u16()?;
    r.finish()?;

    // A fee above the cap would make the venue useless (and above 10000
    // would break the pricing's fee <= input assumption).
    if fee_bps > MAX_FEE_BPS {
        return Err(err::FEE_TOO_HIGH);
    }
    checks::signer(payer)?;
    checks::writable(payer)?;
    checks::writable(pool_acc)?;
    checks::writable(vault_a)?;
    checks::writable(vault_b)?;
    checks::system_program(system_program)?;

    // One canonical pool per pair: the mints must be strictly ordered, so
    // (a, b) and (b, a) cannot both exist and a == b is refused.
    if !key_lt(mint_a.key(), mint_b.key()) {
        return Err(err::MINTS_NOT_ORDERED);
    }
    // Each token program is SPL Token or Token-2022 and owns its mint; the
    // mint is initialized and carries only allow-listed extensions.
    checks::token_program_of(tp_a, mint_a)?;
    checks::token_program_of(tp_b, mint_b)?;
    if !token::is_mint(mint_a, tp_a.key()) || !token::is_mint(mint_b, tp_b.key()) {
        return Err(err::INVALID_MINT);
    }
    checks::mint_extensions_allowed(mint_a, tp_a.key())?;
    checks::mint_extensions_allowed(mint_b, tp_b.key())?;

    // The pool must be the canonical PDA of the pair, and new.
    let (pool_key, bump) =
        pda::find(&[SEED_POOL, mint_a.key(), mint_b.key()], program_id).ok_or(err::INVALID_PDA)?;
    if !key_eq(pool_acc.key(), &pool_key) {
        return Err(err::INVALID_PDA);
    }
    uninitialized(pool_acc)?;
    // Vaults at their canonical PDAs, so clients can derive them and nobody
    // can substitute a token account they control.
    let (va_key, va_bump) =
        pda::find(&[SEED_VAULT, pool_acc.key(), mint_a.key()], program_id).ok_or(err::INVALID_PDA)?;
    let (vb_key, vb_bump) =
        pda::find(&[SEED_VAULT, pool_acc.key(), mint_b.key()], program_id).ok_or(err::INVALID_PDA)?;
    if !key_eq(vault_a.key(), &va_key) || !key_eq(vault_b.key(), &vb_key) {
        return Err(err::INVALID_PDA);
    }
    uninitialized(vault_a)?;
    uninitialized(vault_b)?;

    let bump_seed = [bump];
    let pool_signer = Signer::new(&[SEED_POOL, mint_a.key(), mint_b.key(), &bump_seed]);
    system::create_pda_account(payer, pool_acc, pool::LEN, program_id, &pool_signer)?;

    let va_seed = [va_bump];
    let va_signer = Signer::new(&[SEED_VAULT, pool_acc.key(), mint_a.key(), &va_seed]);
    token::create_pda_token_account(payer, vault_a, mint_a, pool_acc.key(), tp_a.key(), &va_signer)?;
    let vb_seed = [vb_bump];
    let vb_signer = Signer::new(&[SEED_VAULT, pool_acc.key(), mint_b.key(), &vb_seed]);
    token::create_pda_token_account(payer, vault_b, mint_b, pool_acc.key(), tp_b.key(), &vb_signer)?;

    // Freshly allocated data is zeroed: totals start at 0.
    let d = pool_acc.data_mut();
    let mut i = 0;
    while i < 8 {
        d[i] = pool::DISCRIMINATOR[i];
        i += 1;
    }
    wr_key(d, pool::MINT_A, mint_a.key());
    wr_key(d, pool::MINT_B, mint_b.key());
    wr_key(d, pool::VAULT_A, vault_a.key());
    wr_key(d, pool::VAULT_B, vault_b.key());
    wr_key(d, pool::TOKEN_PROGRAM_A, tp_a.key());
    wr_key(d, pool::TOKEN_PROGRAM_B, tp_b.key());
    wr_key(d, pool::CREATOR, payer.key());
    wr_u16(d, pool::FEE_BPS, fee_bps);
    wr_u8(d, pool::BUMP, bump);
    wr_u8(d, pool::VAULT_A_BUMP, va_bump);
    wr_u8(d, pool::VAULT_B_BUMP, vb_bump);

    let mut ev = Writer::<170>::new();
    ev.raw(&event::POOL_CREATED)
        .key(pool_acc.key())
        .key(mint_a.key())
        .key(mint_b.key())
        .key(vault_a.key())
        .key(vault_b.key())
        .u16(fee_bps);
    log::emit(ev.as_slice());
    Ok(())
}

/// Bytewise a < b.
fn key_lt(a: &Pubkey, b: &Pubkey) -> bool {
    let mut i = 0;
    while i < 32 {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    false
}

/// Stops re-creation: an address already allocated or assigned (our pool,
/// a live vault) is refused; lamports alone (pre-funding) are fine.
fn uninitialized(a: &Account) -> ProgramResult {
    if a.data_len() != 0 || !a.is_owned_by(&SYSTEM_PROGRAM) {
        return Err(err::ALREADY_INITIALIZED);
    }
    Ok(())
}
