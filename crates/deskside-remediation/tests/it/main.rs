//! Real-OS tests of the remediation crate: real init.d services, real local accounts, a
//! real cupsd, real processes and real files. Tests needing root or a missing tool say why
//! they skip; CI runs them as root with CUPS installed and started.

#![cfg(target_os = "linux")]

mod account;
mod clean_temp;
mod cups;
mod end_to_end;
mod misc;
mod process;
mod service;
mod support;
