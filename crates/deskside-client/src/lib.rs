//! The groundwork the Deskside desktop app sits on: a typed client for the server's HTTP API
//! ([`api`]), and a local SQLite store ([`LocalStore`]) holding an offline outbox
//! ([`outbox`]) and a cache of tickets kept fresh by cursor-based sync ([`cache`]).
//!
//! The store is synchronous SQLite behind a mutex that is never held across an `.await`,
//! so every future here is `Send` and can run on any runtime thread (Tauri commands need
//! that).

pub mod agent_bridge;
pub mod api;
pub mod cache;
pub mod device_panel;
pub mod diagnostics_preview;
pub mod outbox;
mod store;
pub mod views;

pub use api::{ApiError, Auth, Client};
pub use store::{LocalStore, StoreError};
