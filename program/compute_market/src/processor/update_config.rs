//! update_config: admin changes fees within the caps fixed at initialisation,
//! authorities, the swap allow-list, buyback limits, pause, or proposes a new
//! admin (who must accept_admin).

use crate::checks;
use crate::events;
use crate::generated::{config, err, event};
use crate::sdk::account::Account;
use crate::sdk::bytes::{rd_u16, rd_u8, wr_i64, wr_key, wr_u16, wr_u64, wr_u8, Reader};
use crate::sdk::{ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [admin, cfg_acc, ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    checks::writable(cfg_acc)?;
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::config_authority(admin, cfg, config::ADMIN)?;

    // Parse everything first: a malformed update changes nothing.
    let mut r = Reader::new(args);
    let fee = if r.option_tag()? { Some(r.u16()?) } else { None };
    let settler = if r.option_tag()? { Some(r.key()?) } else { None };
    let crank = if r.option_tag()? { Some(r.key()?) } else { None };
    let treasury = if r.option_tag()? { Some(r.key()?) } else { None };
    let mut swaps: [Pubkey; seeds::MAX_SWAP_PROGRAMS] = [[0u8; 32]; seeds::MAX_SWAP_PROGRAMS];
    let mut swap_count: Option<usize> = None;
    if r.option_tag()? {
        let n = r.u32()? as usize;
        if n > seeds::MAX_SWAP_PROGRAMS {
            return Err(err::TOO_MANY_SWAP_PROGRAMS);
        }
        let mut i = 0;
        while i < n {
            swaps[i] = r.key()?;
            i += 1;
        }
        swap_count = Some(n);
    }
    let cap = if r.option_tag()? { Some(r.u64()?) } else { None };
    let cooldown = if r.option_tag()? { Some(r.i64()?) } else { None };
    let paused = if r.option_tag()? { Some(r.bool()?) } else { None };
    let pending = if r.option_tag()? { Some(r.key()?) } else { None };
    r.finish()?;

    if let Some(f) = fee {
        if f > rd_u16(cfg, config::MAX_PROTOCOL_FEE_BPS) {
            return Err(err::FEE_ABOVE_CAP);
        }
    }
    if let Some(c) = cooldown {
        if c < 0 {
            return Err(err::INVALID_INSTRUCTION_DATA);
        }
    }

    if let Some(f) = fee {
        wr_u16(cfg, config::PROTOCOL_FEE_BPS, f);
    }
    if let Some(k) = settler {
        wr_key(cfg, config::SETTLER, &k);
    }
    if let Some(k) = crank {
        wr_key(cfg, config::CRANK, &k);
    }
    if let Some(k) = treasury {
        wr_key(cfg, config::TREASURY_AUTHORITY, &k);
    }
    if let Some(n) = swap_count {
        let mut i = 0;
        while i < seeds::MAX_SWAP_PROGRAMS {
            wr_key(cfg, config::SWAP_PROGRAMS + 32 * i, &swaps[i]);
            i += 1;
        }
        wr_u8(cfg, config::SWAP_PROGRAM_COUNT, n as u8);
    }
    if let Some(c) = cap {
        wr_u64(cfg, config::MAX_BUYBACK_PER_CALL, c);
    }
    if let Some(c) = cooldown {
        wr_i64(cfg, config::BUYBACK_COOLDOWN_SECS, c);
    }
    if let Some(p) = paused {
        wr_u8(cfg, config::PAUSED, p as u8);
    }
    if let Some(k) = pending {
        wr_key(cfg, config::PENDING_ADMIN, &k);
    }

    let mut e = events::start(&event::CONFIG_UPDATED);
    e.key(admin.key()).u16(rd_u16(cfg, config::PROTOCOL_FEE_BPS)).bool(rd_u8(cfg, config::PAUSED) != 0);
    events::send(&e);
    Ok(())
}
