//! register_model: a creator lists a model (Pending) at PDA ["model", slug]
//! and gets its USDC revenue vault (authority: the model PDA).

use crate::checks;
use crate::events;
use crate::generated::{config, err, event, model, model_status, token_kind};
use crate::sdk::account::Account;
use crate::sdk::bytes::{rd_key, rd_u16, wr_i64, wr_key, wr_u16, wr_u8, Reader};
use crate::sdk::sysvars::clock;
use crate::sdk::{ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [creator, cfg_acc, model_acc, vault, usdc_mint, usdc_tp, system, ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let slug = r.bytes()?;
    let fee_bps = r.u16()?;
    let uri = r.bytes()?;
    r.finish()?;

    checks::signer(creator)?;
    checks::writable(creator)?;
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::not_paused(cfg)?;
    checks::system_program(system)?;
    checks::usdc(usdc_mint, usdc_tp, cfg)?;
    if !checks::valid_slug(slug) {
        return Err(err::INVALID_SLUG);
    }
    if uri.len() > seeds::MAX_URI_LEN {
        return Err(err::URI_TOO_LONG);
    }
    if fee_bps > rd_u16(cfg, config::MAX_MODEL_FEE_BPS) {
        return Err(err::FEE_ABOVE_CAP);
    }

    let bump = checks::init_pda(creator, model_acc, program_id, &[seeds::MODEL, slug], model::LEN, &model::DISCRIMINATOR)?;
    let vault_bump = checks::init_token_pda(
        creator,
        vault,
        usdc_mint,
        &rd_key(cfg, config::USDC_TOKEN_PROGRAM),
        model_acc.key(),
        program_id,
        &[seeds::REVENUE, model_acc.key()],
    )?;

    let d = model_acc.data_mut();
    wr_key(d, model::CREATOR, creator.key());
    wr_key(d, model::REVENUE_VAULT, vault.key());
    checks::put_bytes(d, model::SLUG, slug);
    checks::put_bytes(d, model::METADATA_URI, uri);
    wr_i64(d, model::CREATED_AT, clock().unix_timestamp);
    wr_u16(d, model::FEE_BPS, fee_bps);
    wr_u8(d, model::SLUG_LEN, slug.len() as u8);
    wr_u8(d, model::URI_LEN, uri.len() as u8);
    wr_u8(d, model::STATUS, model_status::PENDING);
    wr_u8(d, model::TOKEN_KIND, token_kind::NONE);
    wr_u8(d, model::BUMP, bump);
    wr_u8(d, model::REVENUE_VAULT_BUMP, vault_bump);

    let mut e = events::start(&event::MODEL_REGISTERED);
    e.key(model_acc.key()).key(creator.key()).string(slug).u16(fee_bps);
    events::send(&e);
    Ok(())
}
