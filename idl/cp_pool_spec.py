"""The localnet swap venue's interface: a minimal constant-product pool.

One pool per ordered mint pair (``mint_a < mint_b`` bytewise), PDA
``["pool", mint_a, mint_b]``, holding two token vaults (PDAs
``["vault", pool, mint]``, authority = the pool PDA). Either side may be
SPL Token or Token-2022 (transfer-fee mints included).

Pricing, with ``R_in``/``R_out`` the vault balances *before* the swap and
``d`` the balance delta that actually arrived in the input vault (a
Token-2022 transfer fee is withheld from the nominal ``amount_in``)::

    fee = ceil(d * fee_bps / 10_000)              # stays in the pool
    out = floor(R_out * (d - fee) / (R_in + (d - fee)))

Rounding always favours the pool, so ``R_a * R_b`` never decreases.

This is a localnet venue, not a product: there is **no LP token**.
``add_liquidity`` deposits are not redeemable (liquidity is locked in the
pool forever) and may be made at any ratio (a one-sided deposit moves the
price). Token-2022 mints are accepted only with display-only extensions or
the transfer fee (see ``ALLOWED_MINT_EXTENSIONS``); mint extensions that let
a third party move or freeze vault tokens are refused at ``create_pool``.
"""

from __future__ import annotations

from idl.authoring import (
    Acc,
    ErrorCode,
    Field,
    Instruction,
    Program,
    Struct,
    account_seed,
    array,
    const,
)

ADDRESS = "83TEzmx8aPXevouuqRATtRLe6cePdWsCMqsZqTnLEDkp"
SYSTEM = "11111111111111111111111111111111"

# PDA seed prefixes (mirrored in program/cp_pool/src/state.rs).
SEED_POOL = b"pool"
SEED_VAULT = b"vault"

BPS_DENOMINATOR = 10_000
MAX_FEE_BPS = 1_000

#: Token-2022 mint extension types a pool accepts (ExtensionType values):
#: TransferFeeConfig (1), InterestBearingConfig (10, display only),
#: MetadataPointer (18), TokenMetadata (19), GroupPointer (20), TokenGroup (21),
#: GroupMemberPointer (22), TokenGroupMember (23), ScaledUiAmount (25, display only).
ALLOWED_MINT_EXTENSIONS = (1, 10, 18, 19, 20, 21, 22, 23, 25)

PK = "pubkey"

ACCOUNTS = [
    Struct(
        "Pool",
        (
            Field("mint_a", PK, "The mint that sorts first (bytewise)"),
            Field("mint_b", PK),
            Field("vault_a", PK, 'Token account PDA ["vault", pool, mint_a], authority = pool'),
            Field("vault_b", PK, 'Token account PDA ["vault", pool, mint_b], authority = pool'),
            Field("token_program_a", PK, "Owner of mint_a (SPL Token or Token-2022)"),
            Field("token_program_b", PK, "Owner of mint_b (SPL Token or Token-2022)"),
            Field("creator", PK, "Payer of create_pool (informational)"),
            Field(
                "total_deposited_a", "u64", "Sum of add_liquidity amounts that arrived in vault_a"
            ),
            Field("total_deposited_b", "u64"),
            Field(
                "total_swapped_in_a",
                "u64",
                "Swap input that arrived in vault_a (after any transfer fee)",
            ),
            Field("total_swapped_in_b", "u64"),
            Field("total_swapped_out_a", "u64", "Swap output sent from vault_a"),
            Field("total_swapped_out_b", "u64"),
            Field("total_fees_a", "u64", "Pool fees kept in vault_a"),
            Field("total_fees_b", "u64"),
            Field("swap_count", "u64"),
            Field("fee_bps", "u16", f"Swap fee, at most {MAX_FEE_BPS}"),
            Field("bump", "u8"),
            Field("vault_a_bump", "u8"),
            Field("vault_b_bump", "u8"),
            Field("reserved", array("u8", 27)),
        ),
        'A constant-product pool, PDA ["pool", mint_a, mint_b]. Reserves are the vault balances.',
    ),
]

EVENTS = [
    Struct(
        "PoolCreated",
        (
            Field("pool", PK),
            Field("mint_a", PK),
            Field("mint_b", PK),
            Field("vault_a", PK),
            Field("vault_b", PK),
            Field("fee_bps", "u16"),
        ),
    ),
    Struct(
        "LiquidityAdded",
        (
            Field("pool", PK),
            Field("depositor", PK),
            Field("amount_a", "u64", "Arrived in vault_a"),
            Field("amount_b", "u64", "Arrived in vault_b"),
            Field("reserve_a", "u64", "Vault balance after"),
            Field("reserve_b", "u64"),
        ),
    ),
    Struct(
        "Swapped",
        (
            Field("pool", PK),
            Field("user", PK),
            Field("mint_in", PK),
            Field("mint_out", PK),
            Field("amount_in", "u64", "Nominal amount the user sent"),
            Field(
                "credited_in", "u64", "What arrived in vault_in (amount_in minus any transfer fee)"
            ),
            Field("fee", "u64", "Pool fee, kept in vault_in"),
            Field("amount_out", "u64", "Sent from vault_out"),
            Field(
                "received_out",
                "u64",
                "What arrived in user_destination (amount_out minus any transfer fee)",
            ),
            Field("reserve_in", "u64", "vault_in balance after"),
            Field("reserve_out", "u64", "vault_out balance after"),
        ),
    ),
]

