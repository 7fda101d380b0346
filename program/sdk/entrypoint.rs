//! Deserialisation of the runtime's input buffer (aligned layout used by the
//! BPF loader 2 and the upgradeable loader).

use super::account::{Account, MAX_PERMITTED_DATA_INCREASE};
use super::heap;
use super::Pubkey;

/// Most accounts one instruction may carry into our programs: every entry the
/// runtime can serialize (a duplicate names its first occurrence by a one-byte
/// index, 0xff meaning "not a duplicate"). The list lives in the heap
/// (`heap::ACCOUNTS_OFF`), not on the stack.
pub const MAX_ACCOUNTS: usize = 255;
const NON_DUP_MARKER: u8 = 0xff;

/// Error codes every program of ours reserves (first two entries of each IDL).
pub const ERR_INVALID_INSTRUCTION_DATA: u32 = 6000;
pub const ERR_ARITHMETIC: u32 = 6001;

pub struct Input {
    pub program_id: *const Pubkey,
    pub accounts: *mut Account,
    pub num_accounts: usize,
    pub data: *const u8,
    pub data_len: usize,
}

/// Parse the input. Duplicate account entries point at the record of the
/// first occurrence, so `a.same(&b)` and pointer identity both detect them.
/// Returns `None` when more than `MAX_ACCOUNTS` accounts were passed.
#[inline(always)]
pub unsafe fn deserialize(input: *mut u8) -> Option<Input> {
    let mut p = input;
    let n = *(p as *const u64) as usize;
    p = p.add(8);
    if n > MAX_ACCOUNTS {
        return None;
    }
    let table = heap::region::<Account>(heap::ACCOUNTS_OFF);
    let mut out = Input {
        program_id: core::ptr::null(),
        accounts: table,
        num_accounts: n,
        data: core::ptr::null(),
        data_len: 0,
    };
    let mut i = 0;
    while i < n {
        let dup = *p;
        if dup == NON_DUP_MARKER {
            table.add(i).write(Account { raw: p });
            let data_len = *(p.add(80) as *const u64) as usize;
            let mut off = 88 + data_len + MAX_PERMITTED_DATA_INCREASE;
            off = (off + 7) & !7;
            off += 8; // rent_epoch
            p = p.add(off);
        } else {
            // The runtime names only earlier entries (dup < i), already written.
            table.add(i).write(*table.add(dup as usize));
            p = p.add(8);
        }
        i += 1;
    }
    out.data_len = *(p as *const u64) as usize;
    p = p.add(8);
    out.data = p;
    p = p.add(out.data_len);
    out.program_id = p as *const Pubkey;
    Some(out)
}

impl Input {
    #[inline(always)]
    pub fn program_id(&self) -> &Pubkey {
        unsafe { &*self.program_id }
    }
    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        unsafe { core::slice::from_raw_parts(self.data, self.data_len) }
    }
    #[inline(always)]
    pub fn accounts(&self) -> &[Account] {
        unsafe { core::slice::from_raw_parts(self.accounts, self.num_accounts) }
    }
}

/// Encode a custom program error for the runtime (`ProgramError::Custom`).
#[inline(always)]
pub fn custom_error(code: u32) -> u64 {
    code as u64
}
