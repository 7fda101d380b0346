//! One module per instruction, each with `process(program_id, accounts, args)`.

pub mod accept_admin;
pub mod burn;
pub mod buyback;
pub mod buyback_sol;
pub mod cancel_order;
pub mod harvest_fees;
pub mod initialize_config;
pub mod open_order;
pub mod register_model;
pub mod register_provider;
pub mod set_model_status;
pub mod settle_order;
pub mod settle_batch;
pub mod tokenize_model;
pub mod update_config;
pub mod upsert_offer;
