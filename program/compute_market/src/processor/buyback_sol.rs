//! buyback_sol: buyback of a SOL-paired coin. pump.fun's buy charges native
//! SOL (price, fees) and the per-user volume accumulator's rent to `user`
//! through System transfers, which the model PDA cannot pay: it carries
//! data. So the SOL is held, only within this instruction, by a second,
//! data-less PDA of the model, the buyer ["buyer", model]:
//!
//! 1. the buyer's associated WSOL account is created if missing (the buyer
//!    pays its rent, prepaid once by the crank);
//! 2. `swap_program` (allow-listed) runs the first `swap_accounts` route
//!    accounts with the model PDA's signature: USDC from the revenue vault (or
//!    staged through the model PDA's associated USDC account, as in `buyback`,
//!    for a Jupiter route) to WSOL in that account;
//! 3. the WSOL account is closed into the buyer (its SOL and rent);
//! 4. `buy_program` (allow-listed) runs the other route accounts with the
//!    buyer's signature (and never the model's): the pump.fun buy, tokens
//!    into the buyback vault.
//!
//! A buy leg that names the buyer's WSOL account (PumpSwap's buy of a
//! graduated coin, whose pool is WSOL-quoted and spends WSOL from the user's
//! quote account) keeps the WSOL wrapped for step 4; the account is closed
//! into the buyer after the buy instead (what the buy left, and its rent).
//!
//! Then the checks of `buyback` (USDC taken <= amount_in, tokens arrived >=
//! min_out, vaults intact) and: the buyer is still a data-less System account
//! with at least the rent-exempt minimum of itself and of the WSOL account,
//! so a buy can spend what the swap brought (and leftovers of earlier swaps)
//! but never the crank's prepayment. Each leg gets one PDA's signature only:
//! the buy cannot move USDC, the swap cannot move SOL.

