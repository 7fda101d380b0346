//! settle_batch: the settler settles N paid calls of one (model, provider)
//! at once. The batch's total is split once (crate::fees::split) and paid
//! from `source`: the model's x402 inbox (an account owned by the inbox
//! authority PDA ["inbox", model], signed for by the program) or a USDC
//! account whose signing authority the settler controls (credits rail).
//! `root` is the Merkle root over the calls (bourse_chain.merkle); nothing
//! per call is stored. Replay protection is the stream PDA
//! ["stream", model, provider], created on the first batch: a batch must
//! carry the stream's next sequence (else WrongSequence, nothing moves), and
//! every root is chained into the stream's running hash.

use crate::checks;
use crate::events;
use crate::fees::split;
use crate::generated::{config, err, event, model, model_status, provider, settlement_stream as st};
use crate::sdk::account::Account;
use crate::sdk::bytes::{key_eq, rd_key, rd_u16, rd_u64, rd_u8, wr_i64, wr_key, wr_u64, wr_u8, Reader};
use crate::sdk::cpi::Signer;
use crate::sdk::hash::sha256;
use crate::sdk::ids::SYSTEM_PROGRAM;
use crate::sdk::sysvars::clock;
use crate::sdk::{pda, token, ProgramResult, Pubkey};
use crate::seeds;

fn add(d: &mut [u8], off: usize, v: u64) -> ProgramResult {
    let n = rd_u64(d, off).checked_add(v).ok_or(err::ARITHMETIC_OVERFLOW)?;
    wr_u64(d, off, n);
    Ok(())
}

