//! The real `deskside-agent` binary, run as an administrator would, against the real server
//! started in this process (`support::TestServer`).

#[cfg(unix)]
mod bridge;
mod daemon;
mod diagnose;
mod enroll;
mod fixtures;
mod orders;
mod remediation;
#[cfg(unix)]
mod sharing;
mod support;
