//! The client against the real server, in this process.

mod outbox;
mod support;
mod sync;