ERRORS = [
    # The first two are shared with every program of ours (program/sdk).
    ErrorCode("InvalidInstructionData", "Instruction data is malformed or has trailing bytes"),
    ErrorCode("ArithmeticOverflow", "Arithmetic overflow"),
    ErrorCode("NotEnoughAccounts", "Not enough accounts"),
    ErrorCode("MissingSigner", "A required signature is missing"),
    ErrorCode("NotWritable", "Account must be writable"),
    ErrorCode("InvalidAccountOwner", "Account is owned by the wrong program"),
    ErrorCode("InvalidDiscriminator", "Account is not a pool"),
    ErrorCode("InvalidPda", "Account is not the expected program-derived address"),
    ErrorCode("AlreadyInitialized", "Account is already initialized"),
    ErrorCode("MintsNotOrdered", "mint_a must sort strictly before mint_b (bytewise)"),
    ErrorCode("InvalidMint", "Wrong or uninitialized mint"),
    ErrorCode(
        "InvalidTokenProgram",
        "Token program is not SPL Token or Token-2022, or not the mint's owner",
    ),
    ErrorCode("InvalidTokenAccount", "Not an initialized token account of the expected mint"),
    ErrorCode("InvalidVault", "Vault is not this pool's vault for that mint"),
    ErrorCode("FeeTooHigh", f"fee_bps is above {MAX_FEE_BPS}"),
    ErrorCode("ZeroAmount", "Amount must be greater than zero"),
    ErrorCode("EmptyPool", "The pool has no liquidity on one side"),
    ErrorCode("ZeroOutput", "The swap would return nothing"),
    ErrorCode("SlippageExceeded", "Output is below min_out"),
    ErrorCode(
        "DuplicateAccount", "The same account was passed where distinct accounts are required"
    ),
    ErrorCode("InvalidProgramId", "A program account is not the expected program"),
    ErrorCode(
        "UnsupportedMintExtension", "Mint carries a Token-2022 extension outside the allow-list"
    ),
]

INSTRUCTIONS = [
    Instruction(
        "create_pool",
        f"Create the pool for an ordered mint pair and its two vaults. fee_bps <= {MAX_FEE_BPS}. "
        "Each token program must own its mint; Token-2022 mints must carry only allow-listed "
        "extensions.",
        (
            Acc("payer", writable=True, signer=True),
            Acc(
                "pool",
                writable=True,
                seeds=(const(SEED_POOL), account_seed("mint_a"), account_seed("mint_b")),
            ),
            Acc("mint_a"),
            Acc("mint_b"),
            Acc(
                "vault_a",
                writable=True,
                seeds=(const(SEED_VAULT), account_seed("pool"), account_seed("mint_a")),
            ),
            Acc(
                "vault_b",
                writable=True,
                seeds=(const(SEED_VAULT), account_seed("pool"), account_seed("mint_b")),
            ),
            Acc("token_program_a"),
            Acc("token_program_b"),
            Acc("system_program", address=SYSTEM),
        ),
        (Field("fee_bps", "u16"),),
    ),
    Instruction(
        "add_liquidity",
        "Deposit into both vaults (either amount may be 0, not both). No LP token: deposits are "
        "locked in the pool for good (localnet venue). The amounts that arrived (after any "
        "transfer fee) are recorded.",
        (
            Acc("depositor", signer=True),
            Acc("pool", writable=True),
            Acc("depositor_a", writable=True, docs="Depositor's token account of mint_a"),
            Acc("depositor_b", writable=True, docs="Depositor's token account of mint_b"),
            Acc("vault_a", writable=True),
            Acc("vault_b", writable=True),
            Acc("mint_a"),
            Acc("mint_b"),
            Acc("token_program_a"),
            Acc("token_program_b"),
        ),
        (Field("amount_a", "u64"), Field("amount_b", "u64")),
    ),
    Instruction(
        "swap",
        "Swap amount_in of mint_in for mint_out (direction given by mint_in). The input credited "
        "is the balance delta of vault_in; out = floor(R_out * x / (R_in + x)) with x = credited "
        "- ceil(credited * fee_bps / 10000), reserves read before the transfer. min_out bounds "
        "what arrives in user_destination (after any Token-2022 transfer fee of mint_out), else "
        "SlippageExceeded. The output is sent with TransferChecked signed by the pool PDA. user "
        "may be a PDA signing by CPI.",
        (
            Acc(
                "user",
                signer=True,
                docs="Owner or delegate of user_source (any signer, PDAs included)",
            ),
            Acc("pool", writable=True),
            Acc("user_source", writable=True, docs="Token account of mint_in"),
            Acc("user_destination", writable=True, docs="Token account of mint_out"),
            Acc("vault_in", writable=True, docs="The pool's vault of mint_in"),
            Acc("vault_out", writable=True, docs="The pool's vault of mint_out"),
            Acc("mint_in"),
            Acc("mint_out"),
            Acc("token_program_in"),
            Acc("token_program_out"),
        ),
        (Field("amount_in", "u64"), Field("min_out", "u64")),
    ),
]

PROGRAM = Program(
    name="cp_pool",
    address=ADDRESS,
    version="0.1.0",
    description=(
        "Localnet swap venue: a minimal constant-product pool "
        "(SPL Token and Token-2022, no LP token)"
    ),
    instructions=INSTRUCTIONS,
    accounts=ACCOUNTS,
    events=EVENTS,
    errors=ERRORS,
)
