//! Toolchain test program (built only by the toolchain tests).
//!
//! Instruction data, first byte = tag:
//! * 0 `hello`: data = 0 ‖ lamports u64 ‖ payload…; accounts = [payer (signer, w),
//!   recipient (w), system program]. Logs, derives a PDA, copies the
//!   runtime-sized payload, transfers `lamports` payer → recipient through a
//!   System-program CPI, returns the PDA ‖ bump ‖ payload as return data.
//! * 1 `arith`: data = 1 ‖ a u64 ‖ b u64 ‖ c u128 ‖ d u128 ‖ s u8; no accounts.
//!   Returns the arithmetic results (see `arith`) as return data.
//! * 2 `bad`: calls a syscall that does not exist (only compiled with
//!   `--cfg bad_syscall`, used to check that the relinker refuses it).
//! * 3 `vec`: data = 3 ‖ n u32; no accounts. Pushes n u64 values into a `Vec`
//!   (exercises `alloc` and the toolchain's bump allocator) and returns
//!   sum u64 ‖ len u64 ‖ capacity u64 ‖ a `String`'s length u64.
//! * 4 `fnptr`: data = 4 ‖ k u8 ‖ x u64; no accounts. Calls entry k % 3 of a
//!   table of function pointers in read-only data (`callx`, relocated data
//!   pointers) and returns its u64 result as return data.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

extern "C" {
    fn sol_log_(message: *const u8, len: u64);
    fn sol_log_64_(a: u64, b: u64, c: u64, d: u64, e: u64);
    fn sol_log_data(data: *const u8, len: u64);
    fn sol_try_find_program_address(
        seeds: *const u8,
        seeds_len: u64,
        program_id: *const u8,
        address: *mut u8,
        bump_seed: *mut u8,
    ) -> u64;
    fn sol_invoke_signed_c(
        instruction: *const u8,
        account_infos: *const u8,
        account_infos_len: u64,
        signers_seeds: *const u8,
        signers_seeds_len: u64,
    ) -> u64;
    fn sol_set_return_data(data: *const u8, len: u64);
    fn abort() -> !;
    #[cfg(bad_syscall)]
    fn sol_definitely_not_a_syscall(x: u64) -> u64;
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    unsafe { abort() }
}

fn log(s: &str) {
    unsafe { sol_log_(s.as_ptr(), s.len() as u64) }
}

// ---------------------------------------------------------------- input parsing

const MAX_ACCOUNTS: usize = 8;
const MAX_PERMITTED_DATA_INCREASE: usize = 10_240;

#[derive(Clone, Copy)]
struct Account {
    raw: *mut u8,
}

impl Account {
    fn key(&self) -> *const u8 {
        unsafe { self.raw.add(8) }
    }
    fn owner(&self) -> *const u8 {
        unsafe { self.raw.add(40) }
    }
    fn lamports(&self) -> *mut u64 {
        unsafe { self.raw.add(72) as *mut u64 }
    }
    fn data_len(&self) -> u64 {
        unsafe { *(self.raw.add(80) as *const u64) }
    }
    fn data(&self) -> *mut u8 {
        unsafe { self.raw.add(88) }
    }
    fn flag(&self, off: usize) -> bool {
        unsafe { *self.raw.add(off) != 0 }
    }
}

struct Input {
    accounts: [Account; MAX_ACCOUNTS],
    num_accounts: usize,
    data: *const u8,
    data_len: usize,
    program_id: *const u8,
}

unsafe fn deserialize(input: *mut u8) -> Option<Input> {
    let mut p = input;
    let n = *(p as *const u64) as usize;
    p = p.add(8);
    if n > MAX_ACCOUNTS {
        return None;
    }
    let mut out = Input {
        accounts: [Account { raw: core::ptr::null_mut() }; MAX_ACCOUNTS],
        num_accounts: n,
        data: core::ptr::null(),
        data_len: 0,
        program_id: core::ptr::null(),
    };
    let mut i = 0;
    while i < n {
        if *p == 0xff {
            out.accounts[i] = Account { raw: p };
            let data_len = *(p.add(80) as *const u64) as usize;
            let off = (88 + data_len + MAX_PERMITTED_DATA_INCREASE + 7) & !7;
            p = p.add(off + 8);
        } else {
            out.accounts[i] = out.accounts[*p as usize];
            p = p.add(8);
        }
        i += 1;
    }
    out.data_len = *(p as *const u64) as usize;
    p = p.add(8);
    out.data = p;
    out.program_id = p.add(out.data_len);
    Some(out)
}

fn rd_u64(d: &[u8], off: usize) -> u64 {
    let mut v: u64 = 0;
    let mut i = 0;
    while i < 8 {
        v |= (d[off + i] as u64) << (8 * i);
        i += 1;
    }
    v
}

fn rd_u128(d: &[u8], off: usize) -> u128 {
    (rd_u64(d, off) as u128) | ((rd_u64(d, off + 8) as u128) << 64)
}

struct Out {
    buf: [u8; 1024],
    len: usize,
}

