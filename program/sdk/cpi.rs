//! Cross-program invocation through `sol_invoke_signed_c` (the C ABI).

use super::account::Account;
use super::heap;
use super::syscalls::sol_invoke_signed_c;
use super::Pubkey;

/// Most accounts one CPI of ours passes on (as metas, and as account infos):
/// the runtime's account-info limit for a CPI (agave `MAX_CPI_ACCOUNT_INFOS`,
/// 128; SIMD-0339 raises it to 255), above the 64 distinct accounts a
/// transaction may lock, so any route a transaction can carry fits. The C
/// arrays live in the heap (`heap::CPI_METAS_OFF`, `heap::CPI_INFOS_OFF`):
/// 128 infos are 7 KiB, more than a 4 KiB stack frame.
pub const MAX_CPI_ACCOUNTS: usize = 128;

#[repr(C)]
pub struct SolInstruction {
    pub program_id: *const Pubkey,
    pub accounts: *const SolAccountMeta,
    pub account_len: u64,
    pub data: *const u8,
    pub data_len: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SolAccountMeta {
    pub pubkey: *const Pubkey,
    pub is_writable: bool,
    pub is_signer: bool,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SolAccountInfo {
    pub key: *const Pubkey,
    pub lamports: *mut u64,
    pub data_len: u64,
    pub data: *mut u8,
    pub owner: *const Pubkey,
    pub rent_epoch: u64,
    pub is_signer: bool,
    pub is_writable: bool,
    pub executable: bool,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SolSignerSeed {
    pub addr: *const u8,
    pub len: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SolSignerSeeds {
    pub addr: *const SolSignerSeed,
    pub len: u64,
}

/// One account passed to a CPI, with the flags the callee sees.
#[derive(Clone, Copy)]
pub struct Meta {
    pub account: Account,
    pub writable: bool,
    pub signer: bool,
}

impl Meta {
    pub fn w(account: &Account) -> Self {
        Meta { account: *account, writable: true, signer: false }
    }
    pub fn r(account: &Account) -> Self {
        Meta { account: *account, writable: false, signer: false }
    }
    pub fn ws(account: &Account) -> Self {
        Meta { account: *account, writable: true, signer: true }
    }
    pub fn rs(account: &Account) -> Self {
        Meta { account: *account, writable: false, signer: true }
    }
}

/// Up to four seeds of one PDA signer.
pub struct Signer<'a> {
    pub seeds: [&'a [u8]; 4],
    pub count: usize,
}

impl<'a> Signer<'a> {
    pub fn new(seeds: &[&'a [u8]]) -> Self {
        let mut s: [&'a [u8]; 4] = [&[]; 4];
        let mut i = 0;
        while i < seeds.len() && i < 4 {
            s[i] = seeds[i];
            i += 1;
        }
        Signer { seeds: s, count: seeds.len() }
    }
}

/// Invoke `program_id` with `metas` (account infos are built from the same
/// list) and instruction `data`, signing for `signer` PDA when given.
#[inline(always)]
pub fn invoke(
    program_id: &Pubkey,
    metas: &[Meta],
    data: &[u8],
    signer: Option<&Signer>,
) -> Result<(), u32> {
    invoke_call(&Call { program_id, metas, infos: metas, data, signer })
}

/// As `invoke`, with the account infos given separately: each account once, however often
/// `metas` names it (the runtime translates every info, so repeats cost CU).
#[inline(always)]
pub fn invoke_with_infos(
    program_id: &Pubkey,
    metas: &[Meta],
    infos: &[Meta],
    data: &[u8],
    signer: Option<&Signer>,
) -> Result<(), u32> {
    invoke_call(&Call { program_id, metas, infos, data, signer })
}

/// The arguments of one CPI, passed by reference (SBPF calls have only
/// five argument registers, and a slice takes two).
pub struct Call<'a> {
    pub program_id: &'a Pubkey,
    pub metas: &'a [Meta],
    pub infos: &'a [Meta],
    pub data: &'a [u8],
    pub signer: Option<&'a Signer<'a>>,
}

#[inline(never)]
fn invoke_call(call: &Call) -> Result<(), u32> {
    let program_id = call.program_id;
    let metas = call.metas;
    let data = call.data;
    let signer = call.signer;
    let n = metas.len();
    if n > MAX_CPI_ACCOUNTS {
        return Err(super::entrypoint::ERR_INVALID_INSTRUCTION_DATA);
    }
    // Only the first n slots are written and read: no zero-fill of the arrays.
    let metas_ptr = heap::region::<SolAccountMeta>(heap::CPI_METAS_OFF);
    let infos_ptr = heap::region::<SolAccountInfo>(heap::CPI_INFOS_OFF);
    let infos = call.infos;
    let k = infos.len();
    if k > MAX_CPI_ACCOUNTS {
        return Err(super::entrypoint::ERR_INVALID_INSTRUCTION_DATA);
    }
    let mut i = 0;
    while i < n {
        let m = &metas[i];
        unsafe {
            metas_ptr.add(i).write(SolAccountMeta {
                pubkey: m.account.key_ptr(),
                is_writable: m.writable,
                is_signer: m.signer,
            });
        }
        i += 1;
    }
    let mut j = 0;
    while j < k {
        let m = &infos[j];
        let a = &m.account;
        unsafe {
            infos_ptr.add(j).write(SolAccountInfo {
                key: a.key_ptr(),
                lamports: a.lamports_ptr(),
                data_len: a.data_len() as u64,
                data: a.data_ptr(),
                owner: a.owner_ptr(),
                rent_epoch: 0,
                is_signer: a.is_signer() || m.signer,
                is_writable: a.is_writable(),
                executable: a.executable(),
            });
        }
        j += 1;
    }
    let ix = SolInstruction {
        program_id: program_id as *const Pubkey,
        accounts: metas_ptr as *const SolAccountMeta,
        account_len: n as u64,
        data: data.as_ptr(),
        data_len: data.len() as u64,
    };
    let mut seed_buf = [SolSignerSeed { addr: core::ptr::null(), len: 0 }; 4];
    let mut signer_set = SolSignerSeeds { addr: seed_buf.as_ptr(), len: 0 };
    let mut signer_count: u64 = 0;
    if let Some(s) = signer {
        let mut j = 0;
        while j < s.count {
            seed_buf[j] = SolSignerSeed { addr: s.seeds[j].as_ptr(), len: s.seeds[j].len() as u64 };
            j += 1;
        }
        signer_set = SolSignerSeeds { addr: seed_buf.as_ptr(), len: s.count as u64 };
        signer_count = 1;
    }
    let rc = unsafe {
        sol_invoke_signed_c(&ix, infos_ptr as *const SolAccountInfo, k as u64, &signer_set, signer_count)
    };
    if rc == 0 {
        Ok(())
    } else {
        // A failed CPI aborts the whole transaction in the runtime; this
        // branch exists only for completeness.
        Err(rc as u32)
    }
}
