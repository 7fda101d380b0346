//! cancel_order: release a hold in full — by the payer once it has expired
//! (or at any time for a refund settle_order left pending), or by the
//! settler at any time (upstream failure). Closes the order.
//!
//! The refund is a plain Transfer from the escrow to the payer_token recorded in
//! the order: the settlement mint has no extension that needs the mint account
//! (initialize_config refuses them), and the token program checks both accounts
//! share the escrow's mint — one account and ~30 CU fewer than TransferChecked.
//!
//! The hot path: with no duplicate account and no arguments the program reaches
//! `process` through its fast entry (lib.rs `hot_path`: the data read through r2,
//! the 7 accounts walked once, this function inlined there); anything else through
//! the full parse and `dispatch`. The checks come in the order that keeps the
//! fewest values in registers (measured in benchmarks/cu.md), each a typed error.

use crate::checks;
use crate::events;
use crate::generated::{config, err, event, order};
use crate::sdk::account::Account;
use crate::sdk::bytes::{rd_i64, rd_key, rd_u64, rd_u8};
use crate::sdk::cpi::Signer;
use crate::sdk::sysvars::clock;
use crate::sdk::{barrier, token, ProgramResult, Pubkey};
use crate::seeds;

/// Accounts the instruction takes (the fast entry walks exactly these).
pub const ACCOUNTS: usize = 7;

#[inline(always)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [authority, cfg_acc, order_acc, payer, payer_token, escrow, usdc_tp, ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    if !args.is_empty() {
        return Err(err::INVALID_INSTRUCTION_DATA);
    }
    checks::signer(authority)?;
    let cfg = checks::load_config(cfg_acc, program_id)?;
    // The program id's words are not kept for the order's owner check (see `barrier`).
    barrier();
    checks::writable(order_acc)?;
    let o = checks::typed(order_acc, program_id, &order::DISCRIMINATOR, order::LEN)?;
    checks::key_is(payer, &rd_key(o, order::PAYER), err::ACCOUNT_MISMATCH)?;
    checks::writable(payer)?;
    // Who may cancel: the settler at any time; the payer once the hold has
    // expired or a refund is pending. The event's flag is set on each branch
    // and the settler's key compared through `key_equals`, so this is one
    // early-exit compare on the settler's path.
    let mut by_settler = true;
    if !authority.key_equals(cfg[config::SETTLER..].as_ptr()) {
        barrier();
        if !authority.same(payer) {
            return Err(err::UNAUTHORIZED);
        }
        if rd_u8(o, order::REFUND_PENDING) == 0 && clock().unix_timestamp < rd_i64(o, order::EXPIRES_AT) {
            return Err(err::ORDER_NOT_EXPIRED);
        }
        by_settler = false;
    }
    checks::key_is(payer_token, &rd_key(o, order::PAYER_TOKEN), err::ACCOUNT_MISMATCH)?;
    checks::key_is(escrow, &rd_key(cfg, config::ESCROW_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::key_is(usdc_tp, &rd_key(cfg, config::USDC_TOKEN_PROGRAM), err::INVALID_TOKEN_PROGRAM)?;
    let hold = rd_u64(o, order::HOLD);
    // The bump seed is the config's own byte (no copy to the stack).
    let signer = Signer { seeds: [seeds::CONFIG, &cfg[config::BUMP..config::BUMP + 1], &[], &[]], count: 2 };
    token::transfer(usdc_tp.key(), escrow, payer_token, cfg_acc, hold, Some(&signer))?;

    let mut e = events::start_sized::<49>(&event::ORDER_CANCELLED);
    e.key(order_acc.key()).u64(hold).bool(by_settler);
    events::send_sized(&e);
    order_acc.close_into(payer)
}
