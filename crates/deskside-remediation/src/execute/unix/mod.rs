//! Pieces shared by the Linux and macOS backends: CUPS, ending processes, temp cleaning.

pub(crate) mod cups;
pub(crate) mod process;
pub mod temp;
