//! Account checks shared by the processors. Each names the attack it stops.

use crate::generated::{err, pool};
use crate::sdk::account::Account;
use crate::sdk::bytes::key_eq;
use crate::sdk::ids::{is_token_program, SYSTEM_PROGRAM, TOKEN_2022_PROGRAM};
use crate::sdk::token;
use crate::sdk::{ProgramResult, Pubkey};

/// Stops anyone acting for an account whose key they do not hold.
pub fn signer(a: &Account) -> ProgramResult {
    if a.is_signer() {
        Ok(())
    } else {
        Err(err::MISSING_SIGNER)
    }
}

/// Fails early, with our own code, where the runtime would fail later.
pub fn writable(a: &Account) -> ProgramResult {
    if a.is_writable() {
        Ok(())
    } else {
        Err(err::NOT_WRITABLE)
    }
}

/// Stops one account being passed in two roles (e.g. the user's destination
/// being the pool's own vault, which would turn a swap into a self-transfer).
pub fn distinct(a: &Account, b: &Account) -> ProgramResult {
    if a.same(b) {
        Err(err::DUPLICATE_ACCOUNT)
    } else {
        Ok(())
    }
}

pub fn key_is(a: &Account, expected: &Pubkey, code: u32) -> ProgramResult {
    if key_eq(a.key(), expected) {
        Ok(())
    } else {
        Err(code)
    }
}

/// Stops a fake "system program" from receiving our signed create CPIs.
pub fn system_program(a: &Account) -> ProgramResult {
    key_is(a, &SYSTEM_PROGRAM, err::INVALID_PROGRAM_ID)
}

/// A pool of this program: owner, exact length and discriminator. Only this
/// program writes the discriminator, and only into the canonical PDA of a
/// mint pair at create_pool, so this also proves the address (no type
/// cosplay, no look-alike owned by another program).
#[allow(clippy::mut_from_ref)]
pub fn pool_data<'a>(a: &'a Account, program_id: &Pubkey) -> Result<&'a mut [u8], u32> {
    if !a.is_owned_by(program_id) {
        return Err(err::INVALID_ACCOUNT_OWNER);
    }
    if a.data_len() != pool::LEN {
        return Err(err::INVALID_DISCRIMINATOR);
    }
    let d = a.data_mut();
    let mut i = 0;
    while i < 8 {
        if d[i] != pool::DISCRIMINATOR[i] {
            return Err(err::INVALID_DISCRIMINATOR);
        }
        i += 1;
    }
    Ok(d)
}

/// `token_program` is SPL Token or Token-2022 and owns `mint`: stops a fake
/// token program (which would "transfer" nothing) and a mint/program mix-up.
pub fn token_program_of(token_program: &Account, mint: &Account) -> ProgramResult {
    if !is_token_program(token_program.key()) || !mint.is_owned_by(token_program.key()) {
        return Err(err::INVALID_TOKEN_PROGRAM);
    }
    Ok(())
}

/// An initialized token account of `mint` under `token_program`; returns its
/// balance. The owner check comes first: data of any other owner is forged.
pub fn token_account_amount(acc: &Account, mint: &Pubkey, token_program: &Pubkey) -> Result<u64, u32> {
    if !token::is_token_account(acc, token_program) {
        return Err(err::INVALID_TOKEN_ACCOUNT);
    }
    let d = acc.data();
    if !key_eq(crate::state::key_at(d, 0), mint) {
        return Err(err::INVALID_TOKEN_ACCOUNT);
    }
    Ok(token::account_amount(d))
}

/// Token-2022 mint extensions a pool accepts (ExtensionType values):
/// TransferFeeConfig 1 (fees are measured as balance deltas),
/// InterestBearingConfig 10 and ScaledUiAmount 25 (display only),
/// MetadataPointer 18, TokenMetadata 19, GroupPointer 20, TokenGroup 21,
/// GroupMemberPointer 22, TokenGroupMember 23 (metadata only).
/// Everything else is refused: PermanentDelegate could drain a vault,
/// DefaultAccountState / Pausable could freeze one, TransferHook needs
/// accounts we do not pass, NonTransferable cannot trade, MintCloseAuthority
/// and the confidential extensions move value outside public balances.
fn extension_allowed(t: u16) -> bool {
    t == 1 || t == 10 || (t >= 18 && t <= 23) || t == 25
}

/// Walk a Token-2022 mint's TLV area (after the 82-byte base, padding to
/// 165 and the AccountType byte) and refuse any extension off the list.
pub fn mint_extensions_allowed(mint: &Account, token_program: &Pubkey) -> ProgramResult {
    if !key_eq(token_program, &TOKEN_2022_PROGRAM) {
        return Ok(()); // SPL Token mints have no extensions
    }
    let d = mint.data();
    let n = d.len();
    if n <= token::MINT_LEN {
        return Ok(());
    }
    let mut off = token::ACCOUNT_LEN + 1;
    while off + 4 <= n {
        let t = (d[off] as u16) | ((d[off + 1] as u16) << 8);
        let len = (d[off + 2] as usize) | ((d[off + 3] as usize) << 8);
        if t == 0 {
            break; // Uninitialized: end of the extensions (Token-2022 stops here too)
        }
        if !extension_allowed(t) {
            return Err(err::UNSUPPORTED_MINT_EXTENSION);
        }
        off += 4 + len;
    }
    Ok(())
}
