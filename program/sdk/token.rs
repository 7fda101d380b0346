//! SPL Token / Token-2022 account layouts and the CPIs we make.
//! Both programs share the 165-byte base account and 82-byte base mint.

use super::account::Account;
use super::bytes::{rd_key, rd_u32, rd_u64, Writer};
use super::cpi::{invoke, invoke_with_infos, Meta, Signer};
use super::ids::{TOKEN_2022_PROGRAM, TOKEN_PROGRAM};
use super::invoke::invoke_n;
use super::syscalls::sol_get_return_data;
use super::Pubkey;

pub const ACCOUNT_LEN: usize = 165;
pub const MINT_LEN: usize = 82;

// Token account fields.
pub fn account_mint(d: &[u8]) -> Pubkey {
    rd_key(d, 0)
}
pub fn account_owner(d: &[u8]) -> Pubkey {
    rd_key(d, 32)
}
pub fn account_amount(d: &[u8]) -> u64 {
    rd_u64(d, 64)
}
/// Initialized (1) or frozen (2); 0 = uninitialized.
pub fn account_state(d: &[u8]) -> u8 {
    d[108]
}
/// COption<Pubkey> delegate (tag at 72).
pub fn account_has_delegate(d: &[u8]) -> bool {
    rd_u32(d, 72) != 0
}
/// COption<Pubkey> close authority (tag at 129).
pub fn account_has_close_authority(d: &[u8]) -> bool {
    rd_u32(d, 129) != 0
}

// Mint fields.
pub fn mint_has_authority(d: &[u8]) -> bool {
    rd_u32(d, 0) != 0
}
pub fn mint_supply(d: &[u8]) -> u64 {
    rd_u64(d, 36)
}
pub fn mint_decimals(d: &[u8]) -> u8 {
    d[44]
}
pub fn mint_is_initialized(d: &[u8]) -> bool {
    d[45] != 0
}
pub fn mint_has_freeze_authority(d: &[u8]) -> bool {
    rd_u32(d, 46) != 0
}

/// True when `acc` is an initialized token account of `token_program`
/// (owner check first: data of any other owner is not trusted).
pub fn is_token_account(acc: &Account, token_program: &Pubkey) -> bool {
    acc.is_owned_by(token_program) && acc.data_len() >= ACCOUNT_LEN && {
        let d = acc.data();
        // Token-2022 accounts longer than the base carry AccountType=2 at 165.
        (d.len() == ACCOUNT_LEN || d[ACCOUNT_LEN] == 2) && account_state(d) != 0
    }
}

/// True when `acc` is an initialized mint of `token_program`.
pub fn is_mint(acc: &Account, token_program: &Pubkey) -> bool {
    acc.is_owned_by(token_program) && acc.data_len() >= MINT_LEN && {
        let d = acc.data();
        (d.len() == MINT_LEN || (d.len() > ACCOUNT_LEN && d[ACCOUNT_LEN] == 1)) && mint_is_initialized(d)
    }
}

#[inline(always)]
pub fn transfer_checked(
    token_program: &Pubkey,
    from: &Account,
    mint: &Account,
    to: &Account,
    authority: &Account,
    amount: u64,
    decimals: u8,
    signer: Option<&Signer>,
) -> Result<(), u32> {
    if amount == 0 {
        return Ok(());
    }
    let mut d = Writer::<10>::new();
    d.u8(12).u64(amount).u8(decimals);
    invoke_n(
        token_program,
        &[Meta::w(from), Meta::r(mint), Meta::w(to), Meta::rs(authority)],
        d.as_slice(),
        signer,
    )
}

/// Plain Transfer (no mint account, no decimals: p-token 76 CU instead of 105 and one
/// account fewer in the CPI). Only for accounts of a mint without extensions that need the
/// mint (transfer fee, hooks, non-transferable — Token-2022 refuses those with
/// MintRequiredForTransfer anyway); the token program checks both accounts share a mint.
#[inline(always)]
pub fn transfer(
    token_program: &Pubkey,
    from: &Account,
    to: &Account,
    authority: &Account,
    amount: u64,
    signer: Option<&Signer>,
) -> Result<(), u32> {
    if amount == 0 {
        return Ok(());
    }
    // A plain array, not a `Writer`: its length is a constant, never stored.
    let mut d = [3u8; 9];
    d[1..].copy_from_slice(&amount.to_le_bytes());
    invoke_n(token_program, &[Meta::w(from), Meta::w(to), Meta::rs(authority)], &d, signer)
}

