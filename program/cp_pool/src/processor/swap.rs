//! swap(amount_in, min_out): constant-product swap, direction given by
//! mint_in. The user may be any signer, a PDA signing through CPI included
//! (the compute market's buyback calls this with its model PDA as user).

use crate::checks;
use crate::curve;
use crate::generated::{err, event, pool};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, rd_u16, rd_u8, Reader, Writer};
use crate::sdk::cpi::Signer;
use crate::sdk::{log, token, ProgramResult, Pubkey};
use crate::state::{bump_total, key_at, Side, SEED_POOL, SIDE_A, SIDE_B};

pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [user, pool_acc, user_src, user_dst, vault_in, vault_out, mint_in, mint_out, tp_in, tp_out, ..] =
        accounts
    else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let amount_in = r.u64()?;
    let min_out = r.u64()?;
    r.finish()?;
    if amount_in == 0 {
        return Err(err::ZERO_AMOUNT);
    }

    checks::signer(user)?;
    checks::writable(pool_acc)?;
    let d = checks::pool_data(pool_acc, program_id)?;

    // Direction: mint_in must be one of the pool's mints; mint_out the other.
    let (s_in, s_out): (&Side, &Side) = if key_eq(mint_in.key(), key_at(d, pool::MINT_A)) {
        (&SIDE_A, &SIDE_B)
    } else if key_eq(mint_in.key(), key_at(d, pool::MINT_B)) {
        (&SIDE_B, &SIDE_A)
    } else {
        return Err(err::INVALID_MINT);
    };
    if !key_eq(mint_out.key(), key_at(d, s_out.mint)) {
        return Err(err::INVALID_MINT);
    }
    // The vaults must be the pool's vaults of those mints: a substituted
    // vault_out would pay out of someone else's account, a substituted
    // vault_in would take the input away from the pool.
    if !key_eq(vault_in.key(), key_at(d, s_in.vault)) || !key_eq(vault_out.key(), key_at(d, s_out.vault)) {
        return Err(err::INVALID_VAULT);
    }
    // The token programs recorded for those mints (and still their owners).
    if !key_eq(tp_in.key(), key_at(d, s_in.token_program))
        || !key_eq(tp_out.key(), key_at(d, s_out.token_program))
    {
        return Err(err::INVALID_TOKEN_PROGRAM);
    }
    checks::token_program_of(tp_in, mint_in)?;
    checks::token_program_of(tp_out, mint_out)?;
    checks::writable(vault_in)?;
    checks::writable(vault_out)?;
    checks::writable(user_dst)?;
    // The user's accounts are not the vaults and not each other: a vault as
    // destination or source would turn a leg into a self-transfer.
    checks::distinct(user_src, vault_in)?;
    checks::distinct(user_src, vault_out)?;
    checks::distinct(user_dst, vault_in)?;
    checks::distinct(user_dst, vault_out)?;
    checks::distinct(user_src, user_dst)?;

    // Reserves are the vault balances before any transfer.
    let reserve_in = checks::token_account_amount(vault_in, mint_in.key(), tp_in.key())?;
    let reserve_out = checks::token_account_amount(vault_out, mint_out.key(), tp_out.key())?;
    if reserve_in == 0 || reserve_out == 0 {
        return Err(err::EMPTY_POOL);
    }
    let dst_before = checks::token_account_amount(user_dst, mint_out.key(), tp_out.key())?;

    // Input leg, authorised by the user (the token program checks the
    // source's mint, owner/delegate and balance).
    token::transfer_checked(
        tp_in.key(), user_src, mint_in, vault_in, user, amount_in,
        token::mint_decimals(mint_in.data()), None,
    )?;
    // Credit what arrived, not the nominal amount (Token-2022 transfer fee).
    let in_after = token::account_amount(vault_in.data());
    let credited = in_after.checked_sub(reserve_in).ok_or(err::ARITHMETIC_OVERFLOW)?;
    let q = curve::quote(credited, reserve_in, reserve_out, rd_u16(d, pool::FEE_BPS))?;
    if q.out == 0 {
        return Err(err::ZERO_OUTPUT);
    }
    if q.out < min_out {
        return Err(err::SLIPPAGE_EXCEEDED);
    }

    // Output leg, signed by the pool PDA (the vaults' authority).
    let bump = [rd_u8(d, pool::BUMP)];
    let signer = Signer::new(&[SEED_POOL, key_at(d, pool::MINT_A), key_at(d, pool::MINT_B), &bump]);
    token::transfer_checked(
        tp_out.key(), vault_out, mint_out, user_dst, pool_acc, q.out,
        token::mint_decimals(mint_out.data()), Some(&signer),
    )?;
    // min_out bounds what the user receives, after any transfer fee of
    // mint_out; the whole swap reverts otherwise.
    let received = token::account_amount(user_dst.data())
        .checked_sub(dst_before)
        .ok_or(err::ARITHMETIC_OVERFLOW)?;
    if received < min_out {
        return Err(err::SLIPPAGE_EXCEEDED);
    }

    bump_total(d, s_in.swapped_in, credited);
    bump_total(d, s_in.fees, q.fee);
    bump_total(d, s_out.swapped_out, q.out);
    bump_total(d, pool::SWAP_COUNT, 1);

    let mut ev = Writer::<192>::new();
    ev.raw(&event::SWAPPED)
        .key(pool_acc.key())
        .key(user.key())
        .key(mint_in.key())
        .key(mint_out.key())
        .u64(amount_in)
        .u64(credited)
        .u64(q.fee)
        .u64(q.out)
        .u64(received)
        .u64(in_after)
        .u64(token::account_amount(vault_out.data()));
    log::emit(ev.as_slice());
    Ok(())
}
