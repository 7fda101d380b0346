//! Fixed scratch regions in the SBPF heap (`0x3_0000_0000`, 32 KiB, a fresh
//! one for every program invocation, CPIs included). Our programs allocate
//! nothing, so the heap holds the large per-instruction tables that would not
//! fit a 4 KiB stack frame: the parsed account list (up to `MAX_ACCOUNTS`) and
//! the C-ABI account arrays of one CPI (up to `MAX_CPI_ACCOUNTS`). Nothing
//! here is zero-filled: only the first n slots are ever written, then read.
//!
//! A program built on this sdk must not also use `alloc` (the toolchain's
//! bump allocator starts at the same address).

use super::account::Account;
use super::cpi::{Meta, SolAccountInfo, SolAccountMeta, MAX_CPI_ACCOUNTS};
use super::entrypoint::MAX_ACCOUNTS;

/// Where the runtime maps the heap (SBPF v0 memory map).
pub const HEAP_START: u64 = 0x3_0000_0000;
/// The heap size every invocation gets without a `RequestHeapFrame`.
pub const HEAP_LEN: usize = 32 * 1024;

const fn up8(n: usize) -> usize {
    (n + 7) & !7
}

/// `Account` records of the instruction, in order (entrypoint).
pub const ACCOUNTS_OFF: usize = 0;
const ACCOUNTS_LEN: usize = up8(MAX_ACCOUNTS * core::mem::size_of::<Account>());
/// `SolAccountMeta`s of the CPI being built.
pub const CPI_METAS_OFF: usize = ACCOUNTS_OFF + ACCOUNTS_LEN;
const CPI_METAS_LEN: usize = up8(MAX_CPI_ACCOUNTS * core::mem::size_of::<SolAccountMeta>());
/// `SolAccountInfo`s of the CPI being built.
pub const CPI_INFOS_OFF: usize = CPI_METAS_OFF + CPI_METAS_LEN;
const CPI_INFOS_LEN: usize = up8(MAX_CPI_ACCOUNTS * core::mem::size_of::<SolAccountInfo>());
/// A list of `Meta`s a handler forwards (buyback's route), before the CPI.
pub const FORWARD_OFF: usize = CPI_INFOS_OFF + CPI_INFOS_LEN;
const FORWARD_LEN: usize = up8(MAX_CPI_ACCOUNTS * core::mem::size_of::<Meta>());
/// First byte past the regions above.
pub const USED: usize = FORWARD_OFF + FORWARD_LEN;

const _: () = assert!(USED <= HEAP_LEN, "sdk heap regions exceed the 32 KiB heap");

/// The region at `off` as a typed pointer.
#[inline(always)]
pub fn region<T>(off: usize) -> *mut T {
    (HEAP_START + off as u64) as *mut T
}
