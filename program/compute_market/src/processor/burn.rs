//! burn: the crank burns everything in a model's buyback vault (signed by
//! the model PDA). Allowed while paused so bought tokens never strand.

use crate::checks;
use crate::events;
use crate::generated::{config, err, event, model, token_kind};
use crate::sdk::account::Account;
use crate::sdk::bytes::{rd_key, rd_u64, rd_u8, wr_u64};
use crate::sdk::cpi::Signer;
use crate::sdk::{token, ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [crank, cfg_acc, model_acc, vault, mint, token_program, ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    if !args.is_empty() {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::config_authority(crank, cfg, config::CRANK)?;
    checks::writable(model_acc)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    if rd_u8(m, model::TOKEN_KIND) == token_kind::NONE {
        return Err(err::NOT_TOKENIZED);
    }
    checks::key_is(vault, &rd_key(m, model::BUYBACK_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::key_is(mint, &rd_key(m, model::MINT), err::INVALID_MINT)?;
    checks::key_is(token_program, &rd_key(m, model::TOKEN_PROGRAM), err::INVALID_TOKEN_PROGRAM)?;
    checks::writable(vault)?;
    checks::writable(mint)?;
    checks::token_account_of(vault, token_program.key(), mint.key())?;
    let amount = token::account_amount(vault.data());
    if amount == 0 {
        return Err(err::NOTHING_TO_BURN);
    }
    let decimals = token::mint_decimals(mint.data());
    let mut slug = [0u8; 32];
    let slug_len = rd_u8(m, model::SLUG_LEN) as usize;
    checks::put_bytes(&mut slug, 0, &m[model::SLUG..model::SLUG + slug_len]);
    let bump = [rd_u8(m, model::BUMP)];
    let signer = Signer::new(&[seeds::MODEL, &slug[..slug_len], &bump]);
    token::burn_checked(token_program.key(), vault, mint, model_acc, amount, decimals, Some(&signer))?;

    let total = rd_u64(m, model::TOKENS_BURNED).checked_add(amount).ok_or(err::ARITHMETIC_OVERFLOW)?;
    wr_u64(m, model::TOKENS_BURNED, total);
    let mut e = events::start(&event::TOKENS_BURNED);
    e.key(model_acc.key()).key(mint.key()).u64(amount).u64(total);
    events::send(&e);
    Ok(())
}
