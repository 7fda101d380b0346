//! One module per instruction, each with `process(program_id, accounts, args)`.

pub mod add_liquidity;
pub mod create_pool;
pub mod swap;
