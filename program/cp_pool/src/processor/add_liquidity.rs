//! add_liquidity(amount_a, amount_b): deposit into both vaults. There is no
//! LP token (localnet venue): deposits are locked in the pool for good.

use crate::checks;
use crate::generated::{err, event, pool};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, Reader, Writer};
use crate::sdk::{log, token, ProgramResult, Pubkey};
use crate::state::{bump_total, key_at, SIDE_A, SIDE_B};

pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [depositor, pool_acc, dep_a, dep_b, vault_a, vault_b, mint_a, mint_b, tp_a, tp_b, ..] = accounts
    else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let amount_a = r.u64()?;
    let amount_b = r.u64()?;
    r.finish()?;
    if amount_a == 0 && amount_b == 0 {
        return Err(err::ZERO_AMOUNT);
    }

    checks::signer(depositor)?;
    checks::writable(pool_acc)?;
    let d = checks::pool_data(pool_acc, program_id)?;

    // Everything must be this pool's: vaults, mints, token programs. A wrong
    // vault would send the deposit elsewhere while the totals claim it.
    if !key_eq(vault_a.key(), key_at(d, pool::VAULT_A)) || !key_eq(vault_b.key(), key_at(d, pool::VAULT_B)) {
        return Err(err::INVALID_VAULT);
    }
    if !key_eq(mint_a.key(), key_at(d, pool::MINT_A)) || !key_eq(mint_b.key(), key_at(d, pool::MINT_B)) {
        return Err(err::INVALID_MINT);
    }
    if !key_eq(tp_a.key(), key_at(d, pool::TOKEN_PROGRAM_A))
        || !key_eq(tp_b.key(), key_at(d, pool::TOKEN_PROGRAM_B))
    {
        return Err(err::INVALID_TOKEN_PROGRAM);
    }
    checks::token_program_of(tp_a, mint_a)?;
    checks::token_program_of(tp_b, mint_b)?;
    checks::writable(vault_a)?;
    checks::writable(vault_b)?;
    // A vault as the source would be a self-transfer credited as a deposit.
    checks::distinct(dep_a, vault_a)?;
    checks::distinct(dep_b, vault_b)?;

    let before_a = checks::token_account_amount(vault_a, mint_a.key(), tp_a.key())?;
    let before_b = checks::token_account_amount(vault_b, mint_b.key(), tp_b.key())?;
    // The token program checks the source's mint and the depositor's
    // authority; the delta of the vault is what we credit (Token-2022
    // transfer fees are withheld from the nominal amount).
    token::transfer_checked(
        tp_a.key(), dep_a, mint_a, vault_a, depositor, amount_a,
        token::mint_decimals(mint_a.data()), None,
    )?;
    token::transfer_checked(
        tp_b.key(), dep_b, mint_b, vault_b, depositor, amount_b,
        token::mint_decimals(mint_b.data()), None,
    )?;
    let after_a = token::account_amount(vault_a.data());
    let after_b = token::account_amount(vault_b.data());
    let got_a = after_a.checked_sub(before_a).ok_or(err::ARITHMETIC_OVERFLOW)?;
    let got_b = after_b.checked_sub(before_b).ok_or(err::ARITHMETIC_OVERFLOW)?;

    bump_total(d, SIDE_A.deposited, got_a);
    bump_total(d, SIDE_B.deposited, got_b);

    let mut ev = Writer::<104>::new();
    ev.raw(&event::LIQUIDITY_ADDED)
        .key(pool_acc.key())
        .key(depositor.key())
        .u64(got_a)
        .u64(got_b)
        .u64(after_a)
        .u64(after_b);
    log::emit(ev.as_slice());
    Ok(())
}