impl Out {
    fn u8(&mut self, v: u8) {
        self.buf[self.len] = v;
        self.len += 1;
    }
    fn u64(&mut self, v: u64) {
        let b = v.to_le_bytes();
        self.buf[self.len..self.len + 8].copy_from_slice(&b);
        self.len += 8;
    }
    fn u128(&mut self, v: u128) {
        self.u64(v as u64);
        self.u64((v >> 64) as u64);
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(x) => {
                self.u8(1);
                self.u64(x)
            }
            None => {
                self.u8(0);
                self.u64(0)
            }
        }
    }
    fn opt_u128(&mut self, v: Option<u128>) {
        match v {
            Some(x) => {
                self.u8(1);
                self.u128(x)
            }
            None => {
                self.u8(0);
                self.u128(0)
            }
        }
    }
}

// ---------------------------------------------------------------- arithmetic

#[inline(never)]
fn arith(d: &[u8], out: &mut Out) {
    let a = rd_u64(d, 0);
    let b = rd_u64(d, 8);
    let c = rd_u128(d, 16);
    let e = rd_u128(d, 32);
    let s = d[48] as u32;
    // u64
    out.u64(a.wrapping_add(b));
    out.u64(a.wrapping_sub(b));
    out.u64(a.wrapping_mul(b));
    out.opt_u64(a.checked_mul(b));
    out.opt_u64(a.checked_add(b));
    out.opt_u64(a.checked_div(b));
    out.opt_u64(a.checked_rem(b));
    out.u64(a.wrapping_shl(s));
    out.u64(a.wrapping_shr(s));
    // i64
    let (sa, sb) = (a as i64, b as i64);
    out.opt_u64(sa.checked_div(sb).map(|x| x as u64));
    out.opt_u64(sa.checked_rem(sb).map(|x| x as u64));
    out.opt_u64(sa.checked_mul(sb).map(|x| x as u64));
    out.u64(sa.wrapping_shr(s) as u64);
    // u32
    out.opt_u64((a as u32).checked_mul(b as u32).map(|x| x as u64));
    // widening u64 x u64 -> u128
    out.u128((a as u128) * (b as u128));
    // u128
    out.u128(c.wrapping_add(e));
    out.u128(c.wrapping_sub(e));
    out.u128(c.wrapping_mul(e));
    out.opt_u128(c.checked_mul(e));
    out.opt_u128(c.checked_add(e));
    out.opt_u128(c.checked_div(e));
    out.opt_u128(c.checked_rem(e));
    out.u128(c.wrapping_shl(s));
    out.u128(c.wrapping_shr(s));
    out.u64(c.leading_zeros() as u64);
    out.u64(c.count_ones() as u64);
    // i128
    let (sc, se) = (c as i128, e as i128);
    out.opt_u128(sc.checked_mul(se).map(|x| x as u128));
    out.opt_u128(sc.checked_div(se).map(|x| x as u128));
    out.opt_u128(sc.checked_rem(se).map(|x| x as u128));
    out.u128(sc.wrapping_shr(s) as u128);
    // mixed: a * c / e (u128), the shape of fee math
    out.opt_u128(c.checked_mul(a as u128).and_then(|x| x.checked_div(e)));
    // rotates (funnel shifts), euclid, narrow signed, saturating
    out.u128(c.rotate_left(s));
    out.u128(c.rotate_right(s));
    out.u64(a.rotate_left(s));
    out.opt_u64(sa.checked_rem_euclid(sb).map(|x| x as u64));
    out.opt_u64(sa.checked_div_euclid(sb).map(|x| x as u64));
    out.opt_u64((a as i32).checked_mul(b as i32).map(|x| x as u32 as u64));
    out.opt_u64((a as i32).checked_div(b as i32).map(|x| x as u32 as u64));
    out.opt_u64((a as i16).checked_rem(b as i16).map(|x| x as u16 as u64));
    out.u128(c.saturating_mul(e));
    out.u128(sc.saturating_mul(se) as u128);
    out.u64(c.trailing_zeros() as u64);
    out.u128(c.wrapping_pow(3));
    out.u128(sc.wrapping_abs() as u128);
}

// ---------------------------------------------------------------- hello

