//! open_order: the payer escrows the upper-bound charge of a call (the
//! pre-flight hold) from its associated USDC account at the offer's prices,
//! snapshotted into the order. The payer signs a max_hold (the hold may not
//! exceed it) and the order lives at least MIN_ORDER_TTL_SECS, the settler's
//! guaranteed window (the payer cannot cancel before expiry).
//!
//! No bump search: the order lives at an address with seed (base = payer, seed =
//! the nonce in hex, owner = this program), checked with one sha256 and created by
//! the payer's own signature; the payer's associated USDC account is recognised
//! from the client-supplied bump with one sha256 (see `sdk/pda.rs: pda_hash`).

use crate::checks;
use crate::events;
use crate::fees::usage_charge;
use crate::generated::{config, err, event, model, model_status, offer, order};
use crate::sdk::account::Account;
use crate::sdk::bytes::{rd_key, rd_u64, rd_u8, wr_i64, wr_key, wr_u64, Reader};
use crate::sdk::ids::{ASSOCIATED_TOKEN_PROGRAM, SYSTEM_PROGRAM};
use crate::sdk::sysvars::clock;
use crate::sdk::{pda, system, token, ProgramResult, Pubkey};
use crate::seeds;

/// The order's seed: `nonce` as 16 lowercase hex digits (most significant first).
#[inline(always)]
fn order_seed(nonce: u64) -> [u8; 16] {
    let mut s = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        let v = ((nonce >> (60 - 4 * i)) & 0xf) as u8;
        s[i] = if v < 10 { b'0' + v } else { b'a' + v - 10 };
        i += 1;
    }
    s
}

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [payer, cfg_acc, model_acc, offer_acc, order_acc, payer_token, escrow, usdc_mint, usdc_tp, system, ..] =
        accounts
    else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let nonce = r.u64()?;
    let max_in = r.u64()?;
    let max_out = r.u64()?;
    let ttl = r.i64()?;
    let max_hold = r.u64()?;
    let ata_bump = r.u8()?;
    r.finish()?;

    checks::signer(payer)?;
    checks::writable(payer)?;
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::not_paused(cfg)?;
    checks::system_program(system)?;
    checks::usdc(usdc_mint, usdc_tp, cfg)?;
    checks::key_is(escrow, &rd_key(cfg, config::ESCROW_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::writable(escrow)?;
    checks::writable(payer_token)?;
    checks::distinct(payer_token, escrow)?;
    checks::token_account_of(payer_token, usdc_tp.key(), usdc_mint.key())?;
    // The hold comes from the payer's associated USDC account and every refund
    // goes back to it. Anyone can re-create an associated account, so a payer
    // who closes it after opening cannot make settlement fail (and then cancel
    // after expiry to get the whole hold back for a call already served).
    // A live token account at this hash of (payer, token program, mint, bump) was
    // created by the associated token program, which signs only canonical bumps.
    let ata = pda::pda_hash(&[payer.key(), usdc_tp.key(), usdc_mint.key(), &[ata_bump]], &ASSOCIATED_TOKEN_PROGRAM);
    checks::key_is(payer_token, &ata, err::PAYER_TOKEN_NOT_ASSOCIATED)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    if rd_u8(m, model::STATUS) != model_status::APPROVED {
        return Err(err::MODEL_NOT_APPROVED);
    }
    let o = checks::typed(offer_acc, program_id, &offer::DISCRIMINATOR, offer::LEN)?;
    checks::key_is(model_acc, &rd_key(o, offer::MODEL), err::OFFER_INACTIVE)?;
    if rd_u8(o, offer::ACTIVE) == 0 {
        return Err(err::OFFER_INACTIVE);
    }
    if ttl < seeds::MIN_ORDER_TTL_SECS || ttl > seeds::MAX_ORDER_TTL_SECS {
        return Err(err::INVALID_TTL);
    }
    let price_in = rd_u64(o, offer::PRICE_INPUT_PER_MTOK);
    let price_out = rd_u64(o, offer::PRICE_OUTPUT_PER_MTOK);
    let hold = usage_charge(price_in, price_out, max_in, max_out).ok_or(err::ARITHMETIC_OVERFLOW)?;
    if hold == 0 {
        return Err(err::ZERO_AMOUNT);
    }
    // The payer bounds what it signs: a provider raising its prices between
    // the payer's quote and the order landing cannot raise the hold.
    if hold > max_hold {
        return Err(err::HOLD_ABOVE_MAX);
    }
    let now = clock().unix_timestamp;
    let expires_at = now.checked_add(ttl).ok_or(err::ARITHMETIC_OVERFLOW)?;

    checks::writable(order_acc)?;
    let seed = order_seed(nonce);
    checks::key_is(order_acc, &pda::with_seed(payer.key(), &seed, program_id), err::INVALID_PDA)?;
    if !order_acc.is_owned_by(&SYSTEM_PROGRAM) || order_acc.data_len() != 0 {
        return Err(err::ALREADY_INITIALIZED);
    }
    system::create_account_with_seed(payer, order_acc, &seed, order::LEN, program_id)?;
    let decimals = token::mint_decimals(usdc_mint.data());
    token::transfer_checked(usdc_tp.key(), payer_token, usdc_mint, escrow, payer, hold, decimals, None)?;

    let provider_key = rd_key(o, offer::PROVIDER);
    let d = order_acc.data_mut();
    checks::put_bytes(d, 0, &order::DISCRIMINATOR);
    wr_key(d, order::PAYER, payer.key());
    wr_key(d, order::PAYER_TOKEN, payer_token.key());
    wr_key(d, order::MODEL, model_acc.key());
    wr_key(d, order::PROVIDER, &provider_key);
    wr_key(d, order::OFFER, offer_acc.key());
    wr_u64(d, order::NONCE, nonce);
    wr_u64(d, order::HOLD, hold);
    wr_u64(d, order::PRICE_INPUT_PER_MTOK, price_in);
    wr_u64(d, order::PRICE_OUTPUT_PER_MTOK, price_out);
    wr_i64(d, order::OPENED_AT, now);
    wr_i64(d, order::EXPIRES_AT, expires_at);

    let mut e = events::start_sized::<160>(&event::ORDER_OPENED);
    e.key(order_acc.key()).key(payer.key()).key(model_acc.key()).key(&provider_key).u64(nonce).u64(hold).i64(expires_at);
    events::send_sized(&e);
    Ok(())
}
