//! set_model_status: the admin approves or delists a model.

use crate::checks;
use crate::events;
use crate::generated::{config, err, event, model, model_status};
use crate::sdk::account::Account;
use crate::sdk::bytes::{wr_u8, Reader};
use crate::sdk::{ProgramResult, Pubkey};

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [admin, cfg_acc, model_acc, ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let status = r.u8()?;
    r.finish()?;
    if status > model_status::DELISTED {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    if status == model_status::PENDING {
        return Err(err::INVALID_STATUS_TRANSITION);
    }
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::config_authority(admin, cfg, config::ADMIN)?;
    checks::writable(model_acc)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    wr_u8(m, model::STATUS, status);
    let mut e = events::start(&event::MODEL_STATUS_CHANGED);
    e.key(model_acc.key()).u8(status);
    events::send(&e);
    Ok(())
}
