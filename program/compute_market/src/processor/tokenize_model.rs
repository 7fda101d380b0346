//! tokenize_model: the creator attaches the mint the admin approved for the
//! model (set_model_status pins it; nobody can attach someone else's coin)
//! and the program creates the buyback vault. The mint must have a fixed
//! supply (no mint authority) and no freeze authority; a Token-2022 mint may
//! carry only the extensions on the allow-list below, its transfer-fee
//! withheld authority must be the config PDA (so the protocol can harvest)
//! and its fee can never rise above the cap (checks::transfer_fee_fixed).

use crate::checks::{self, EXT_METADATA_POINTER, EXT_TOKEN_METADATA, EXT_TRANSFER_FEE_CONFIG};
use crate::events;
use crate::generated::{config, err, event, model, model_status, token_kind};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, rd_key, rd_u8, wr_key, wr_u8};
use crate::sdk::ids::{is_token_program, TOKEN_2022_PROGRAM};
use crate::sdk::{token, ProgramResult, Pubkey};
use crate::seeds;

/// Token-2022 mint extensions we accept. Everything else — MintCloseAuthority
/// (3), DefaultAccountState (6), NonTransferable (9), InterestBearing (10),
/// PermanentDelegate (12), TransferHook (14), ScaledUiAmount (25),
/// Pausable (26), confidential extensions... — changes who controls tokens
/// or how amounts behave, and is refused.
fn check_extensions(mint: &[u8], config_pda: &Pubkey) -> Result<(), u32> {
    checks::each_mint_extension(mint, |ty, value| match ty {
        EXT_TRANSFER_FEE_CONFIG => {
            // transfer_fee_config_authority (32), withdraw_withheld_authority (32), ...
            if value.len() != checks::TRANSFER_FEE_CONFIG_LEN || !key_eq(&rd_key(value, 32), config_pda) {
                return Err(err::WITHHELD_AUTHORITY_MISMATCH);
            }
            checks::transfer_fee_fixed(value, config_pda)
        }
        EXT_METADATA_POINTER | EXT_TOKEN_METADATA => Ok(()),
        _ => Err(err::UNSUPPORTED_MINT_EXTENSION),
    })
}

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [creator, cfg_acc, model_acc, mint, vault, token_program, system, ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    if !args.is_empty() {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    checks::signer(creator)?;
    checks::writable(creator)?;
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::not_paused(cfg)?;
    checks::system_program(system)?;
    checks::writable(model_acc)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    checks::key_is(creator, &rd_key(m, model::CREATOR), err::UNAUTHORIZED)?;
    if rd_u8(m, model::STATUS) != model_status::APPROVED {
        return Err(err::MODEL_NOT_APPROVED);
    }
    if rd_u8(m, model::TOKEN_KIND) != token_kind::NONE {
        return Err(err::ALREADY_TOKENIZED);
    }
    // The admin's approval names the mint; the default key (no mint named)
    // matches no mint, so an approval without one allows trading only.
    checks::key_is(mint, &rd_key(m, model::APPROVED_MINT), err::MINT_NOT_APPROVED)?;
    let tp = token_program.key();
    if !is_token_program(tp) {
        return Err(err::INVALID_TOKEN_PROGRAM);
    }
    if !mint.is_owned_by(tp) {
        return Err(if is_token_program(mint.owner()) { err::INVALID_TOKEN_PROGRAM } else { err::INVALID_MINT });
    }
    if !token::is_mint(mint, tp) || key_eq(mint.key(), &rd_key(cfg, config::USDC_MINT)) {
        return Err(err::INVALID_MINT);
    }
    let md = mint.data();
    if token::mint_has_authority(md) || token::mint_has_freeze_authority(md) {
        return Err(err::MINT_AUTHORITY_PRESENT);
    }
    let t22 = key_eq(tp, &TOKEN_2022_PROGRAM);
    if t22 {
        check_extensions(md, cfg_acc.key())?;
    }

    let bump = checks::init_token_pda(
        creator, vault, mint, tp, model_acc.key(), program_id, &[seeds::BUYBACK, model_acc.key()],
    )?;
    let kind = if t22 { token_kind::TOKEN2022 } else { token_kind::SPL };
    wr_key(m, model::MINT, mint.key());
    wr_key(m, model::BUYBACK_VAULT, vault.key());
    wr_key(m, model::TOKEN_PROGRAM, tp);
    wr_u8(m, model::TOKEN_KIND, kind);
    wr_u8(m, model::BUYBACK_VAULT_BUMP, bump);

    let mut e = events::start(&event::MODEL_TOKENIZED);
    e.key(model_acc.key()).key(mint.key()).u8(kind).key(vault.key());
    events::send(&e);
    Ok(())
}
