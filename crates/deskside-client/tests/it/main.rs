//! The client against the real server, in this process.

mod bindings;
mod outbox;
mod support;
mod sync;
