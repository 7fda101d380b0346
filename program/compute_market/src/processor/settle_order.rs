//! settle_order: the settler reports actual usage. charge = min(hold, usage
//! at the snapshot prices); charge is split provider / creator fee /
//! protocol fee, the rest of the hold is refunded, and the order is closed
//! (rent back to the payer). Allowed while paused, so holds never strand.
//! If the payer closed its USDC account, the charge is still paid and the
//! refund stays in the order (refund_pending): the payer claims it with
//! cancel_order once its account exists again. Nobody re-creates a payer's
//! account at the settler's expense, and closing it cannot block settlement.

use crate::checks;
use crate::events;
use crate::fees::{split, usage_charge};
use crate::generated::{config, err, event, model, order, provider};
use crate::sdk::account::Account;
use crate::sdk::bytes::{rd_key, rd_u16, rd_u64, rd_u8, wr_u64, wr_u8, Reader};
use crate::sdk::cpi::Signer;
use crate::sdk::{token, ProgramResult, Pubkey};
use crate::seeds;

fn add(d: &mut [u8], off: usize, v: u64) -> ProgramResult {
    let n = rd_u64(d, off).checked_add(v).ok_or(err::ARITHMETIC_OVERFLOW)?;
    wr_u64(d, off, n);
    Ok(())
}

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [settler, cfg_acc, order_acc, payer, payer_token, model_acc, provider_acc, payout, revenue_vault, treasury, escrow, usdc_mint, usdc_tp, ..] =
        accounts
    else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let tokens_in = r.u64()?;
    let tokens_out = r.u64()?;
    r.finish()?;

    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::config_authority(settler, cfg, config::SETTLER)?;
    checks::usdc(usdc_mint, usdc_tp, cfg)?;
    checks::key_is(escrow, &rd_key(cfg, config::ESCROW_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::writable(order_acc)?;
    let o = checks::typed(order_acc, program_id, &order::DISCRIMINATOR, order::LEN)?;
    if rd_u8(o, order::REFUND_PENDING) != 0 {
        return Err(err::ORDER_ALREADY_SETTLED);
    }
    checks::key_is(payer, &rd_key(o, order::PAYER), err::ACCOUNT_MISMATCH)?;
    checks::key_is(payer_token, &rd_key(o, order::PAYER_TOKEN), err::ACCOUNT_MISMATCH)?;
    checks::key_is(model_acc, &rd_key(o, order::MODEL), err::ACCOUNT_MISMATCH)?;
    checks::key_is(provider_acc, &rd_key(o, order::PROVIDER), err::ACCOUNT_MISMATCH)?;
    checks::writable(payer)?;
    checks::writable(model_acc)?;
    checks::writable(provider_acc)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    let p = checks::typed(provider_acc, program_id, &provider::DISCRIMINATOR, provider::LEN)?;
    checks::key_is(payout, &rd_key(p, provider::PAYOUT), err::ACCOUNT_MISMATCH)?;
    checks::key_is(revenue_vault, &rd_key(m, model::REVENUE_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::treasury(treasury, cfg)?;
    // Paying out of the escrow into the escrow would strand the share there.
    checks::distinct(payout, escrow)?;

    let hold = rd_u64(o, order::HOLD);
    let usage = usage_charge(
        rd_u64(o, order::PRICE_INPUT_PER_MTOK),
        rd_u64(o, order::PRICE_OUTPUT_PER_MTOK),
        tokens_in,
        tokens_out,
    );
    // Usage above the hold (or too large to represent) is capped at the hold.
    let gross = match usage {
        Some(c) if c < hold => c,
        _ => hold,
    };
    let s = split(gross, rd_u16(cfg, config::PROTOCOL_FEE_BPS), rd_u16(m, model::FEE_BPS))
        .ok_or(err::ARITHMETIC_OVERFLOW)?;
    let refund = hold - gross;

    let decimals = token::mint_decimals(usdc_mint.data());
    let bump = [rd_u8(cfg, config::BUMP)];
    let signer = Signer::new(&[seeds::CONFIG, &bump]);
    let tp = usdc_tp.key();
    let refund_now = token::is_token_account(payer_token, tp);
    let legs = [
        (payout, s.provider),
        (revenue_vault, s.creator),
        (treasury, s.protocol),
        (payer_token, if refund_now { refund } else { 0 }),
    ];
    token::transfer_checked_many(tp, escrow, usdc_mint, cfg_acc, &legs, decimals, Some(&signer))?;

    let m = model_acc.data_mut();
    add(m, model::TOTAL_VOLUME, gross)?;
    add(m, model::TOTAL_CREATOR_FEES, s.creator)?;
    add(m, model::TOTAL_PROTOCOL_FEES, s.protocol)?;
    add(m, model::TOTAL_PROVIDER_PAYOUTS, s.provider)?;
    add(m, model::SETTLEMENT_COUNT, 1)?;
    add(provider_acc.data_mut(), provider::TOTAL_EARNED, s.provider)?;

    let mut e = events::start_sized::<192>(&event::ORDER_SETTLED);
    e.key(order_acc.key()).key(payer.key()).key(model_acc.key()).key(provider_acc.key());
    e.u64(tokens_in).u64(tokens_out).u64(gross).u64(s.provider).u64(s.creator).u64(s.protocol).u64(refund);
    events::send_sized(&e);
    if refund_now || refund == 0 {
        return order_acc.close_into(payer);
    }
    let o = order_acc.data_mut();
    wr_u64(o, order::HOLD, refund);
    wr_u8(o, order::REFUND_PENDING, 1);
    Ok(())
}
