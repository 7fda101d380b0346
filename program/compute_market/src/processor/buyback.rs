//! buyback: the crank swaps USDC from a model's revenue vault for the
//! model's token through an allow-listed swap program. The swap instruction
//! (data + remaining accounts) comes from the crank's venue; the program
//! signs it with the model PDA, the authority of both vaults. Whatever the
//! route does, the program then checks balances: USDC taken <= amount_in,
//! tokens that ARRIVED in the buyback vault (after any Token-2022 transfer
//! fee) >= min_out > 0, and both vaults still belong to the model PDA alone
//! (no new owner, delegate, close authority or extension). Per-call cap and per-model
//! cooldown hold even against a malicious crank key.
//!
//! Staging: a venue that spends only from the user's *associated* token
//! account (pump.fun's bonding curve) gets the model PDA's associated USDC
//! account among the route's accounts. The program then moves amount_in
//! there from the revenue vault before the swap and sweeps the whole
//! staging balance back after it; the USDC check counts vault and staging
//! account together, and the staging account must come out intact too.

use crate::checks;
use crate::events;
use crate::generated::{config, err, event, model, model_status, token_kind};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, rd_i64, rd_key, rd_u64, rd_u8, wr_i64, wr_u64, Reader};
use crate::sdk::cpi::{invoke, Meta, Signer, MAX_CPI_ACCOUNTS};
use crate::sdk::ids::ASSOCIATED_TOKEN_PROGRAM;
use crate::sdk::sysvars::clock;
use crate::sdk::{heap, pda, token, ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [crank, cfg_acc, model_acc, revenue_vault, buyback_vault, swap_program, remaining @ ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let amount_in = r.u64()?;
    let min_out = r.u64()?;
    let swap_data = r.bytes()?;
    r.finish()?;

    let b = Buyback { program_id, crank, cfg_acc, model_acc, revenue_vault, buyback_vault, swap_program, amount_in, min_out };
    let (cfg, m, now) = admit(&b, &[swap_program])?;
    let usdc_tp = rd_key(cfg, config::USDC_TOKEN_PROGRAM);
    if remaining.len() > MAX_CPI_ACCOUNTS {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    }

    let usdc_mint = rd_key(cfg, config::USDC_MINT);
    let stage = staging(remaining, model_acc, revenue_vault, &usdc_tp, &usdc_mint)?;
    let tokens_before = token::account_amount(buyback_vault.data());
    let revenue_len = revenue_vault.data_len();
    let buyback_len = buyback_vault.data_len();

    let mut slug = [0u8; 32];
    let slug_len = rd_u8(m, model::SLUG_LEN) as usize;
    checks::put_bytes(&mut slug, 0, &m[model::SLUG..model::SLUG + slug_len]);
    let bump = [rd_u8(m, model::BUMP)];
    let signer = Signer::new(&[seeds::MODEL, &slug[..slug_len], &bump]);

    let mut usdc_before = token::account_amount(revenue_vault.data());
    if let Some(st) = &stage {
        usdc_before = usdc_before.checked_add(st.fill(&b, &usdc_tp, &signer)?).ok_or(err::ARITHMETIC_OVERFLOW)?;
    }

    // Forward the route's accounts as given; the model PDA signs. The list is
    // built in the heap (up to MAX_CPI_ACCOUNTS entries: 2 KiB).
    let metas = heap::region::<Meta>(heap::FORWARD_OFF);
    let mut j = 0;
    while j < remaining.len() {
        let a = &remaining[j];
        let is_model = key_eq(a.key(), model_acc.key());
        unsafe {
            metas.add(j).write(Meta { account: *a, writable: a.is_writable(), signer: a.is_signer() || is_model });
        }
        j += 1;
    }
    let metas = unsafe { core::slice::from_raw_parts(metas as *const Meta, remaining.len()) };
    invoke(swap_program.key(), metas, swap_data, Some(&signer))?;

    // Sweep the staging account back into the vault (it must still be ours).
    if let Some(st) = &stage {
        st.sweep(&b, &usdc_tp, &signer)?;
    }

    record(&b, &Before { usdc: usdc_before, tokens: tokens_before, revenue_len, buyback_len }, now)
}

/// The checks every buyback makes before its route runs: crank, pause,
/// approved and tokenized model, its two vaults, amount and min_out, the
/// allow-list, per-call cap and the cooldown. Returns the config, the model and the clock.
#[inline(never)]
pub fn admit<'a>(b: &Buyback<'a>, programs: &[&Account]) -> Result<(&'a mut [u8], &'a mut [u8], i64), u32> {
    let (program_id, crank, cfg_acc, model_acc) = (b.program_id, b.crank, b.cfg_acc, b.model_acc);
    let (revenue_vault, buyback_vault, amount_in, min_out) = (b.revenue_vault, b.buyback_vault, b.amount_in, b.min_out);
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::config_authority(crank, cfg, config::CRANK)?;
    checks::not_paused(cfg)?;
    checks::writable(model_acc)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    if rd_u8(m, model::STATUS) != model_status::APPROVED {
        return Err(err::MODEL_NOT_APPROVED);
    }
    if rd_u8(m, model::TOKEN_KIND) == token_kind::NONE {
        return Err(err::NOT_TOKENIZED);
    }
    checks::key_is(revenue_vault, &rd_key(m, model::REVENUE_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::key_is(buyback_vault, &rd_key(m, model::BUYBACK_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::writable(revenue_vault)?;
    checks::writable(buyback_vault)?;
    let usdc_tp = rd_key(cfg, config::USDC_TOKEN_PROGRAM);
    let model_tp = rd_key(m, model::TOKEN_PROGRAM);
    checks::token_account_of(revenue_vault, &usdc_tp, &rd_key(cfg, config::USDC_MINT))?;
    checks::token_account_of(buyback_vault, &model_tp, &rd_key(m, model::MINT))?;
    // The swap programs must be on the admin's allow-list.
    let mut p = 0;
    while p < programs.len() {
        allowed(cfg, programs[p], program_id)?;
        p += 1;
    }
    if amount_in == 0 {
        return Err(err::ZERO_AMOUNT);
    }
    if min_out == 0 {
        return Err(err::ZERO_MIN_OUT);
    }
    let cap = rd_u64(cfg, config::MAX_BUYBACK_PER_CALL);
    if cap != 0 && amount_in > cap {
        return Err(err::BUYBACK_CAP_EXCEEDED);
    }
    let now = clock().unix_timestamp;
    let last = rd_i64(m, model::LAST_BUYBACK_TS);
    let cooldown = rd_i64(cfg, config::BUYBACK_COOLDOWN_SECS);
    if last != 0 && now < last.saturating_add(cooldown) {
        return Err(err::BUYBACK_COOLDOWN);
    }
    Ok((cfg, m, now))
}

/// `program` is on the admin's swap allow-list (and is not this program).
#[inline(never)]
pub fn allowed(cfg: &[u8], program: &Account, program_id: &Pubkey) -> ProgramResult {
    let count = rd_u8(cfg, config::SWAP_PROGRAM_COUNT) as usize;
    let mut i = 0;
    while i < count && i < seeds::MAX_SWAP_PROGRAMS {
        if key_eq(program.key(), &rd_key(cfg, config::SWAP_PROGRAMS + 32 * i)) && !key_eq(program.key(), program_id) {
            return Ok(());
        }
        i += 1;
    }
    Err(err::SWAP_PROGRAM_NOT_ALLOWED)
}

/// The accounts and arguments every buyback shares (`swap_program` is the
/// one named in the event).
pub struct Buyback<'a> {
    pub program_id: &'a Pubkey,
    pub crank: &'a Account,
    pub cfg_acc: &'a Account,
    pub model_acc: &'a Account,
    pub revenue_vault: &'a Account,
    pub buyback_vault: &'a Account,
    pub swap_program: &'a Account,
    pub amount_in: u64,
    pub min_out: u64,
}

/// Balances and vault lengths taken before the route ran.
pub struct Before {
    pub usdc: u64,
    pub tokens: u64,
    pub revenue_len: usize,
    pub buyback_len: usize,
}

/// After the route: the vaults are still the model's alone, the USDC taken
/// is at most amount_in, at least min_out tokens arrived; then the model's
/// totals, the cooldown clock and the event.
#[inline(never)]
pub fn record(b: &Buyback, before: &Before, now: i64) -> ProgramResult {
    let (model_acc, revenue_vault, buyback_vault, swap_program) = (b.model_acc, b.revenue_vault, b.buyback_vault, b.swap_program);
    let (amount_in, min_out) = (b.amount_in, b.min_out);
    let cfg = b.cfg_acc.data();
    let m = b.model_acc.data();
    let usdc_tp = rd_key(cfg, config::USDC_TOKEN_PROGRAM);
    let model_tp = rd_key(m, model::TOKEN_PROGRAM);
    let usdc_before = before.usdc;
    let tokens_before = before.tokens;
    let revenue_len = before.revenue_len;
    let buyback_len = before.buyback_len;
    // Re-validate: the route may have closed or replaced accounts, or used
    // the model PDA's signature to hand a vault to someone (owner, delegate,
    // close authority) or to reallocate it with new extensions, while the
    // balances below look right.
    checks::token_account_of(revenue_vault, &usdc_tp, &rd_key(cfg, config::USDC_MINT))?;
    checks::token_account_of(buyback_vault, &model_tp, &rd_key(m, model::MINT))?;
    checks::vault_intact(revenue_vault, model_acc.key(), revenue_len)?;
    checks::vault_intact(buyback_vault, model_acc.key(), buyback_len)?;
    let usdc_after = token::account_amount(revenue_vault.data());
    let tokens_after = token::account_amount(buyback_vault.data());
    let spent = usdc_before.saturating_sub(usdc_after);
    if spent > amount_in {
        return Err(err::SWAP_OVERSPENT);
    }
    if tokens_after < tokens_before {
        return Err(err::SLIPPAGE_EXCEEDED);
    }
    let bought = tokens_after - tokens_before;
    if bought < min_out {
        return Err(err::SLIPPAGE_EXCEEDED);
    }

    let m = model_acc.data_mut();
    let spent_total = rd_u64(m, model::USDC_SPENT).checked_add(spent).ok_or(err::ARITHMETIC_OVERFLOW)?;
    let bought_total = rd_u64(m, model::TOKENS_BOUGHT).checked_add(bought).ok_or(err::ARITHMETIC_OVERFLOW)?;
    wr_u64(m, model::USDC_SPENT, spent_total);
    wr_u64(m, model::TOKENS_BOUGHT, bought_total);
    wr_i64(m, model::LAST_BUYBACK_TS, now);

    let mut e = events::start(&event::BUYBACK_EXECUTED);
    e.key(model_acc.key()).key(swap_program.key()).u64(spent).u64(bought).u64(min_out);
    events::send(&e);
    Ok(())
}

/// A staging account (the model PDA's associated USDC account) and the USDC mint.
pub struct Stage {
    pub acc: Account,
    pub mint: Account,
}

impl Stage {
    /// Move amount_in from the revenue vault into the staging account; returns the
    /// staging balance before (counted with the vault's).
    #[inline(never)]
    pub fn fill(&self, b: &Buyback, usdc_tp: &Pubkey, signer: &Signer) -> Result<u64, u32> {
        let before = token::account_amount(self.acc.data());
        let decimals = token::mint_decimals(self.mint.data());
        let (vault, model) = (b.revenue_vault, b.model_acc);
        token::transfer_checked(usdc_tp, vault, &self.mint, &self.acc, model, b.amount_in, decimals, Some(signer))?;
        Ok(before)
    }

    /// Sweep the whole staging balance back into the vault (the account must still be ours).
    #[inline(never)]
    pub fn sweep(&self, b: &Buyback, usdc_tp: &Pubkey, signer: &Signer) -> ProgramResult {
        checks::token_account_of(&self.acc, usdc_tp, self.mint.key())?;
        checks::vault_intact(&self.acc, b.model_acc.key(), self.acc.data_len())?;
        let left = token::account_amount(self.acc.data());
        let decimals = token::mint_decimals(self.mint.data());
        let (vault, model) = (b.revenue_vault, b.model_acc);
        token::transfer_checked(usdc_tp, &self.acc, &self.mint, vault, model, left, decimals, Some(signer))
    }
}

/// The model PDA's associated USDC account, when the route names it, and the
/// USDC mint account (which the route must then name too). Any other USDC
/// account of the model PDA in the route is not staged (nor counted).
#[inline(never)]
pub fn staging(
    remaining: &[Account],
    model_acc: &Account,
    revenue_vault: &Account,
    usdc_tp: &Pubkey,
    usdc_mint: &Pubkey,
) -> Result<Option<Stage>, u32> {
    let mut candidate: Option<Account> = None;
    let mut mint: Option<Account> = None;
    let mut j = 0;
    while j < remaining.len() {
        let a = &remaining[j];
        if key_eq(a.key(), usdc_mint) {
            mint = Some(*a);
        } else if candidate.is_none()
            && !key_eq(a.key(), revenue_vault.key())
            && a.is_writable()
            && token::is_token_account(a, usdc_tp)
            && key_eq(&token::account_mint(a.data()), usdc_mint)
            && key_eq(&token::account_owner(a.data()), model_acc.key())
        {
            candidate = Some(*a);
        }
        j += 1;
    }
    let Some(acc) = candidate else { return Ok(None) };
    let ata = pda::find(&[model_acc.key(), usdc_tp, usdc_mint], &ASSOCIATED_TOKEN_PROGRAM);
    match ata {
        Some((key, _)) if key_eq(&key, acc.key()) => {}
        _ => return Ok(None),
    }
    let Some(mint) = mint else { return Err(err::NOT_ENOUGH_ACCOUNTS) };
    checks::vault_intact(&acc, model_acc.key(), acc.data_len())?;
    Ok(Some(Stage { acc, mint }))
}
