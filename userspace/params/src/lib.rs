//! # params
//!
//! The gateway's configuration: one schema declared once ([`schema`]),
//! values checked against it ([`config`]), changed only all-or-nothing,
//! kept crash-safely on the data partition ([`store`]), and changed in bulk
//! by DGW-style configuration scripts ([`script`]). The CLI, the D-Bus
//! service, the web UI and TR-069 all go through this crate.
#![deny(missing_docs)]

pub mod check;
pub mod config;
pub mod docs;
pub mod schema;
pub mod script;
pub mod store;

pub use config::{ChangeSet, Config, Entry, ParamError, Target, Txn};
pub use script::{Applied, ScriptError};
pub use store::{Store, StoreError};
