//! harvest_fees: for a Token-2022 model, harvest withheld transfer fees from
//! up to MAX_HARVEST_SOURCES token accounts of the mint into the mint, then
//! withdraw the mint's withheld fees to the treasury's token account, signed
//! by the config PDA (the withdraw-withheld authority tokenize_model demands).

use crate::checks;
use crate::events;
use crate::generated::{config, err, event, model, token_kind};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, rd_key, rd_u8};
use crate::sdk::cpi::Signer;
use crate::sdk::ids::TOKEN_2022_PROGRAM;
use crate::sdk::{token, ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [crank, cfg_acc, model_acc, mint, destination, token_program, sources @ ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    if !args.is_empty() {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::config_authority(crank, cfg, config::CRANK)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    if rd_u8(m, model::TOKEN_KIND) != token_kind::TOKEN2022 {
        return Err(err::NOT_TOKENIZED);
    }
    checks::key_is(token_program, &TOKEN_2022_PROGRAM, err::INVALID_TOKEN_PROGRAM)?;
    checks::key_is(mint, &rd_key(m, model::MINT), err::INVALID_MINT)?;
    checks::writable(mint)?;
    checks::writable(destination)?;
    checks::token_account_of(destination, &TOKEN_2022_PROGRAM, mint.key())?;
    if !key_eq(&token::account_owner(destination.data()), &rd_key(cfg, config::TREASURY_AUTHORITY)) {
        return Err(err::INVALID_TREASURY);
    }
    if sources.len() > seeds::MAX_HARVEST_SOURCES {
        return Err(err::TOO_MANY_SOURCES);
    }
    let mut i = 0;
    while i < sources.len() {
        checks::writable(&sources[i])?;
        checks::token_account_of(&sources[i], &TOKEN_2022_PROGRAM, mint.key())?;
        i += 1;
    }
    let before = token::account_amount(destination.data());
    if !sources.is_empty() {
        token::harvest_withheld_to_mint(mint, sources)?;
    }
    let bump = [rd_u8(cfg, config::BUMP)];
    let signer = Signer::new(&[seeds::CONFIG, &bump]);
    token::withdraw_withheld_from_mint(mint, destination, cfg_acc, &signer)?;
    let amount = token::account_amount(destination.data()).saturating_sub(before);

    let mut e = events::start(&event::FEES_HARVESTED);
    e.key(model_acc.key()).key(mint.key()).u64(amount).u8(sources.len() as u8);
    events::send(&e);
    Ok(())
}
