//! Test-only program for tests/security (never deployed anywhere else).
//!
//! A "swap venue" that runs a script of cross-program invocations given in
//! its instruction data, forwarding the accounts and the signer privileges it
//! received. Passed to the compute market's `buyback` (or called directly),
//! it models a malicious or compromised venue in an allow-listed route: it
//! can deliver nothing, deliver too little, take too much USDC, or use the
//! model PDA's signature for anything the token program allows.
//!
//! Instruction data: `n: u8` then `n` calls, each
//! `program: u8, count: u8, count × (account: u8, flags: u8), len: u16 LE, data`
//! where `program` and `account` index this instruction's accounts and
//! `flags` bit 0 = writable, bit 1 = signer. `n = 0` does nothing.
#![no_std]

#[path = "../../../../../program/sdk/mod.rs"]
#[allow(dead_code, unused_imports)]
mod sdk;

use sdk::account::Account;
use sdk::cpi::{invoke, Meta, MAX_CPI_ACCOUNTS};
use sdk::entrypoint::deserialize;

const ERR_SCRIPT: u64 = 0xE111;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    unsafe { sdk::syscalls::abort() }
}

/// # Safety
/// Called by the runtime with its serialized input buffer.
#[no_mangle]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    let parsed = match deserialize(input) {
        Some(p) => p,
        None => return ERR_SCRIPT,
    };
    match run(parsed.accounts(), parsed.data()) {
        Ok(()) => 0,
        Err(code) => code,
    }
}

fn byte(data: &[u8], pos: usize) -> Result<u8, u64> {
    if pos < data.len() {
        Ok(data[pos])
    } else {
        Err(ERR_SCRIPT)
    }
}

fn account(accounts: &[Account], idx: u8) -> Result<Account, u64> {
    let i = idx as usize;
    if i < accounts.len() {
        Ok(accounts[i])
    } else {
        Err(ERR_SCRIPT)
    }
}

#[inline(never)]
fn run(accounts: &[Account], data: &[u8]) -> Result<(), u64> {
    let n = byte(data, 0)? as usize;
    let mut pos = 1;
    let mut k = 0;
    while k < n {
        let program = account(accounts, byte(data, pos)?)?;
        let count = byte(data, pos + 1)? as usize;
        pos += 2;
        if count > MAX_CPI_ACCOUNTS {
            return Err(ERR_SCRIPT);
        }
        let mut metas = [Meta::r(&program); MAX_CPI_ACCOUNTS];
        let mut j = 0;
        while j < count {
            let a = account(accounts, byte(data, pos)?)?;
            let flags = byte(data, pos + 1)?;
            metas[j] = Meta { account: a, writable: flags & 1 != 0, signer: flags & 2 != 0 };
            pos += 2;
            j += 1;
        }
        let len = (byte(data, pos)? as usize) | ((byte(data, pos + 1)? as usize) << 8);
        pos += 2;
        if pos + len > data.len() {
            return Err(ERR_SCRIPT);
        }
        let key = *program.key();
        if let Err(code) = invoke(&key, &metas[..count], &data[pos..pos + len], None) {
            return Err(code as u64);
        }
        pos += len;
        k += 1;
    }
    Ok(())
}