/// The stream of (model, provider): created (rent paid by the settler) on
/// the first batch, else checked to be ours and of this pair.
#[inline(never)]
fn load_stream<'a>(
    settler: &Account,
    stream: &'a Account,
    model_acc: &Account,
    provider_acc: &Account,
    program_id: &Pubkey,
) -> Result<&'a mut [u8], u32> {
    if stream.is_owned_by(&SYSTEM_PROGRAM) && stream.data_len() == 0 {
        let bump = checks::init_pda(
            settler, stream, program_id, &[seeds::STREAM, model_acc.key(), provider_acc.key()], st::LEN,
            &st::DISCRIMINATOR,
        )?;
        let (inbox, inbox_bump) = pda::find(&[seeds::INBOX, model_acc.key()], program_id).ok_or(err::INVALID_PDA)?;
        let d = stream.data_mut();
        wr_key(d, st::MODEL, model_acc.key());
        wr_key(d, st::PROVIDER, provider_acc.key());
        wr_key(d, st::INBOX_AUTHORITY, &inbox);
        wr_u8(d, st::BUMP, bump);
        wr_u8(d, st::INBOX_BUMP, inbox_bump);
        return Ok(d);
    }
    checks::writable(stream)?;
    let d = checks::typed(stream, program_id, &st::DISCRIMINATOR, st::LEN)?;
    checks::key_is(model_acc, &rd_key(d, st::MODEL), err::ACCOUNT_MISMATCH)?;
    checks::key_is(provider_acc, &rd_key(d, st::PROVIDER), err::ACCOUNT_MISMATCH)?;
    Ok(d)
}

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [settler, cfg_acc, model_acc, provider_acc, stream, source, source_authority, payout, revenue_vault, treasury, usdc_mint, usdc_tp, system, ..] =
        accounts
    else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let sequence = r.u64()?;
    let count = r.u64()?;
    let total = r.u64()?;
    let root = r.array32()?;
    r.finish()?;

    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::config_authority(settler, cfg, config::SETTLER)?;
    checks::writable(settler)?;
    checks::not_paused(cfg)?;
    checks::system_program(system)?;
    checks::usdc(usdc_mint, usdc_tp, cfg)?;
    if total == 0 {
        return Err(err::ZERO_AMOUNT);
    }
    if count == 0 || count > total {
        return Err(err::INVALID_BATCH);
    }
    checks::writable(model_acc)?;
    checks::writable(provider_acc)?;
    let m = checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    if rd_u8(m, model::STATUS) != model_status::APPROVED {
        return Err(err::MODEL_NOT_APPROVED);
    }
    let p = checks::typed(provider_acc, program_id, &provider::DISCRIMINATOR, provider::LEN)?;
    checks::key_is(payout, &rd_key(p, provider::PAYOUT), err::ACCOUNT_MISMATCH)?;
    checks::key_is(revenue_vault, &rd_key(m, model::REVENUE_VAULT), err::ACCOUNT_MISMATCH)?;
    checks::treasury(treasury, cfg)?;
    checks::writable(source)?;
    checks::token_account_of(source, usdc_tp.key(), usdc_mint.key())?;
    // Paying oneself would book volume with no money moving.
    checks::distinct(source, payout)?;
    checks::distinct(source, revenue_vault)?;
    checks::distinct(source, treasury)?;

    let s_data = load_stream(settler, stream, model_acc, provider_acc, program_id)?;
    if sequence != rd_u64(s_data, st::NEXT_SEQUENCE) {
        return Err(err::WRONG_SEQUENCE);
    }
    let from_inbox = key_eq(source_authority.key(), &rd_key(s_data, st::INBOX_AUTHORITY));
    if !from_inbox {
        checks::signer(source_authority)?;
    }

    let s = split(total, rd_u16(cfg, config::PROTOCOL_FEE_BPS), rd_u16(m, model::FEE_BPS))
        .ok_or(err::ARITHMETIC_OVERFLOW)?;
    let decimals = token::mint_decimals(usdc_mint.data());
    let tp = usdc_tp.key();
    let inbox_bump = [rd_u8(s_data, st::INBOX_BUMP)];
    let inbox_signer = Signer::new(&[seeds::INBOX, model_acc.key(), &inbox_bump]);
    let signer = if from_inbox { Some(&inbox_signer) } else { None };
    let legs = [(payout, s.provider), (revenue_vault, s.creator), (treasury, s.protocol)];
    token::transfer_checked_many(tp, source, usdc_mint, source_authority, &legs, decimals, signer)?;

    let seq_le = sequence.to_le_bytes();
    let count_le = count.to_le_bytes();
    let total_le = total.to_le_bytes();
    let prev = rd_key(s_data, st::RUNNING_HASH);
    let running = sha256(&[&prev, &root, &seq_le, &count_le, &total_le]);
    let d = stream.data_mut();
    wr_key(d, st::RUNNING_HASH, &running);
    wr_key(d, st::LAST_ROOT, &root);
    wr_u64(d, st::NEXT_SEQUENCE, sequence.checked_add(1).ok_or(err::ARITHMETIC_OVERFLOW)?);
    add(d, st::CALLS_SETTLED, count)?;
    add(d, st::VOLUME, total)?;
    wr_u64(d, st::LAST_COUNT, count);
    wr_u64(d, st::LAST_TOTAL, total);
    wr_u64(d, st::LAST_PROVIDER_AMOUNT, s.provider);
    wr_u64(d, st::LAST_CREATOR_FEE, s.creator);
    wr_u64(d, st::LAST_PROTOCOL_FEE, s.protocol);
    wr_i64(d, st::LAST_SETTLED_AT, clock().unix_timestamp);

    let m = model_acc.data_mut();
    add(m, model::TOTAL_VOLUME, total)?;
    add(m, model::TOTAL_CREATOR_FEES, s.creator)?;
    add(m, model::TOTAL_PROTOCOL_FEES, s.protocol)?;
    add(m, model::TOTAL_PROVIDER_PAYOUTS, s.provider)?;
    add(m, model::SETTLEMENT_COUNT, count)?;
    add(provider_acc.data_mut(), provider::TOTAL_EARNED, s.provider)?;

    let mut e = events::start(&event::BATCH_SETTLED);
    e.key(stream.key()).key(model_acc.key()).key(provider_acc.key()).key(source.key());
    e.u64(sequence).u64(count).u64(total).raw(&root).raw(&running);
    e.u64(s.provider).u64(s.creator).u64(s.protocol);
    events::send(&e);
    Ok(())
}
