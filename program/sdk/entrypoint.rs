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
    let mut slot = table;
    let end = table.add(n);
    while slot < end {
        let dup = *p;
        if dup == NON_DUP_MARKER {
            slot.write(Account { raw: p });
            let data_len = *(p.add(80) as *const u64) as usize;
            p = p.add((data_len + RECORD_STEP) & !7);
        } else {
            // The runtime names only earlier entries (dup < i), already written.
            slot.write(*table.add(dup as usize));
            p = p.add(8);
        }
        slot = slot.add(1);
    }
    out.data_len = *(p as *const u64) as usize;
    p = p.add(8);
    out.data = p;
    p = p.add(out.data_len);
    out.program_id = p as *const Pubkey;
    Some(out)
}

/// The instruction data, read through the address the runtime passes in r2
/// (SIMD-0321, active on mainnet since slot 410,400,000; its length is the u64
/// before it). `None` on a runtime that does not pass it (r2 is then 0): parse
/// the whole input instead.
#[inline(always)]
pub unsafe fn data_from_r2<'a>(r2: *const u8) -> Option<&'a [u8]> {
    if r2.is_null() {
        return None;
    }
    Some(core::slice::from_raw_parts(r2, *(r2.sub(8) as *const u64) as usize))
}

/// The program id: the 32 bytes the runtime serializes right after the
/// instruction data.
#[inline(always)]
pub unsafe fn program_id_after<'a>(data: &[u8]) -> &'a Pubkey {
    &*(data.as_ptr().add(data.len()) as *const Pubkey)
}

/// The first `N` accounts of the input, when there are at least `N` and none
/// of them is a duplicate entry; otherwise `None` (the caller then parses the
/// whole input with `deserialize`, which handles both). For instructions whose
/// data is known from r2: no table, no loop, the records walked once.
#[inline(always)]
pub unsafe fn first_accounts<const N: usize>(input: *mut u8) -> Option<[Account; N]> {
    if (*(input as *const u64) as usize) < N {
        return None;
    }
    let mut out = [Account { raw: core::ptr::null_mut() }; N];
    let mut p = input.add(8);
    let mut i = 0;
    while i < N {
        if *p != NON_DUP_MARKER {
            return None;
        }
        out[i] = Account { raw: p };
        let data_len = *(p.add(80) as *const u64) as usize;
        p = p.add((data_len + RECORD_STEP) & !7);
        i += 1;
    }
    Some(out)
}

/// A non-duplicate account record is 88 header bytes, its data, the realloc
/// reserve, padding to 8 and the 8-byte rent epoch; records start 8-aligned, so
/// the whole record is (data_len + RECORD_STEP) rounded down to 8.
const RECORD_STEP: usize = 88 + MAX_PERMITTED_DATA_INCREASE + 7 + 8;

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