#[repr(C)]
struct SolInstruction {
    program_id: *const u8,
    accounts: *const SolAccountMeta,
    account_len: u64,
    data: *const u8,
    data_len: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SolAccountMeta {
    pubkey: *const u8,
    is_writable: bool,
    is_signer: bool,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SolAccountInfo {
    key: *const u8,
    lamports: *mut u64,
    data_len: u64,
    data: *mut u8,
    owner: *const u8,
    rent_epoch: u64,
    is_signer: bool,
    is_writable: bool,
    executable: bool,
}

#[repr(C)]
struct SolSignerSeed {
    addr: *const u8,
    len: u64,
}

fn info(a: &Account) -> SolAccountInfo {
    SolAccountInfo {
        key: a.key(),
        lamports: a.lamports(),
        data_len: a.data_len(),
        data: a.data(),
        owner: a.owner(),
        rent_epoch: 0,
        is_signer: a.flag(1),
        is_writable: a.flag(2),
        executable: a.flag(3),
    }
}

#[inline(never)]
fn hello(input: &Input, d: &[u8]) -> u64 {
    log("hello from the toolchain");
    if input.num_accounts < 3 || d.len() < 8 {
        return 1;
    }
    let payer = input.accounts[0];
    let recipient = input.accounts[1];
    let system = input.accounts[2];
    let lamports = rd_u64(d, 0);
    let payload = &d[8..];
    unsafe { sol_log_64_(lamports, payload.len() as u64, 0, 0, 0) };

    // PDA
    let seeds = [
        SolSignerSeed { addr: b"hello".as_ptr(), len: 5 },
        SolSignerSeed { addr: payer.key(), len: 32 },
    ];
    let mut pda = [0u8; 32];
    let mut bump: u8 = 0;
    let rc = unsafe {
        sol_try_find_program_address(
            seeds.as_ptr() as *const u8,
            2,
            input.program_id,
            pda.as_mut_ptr(),
            &mut bump,
        )
    };
    if rc != 0 {
        return 2;
    }

    // runtime-sized copy (becomes sol_memcpy_)
    let mut ret = [0u8; 256];
    ret[..32].copy_from_slice(&pda);
    ret[32] = bump;
    let n = if payload.len() > 200 { 200 } else { payload.len() };
    ret[33..33 + n].copy_from_slice(&payload[..n]);
    let fields: [&[u8]; 1] = [&ret[33..33 + n]];
    unsafe { sol_log_data(fields.as_ptr() as *const u8, 1) };

    // CPI: System program transfer payer -> recipient
    let mut data = [0u8; 12];
    data[0] = 2;
    data[4..12].copy_from_slice(&lamports.to_le_bytes());
    let metas = [
        SolAccountMeta { pubkey: payer.key(), is_writable: true, is_signer: true },
        SolAccountMeta { pubkey: recipient.key(), is_writable: true, is_signer: false },
    ];
    let infos = [info(&payer), info(&recipient)];
    let ix = SolInstruction {
        program_id: system.key(),
        accounts: metas.as_ptr(),
        account_len: 2,
        data: data.as_ptr(),
        data_len: 12,
    };
    let rc = unsafe {
        sol_invoke_signed_c(
            &ix as *const SolInstruction as *const u8,
            infos.as_ptr() as *const u8,
            2,
            core::ptr::null(),
            0,
        )
    };
    if rc != 0 {
        return 3;
    }
    unsafe { sol_set_return_data(ret.as_ptr(), (33 + n) as u64) };
    0
}

// ---------------------------------------------------------------- function pointers

#[inline(never)]
fn triple(x: u64) -> u64 {
    x.wrapping_mul(3)
}

#[inline(never)]
fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

#[inline(never)]
fn flip(x: u64) -> u64 {
    !x
}

static TABLE: [fn(u64) -> u64; 3] = [triple, square, flip];

#[inline(never)]
fn call_table(k: u8, x: u64) -> u64 {
    let f = unsafe { core::ptr::read_volatile(&TABLE[(k % 3) as usize]) };
    f(x)
}

// ---------------------------------------------------------------- alloc

#[inline(never)]
fn vec_sum(n: u32) -> u64 {
    let mut v: Vec<u64> = Vec::new();
    let mut i: u64 = 0;
    while i < n as u64 {
        v.push(i * 3 + 1);
        i += 1;
    }
    let mut s = String::new();
    for _ in 0..(n % 50) {
        s.push_str("ab");
    }
    let sum: u64 = v.iter().sum();
    let mut out = Out { buf: [0u8; 1024], len: 0 };
    out.u64(sum);
    out.u64(v.len() as u64);
    out.u64(v.capacity() as u64);
    out.u64(s.len() as u64);
    unsafe { sol_set_return_data(out.buf.as_ptr(), out.len as u64) };
    0
}

#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    let inp = match deserialize(input) {
        Some(i) => i,
        None => return 1,
    };
    let d = core::slice::from_raw_parts(inp.data, inp.data_len);
    if d.is_empty() {
        return 1;
    }
    match d[0] {
        0 => hello(&inp, &d[1..]),
        1 => {
            if d.len() < 50 {
                return 1;
            }
            let mut out = Out { buf: [0u8; 1024], len: 0 };
            arith(&d[1..], &mut out);
            sol_set_return_data(out.buf.as_ptr(), out.len as u64);
            0
        }
        #[cfg(bad_syscall)]
        2 => sol_definitely_not_a_syscall(7),
        3 => {
            if d.len() < 5 {
                return 1;
            }
            let n = (d[1] as u32) | ((d[2] as u32) << 8) | ((d[3] as u32) << 16) | ((d[4] as u32) << 24);
            vec_sum(n)
        }
        4 => {
            if d.len() < 10 {
                return 1;
            }
            let r = call_table(d[1], rd_u64(d, 2));
            sol_set_return_data(r.to_le_bytes().as_ptr(), 8);
            0
        }
        _ => 1,
    }
}
