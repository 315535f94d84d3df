//! Integration tests: the real server on a loopback port with a temp data dir, driven over
//! real HTTP. One test binary for the crate (faster to link than one per file).

mod support;

mod account_consent;
mod actions;
mod audit;
mod auth;
mod authorization;
mod cli;
mod connections;
mod data_dir;
mod devices;
mod durability;
mod idempotency;
mod login_throttle;
mod mutations;
mod requester_identity;
mod requester_sessions;
mod robustness;
mod sla;
mod smoke;
mod sync;
mod tickets;
