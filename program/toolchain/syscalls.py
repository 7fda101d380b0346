"""Syscalls the relinker lets a program import.

The SBPF v0 loader resolves every dynamic symbol by the murmur3 hash of its
name against the runtime's syscall table, and refuses the deploy with
``Unresolved symbol`` when one is missing. Checking names here turns that
late, opaque failure into a link-time error naming the culprit.

To add a syscall: append its exact runtime name below (it must exist in the
Agave runtime's syscall registry for the cluster you deploy to) and declare it
in Rust as ``extern "C" { fn name(..); }``.
"""

from __future__ import annotations

SYSCALLS: frozenset[str] = frozenset(
    {
        # process control and logging
        "abort",
        "sol_panic_",
        "sol_log_",
        "sol_log_64_",
        "sol_log_pubkey",
        "sol_log_compute_units_",
        "sol_log_data",
        "sol_remaining_compute_units",
        "sol_get_stack_height",
        # cross-program invocation and return data
        "sol_invoke_signed_c",
        "sol_invoke_signed_rust",
        "sol_set_return_data",
        "sol_get_return_data",
        "sol_get_processed_sibling_instruction",
        # program-derived addresses
        "sol_create_program_address",
        "sol_try_find_program_address",
        # memory (also the targets of the IR fix-ups)
        "sol_memcpy_",
        "sol_memmove_",
        "sol_memset_",
        "sol_memcmp_",
        # hashing and cryptography
        "sol_sha256",
        "sol_keccak256",
        "sol_blake3",
        "sol_secp256k1_recover",
        "sol_poseidon",
        "sol_big_mod_exp",
        "sol_curve_validate_point",
        "sol_curve_group_op",
        "sol_curve_multiscalar_mul",
        "sol_alt_bn128_group_op",
        "sol_alt_bn128_compression",
        # sysvars
        "sol_get_clock_sysvar",
        "sol_get_rent_sysvar",
        "sol_get_epoch_schedule_sysvar",
        "sol_get_epoch_rewards_sysvar",
        "sol_get_last_restart_slot",
        "sol_get_sysvar",
        "sol_get_epoch_stake",
    }
)
