//! # ktls-offload
//!
//! Every TLS connection of the gateway does its handshake in rustls and then,
//! where the running kernel allows, hands the record layer to Linux kernel
//! TLS (kTLS). Callers get one tokio stream type, [`TlsStream`], and never
//! branch on which path carries the bytes; [`TlsStream::info`] says.
//!
//! ```no_run
//! # async fn demo(config: std::sync::Arc<rustls::ClientConfig>) -> std::io::Result<()> {
//! use tokio::io::AsyncWriteExt;
//! let tcp = tokio::net::TcpStream::connect("192.0.2.1:5061").await?;
//! let name = rustls::pki_types::ServerName::try_from("sip.example.net").unwrap();
//! let mut tls = ktls_offload::connect(config, name, tcp, &Default::default()).await?;
//! println!("{} {} via {}", tls.info().version, tls.info().suite, tls.info().path);
//! tls.write_all(b"OPTIONS sip:sip.example.net SIP/2.0\r\n...").await?;
//! tls.shutdown().await?; // sends close_notify
//! # Ok(()) }
//! ```
//!
//! ## Guarantees
//! - **Nothing is lost at the hand-off.** The handshake reads the socket one
//!   TLS record at a time, so every byte after the last handshake record is
//!   still in the socket for the kernel; plaintext rustls already decrypted
//!   (0-RTT early data) is delivered first.
//! - **Control records are handled, not ignored.** Reads use `recvmsg` with a
//!   control-message buffer. close_notify is end of file; a fatal alert is an
//!   error naming it ([`KtlsError::PeerAlert`]); NewSessionTickets go to
//!   rustls' session store (client) so later connections can resume; a TLS
//!   1.2 HelloRequest is refused with a no_renegotiation warning.
//! - **KeyUpdate.** On kernels with TLS 1.3 rekey (Linux 6.14+, found by
//!   [`probe()`]), a peer's KeyUpdate installs the next RX key and, when the
//!   peer asks, we answer with our own and install the next TX key. On older
//!   kernels the connection fails with [`KtlsError::KeyUpdateUnsupported`]
//!   and is shut down: never stale-key garbage, never a hang.
//! - **AEAD limits.** The stream counts records sent under a key and sends a
//!   KeyUpdate at 7/8 of the suite's confidentiality limit where the kernel
//!   can rekey; where it cannot, writes fail at the limit
//!   ([`KtlsError::RecordLimit`]).
//! - **Zero-copy helpers.** [`TlsStream::send_file`] uses `sendfile(2)` and
//!   [`TlsStream::recv_to_file`] uses `splice(2)` on the kTLS path; both fall
//!   back to reads and writes on the userspace path.
//! - **Fallback.** When the kernel has no kTLS (no `CONFIG_TLS`, module not
//!   loadable), or lacks a cipher the configuration allows, the same stream
//!   type runs userspace rustls ([`DataPath::Userspace`] says why).
//!
//! ## Limits
//! - Linux only; TCP only (no DTLS in the kernel, so SRTP stays in userspace).
//! - The path is chosen before the handshake: rustls' unbuffered connection
//!   cannot turn into a buffered one, so if the kernel lacks *any* suite the
//!   config allows, the userspace path is taken for the whole connection.
//! - The hand-off needs `enable_secret_extraction = true` in the rustls
//!   config; without it the userspace path is used.
//! - Record counts for the limit are estimates (one record per 16 KiB sent,
//!   plus one per `sendfile` chunk), deliberately on the high side.
//! - A stream dropped without [`tokio::io::AsyncWriteExt::shutdown`] closes
//!   TCP without close_notify, as with any TLS stream.
//!
//! All `unsafe` code is in one private module of system-call wrappers, each
//! block with a `SAFETY` comment.
#![deny(missing_docs, clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

pub mod control;
mod handshake;
mod kernel;
pub mod probe;
mod stream;
mod sys;

pub use kernel::{KtlsError, StreamStats};
pub use probe::{probe, probe_fresh, tls_stat, tls_stat_value, Cipher, KernelSupport, TlsVersion};
pub use stream::{accept, connect, DataPath, Mode, Options, SessionInfo, TlsStream};