use super::buyback::{admit, record, staging, Before, Buyback};
use crate::checks;
use crate::generated::{config, err, model};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, rd_key, rd_u8, Reader};
use crate::sdk::cpi::{invoke, invoke_with_infos, Meta, Signer, MAX_CPI_ACCOUNTS};
use crate::sdk::ids::{ASSOCIATED_TOKEN_PROGRAM, NATIVE_MINT, SYSTEM_PROGRAM, TOKEN_PROGRAM};
use crate::sdk::sysvars::minimum_balance;
use crate::sdk::{heap, pda, token, ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [crank, cfg_acc, model_acc, revenue_vault, buyback_vault, buyer, buyer_wsol, wsol_mint, token_program, ata_program, system_program, swap_program, buy_program, remaining @ ..] =
        accounts
    else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let amount_in = r.u64()?;
    let min_out = r.u64()?;
    let swap_accounts = r.u8()? as usize;
    let swap_data = r.bytes()?;
    let buy_data = r.bytes()?;
    r.finish()?;

    let b = Buyback { program_id, crank, cfg_acc, model_acc, revenue_vault, buyback_vault, swap_program, amount_in, min_out };
    let (cfg, m, now) = admit(&b, &[swap_program, buy_program])?;
    checks::system_program(system_program)?;
    checks::key_is(token_program, &TOKEN_PROGRAM, err::INVALID_PROGRAM_ID)?;
    checks::key_is(ata_program, &ASSOCIATED_TOKEN_PROGRAM, err::INVALID_PROGRAM_ID)?;
    checks::key_is(wsol_mint, &NATIVE_MINT, err::ACCOUNT_MISMATCH)?;
    if swap_accounts > remaining.len()
        || swap_accounts > MAX_CPI_ACCOUNTS
        || remaining.len() - swap_accounts > MAX_CPI_ACCOUNTS
    {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    }
    let buyer_bump = match pda::find(&[seeds::BUYER, model_acc.key()], program_id) {
        Some((key, bump)) if key_eq(&key, buyer.key()) => bump,
        _ => return Err(err::INVALID_PDA),
    };
    match pda::find(&[buyer.key(), &TOKEN_PROGRAM, &NATIVE_MINT], &ASSOCIATED_TOKEN_PROGRAM) {
        Some((key, _)) if key_eq(&key, buyer_wsol.key()) => {}
        _ => return Err(err::ACCOUNT_MISMATCH),
    }
    checks::writable(buyer)?;
    checks::writable(buyer_wsol)?;
    buyer_clean(buyer)?;

    let bb = [buyer_bump];
    let buyer_signer = Signer::new(&[seeds::BUYER, model_acc.key(), &bb]);
    let mut slug = [0u8; 32];
    let slug_len = rd_u8(m, model::SLUG_LEN) as usize;
    checks::put_bytes(&mut slug, 0, &m[model::SLUG..model::SLUG + slug_len]);
    let mb = [rd_u8(m, model::BUMP)];
    let model_signer = Signer::new(&[seeds::MODEL, &slug[..slug_len], &mb]);

    // 1. The buyer's WSOL account (CreateIdempotent; the buyer pays).
    invoke_with_infos(
        &ASSOCIATED_TOKEN_PROGRAM,
        &[Meta::ws(buyer), Meta::w(buyer_wsol), Meta::r(buyer), Meta::r(wsol_mint), Meta::r(system_program), Meta::r(token_program)],
        &[Meta::ws(buyer), Meta::w(buyer_wsol), Meta::r(wsol_mint), Meta::r(system_program), Meta::r(token_program)],
        &[1u8],
        Some(&buyer_signer),
    )?;

    // A swap spending from the model PDA's associated USDC account (Jupiter) is staged as in
    // `buyback`: amount_in moves there first, the rest is swept back after the swap.
    let usdc_tp = rd_key(cfg, config::USDC_TOKEN_PROGRAM);
    let usdc_mint = rd_key(cfg, config::USDC_MINT);
    let swap_route = &remaining[..swap_accounts];
    let stage = staging(swap_route, model_acc, revenue_vault, &usdc_tp, &usdc_mint)?;
    let mut before = Before {
        usdc: token::account_amount(revenue_vault.data()),
        tokens: token::account_amount(buyback_vault.data()),
        revenue_len: revenue_vault.data_len(),
        buyback_len: buyback_vault.data_len(),
    };
    if let Some(st) = &stage {
        before.usdc = before.usdc.checked_add(st.fill(&b, &usdc_tp, &model_signer)?).ok_or(err::ARITHMETIC_OVERFLOW)?;
    }

    // 2. USDC -> WSOL, the model PDA signs.
    forward(swap_program, swap_route, model_acc, swap_data, &model_signer)?;
    if let Some(st) = &stage {
        st.sweep(&b, &usdc_tp, &model_signer)?;
    }

    // 3. Unwrap: close the WSOL account into the buyer (after the buy when the buy spends WSOL).
    let buy_route = &remaining[swap_accounts..];
    let keep_wsol = buy_route.iter().any(|a| key_eq(a.key(), buyer_wsol.key()));
    if !keep_wsol {
        close_wsol(buyer, buyer_wsol, &buyer_signer)?;
    }

    // 4. SOL (or WSOL) -> model token, the buyer signs.
    forward(buy_program, buy_route, buyer, buy_data, &buyer_signer)?;
    if keep_wsol {
        close_wsol(buyer, buyer_wsol, &buyer_signer)?;
    }

    buyer_clean(buyer)?;
    let floor = minimum_balance(0) + minimum_balance(token::ACCOUNT_LEN);
    if buyer.lamports() < floor {
        return Err(err::BUYER_DRAINED);
    }
    record(&b, &before, now)
}

/// Close the buyer's WSOL account into the buyer (its wrapped SOL and rent).
fn close_wsol(buyer: &Account, buyer_wsol: &Account, signer: &Signer) -> ProgramResult {
    invoke_with_infos(
        &TOKEN_PROGRAM,
        &[Meta::w(buyer_wsol), Meta::w(buyer), Meta::rs(buyer)],
        &[Meta::w(buyer_wsol), Meta::ws(buyer)],
        &[9u8],
        Some(signer),
    )
}

/// The buyer PDA must stay a plain System account without data (what lets
/// it pay through System transfers, and what nobody can repurpose).
fn buyer_clean(buyer: &Account) -> ProgramResult {
    if !key_eq(buyer.owner(), &SYSTEM_PROGRAM) || buyer.data_len() != 0 {
        return Err(err::BUYER_DRAINED);
    }
    Ok(())
}

/// Invoke `program` with `route` as given, marking `pda` signer (and no other PDA of ours).
#[inline(never)]
fn forward(program: &Account, route: &[Account], pda: &Account, data: &[u8], signer: &Signer) -> ProgramResult {
    let metas = heap::region::<Meta>(heap::FORWARD_OFF);
    let mut j = 0;
    while j < route.len() {
        let a = &route[j];
        let is_pda = key_eq(a.key(), pda.key());
        unsafe {
            metas.add(j).write(Meta { account: *a, writable: a.is_writable(), signer: a.is_signer() || is_pda });
        }
        j += 1;
    }
    let metas = unsafe { core::slice::from_raw_parts(metas as *const Meta, route.len()) };
    invoke(program.key(), metas, data, Some(signer))
}
