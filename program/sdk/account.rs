//! A view of one account inside the runtime's serialized input buffer.
//! Reads and writes go straight to the buffer, so changes made by a CPI
//! (lamports, data length, owner) are seen immediately.

use super::bytes::key_eq;
use super::Pubkey;

const OFF_SIGNER: usize = 1;
const OFF_WRITABLE: usize = 2;
const OFF_EXECUTABLE: usize = 3;
const OFF_KEY: usize = 8;
const OFF_OWNER: usize = 40;
const OFF_LAMPORTS: usize = 72;
const OFF_DATA_LEN: usize = 80;
const OFF_DATA: usize = 88;
/// Bytes the runtime lets a program grow an account by, per instruction.
pub const MAX_PERMITTED_DATA_INCREASE: usize = 10_240;

#[derive(Clone, Copy)]
pub struct Account {
    pub raw: *mut u8,
}

impl Account {
    #[inline(always)]
    pub fn key(&self) -> &Pubkey {
        unsafe { &*(self.raw.add(OFF_KEY) as *const Pubkey) }
    }
    #[inline(always)]
    pub fn owner(&self) -> &Pubkey {
        unsafe { &*(self.raw.add(OFF_OWNER) as *const Pubkey) }
    }
    #[inline(always)]
    pub fn is_signer(&self) -> bool {
        unsafe { *self.raw.add(OFF_SIGNER) != 0 }
    }
    #[inline(always)]
    pub fn is_writable(&self) -> bool {
        unsafe { *self.raw.add(OFF_WRITABLE) != 0 }
    }
    #[inline(always)]
    pub fn executable(&self) -> bool {
        unsafe { *self.raw.add(OFF_EXECUTABLE) != 0 }
    }
    #[inline(always)]
    pub fn lamports(&self) -> u64 {
        unsafe { *(self.raw.add(OFF_LAMPORTS) as *const u64) }
    }
    #[inline(always)]
    pub fn set_lamports(&self, v: u64) {
        unsafe { *(self.raw.add(OFF_LAMPORTS) as *mut u64) = v }
    }
    #[inline(always)]
    pub fn data_len(&self) -> usize {
        unsafe { *(self.raw.add(OFF_DATA_LEN) as *const u64) as usize }
    }
    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        unsafe { core::slice::from_raw_parts(self.raw.add(OFF_DATA), self.data_len()) }
    }
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub fn data_mut(&self) -> &mut [u8] {
        unsafe { core::slice::from_raw_parts_mut(self.raw.add(OFF_DATA), self.data_len()) }
    }
    #[inline(always)]
    pub fn is_owned_by(&self, program: &Pubkey) -> bool {
        key_eq(self.owner(), program)
    }
    #[inline(always)]
    pub fn same(&self, other: &Account) -> bool {
        key_eq(self.key(), other.key())
    }
    /// This account's key equals the 32 bytes at `other`, compared word by word
    /// with an early exit. Through raw pointers, so the compiler cannot load
    /// all four words ahead of the first compare: the branches stay (where
    /// `key_eq` of a flag that is also kept as a value may become four
    /// compares and a select chain).
    #[inline(always)]
    pub fn key_equals(&self, other: *const u8) -> bool {
        unsafe {
            let a = self.raw.add(OFF_KEY) as *const u64;
            let b = other as *const u64;
            core::ptr::read_unaligned(a) == core::ptr::read_unaligned(b)
                && core::ptr::read_unaligned(a.add(1)) == core::ptr::read_unaligned(b.add(1))
                && core::ptr::read_unaligned(a.add(2)) == core::ptr::read_unaligned(b.add(2))
                && core::ptr::read_unaligned(a.add(3)) == core::ptr::read_unaligned(b.add(3))
        }
    }
    /// Pointers used to describe this account to `sol_invoke_signed_c`.
    #[inline(always)]
    pub fn key_ptr(&self) -> *const Pubkey {
        unsafe { self.raw.add(OFF_KEY) as *const Pubkey }
    }
    #[inline(always)]
    pub fn owner_ptr(&self) -> *const Pubkey {
        unsafe { self.raw.add(OFF_OWNER) as *const Pubkey }
    }
    #[inline(always)]
    pub fn lamports_ptr(&self) -> *mut u64 {
        unsafe { self.raw.add(OFF_LAMPORTS) as *mut u64 }
    }
    #[inline(always)]
    pub fn data_ptr(&self) -> *mut u8 {
        unsafe { self.raw.add(OFF_DATA) }
    }
    /// Close a program-owned account: lamports to `dest`, length 0, owner
    /// back to the System program. A closed account can never pass a
    /// discriminator check again, even if re-funded. Its bytes need no
    /// zeroing: the runtime keeps only the first `data_len` bytes of an
    /// account, and an empty account is one the System program may own.
    pub fn close_into(&self, dest: &Account) -> Result<(), u32> {
        let moved = self.lamports();
        // `held + moved` overflows exactly when held > u64::MAX - moved (= !moved):
        // one compare (`checked_add` lowers to a select on this target).
        let held = dest.lamports();
        if held > !moved {
            return Err(super::entrypoint::ERR_ARITHMETIC);
        }
        dest.set_lamports(held + moved);
        self.set_lamports(0);
        unsafe {
            *(self.raw.add(OFF_DATA_LEN) as *mut u64) = 0;
            let owner = self.raw.add(OFF_OWNER) as *mut u64;
            let mut j = 0;
            while j < 4 {
                *owner.add(j) = 0;
                j += 1;
            }
        }
        Ok(())
    }
}
