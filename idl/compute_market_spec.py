"""The compute-market program's interface: the single source of truth.

Conventions: all amounts are micro-USDC (6 decimals) unless named otherwise;
prices are micro-USDC per 1,000,000 tokens; times are unix seconds.

The split of a gross amount G (an order's charge, or a batch's total) at protocol fee p bps and
creator fee c bps, in this order:
  protocol = ceil(G * p / 10_000)
  creator  = min(ceil(G * c / 10_000), G - protocol)
  provider = G - protocol - creator
so provider + creator + protocol == G exactly; the protocol fee is taken first and the creator
fee is capped by what is left (G = 1 with both fees non-zero pays protocol 1, creator 0,
provider 0). Usage charges round each part up. For orders provider + creator + protocol +
refund == hold, always, to the micro-USDC.

A batch (settle_batch) is split once, on its total. The attribution of the batch's split to its
calls (in the batch's leaf order; prefix sums A_i of amounts, T = total):
  protocol_i = floor(P * A_i / T) - floor(P * A_(i-1) / T)        (P = batch protocol fee)
  r_i        = amount_i - protocol_i, R_i = r_1 + ... + r_i          (R_n = T - P)
  creator_i  = floor(C * R_i / (T - P)) - floor(C * R_(i-1) / (T - P))  (0 when T == P)
  provider_i = r_i - creator_i
Every part is >= 0, each call's parts sum to its amount, and each part sums over the calls to
the batch's split exactly (bourse_chain/money.py is the Python reference).
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from idl.authoring import (
    Acc,
    Constant,
    Enum,
    ErrorCode,
    Field,
    Instruction,
    Program,
    Struct,
    account_seed,
    arg_seed,
    array,
    const,
    defined,
    option,
    vec,
)

ADDRESS = "HXs6nArt6sTodCHtza2eRxCMEeAHRfnU5gXR9zPCuGt1"
SYSTEM = "11111111111111111111111111111111"
BPF_LOADER_UPGRADEABLE = "BPFLoaderUpgradeab1e11111111111111111111111"
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
SPL_TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
ASSOCIATED_TOKEN = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
WSOL_MINT = "So11111111111111111111111111111111111111112"

# PDA seed prefixes (rendered into program/compute_market/src/seeds.rs and the bindings).
SEED_CONFIG = b"config"
SEED_ESCROW = b"escrow_vault"
SEED_MODEL = b"model"
SEED_REVENUE = b"revenue_vault"
SEED_BUYBACK = b"buyback_vault"
SEED_PROVIDER = b"provider"
SEED_OFFER = b"offer"
SEED_STREAM = b"stream"
SEED_INBOX = b"inbox"
SEED_BUYER = b"buyer"

MAX_SLUG_LEN = 32
MAX_URI_LEN = 128
MAX_NAME_LEN = 32
MAX_SWAP_PROGRAMS = 4
MAX_HARVEST_SOURCES = 20
MAX_ORDER_TTL_SECS = 7 * 24 * 3600
MIN_ORDER_TTL_SECS = 60
HARD_MAX_PROTOCOL_FEE_BPS = 2_000
HARD_MAX_MODEL_FEE_BPS = 5_000
#: Highest Token-2022 transfer fee a model token may carry (older and newer fee), fixed at
#: tokenize: its config authority must be none or the config PDA, so it can never rise.
MAX_MODEL_TOKEN_TRANSFER_FEE_BPS = 1_000
BPS_DENOMINATOR = 10_000
TOKENS_PER_PRICE_UNIT = 1_000_000

#: Rendered into program/compute_market/src/seeds.rs and the bindings' constants.py.
CONSTANTS = [
    Constant("SEED_CONFIG", "bytes", SEED_CONFIG, "CONFIG"),
    Constant("SEED_ESCROW", "bytes", SEED_ESCROW, "ESCROW"),
    Constant("SEED_MODEL", "bytes", SEED_MODEL, "MODEL"),
    Constant("SEED_REVENUE", "bytes", SEED_REVENUE, "REVENUE"),
    Constant("SEED_BUYBACK", "bytes", SEED_BUYBACK, "BUYBACK"),
    Constant("SEED_PROVIDER", "bytes", SEED_PROVIDER, "PROVIDER"),
    Constant("SEED_OFFER", "bytes", SEED_OFFER, "OFFER"),
    Constant("SEED_STREAM", "bytes", SEED_STREAM, "STREAM"),
    Constant(
        "SEED_INBOX", "bytes", SEED_INBOX, "INBOX", "The x402 inbox authority PDA [inbox, model]"
    ),
    Constant(
        "SEED_BUYER",
        "bytes",
        SEED_BUYER,
        "BUYER",
        "The data-less SOL buyer PDA [buyer, model] (buyback_sol)",
    ),
    Constant("MAX_SLUG_LEN", "usize", MAX_SLUG_LEN),
    Constant("MAX_URI_LEN", "usize", MAX_URI_LEN),
    Constant("MAX_NAME_LEN", "usize", MAX_NAME_LEN),
    Constant("MAX_SWAP_PROGRAMS", "usize", MAX_SWAP_PROGRAMS),
    Constant("MAX_HARVEST_SOURCES", "usize", MAX_HARVEST_SOURCES),
    Constant("MAX_ORDER_TTL_SECS", "i64", MAX_ORDER_TTL_SECS),
    Constant(
        "MIN_ORDER_TTL_SECS", "i64", MIN_ORDER_TTL_SECS, docs="The settler's guaranteed window"
    ),
    Constant("HARD_MAX_PROTOCOL_FEE_BPS", "u16", HARD_MAX_PROTOCOL_FEE_BPS),
    Constant("HARD_MAX_MODEL_FEE_BPS", "u16", HARD_MAX_MODEL_FEE_BPS),
    Constant("BPS_DENOMINATOR", "u64", BPS_DENOMINATOR),
    Constant("TOKENS_PER_PRICE_UNIT", "u64", TOKENS_PER_PRICE_UNIT),
    Constant(
        "MAX_MODEL_TOKEN_TRANSFER_FEE_BPS",
        "u16",
        MAX_MODEL_TOKEN_TRANSFER_FEE_BPS,
        docs="Highest Token-2022 transfer fee a model token may carry, fixed at tokenize",
    ),
]

PK = "pubkey"


def _config(writable: bool = False) -> Acc:
    return Acc(
        "config",
        writable=writable,
        seeds=(const(SEED_CONFIG),),
        docs='Protocol config PDA ["config"]',
    )


def _usdc_token_program() -> Acc:
    return Acc(
        "usdc_token_program", docs="Token program owning the USDC mint (config.usdc_token_program)"
    )


def _system() -> Acc:
    return Acc("system_program", address=SYSTEM)


ESCROW = Acc(
    "escrow_vault",
    writable=True,
    seeds=(const(SEED_ESCROW),),
    docs="Shared USDC escrow of open orders; authority = config PDA",
)
MODEL_SEEDS = ()  # model PDA seeds use the slug arg only at registration

ACCOUNTS = [
    Struct(
        "Config",
        (
            Field("admin", PK),
            Field("pending_admin", PK, "Proposed admin (two-step change); default = none"),
            Field("settler", PK, "Gateway key allowed to settle orders and payments"),
            Field("crank", PK, "Operator key allowed to run buyback, burn and harvest"),
            Field(
                "treasury_authority", PK, "Owner of the token accounts that receive protocol fees"
            ),
            Field("usdc_mint", PK),
            Field("usdc_token_program", PK),
            Field("escrow_vault", PK),
            Field(
                "swap_programs",
                array(PK, MAX_SWAP_PROGRAMS),
                "Allow-listed swap programs for buyback",
            ),
            Field("max_buyback_per_call", "u64", "USDC cap per buyback call; 0 = no cap"),
            Field("buyback_cooldown_secs", "i64", "Minimum seconds between buybacks of one model"),
            Field("protocol_fee_bps", "u16"),
            Field("max_protocol_fee_bps", "u16", "Cap fixed at initialisation"),
            Field("max_model_fee_bps", "u16", "Cap fixed at initialisation"),
            Field("swap_program_count", "u8"),
            Field("paused", "bool"),
            Field("bump", "u8"),
            Field("escrow_bump", "u8"),
            Field("reserved", array("u8", 46)),
        ),
        'Protocol configuration (one per program), PDA ["config"]',
    ),
    Struct(
        "Model",
        (
            Field("creator", PK),
            Field("mint", PK, "Model token mint; default until tokenized"),
            Field("revenue_vault", PK, 'USDC revenue vault PDA ["revenue_vault", model]'),
            Field("buyback_vault", PK, 'Model-token vault PDA ["buyback_vault", model]'),
            Field("token_program", PK, "Token program of the model mint"),
            Field("slug", array("u8", MAX_SLUG_LEN)),
            Field("metadata_uri", array("u8", MAX_URI_LEN)),
            Field("total_volume", "u64", "Gross micro-USDC settled"),
            Field("total_creator_fees", "u64"),
            Field("total_protocol_fees", "u64"),
            Field("total_provider_payouts", "u64"),
            Field("usdc_spent", "u64", "USDC spent on buybacks"),
            Field("tokens_bought", "u64", "Model tokens that arrived in the buyback vault"),
            Field("tokens_burned", "u64"),
            Field("settlement_count", "u64"),
            Field("last_buyback_ts", "i64"),
            Field("created_at", "i64"),
            Field("fee_bps", "u16", "Creator fee"),
            Field("slug_len", "u8"),
            Field("uri_len", "u8"),
            Field("status", defined("ModelStatus")),
            Field("token_kind", defined("TokenKind")),
            Field("bump", "u8"),
            Field("revenue_vault_bump", "u8"),
            Field("buyback_vault_bump", "u8"),
            Field(
                "approved_mint",
                PK,
                "Mint the admin approved for tokenize_model (set_model_status); default = none",
            ),
            Field(
                "usdc_swept",
                "u64",
                "Stuck revenue moved to the treasury (set_model_status: delist with sweep)",
            ),
            Field("reserved", array("u8", 7)),
        ),
        'A listed model, PDA ["model", slug]',
    ),
    Struct(
        "Provider",
        (
            Field("authority", PK),
            Field("payout", PK, "USDC token account receiving provider payouts"),
            Field("name", array("u8", 32)),
            Field("total_earned", "u64"),
            Field("name_len", "u8"),
            Field("active", "bool"),
            Field("bump", "u8"),
            Field("reserved", array("u8", 13)),
        ),
        'An inference provider, PDA ["provider", authority]',
    ),
    Struct(
        "Offer",
        (
            Field("model", PK),
            Field("provider", PK),
            Field("price_input_per_mtok", "u64"),
            Field("price_output_per_mtok", "u64"),
            Field("updated_at", "i64"),
            Field("active", "bool"),
            Field("bump", "u8"),
            Field("reserved", array("u8", 14)),
        ),
        'A provider\'s price for one model, PDA ["offer", model, provider]',
    ),
    Struct(
        "Order",
        (
            Field("payer", PK),
            Field("payer_token", PK, "USDC account the hold came from; refunds go back here"),
            Field("model", PK),
            Field("provider", PK),
            Field("offer", PK),
            Field("nonce", "u64"),
            Field("hold", "u64", "Escrowed upper bound"),
            Field("price_input_per_mtok", "u64", "Offer price snapshot at open"),
            Field("price_output_per_mtok", "u64"),
            Field("opened_at", "i64"),
            Field("expires_at", "i64"),
            Field("bump", "u8", "Always 0: an order is an address with seed, not a PDA"),
            Field(
                "refund_pending",
                "bool",
                "Settled while payer_token was closed: hold is now the refund the payer claims with cancel_order",
            ),
            Field("reserved", array("u8", 6)),
        ),
        "An open order with its escrowed hold, at create_with_seed(payer, nonce as 16 hex digits, program)",
    ),
    Struct(
        "SettlementStream",
        (
            Field("model", PK),
            Field("provider", PK),
            Field(
                "inbox_authority",
                PK,
                'The model\'s inbox authority PDA ["inbox", model]; the x402 inbox is its USDC ATA',
            ),
            Field(
                "running_hash",
                array("u8", 32),
                "sha256(previous running_hash || root || sequence || count || total), over every batch",
            ),
            Field("last_root", array("u8", 32), "Merkle root of the last batch"),
            Field("next_sequence", "u64", "The sequence the next batch must carry (first is 0)"),
            Field("calls_settled", "u64"),
            Field("volume", "u64", "Gross micro-USDC settled through this stream"),
            Field("last_count", "u64"),
            Field("last_total", "u64"),
            Field("last_provider_amount", "u64"),
            Field("last_creator_fee", "u64"),
            Field("last_protocol_fee", "u64"),
            Field("last_settled_at", "i64"),
            Field("bump", "u8"),
            Field("inbox_bump", "u8"),
            Field("reserved", array("u8", 14)),
        ),
        'Replay protection of batch settlement for one (model, provider), PDA ["stream", model, provider]',
    ),
]

TYPES: list[Struct | Enum] = [
    Enum("ModelStatus", ("Pending", "Approved", "Delisted")),
    Enum("TokenKind", ("None", "Spl", "Token2022")),
    Struct(
        "ConfigUpdate",
        (
            Field("protocol_fee_bps", option("u16")),
            Field("settler", option(PK)),
            Field("crank", option(PK)),
            Field("treasury_authority", option(PK)),
            Field("swap_programs", option(vec(PK)), f"At most {MAX_SWAP_PROGRAMS}"),
            Field("max_buyback_per_call", option("u64")),
            Field("buyback_cooldown_secs", option("i64")),
            Field("paused", option("bool")),
            Field("pending_admin", option(PK), "Propose a new admin; it must call accept_admin"),
        ),
        "Fields of update_config; None leaves a field unchanged",
    ),
]

EVENTS = [
    Struct(
        "ConfigUpdated",
        (Field("admin", PK), Field("protocol_fee_bps", "u16"), Field("paused", "bool")),
    ),
    Struct("AdminChanged", (Field("old_admin", PK), Field("new_admin", PK))),
    Struct(
        "ModelRegistered",
        (
            Field("model", PK),
            Field("creator", PK),
            Field("slug", "string"),
            Field("fee_bps", "u16"),
        ),
    ),
    Struct("ModelStatusChanged", (Field("model", PK), Field("status", defined("ModelStatus")))),
    Struct(
        "ModelTokenized",
        (
            Field("model", PK),
            Field("mint", PK),
            Field("token_kind", defined("TokenKind")),
            Field("buyback_vault", PK),
        ),
    ),
    Struct(
        "ProviderRegistered", (Field("provider", PK), Field("authority", PK), Field("payout", PK))
    ),
    Struct(
        "ProviderPayoutChanged",
        (Field("provider", PK), Field("old_payout", PK), Field("new_payout", PK)),
    ),
    Struct(
        "OfferUpserted",
        (
            Field("offer", PK),
            Field("model", PK),
            Field("provider", PK),
            Field("price_input_per_mtok", "u64"),
            Field("price_output_per_mtok", "u64"),
            Field("active", "bool"),
        ),
    ),
    Struct(
        "OrderOpened",
        (
            Field("order", PK),
            Field("payer", PK),
            Field("model", PK),
            Field("provider", PK),
            Field("nonce", "u64"),
            Field("hold", "u64"),
            Field("expires_at", "i64"),
        ),
    ),
    Struct(
        "OrderSettled",
        (
            Field("order", PK),
            Field("payer", PK),
            Field("model", PK),
            Field("provider", PK),
            Field("input_tokens", "u64"),
            Field("output_tokens", "u64"),
            Field("gross", "u64"),
            Field("provider_amount", "u64"),
            Field("creator_fee", "u64"),
            Field("protocol_fee", "u64"),
            Field("refund", "u64"),
        ),
    ),
    Struct(
        "OrderCancelled",
        (
            Field("order", PK),
            Field("refund", "u64"),
            Field("by_settler", "bool"),
        ),
    ),
    Struct(
        "BatchSettled",
        (
            Field("stream", PK),
            Field("model", PK),
            Field("provider", PK),
            Field("source", PK),
            Field("sequence", "u64"),
            Field("count", "u64"),
            Field("total", "u64"),
            Field("root", array("u8", 32)),
            Field("running_hash", array("u8", 32)),
            Field("provider_amount", "u64"),
            Field("creator_fee", "u64"),
            Field("protocol_fee", "u64"),
        ),
    ),
    Struct(
        "BuybackExecuted",
        (
            Field("model", PK),
            Field("swap_program", PK),
            Field("usdc_spent", "u64"),
            Field("tokens_bought", "u64"),
            Field("min_out", "u64"),
        ),
    ),
    Struct(
        "RevenueSwept",
        (
            Field("model", PK),
            Field("mint", PK),
            Field("treasury", PK),
            Field("amount", "u64"),
            Field("total_swept", "u64"),
        ),
    ),
    Struct(
        "TokensBurned",
        (
            Field("model", PK),
            Field("mint", PK),
            Field("amount", "u64"),
            Field("total_burned", "u64"),
        ),
    ),
    Struct(
        "FeesHarvested",
        (Field("model", PK), Field("mint", PK), Field("amount", "u64"), Field("sources", "u8")),
    ),
]

ERRORS = [
    # The first two are shared with every program of ours (program/sdk).
    ErrorCode("InvalidInstructionData", "Instruction data is malformed or has trailing bytes"),
    ErrorCode("ArithmeticOverflow", "Arithmetic overflow"),
    ErrorCode("Unauthorized", "Signer is not the authority this instruction requires"),
    ErrorCode("MissingSigner", "A required signature is missing"),
    ErrorCode("InvalidAccountOwner", "Account is owned by the wrong program"),
    ErrorCode("InvalidDiscriminator", "Account is not of the expected type"),
    ErrorCode("InvalidPda", "Account is not the expected program-derived address"),
    ErrorCode("AlreadyInitialized", "Account is already initialized"),
    ErrorCode("AccountMismatch", "Account does not match the one recorded on-chain"),
    ErrorCode("InvalidMint", "Wrong or invalid mint"),
    ErrorCode(
        "InvalidTokenProgram", "Token program is not SPL Token or Token-2022, or not the mint's"
    ),
    ErrorCode("InvalidTokenAccount", "Not an initialized token account of the expected mint"),
    ErrorCode("ProgramPaused", "The protocol is paused"),
    ErrorCode("FeeAboveCap", "Fee is above its cap"),
    ErrorCode("InvalidSlug", "Slug must be 1-32 characters of [A-Za-z0-9._/:-]"),
    ErrorCode("UriTooLong", "Metadata URI is longer than 128 bytes"),
    ErrorCode("ModelNotApproved", "Model is not approved"),
    ErrorCode("InvalidStatusTransition", "That status change is not allowed"),
    ErrorCode("AlreadyTokenized", "Model already has a token"),
    ErrorCode("NotTokenized", "Model has no token (or not the required token kind)"),
    ErrorCode(
        "UnsupportedMintExtension", "Mint carries a Token-2022 extension outside the allow-list"
    ),
    ErrorCode("MintAuthorityPresent", "Mint must have no mint authority and no freeze authority"),
    ErrorCode(
        "WithheldAuthorityMismatch", "Transfer-fee withdraw authority must be the config PDA"
    ),
    ErrorCode("OfferInactive", "Offer is inactive or belongs to another model"),
    ErrorCode("ZeroAmount", "Amount must be greater than zero"),
    ErrorCode("InvalidTtl", "Order time-to-live must be 60 seconds to 7 days"),
    ErrorCode("OrderNotExpired", "Only the settler may cancel an order before it expires"),
    ErrorCode("SwapProgramNotAllowed", "Swap program is not on the allow-list"),
    ErrorCode("ZeroMinOut", "min_out must be greater than zero"),
    ErrorCode("SlippageExceeded", "Fewer tokens arrived in the buyback vault than min_out"),
    ErrorCode("SwapOverspent", "The swap took more USDC than amount_in"),
    ErrorCode("BuybackCapExceeded", "amount_in is above the per-call buyback cap"),
    ErrorCode("BuybackCooldown", "Buyback cooldown for this model has not elapsed"),
    ErrorCode("NothingToBurn", "Buyback vault is empty"),
    ErrorCode("TooManySources", "Too many harvest sources"),
    ErrorCode(
        "DuplicateAccount", "The same account was passed where distinct accounts are required"
    ),
    ErrorCode("NotEnoughAccounts", "Not enough accounts"),
    ErrorCode("InvalidTreasury", "Destination is not owned by the treasury authority"),
    ErrorCode("NotPendingAdmin", "Signer is not the pending admin"),
    ErrorCode("InvalidProgramId", "A program account is not the expected program"),
    ErrorCode(
        "UpgradeAuthorityMismatch", "Only the program's upgrade authority may initialize the config"
    ),
    ErrorCode("NotWritable", "Account must be writable"),
    ErrorCode("TooManySwapPrograms", "At most 4 swap programs"),
    ErrorCode("NameTooLong", "Provider name is longer than 32 bytes"),
    ErrorCode(
        "VaultTampered",
        "A buyback route changed a vault's owner, delegate, close authority or extensions",
    ),
    ErrorCode("PayerTokenNotAssociated", "payer_token must be the payer's associated USDC account"),
    ErrorCode("MintNotApproved", "The mint is not the one the admin approved for this model"),
    ErrorCode(
        "TransferFeeAuthorityPresent",
        "Transfer-fee config authority must be none or the config PDA (the fee could rise)",
    ),
    ErrorCode(
        "TransferFeeTooHigh",
        f"Model token transfer fee is above {MAX_MODEL_TOKEN_TRANSFER_FEE_BPS} bps",
    ),
    ErrorCode(
        "RevenueNotStuck",
        "Only a delisted model whose token breaks the transfer-fee rule may sweep its revenue",
    ),
    ErrorCode(
        "WrongSequence",
        "Batch sequence is not the stream's next sequence (a replay or an out-of-order batch)",
    ),
    ErrorCode("InvalidBatch", "A batch needs 1 <= count <= total"),
    ErrorCode(
        "HoldAboveMax", "The hold at the offer's current prices is above the payer's max_hold"
    ),
    ErrorCode("OrderAlreadySettled", "The order was settled; only its pending refund remains"),
    ErrorCode(
        "BuyerDrained",
        "The buy spent SOL the buyer PDA did not get from this swap (its prepaid rent), or the buyer PDA now carries data or another owner",
    ),
]

INSTRUCTIONS = [
    Instruction(
        "initialize_config",
        "Create the protocol config and the shared USDC escrow. Only the program's upgrade authority may call it, once.",
        (
            Acc(
                "admin",
                writable=True,
                signer=True,
                docs="Upgrade authority of this program; becomes admin",
            ),
            _config(writable=True),
            ESCROW,
            Acc("usdc_mint"),
            Acc(
                "program_data",
                seeds=(const(bytes(Pubkey.from_string(ADDRESS))),),
                seeds_program=bytes(Pubkey.from_string(BPF_LOADER_UPGRADEABLE)),
                docs="This program's ProgramData account (upgradeable loader)",
            ),
            _usdc_token_program(),
            _system(),
        ),
        (
            Field("settler", PK),
            Field("crank", PK),
            Field("treasury_authority", PK),
            Field("protocol_fee_bps", "u16"),
            Field("max_protocol_fee_bps", "u16"),
            Field("max_model_fee_bps", "u16"),
            Field("max_buyback_per_call", "u64"),
            Field("buyback_cooldown_secs", "i64"),
        ),
    ),
    Instruction(
        "update_config",
        "Admin: change fees (within caps), settler/crank/treasury keys, swap allow-list, buyback limits, pause, or propose a new admin.",
        (Acc("admin", signer=True), _config(writable=True)),
        (Field("params", defined("ConfigUpdate")),),
    ),
    Instruction(
        "accept_admin",
        "The pending admin accepts the admin role (second step of an admin change).",
        (Acc("new_admin", signer=True), _config(writable=True)),
    ),
    Instruction(
        "register_model",
        "Creator lists a model (status Pending) and creates its USDC revenue vault.",
        (
            Acc("creator", writable=True, signer=True),
            _config(),
            Acc("model", writable=True, seeds=(const(SEED_MODEL), arg_seed("slug"))),
            Acc("revenue_vault", writable=True, seeds=(const(SEED_REVENUE), account_seed("model"))),
            Acc("usdc_mint"),
            _usdc_token_program(),
            _system(),
        ),
        (Field("slug", "string"), Field("fee_bps", "u16"), Field("metadata_uri", "string")),
    ),
    Instruction(
        "set_model_status",
        "Admin approves or delists a model. Approving with a mint pins the only mint tokenize_model accepts; "
        "delisting withdraws an untokenized model's pin. Delisting with sweep_stuck_revenue moves the revenue "
        "vault to the treasury when the model's token breaks the transfer-fee rule (fee config authority held "
        f"by someone, or a fee above {MAX_MODEL_TOKEN_TRANSFER_FEE_BPS} bps), which makes buyback impossible.",
        (Acc("admin", signer=True), _config(), Acc("model", writable=True)),
        (
            Field("status", defined("ModelStatus")),
            Field(
                "mint",
                option(PK),
                "Approved only: the mint the creator may attach (for a tokenized model, its mint)",
            ),
            Field("sweep_stuck_revenue", "bool", "Delisted only: sweep (remaining accounts)"),
        ),
        remaining="with sweep_stuck_revenue: the model's mint, its revenue_vault (writable), the treasury (writable), usdc_mint, usdc_token_program",
    ),
    Instruction(
        "tokenize_model",
        "Creator attaches the mint the admin approved (SPL, or Token-2022 from the extension allow-list with a transfer fee that can never rise) and creates the buyback vault.",
        (
            Acc("creator", writable=True, signer=True),
            _config(),
            Acc("model", writable=True),
            Acc("mint"),
            Acc("buyback_vault", writable=True, seeds=(const(SEED_BUYBACK), account_seed("model"))),
            Acc("token_program"),
            _system(),
        ),
    ),
    Instruction(
        "register_provider",
        "An inference provider registers with the USDC account that receives its payouts.",
        (
            Acc("authority", writable=True, signer=True),
            _config(),
            Acc("provider", writable=True, seeds=(const(SEED_PROVIDER), account_seed("authority"))),
            Acc("payout"),
            _system(),
        ),
        (Field("name", "string"),),
    ),
    Instruction(
        "upsert_offer",
        "Provider creates or updates its price for a model; with one remaining account it also changes its payout account.",
        (
            Acc("authority", writable=True, signer=True),
            _config(),
            Acc(
                "provider",
                writable=True,
                seeds=(const(SEED_PROVIDER), account_seed("authority")),
                docs="Written only when a new payout is passed",
            ),
            Acc("model"),
            Acc(
                "offer",
                writable=True,
                seeds=(const(SEED_OFFER), account_seed("model"), account_seed("provider")),
            ),
            _system(),
        ),
        (
            Field("price_input_per_mtok", "u64"),
            Field("price_output_per_mtok", "u64"),
            Field("active", "bool"),
        ),
        remaining="optional: the provider's new payout USDC account (not the escrow), replacing provider.payout",
    ),
    Instruction(
        "open_order",
        "Payer opens an order: the upper-bound charge for max tokens at the offer's prices is escrowed (the pre-flight hold).",
        (
            Acc("payer", writable=True, signer=True),
            _config(),
            Acc("model"),
            Acc("offer"),
            Acc(
                "order",
                writable=True,
                docs=(
                    "Address with seed (System create_with_seed, no bump): base = payer, seed = the"
                    " nonce as 16 lowercase hex digits, owner = this program"
                ),
            ),
            Acc(
                "payer_token",
                writable=True,
                docs="The payer's associated USDC account: the hold's source and every refund's destination",
            ),
            ESCROW,
            Acc("usdc_mint"),
            _usdc_token_program(),
            _system(),
        ),
        (
            Field("nonce", "u64"),
            Field("max_input_tokens", "u64"),
            Field("max_output_tokens", "u64"),
            Field("ttl_secs", "i64"),
            Field(
                "max_hold",
                "u64",
                "The most the payer agrees to escrow: fails with HoldAboveMax if the offer's prices rose",
            ),
            Field(
                "payer_token_bump",
                "u8",
                "Bump of the payer's associated USDC account (checked by one sha256, not searched)",
            ),
        ),
    ),
    Instruction(
        "settle_order",
        "Settler settles actual usage: charge = min(hold, usage at the snapshot prices), split into provider / creator fee / protocol fee, refund the rest, close the order. If payer_token was closed the refund stays in the order (refund_pending) for the payer to claim with cancel_order.",
        (
            Acc("settler", signer=True),
            _config(),
            Acc("order", writable=True),
            Acc("payer", writable=True, docs="Receives the order account's rent"),
            Acc("payer_token", writable=True),
            Acc("model", writable=True),
            Acc("provider", writable=True),
            Acc("provider_payout", writable=True),
            Acc("revenue_vault", writable=True),
            Acc("treasury", writable=True),
            ESCROW,
            Acc("usdc_mint"),
            _usdc_token_program(),
        ),
        (Field("input_tokens", "u64"), Field("output_tokens", "u64")),
    ),
    Instruction(
        "cancel_order",
        "Release a hold in full: the payer after expiry (or at any time for a refund left pending by settle_order), or the settler at any time (upstream failure).",
        (
            Acc("authority", signer=True),
            _config(),
            Acc("order", writable=True),
            Acc("payer", writable=True),
            Acc(
                "payer_token",
                writable=True,
                docs="Recorded in the order; refunded with a plain Transfer (the mint is the escrow's)",
            ),
            ESCROW,
            _usdc_token_program(),
        ),
    ),
    Instruction(
        "settle_batch",
        "Settler settles a batch of paid calls of one (model, provider): `total` is split once (protocol, creator, provider) from `source` — the model's x402 inbox (program-signed when source_authority is the stream's inbox authority) or a USDC account the signing source_authority controls (credits rail). `root` is the Merkle root over the calls; the stream (created on the first batch) takes batches in sequence order and chains every root into its running hash.",
        (
            Acc("settler", writable=True, signer=True, docs="Pays the stream's rent, once"),
            _config(),
            Acc("model", writable=True),
            Acc("provider", writable=True),
            Acc(
                "stream",
                writable=True,
                seeds=(const(SEED_STREAM), account_seed("model"), account_seed("provider")),
            ),
            Acc("source", writable=True),
            Acc(
                "source_authority",
                docs="Signer owning source (credits), or the inbox authority PDA (x402; not a signer)",
            ),
            Acc("provider_payout", writable=True),
            Acc("revenue_vault", writable=True),
            Acc("treasury", writable=True),
            Acc("usdc_mint"),
            _usdc_token_program(),
            _system(),
        ),
        (
            Field("sequence", "u64"),
            Field("count", "u64"),
            Field("total", "u64"),
            Field("root", array("u8", 32)),
        ),
    ),
    Instruction(
        "buyback",
        "Crank swaps USDC from a revenue vault for the model's token through an allow-listed swap program (CPI signed by the model PDA); what arrives in the buyback vault must be >= min_out and the USDC taken <= amount_in. "
        "Staging: when the route names the model PDA's associated USDC account (for venues that spend only from the user's associated account, e.g. pump.fun's bonding curve) together with the USDC mint, amount_in moves there from the revenue vault before the swap and the whole staging balance is swept back after it; the USDC check counts vault and staging account together, and both must come out still owned by the model PDA alone (no delegate, close authority or new extension).",
        (
            Acc("crank", signer=True),
            _config(),
            Acc("model", writable=True),
            Acc("revenue_vault", writable=True),
            Acc("buyback_vault", writable=True),
            Acc("swap_program"),
        ),
        (Field("amount_in", "u64"), Field("min_out", "u64"), Field("swap_data", "bytes")),
        remaining="the swap instruction's accounts, in order (at most 128: the runtime's CPI account-info limit), passed to swap_program; the model PDA is marked signer",
    ),
    Instruction(
        "buyback_sol",
        "Buyback of a SOL-paired coin (pump.fun's bonding curve charges native SOL and per-user rent to `user`, which the data-carrying model PDA cannot pay). "
        "1. `buyer_wsol` (the buyer PDA's associated WSOL account) is created if missing, paid by the buyer PDA; "
        "2. swap_program runs the first `swap_accounts` remaining accounts (USDC -> WSOL into buyer_wsol; the model PDA is marked signer, the buyer PDA is not; a route naming the model PDA's associated USDC account and the USDC mint is staged as in buyback); "
        "3. buyer_wsol is closed into the buyer PDA (unwrap: the swap's SOL plus the account's rent); "
        "4. buy_program runs the other remaining accounts (the buyer PDA, data-less, is marked signer and pays SOL; the model PDA is not). "
        "When the buy's accounts name buyer_wsol (PumpSwap's WSOL-quoted pool of a graduated coin spends WSOL from it), step 3 runs after step 4 instead. "
        "Both programs must be allow-listed. After: USDC taken from the revenue vault <= amount_in, tokens arrived in the buyback vault >= min_out, both vaults intact, "
        "and the buyer PDA still system-owned, data-less, with at least the rent-exempt minimum of itself and of buyer_wsol (what the crank prepays once): SOL left over stays there for the next buyback.",
        (
            Acc("crank", signer=True),
            _config(),
            Acc("model", writable=True),
            Acc("revenue_vault", writable=True),
            Acc("buyback_vault", writable=True),
            Acc(
                "buyer",
                writable=True,
                seeds=(const(SEED_BUYER), account_seed("model")),
                docs='Data-less SOL buyer PDA ["buyer", model]',
            ),
            Acc(
                "buyer_wsol",
                writable=True,
                docs="The buyer PDA's associated WSOL account (created and closed within the instruction)",
            ),
            Acc("wsol_mint", address=WSOL_MINT),
            Acc("token_program", address=SPL_TOKEN),
            Acc("associated_token_program", address=ASSOCIATED_TOKEN),
            _system(),
            Acc("swap_program", docs="USDC -> WSOL leg"),
            Acc("buy_program", docs="SOL -> model token leg (pump.fun)"),
        ),
        (
            Field("amount_in", "u64"),
            Field("min_out", "u64"),
            Field("swap_accounts", "u8"),
            Field("swap_data", "bytes"),
            Field("buy_data", "bytes"),
        ),
        remaining="swap_program's accounts (swap_accounts of them), then buy_program's; at most 128 each",
    ),
    Instruction(
        "burn",
        "Crank burns everything in a model's buyback vault.",
        (
            Acc("crank", signer=True),
            _config(),
            Acc("model", writable=True),
            Acc("buyback_vault", writable=True),
            Acc("mint", writable=True),
            Acc("token_program"),
        ),
    ),
    Instruction(
        "harvest_fees",
        "Crank harvests withheld Token-2022 transfer fees from token accounts to the mint and withdraws them to the treasury's account.",
        (
            Acc("crank", signer=True),
            _config(),
            Acc("model"),
            Acc("mint", writable=True),
            Acc(
                "destination",
                writable=True,
                docs="Token account of the mint owned by the treasury authority",
            ),
            Acc("token_program", address=TOKEN_2022),
        ),
        remaining=f"up to {MAX_HARVEST_SOURCES} token accounts of the mint (writable) to harvest from",
    ),
]

PROGRAM = Program(
    name="compute_market",
    address=ADDRESS,
    version="0.1.0",
    description="Bourse compute market: model listings, provider offers, escrowed orders, batch fee-split settlement, buyback-and-burn",
    instructions=INSTRUCTIONS,
    accounts=ACCOUNTS,
    events=EVENTS,
    types=TYPES,
    errors=ERRORS,
    constants=CONSTANTS,
)
