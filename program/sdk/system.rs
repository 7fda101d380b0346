//! System-program CPIs: create a PDA account owned by a program, robust to
//! an address that was pre-funded by someone else (transfer + allocate +
//! assign instead of create_account, as Anchor does).

use super::account::Account;
use super::bytes::Writer;
use super::cpi::{invoke, Meta, Signer};
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

/// System transfer of `lamports` from `from` (a signer, or a PDA of `signer`) to `to`.
pub fn transfer(from: &Account, to: &Account, lamports: u64, signer: Option<&Signer>) -> Result<(), u32> {
    let mut t = Writer::<12>::new();
    t.u32(2).u64(lamports);
    invoke(&SYSTEM_PROGRAM, &[Meta::ws(from), Meta::w(to)], t.as_slice(), signer)
}
