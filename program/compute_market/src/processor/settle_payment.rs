//! settle_payment: the settler splits an amount already collected (credits
//! rail batches, x402 per call) from a source account. The receipt PDA
//! ["payment", payment_id] is created here, so a payment id settles once:
//! a replay fails with AlreadyInitialized and moves nothing.

use crate::checks;
use crate::events;
use crate::fees::split;
use crate::generated::{config, err, event, model, model_status, payment_receipt, provider};
use crate::sdk::account::Account;
use crate::sdk::bytes::{rd_key, rd_u16, rd_u64, rd_u8, wr_i64, wr_key, wr_u64, wr_u8, Reader};
use crate::sdk::sysvars::clock;
use crate::sdk::{token, ProgramResult, Pubkey};
use crate::seeds;

fn add(d: &mut [u8], off: usize, v: u64) -> ProgramResult {
    let n = rd_u64(d, off).checked_add(v).ok_or(err::ARITHMETIC_OVERFLOW)?;
    wr_u64(d, off, n);
    Ok(())
}

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [settler, cfg_acc, model_acc, provider_acc, source, source_authority, payout, revenue_vault, treasury, receipt, usdc_mint, usdc_tp, system, ..] =
        accounts
    else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let payment_id = r.array32()?;
    let amount = r.u64()?;
    r.finish()?;

    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::config_authority(settler, cfg, config::SETTLER)?;
    checks::writable(settler)?;
    checks::not_paused(cfg)?;
    checks::signer(source_authority)?;
    checks::system_program(system)?;
    checks::usdc(usdc_mint, usdc_tp, cfg)?;
    if amount == 0 {
        return Err(err::ZERO_AMOUNT);
    }
    checks::writable(model_acc)?;
    checks::writable(provider_acc)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    if rd_u8(m, model::STATUS) != model_status::APPROVED {
        return Err(err::MODEL_NOT_APPROVED);
    }
    let p = checks::typed(provider_acc, program_id, &provider::DISCRIMINATOR, provider::LEN)?;
    checks::key_is(payout, &rd_key(p, provider::PAYOUT), err::ACCOUNT_MISMATCH)?;
    checks::key_is(revenue_vault, &rd_key(m, model::REVENUE_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::treasury(treasury, cfg)?;
    checks::writable(source)?;
    checks::token_account_of(source, usdc_tp.key(), usdc_mint.key())?;
    // Paying oneself would book volume with no money moving.
    checks::distinct(source, payout)?;
    checks::distinct(source, revenue_vault)?;
    checks::distinct(source, treasury)?;

    let bump = checks::init_pda(
        settler, receipt, program_id, &[seeds::PAYMENT, &payment_id], payment_receipt::LEN,
        &payment_receipt::DISCRIMINATOR,
    )?;
    let s = split(amount, rd_u16(cfg, config::PROTOCOL_FEE_BPS), rd_u16(m, model::FEE_BPS))
        .ok_or(err::ARITHMETIC_OVERFLOW)?;
    let decimals = token::mint_decimals(usdc_mint.data());
    let tp = usdc_tp.key();
    token::transfer_checked(tp, source, usdc_mint, payout, source_authority, s.provider, decimals, None)?;
    token::transfer_checked(tp, source, usdc_mint, revenue_vault, source_authority, s.creator, decimals, None)?;
    token::transfer_checked(tp, source, usdc_mint, treasury, source_authority, s.protocol, decimals, None)?;

    let now = clock().unix_timestamp;
    let d = receipt.data_mut();
    checks::put_bytes(d, payment_receipt::PAYMENT_ID, &payment_id);
    wr_key(d, payment_receipt::MODEL, model_acc.key());
    wr_key(d, payment_receipt::PROVIDER, provider_acc.key());
    wr_u64(d, payment_receipt::AMOUNT, amount);
    wr_u64(d, payment_receipt::PROVIDER_AMOUNT, s.provider);
    wr_u64(d, payment_receipt::CREATOR_FEE, s.creator);
    wr_u64(d, payment_receipt::PROTOCOL_FEE, s.protocol);
    wr_i64(d, payment_receipt::SETTLED_AT, now);
    wr_u8(d, payment_receipt::BUMP, bump);

    let m = model_acc.data_mut();
    add(m, model::TOTAL_VOLUME, amount)?;
    add(m, model::TOTAL_CREATOR_FEES, s.creator)?;
    add(m, model::TOTAL_PROTOCOL_FEES, s.protocol)?;
    add(m, model::TOTAL_PROVIDER_PAYOUTS, s.provider)?;
    add(m, model::SETTLEMENT_COUNT, 1)?;
    add(provider_acc.data_mut(), provider::TOTAL_EARNED, s.provider)?;

    let mut e = events::start(&event::PAYMENT_SETTLED);
    e.raw(&payment_id).key(model_acc.key()).key(provider_acc.key());
    e.u64(amount).u64(s.provider).u64(s.creator).u64(s.protocol);
    events::send(&e);
    Ok(())
}
