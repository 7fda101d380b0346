//! System-program CPIs: create a PDA account owned by a program, robust to
//! an address that was pre-funded by someone else (transfer + allocate +
//! assign instead of create_account, as Anchor does).

use super::account::Account;
use super::bytes::Writer;
use super::cpi::{invoke, Meta, Signer};
use super::invoke::invoke_n;
use super::ids::SYSTEM_PROGRAM;
use super::sysvars::minimum_balance;
use super::Pubkey;

pub fn create_pda_account(
    payer: &Account,
    new_account: &Account,
    space: usize,
    owner: &Pubkey,
    signer: &Signer,
) -> Result<(), u32> {
    let rent = minimum_balance(space);
    let current = new_account.lamports();
    if current == 0 {
        let mut d = Writer::<52>::new();
        d.u32(0).u64(rent).u64(space as u64).key(owner);
        return invoke(
            &SYSTEM_PROGRAM,
            &[Meta::ws(payer), Meta::ws(new_account)],
            d.as_slice(),
            Some(signer),
        );
    }
    if current < rent {
        let mut t = Writer::<12>::new();
        t.u32(2).u64(rent - current);
        invoke(&SYSTEM_PROGRAM, &[Meta::ws(payer), Meta::w(new_account)], t.as_slice(), None)?;
    }
    let mut a = Writer::<12>::new();
    a.u32(8).u64(space as u64);
    invoke(&SYSTEM_PROGRAM, &[Meta::ws(new_account)], a.as_slice(), Some(signer))?;
    let mut s = Writer::<36>::new();
    s.u32(1).key(owner);
    invoke(&SYSTEM_PROGRAM, &[Meta::ws(new_account)], s.as_slice(), Some(signer))
}

/// Create `new_account` at the address with seed (base `payer`, `seed`, `owner`: System
/// `create_with_seed`) — the payer both funds it and signs as its base, so no PDA
/// signature (and no bump) is involved. Robust to a pre-funded address: transfer the
/// shortfall, then AllocateWithSeed (allocate + assign in one). `seed` must be valid
/// UTF-8 of at most 32 bytes (the System program decodes it as a string).
pub fn create_account_with_seed(
    payer: &Account,
    new_account: &Account,
    seed: &[u8],
    space: usize,
    owner: &Pubkey,
) -> Result<(), u32> {
    let rent = minimum_balance(space);
    let current = new_account.lamports();
    if current == 0 {
        let mut d = Writer::<124>::new();
        d.u32(3).key(payer.key()).u64(seed.len() as u64).raw(seed).u64(rent).u64(space as u64).key(owner);
        return invoke_n(&SYSTEM_PROGRAM, &[Meta::ws(payer), Meta::w(new_account)], d.as_slice(), None);
    }
    if current < rent {
        let mut t = Writer::<12>::new();
        t.u32(2).u64(rent - current);
        invoke_n(&SYSTEM_PROGRAM, &[Meta::ws(payer), Meta::w(new_account)], t.as_slice(), None)?;
    }
    let mut a = Writer::<116>::new();
    a.u32(9).key(payer.key()).u64(seed.len() as u64).raw(seed).u64(space as u64).key(owner);
    invoke_n(&SYSTEM_PROGRAM, &[Meta::w(new_account), Meta::rs(payer)], a.as_slice(), None)
}

/// System transfer of `lamports` from `from` (a signer, or a PDA of `signer`) to `to`.
pub fn transfer(from: &Account, to: &Account, lamports: u64, signer: Option<&Signer>) -> Result<(), u32> {
    let mut t = Writer::<12>::new();
    t.u32(2).u64(lamports);
    invoke(&SYSTEM_PROGRAM, &[Meta::ws(from), Meta::w(to)], t.as_slice(), signer)
}
