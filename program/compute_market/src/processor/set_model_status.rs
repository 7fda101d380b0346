//! set_model_status: the admin approves or delists a model.
//!
//! Approving with a mint pins the only mint tokenize_model accepts (an
//! approved creator cannot attach someone else's coin); a tokenized model
//! can only be re-approved with its own mint. Delisting an untokenized model
//! withdraws its pin.
//!
//! Stuck revenue: a model token whose transfer-fee config authority is held
//! by someone (a listing from before that rule) can have its fee raised to
//! 100%, after which no buyback delivers anything and the revenue vault has
//! no exit. Delisting with `sweep_stuck_revenue` moves the vault's USDC to
//! the treasury — only when the live mint breaks the transfer-fee rule, so
//! the admin cannot take the revenue of a healthy listing, and the creator
//! who froze it gets nothing.

use crate::checks;
use crate::events;
use crate::generated::{config, err, event, model, model_status, token_kind};
use crate::sdk::account::Account;
use crate::sdk::bytes::{is_zero_key, key_eq, rd_key, rd_u64, rd_u8, wr_key, wr_u64, wr_u8, Reader};
use crate::sdk::cpi::Signer;
use crate::sdk::{token, ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [admin, cfg_acc, model_acc, rest @ ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let status = r.u8()?;
    let mint = if r.option_tag()? { Some(r.key()?) } else { None };
    let sweep = r.bool()?;
    r.finish()?;
    if status > model_status::DELISTED {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    if status == model_status::PENDING {
        return Err(err::INVALID_STATUS_TRANSITION);
    }
    // A mint goes with an approval, a sweep with a delisting.
    if (mint.is_some() && status != model_status::APPROVED) || (sweep && status != model_status::DELISTED) {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::config_authority(admin, cfg, config::ADMIN)?;
    checks::writable(model_acc)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    let tokenized = rd_u8(m, model::TOKEN_KIND) != token_kind::NONE;
    if let Some(k) = mint {
        if is_zero_key(&k) || (tokenized && !key_eq(&k, &rd_key(m, model::MINT))) {
            return Err(err::INVALID_MINT);
        }
    }
    if sweep {
        sweep_stuck_revenue(cfg_acc.key(), cfg, model_acc, rest)?;
    }

    let m = model_acc.data_mut();
    if let Some(k) = mint {
        wr_key(m, model::APPROVED_MINT, &k);
    }
    if status == model_status::DELISTED && !tokenized {
        wr_key(m, model::APPROVED_MINT, &[0u8; 32]);
    }
    wr_u8(m, model::STATUS, status);
    let mut e = events::start(&event::MODEL_STATUS_CHANGED);
    e.key(model_acc.key()).u8(status);
    events::send(&e);
    Ok(())
}

/// Move a tokenized model's whole revenue vault to the treasury when its
/// live mint breaks the transfer-fee rule (checks::transfer_fee_fixed).
#[inline(never)]
fn sweep_stuck_revenue(config_pda: &Pubkey, cfg: &[u8], model_acc: &Account, rest: &[Account]) -> ProgramResult {
    let [mint, revenue_vault, treasury, usdc_mint, usdc_tp, ..] = rest else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let m = model_acc.data();
    if rd_u8(m, model::TOKEN_KIND) == token_kind::NONE {
        return Err(err::NOT_TOKENIZED);
    }
    checks::key_is(mint, &rd_key(m, model::MINT), err::INVALID_MINT)?;
    let model_tp = rd_key(m, model::TOKEN_PROGRAM);
    if !token::is_mint(mint, &model_tp) {
        return Err(err::INVALID_MINT);
    }
    let mut stuck = false;
    checks::each_mint_extension(mint.data(), |ty, value| {
        if ty == checks::EXT_TRANSFER_FEE_CONFIG && checks::transfer_fee_fixed(value, config_pda).is_err() {
            stuck = true;
        }
        Ok(())
    })?;
    if !stuck {
        return Err(err::REVENUE_NOT_STUCK);
    }
    checks::key_is(revenue_vault, &rd_key(m, model::REVENUE_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::writable(revenue_vault)?;
    checks::usdc(usdc_mint, usdc_tp, cfg)?;
    checks::token_account_of(revenue_vault, usdc_tp.key(), usdc_mint.key())?;
    checks::treasury(treasury, cfg)?;
    let amount = token::account_amount(revenue_vault.data());
    if amount == 0 {
        return Err(err::ZERO_AMOUNT);
    }
    let total = rd_u64(m, model::USDC_SWEPT).checked_add(amount).ok_or(err::ARITHMETIC_OVERFLOW)?;

    let mut slug = [0u8; 32];
    let slug_len = rd_u8(m, model::SLUG_LEN) as usize;
    checks::put_bytes(&mut slug, 0, &m[model::SLUG..model::SLUG + slug_len]);
    let bump = [rd_u8(m, model::BUMP)];
    let signer = Signer::new(&[seeds::MODEL, &slug[..slug_len], &bump]);
    let decimals = token::mint_decimals(usdc_mint.data());
    token::transfer_checked(
        usdc_tp.key(), revenue_vault, usdc_mint, treasury, model_acc, amount, decimals, Some(&signer),
    )?;
    wr_u64(model_acc.data_mut(), model::USDC_SWEPT, total);

    let mut e = events::start(&event::REVENUE_SWEPT);
    e.key(model_acc.key()).key(mint.key()).key(treasury.key()).u64(amount).u64(total);
    events::send(&e);
    Ok(())
}
