//! Deskside remediation: how a help-desk agent's click becomes a change on an endpoint,
//! safely.
//!
//! - [`catalog`](mod@catalog): the fixed list of actions with typed, validated parameters. There is no
//!   "run this command" action and there never will be.
//! - [`order`]: Ed25519-signed orders (device, action, nonce, validity window), verified on
//!   the endpoint against the pinned server key, with durable replay protection.
//! - [`policy`]: the endpoint administrator's allowlist, a TOML file reloaded live.
//! - [`execute`]: the platform backends that carry an order out, check its effect and
//!   report, with bounded, secret-free output.
//!
//! The flow on an endpoint: `SignedOrder` → [`order::OrderVerifier::verify`] (signature,
//! device, time, parameters, replay, policy, consent) → [`order::VerifiedOrder`] →
//! [`execute::Executor::run`] → [`execute::ExecutionReport`] for the server, plus, for a
//! password reset, a [`execute::LocalSecret`] for the local user's eyes only.

pub mod catalog;
pub mod execute;
pub mod order;
pub mod policy;
pub mod validation;

pub use catalog::{ActionId, ActionParams, catalog};
pub use execute::{Execution, ExecutionReport, Executor, LocalSecret, Verification};
pub use order::{
    Consent, FileReplayGuard, Order, OrderSigner, OrderVerifier, RejectReason, ReplayGuard,
    SignedOrder, VerifiedOrder,
};
pub use policy::{Policy, PolicyError, PolicyEvent, PolicyHandle, PolicyWatcher};
pub use validation::{FieldError, ValidationErrors};
