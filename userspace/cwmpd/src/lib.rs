//! # cwmpd
//!
//! The gateway's TR-069 (CWMP) agent. The SOAP codec and the session flow are in the `cwmp`
//! crate; this crate holds what is specific to the gateway:
//!
//! - [`connreq`]: the Connection Request server of TR-069 §3.2.2 (HTTP digest, rate-limited, on
//!   Cwmp.ListeningPort) and the ConnectionRequestURL reported in Informs.
//! - [`datamodel`]: the TR-181 `Device:2` subset and the vendor tree over the parameter store
//!   (`params`), with the RPC semantics and fault codes of TR-069 (GetParameterNames,
//!   GetParameterValues, SetParameterValues, Get/SetParameterAttributes, AddObject,
//!   DeleteObject) and value-change detection for notifications. It is sans-IO: pure functions
//!   over a configuration snapshot, plus a small persistent [`datamodel::State`] with explicit
//!   load and save.
//! - [`agent`]: when sessions open (boot, periodic, connection request, value change,
//!   ScheduleInform, finished transfers, retries) and the system actions run after them.
//! - [`events`]: the events and TransferCompletes owed to the ACS, kept across restarts.
//! - [`retry`]: the session retry back-off of TR-069 §3.2.1.1.
//! - [`rpc`]: the parameter RPCs over an in-process configuration.
//! - [`transfer`]: Download and Upload over HTTP(S), with HTTPS bodies spliced from kTLS into
//!   the file: the installer interface, firmware and configuration-script installation, and the
//!   TransferComplete fault codes.
//! - [`session`]: one session over HTTP(S) (rustls, then kTLS), driving `cwmp`'s sans-IO
//!   session and handing the ACS's requests to an [`session::Rpc`] implementation.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agent;
pub mod connreq;
pub mod datamodel;
pub mod events;
pub mod retry;
pub mod rpc;
pub mod session;
pub mod transfer;
