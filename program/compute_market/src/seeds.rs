//! PDA seed prefixes (mirrored in idl/compute_market_spec.py) and limits.

pub const CONFIG: &[u8] = b"config";
pub const ESCROW: &[u8] = b"escrow_vault";
pub const MODEL: &[u8] = b"model";
pub const REVENUE: &[u8] = b"revenue_vault";
pub const BUYBACK: &[u8] = b"buyback_vault";
pub const PROVIDER: &[u8] = b"provider";
pub const OFFER: &[u8] = b"offer";
pub const ORDER: &[u8] = b"order";
pub const PAYMENT: &[u8] = b"payment";

pub const MAX_SLUG_LEN: usize = 32;
pub const MAX_URI_LEN: usize = 128;
pub const MAX_NAME_LEN: usize = 32;
pub const MAX_SWAP_PROGRAMS: usize = 4;
pub const MAX_HARVEST_SOURCES: usize = 20;
pub const MAX_ORDER_TTL_SECS: i64 = 7 * 24 * 3600;
pub const HARD_MAX_PROTOCOL_FEE_BPS: u16 = 2_000;
pub const HARD_MAX_MODEL_FEE_BPS: u16 = 5_000;
pub const BPS_DENOMINATOR: u64 = 10_000;
pub const TOKENS_PER_PRICE_UNIT: u64 = 1_000_000;
