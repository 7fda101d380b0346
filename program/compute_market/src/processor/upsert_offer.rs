//! upsert_offer: a provider creates or updates its price for one model at
//! PDA ["offer", model, provider]. A remaining account, if passed, becomes
//! the provider's payout account (same checks as at registration): a payout
//! account closed for good would otherwise leave the provider unpayable.

use crate::checks;
use crate::events;
use crate::generated::{err, event, model, offer, provider};
use crate::sdk::account::Account;
use crate::sdk::bytes::{rd_key, wr_i64, wr_key, wr_u64, wr_u8, Reader};
use crate::sdk::sysvars::clock;
use crate::sdk::{ProgramResult, Pubkey};
use crate::seeds;

#[inline(never)]
pub fn process(program_id: &Pubkey, accounts: &[Account], args: &[u8]) -> ProgramResult {
    let [authority, cfg_acc, provider_acc, model_acc, offer_acc, system, rest @ ..] = accounts else {
        return Err(err::NOT_ENOUGH_ACCOUNTS);
    };
    let mut r = Reader::new(args);
    let price_in = r.u64()?;
    let price_out = r.u64()?;
    let active = r.bool()?;
    r.finish()?;

    checks::signer(authority)?;
    checks::writable(authority)?;
    let cfg = checks::load_config(cfg_acc, program_id)?;
    checks::not_paused(cfg)?;
    checks::system_program(system)?;
    let p = checks::typed(provider_acc, program_id, &provider::DISCRIMINATOR, provider::LEN)?;
    checks::key_is(authority, &rd_key(p, provider::AUTHORITY), err::UNAUTHORIZED)?;
    if let Some(new_payout) = rest.first() {
        checks::writable(provider_acc)?;
        checks::payout(new_payout, cfg)?;
    }
    checks::typed(model_acc, program_id, &model::DISCRIMINATOR, model::LEN)?;
    checks::writable(offer_acc)?;

    let o = if offer_acc.is_owned_by(program_id) {
        let o = checks::typed(offer_acc, program_id, &offer::DISCRIMINATOR, offer::LEN)?;
        checks::key_is(model_acc, &rd_key(o, offer::MODEL), err::ACCOUNT_MISMATCH)?;
        checks::key_is(provider_acc, &rd_key(o, offer::PROVIDER), err::ACCOUNT_MISMATCH)?;
        o
    } else {
        let bump = checks::init_pda(
            authority, offer_acc, program_id, &[seeds::OFFER, model_acc.key(), provider_acc.key()],
            offer::LEN, &offer::DISCRIMINATOR,
        )?;
        let o = offer_acc.data_mut();
        wr_key(o, offer::MODEL, model_acc.key());
        wr_key(o, offer::PROVIDER, provider_acc.key());
        wr_u8(o, offer::BUMP, bump);
        o
    };
    wr_u64(o, offer::PRICE_INPUT_PER_MTOK, price_in);
    wr_u64(o, offer::PRICE_OUTPUT_PER_MTOK, price_out);
    wr_u8(o, offer::ACTIVE, active as u8);
    wr_i64(o, offer::UPDATED_AT, clock().unix_timestamp);

    let mut e = events::start(&event::OFFER_UPSERTED);
    e.key(offer_acc.key()).key(model_acc.key()).key(provider_acc.key()).u64(price_in).u64(price_out).bool(active);
    events::send(&e);

    if let Some(new_payout) = rest.first() {
        let old = rd_key(p, provider::PAYOUT);
        wr_key(p, provider::PAYOUT, new_payout.key());
        let mut e = events::start(&event::PROVIDER_PAYOUT_CHANGED);
        e.key(provider_acc.key()).key(&old).key(new_payout.key());
        events::send(&e);
    }
    Ok(())
}
