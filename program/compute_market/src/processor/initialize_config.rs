//! initialize_config: create the config and the shared USDC escrow. Only the
//! program's upgrade authority may call it (no front-running at deploy), and
//! only once (the config PDA must be empty).
//!
//! The settlement mint is fixed here for good. A Token-2022 one may carry
//! metadata only: a transfer fee would credit the escrow less than each hold
//! (later orders could be neither settled nor refunded), and a permanent
//! delegate, transfer hook, pause, default-frozen state, confidential or
//! interest/scaling extension would give someone control over the escrow or
//! change what an amount means. Classic SPL Token (real USDC) has none.

use crate::checks::{self, EXT_METADATA_POINTER, EXT_TOKEN_METADATA};
use crate::events;
use crate::generated::{config, err, event};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, rd_u32, rd_u8, wr_i64, wr_key, wr_u16, wr_u64, wr_u8, Reader};
use crate::sdk::ids::{is_token_program, BPF_LOADER_UPGRADEABLE};
use crate::sdk::{pda, token, ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [admin, cfg_acc, escrow, usdc_mint, program_data, usdc_tp, system, ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let settler = r.key()?;
    let crank = r.key()?;
    let treasury_authority = r.key()?;
    let protocol_fee_bps = r.u16()?;
    let max_protocol_fee_bps = r.u16()?;
    let max_model_fee_bps = r.u16()?;
    let max_buyback_per_call = r.u64()?;
    let cooldown = r.i64()?;
    r.finish()?;

    checks::signer(admin)?;
    checks::writable(admin)?;
    checks::system_program(system)?;
    if !is_token_program(usdc_tp.key()) {
        return Err(err::INVALID_TOKEN_PROGRAM);
    }
    if !token::is_mint(usdc_mint, usdc_tp.key()) {
        return Err(err::INVALID_MINT);
    }
    checks::each_mint_extension(usdc_mint.data(), |ty, _| match ty {
        EXT_METADATA_POINTER | EXT_TOKEN_METADATA => Ok(()),
        _ => Err(err::UNSUPPORTED_MINT_EXTENSION),
    })?;
    // The caller must be this program's upgrade authority.
    if !program_data.is_owned_by(&BPF_LOADER_UPGRADEABLE) {
        return Err(err::INVALID_ACCOUNT_OWNER);
    }
    let (expected_pd, _) = pda::find(&[program_id], &BPF_LOADER_UPGRADEABLE).ok_or(err::INVALID_PDA)?;
    checks::key_is(program_data, &expected_pd, err::INVALID_PDA)?;
    let pd = program_data.data();
    // ProgramData: u32 tag (3), u64 slot, Option<Pubkey> upgrade authority.
    if pd.len() < 45 || rd_u32(pd, 0) != 3 || rd_u8(pd, 12) != 1 || !key_eq(&crate::sdk::bytes::rd_key(pd, 13), admin.key()) {
        return Err(err::UPGRADE_AUTHORITY_MISMATCH);
    }
    if max_protocol_fee_bps > seeds::HARD_MAX_PROTOCOL_FEE_BPS
        || max_model_fee_bps > seeds::HARD_MAX_MODEL_FEE_BPS
        || protocol_fee_bps > max_protocol_fee_bps
    {
        return Err(err::FEE_ABOVE_CAP);
    }
    if cooldown < 0 {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }

    let bump = checks::init_pda(admin, cfg_acc, program_id, &[seeds::CONFIG], config::LEN, &config::DISCRIMINATOR)?;
    let escrow_bump = checks::init_token_pda(
        admin, escrow, usdc_mint, usdc_tp.key(), cfg_acc.key(), program_id, &[seeds::ESCROW],
    )?;
    let d = cfg_acc.data_mut();
    wr_key(d, config::ADMIN, admin.key());
    wr_key(d, config::SETTLER, &settler);
    wr_key(d, config::CRANK, &crank);
    wr_key(d, config::TREASURY_AUTHORITY, &treasury_authority);
    wr_key(d, config::USDC_MINT, usdc_mint.key());
    wr_key(d, config::USDC_TOKEN_PROGRAM, usdc_tp.key());
    wr_key(d, config::ESCROW_VAULT, escrow.key());
    wr_u64(d, config::MAX_BUYBACK_PER_CALL, max_buyback_per_call);
    wr_i64(d, config::BUYBACK_COOLDOWN_SECS, cooldown);
    wr_u16(d, config::PROTOCOL_FEE_BPS, protocol_fee_bps);
    wr_u16(d, config::MAX_PROTOCOL_FEE_BPS, max_protocol_fee_bps);
    wr_u16(d, config::MAX_MODEL_FEE_BPS, max_model_fee_bps);
    wr_u8(d, config::BUMP, bump);
    wr_u8(d, config::ESCROW_BUMP, escrow_bump);

    let mut e = events::start(&event::CONFIG_UPDATED);
    e.key(admin.key()).u16(protocol_fee_bps).bool(false);
    events::send(&e);
    Ok(())
}