/// Several transfer_checked from one account (one authority) in one CPI: SPL Token's
/// (p-token's) `Batch` instruction (255) when `token_program` is SPL Token and more than one
/// leg moves money; one CPI per leg under Token-2022. Zero legs are skipped.
pub fn transfer_checked_many(
    token_program: &Pubkey,
    from: &Account,
    mint: &Account,
    authority: &Account,
    legs: &[(&Account, u64)],
    decimals: u8,
    signer: Option<&Signer>,
) -> Result<(), u32> {
    let mut live = 0;
    let mut i = 0;
    while i < legs.len() {
        if legs[i].1 != 0 {
            live += 1;
        }
        i += 1;
    }
    if live == 0 {
        return Ok(());
    }
    if live == 1 || !super::bytes::key_eq(token_program, &TOKEN_PROGRAM) {
        let mut j = 0;
        while j < legs.len() {
            let (to, amount) = legs[j];
            transfer_checked(token_program, from, mint, to, authority, amount, decimals, signer)?;
            j += 1;
        }
        return Ok(());
    }
    let mut metas = [Meta::r(mint); 16];
    let mut infos = [Meta::r(mint); 7];
    infos[0] = Meta::w(from);
    infos[2] = Meta::rs(authority);
    let mut d = Writer::<64>::new();
    d.u8(255);
    let mut k = 0;
    let mut j = 0;
    while j < legs.len() && k < 4 {
        let (to, amount) = legs[j];
        j += 1;
        if amount == 0 {
            continue;
        }
        metas[4 * k] = Meta::w(from);
        metas[4 * k + 1] = Meta::r(mint);
        metas[4 * k + 2] = Meta::w(to);
        metas[4 * k + 3] = Meta::rs(authority);
        d.u8(4).u8(10).u8(12).u64(amount).u8(decimals);
        infos[3 + k] = Meta::w(to);
        k += 1;
    }
    invoke_with_infos(token_program, &metas[..4 * k], &infos[..3 + k], d.as_slice(), signer)
}

pub fn burn_checked(
    token_program: &Pubkey,
    from: &Account,
    mint: &Account,
    authority: &Account,
    amount: u64,
    decimals: u8,
    signer: Option<&Signer>,
) -> Result<(), u32> {
    let mut d = Writer::<10>::new();
    d.u8(15).u64(amount).u8(decimals);
    invoke(
        token_program,
        &[Meta::w(from), Meta::w(mint), Meta::rs(authority)],
        d.as_slice(),
        signer,
    )
}

/// Size a token account for `mint` needs (GetAccountDataSize, with the
/// ImmutableOwner extension requested on Token-2022).
pub fn account_size_for(token_program: &Pubkey, mint: &Account) -> Result<usize, u32> {
    let mut d = Writer::<3>::new();
    d.u8(21);
    let t22 = super::bytes::key_eq(token_program, &TOKEN_2022_PROGRAM);
    if t22 {
        d.u16(7);
    }
    invoke(token_program, &[Meta::r(mint)], d.as_slice(), None)?;
    let mut buf = [0u8; 8];
    let mut pid = [0u8; 32];
    let n = unsafe { sol_get_return_data(buf.as_mut_ptr(), 8, pid.as_mut_ptr()) };
    if n != 8 || !super::bytes::key_eq(&pid, token_program) {
        return Err(super::entrypoint::ERR_INVALID_INSTRUCTION_DATA);
    }
    Ok(rd_u64(&buf, 0) as usize)
}

/// Create a PDA token account for `mint` whose owner is `authority`.
pub fn create_pda_token_account(
    payer: &Account,
    account: &Account,
    mint: &Account,
    authority: &Pubkey,
    token_program: &Pubkey,
    signer: &Signer,
) -> Result<(), u32> {
    let space = account_size_for(token_program, mint)?;
    super::system::create_pda_account(payer, account, space, token_program, signer)?;
    if super::bytes::key_eq(token_program, &TOKEN_2022_PROGRAM) {
        invoke(token_program, &[Meta::w(account)], &[22u8], None)?;
    }
    let mut d = Writer::<33>::new();
    d.u8(18).key(authority);
    invoke(token_program, &[Meta::w(account), Meta::r(mint)], d.as_slice(), None)
}

/// Token-2022 HarvestWithheldTokensToMint.
pub fn harvest_withheld_to_mint(mint: &Account, sources: &[Account]) -> Result<(), u32> {
    let n = 1 + sources.len();
    if n > super::cpi::MAX_CPI_ACCOUNTS {
        return Err(super::entrypoint::ERR_INVALID_INSTRUCTION_DATA);
    }
    // Built in the heap: only the n entries used are written.
    let metas = super::heap::region::<Meta>(super::heap::FORWARD_OFF);
    unsafe {
        metas.write(Meta::w(mint));
        let mut i = 0;
        while i < sources.len() {
            metas.add(1 + i).write(Meta::w(&sources[i]));
            i += 1;
        }
    }
    let metas = unsafe { core::slice::from_raw_parts(metas as *const Meta, n) };
    invoke(&TOKEN_2022_PROGRAM, metas, &[26u8, 4u8], None)
}

/// Token-2022 WithdrawWithheldTokensFromMint, signed by the PDA authority.
pub fn withdraw_withheld_from_mint(
    mint: &Account,
    destination: &Account,
    authority: &Account,
    signer: &Signer,
) -> Result<(), u32> {
    invoke(
        &TOKEN_2022_PROGRAM,
        &[Meta::w(mint), Meta::w(destination), Meta::rs(authority)],
        &[26u8, 2u8],
        Some(signer),
    )
}
