//! One module per snapshot section: its data types, how it is read on each platform, and
//! the parsers for the tools it reads (compiled everywhere under test).

pub mod hardware;
pub mod logs;
pub mod network;
pub mod printers;
pub mod processes;
pub mod services;
pub mod software;
pub mod system;
