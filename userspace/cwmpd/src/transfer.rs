//! File transfers the ACS asks for: Download (TR-069 A.3.2.8) and Upload (A.4.1.5), over
//! HTTP or HTTPS, ending in the [`PendingTransfer`] whose TransferComplete the session then
//! sends (and [`crate::events::AgentState`] keeps across restarts and reboots).
//!
//! # What is transferred
//!
//! | RPC | FileType | what happens |
//! |---|---|---|
//! | Download | `1 Firmware Upgrade Image` | downloaded into [`TransferContext::work_dir`], then handed to [`Installer::install_firmware`] ([`FileInstaller`]: SHA-256 trailer checked, image moved into `pending/`) |
//! | Download | `3 Vendor Configuration File` | a configuration script (`params::script`), applied all or nothing by [`Installer::apply_configuration`] |
//! | Upload | `1 Vendor Configuration File` | the exported configuration, **without secrets** ([`Installer::upload_source`]) |
//! | Upload | `2 Vendor Log File` | the log |
//!
//! # The data path
//!
//! A Download's body with a `Content-Length` goes into a file created mode 0600 in the work
//! directory: over HTTPS with [`ktls_offload::TlsStream::recv_to_file`], which on a kTLS
//! connection is `splice(2)` socket → pipe → file, so a firmware image is decrypted by the
//! kernel and never copied through this process ([`TransferReport::spliced`] says whether that
//! happened; on a kernel without kTLS the same call reads and writes in userspace). A chunked
//! body is decoded (httpwire's [`httpwire::ChunkedDecoder`]) and written; a body delimited by
//! the connection's end is read to the end. Every body is bounded by
//! [`TransferContext::max_size`] (a configuration script also by
//! [`params::script::MAX_SCRIPT_BYTES`]), and the whole transfer by
//! [`TransferContext::timeout`].
//!
//! Uploads are sent from memory: what is uploaded (a configuration export, a log tail) is
//! produced in memory and is small, and a Digest-protected server answers the first PUT with
//! 401, so the body must be at hand to send again.
//!
//! # Authentication and secrets
//!
//! The request's Username/Password answer a 401 (Digest, or Basic over TLS only: httpwire's
//! [`httpwire::Client`]). They are sent only to the URL's origin: a redirect to another
//! scheme, host or port is followed without them (and a redirect from `https` to `http` is
//! refused). Passwords are never logged; URLs are logged without their query (a signed URL's
//! token is a credential too), and a URL with `user:password@` is refused by the parser.
//!
//! # Fault codes (TR-069 A.5.1, and the TransferComplete fault codes the CWMP 1.2 schema allows)
//!
//! TransferComplete may only carry 9001, 9002, 9010-9012 and 9014-9020. 9013 (unsupported
//! protocol) is therefore not a TransferComplete code: it is the *Download or Upload RPC's*
//! fault, which [`check_download`] and [`check_upload`] give the agent before it accepts a
//! transfer. A transfer started anyway with such a URL ends in 9010 (Download) or 9011
//! (Upload), the text naming the protocol.
//!
//! | condition | Download | Upload |
//! |---|---|---|
//! | URL scheme other than http/https (RPC check) | 9013 | 9013 |
//! | URL malformed (RPC check) | 9003 | 9003 |
//! | FileType not handled | 9010 | 9011 |
//! | FileSize, `Content-Length` or the body larger than the limit | 9010 | 9011 |
//! | no connection: DNS, TCP, TLS handshake, certificate refused (validation level), timeout while connecting | 9015 | 9011 |
//! | 401/407 (no credentials, or refused) | 9012 | 9012 |
//! | any other HTTP error status, too many redirects, redirect to http from https | 9016 | 9011 |
//! | connection lost, malformed response or timeout after the connection was made | 9017 | 9011 |
//! | size differs from a non-zero FileSize, configuration not UTF-8, script refused, firmware image integrity check failed | 9018 | — |
//! | local failure (work directory, disk) | 9002 | 9002 |
//!
//! A refused configuration script is "file corrupted or otherwise unusable" (9018) rather than
//! 9002, an internal error: the file, not the CPE, is at fault. Its fault string gives the
//! number of bad lines and the first one's line number and parameter, never a value (a value
//! may be a password).
//!
//! # Times
//!
//! [`PendingTransfer::start`] is when the transfer began; [`PendingTransfer::complete`] is when
//! it was fully applied, and 0 (the unknown time) when it failed. DelaySeconds is not waited
//! here: the agent schedules the transfer (a delay must survive a restart, so it belongs to
//! the agent's persistent queue).

mod http;
pub mod install;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cwmp::FaultCode;
use httpwire::Url;

use crate::events::PendingTransfer;

pub use install::{ConfigScriptInstaller, FileInstaller, PendingFirmware, FIRMWARE_TRAILER_LEN};

/// Download FileType of a firmware image.
pub const FIRMWARE_IMAGE: &str = "1 Firmware Upgrade Image";
/// Download FileType of a configuration script.
pub const VENDOR_CONFIGURATION_DOWNLOAD: &str = "3 Vendor Configuration File";
/// Upload FileType of the configuration.
pub const VENDOR_CONFIGURATION_UPLOAD: &str = "1 Vendor Configuration File";
/// Upload FileType of the log.
pub const VENDOR_LOG_UPLOAD: &str = "2 Vendor Log File";

/// Most redirects followed for one Download (TR-069 §3.4.5 allows the CPE to stop after 5).
pub const MAX_REDIRECTS: u32 = 5;

/// Longest fault string (the schema's limit for TransferComplete's FaultString).
const MAX_FAULT_STRING: usize = 256;

/// Why a transfer or an installation failed: a TR-069 fault code and the fault string.
///
/// The message never contains a password, a URL query or a configuration value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferError {
    /// The fault code.
    pub code: FaultCode,
    /// The fault string (at most 256 characters).
    pub message: String,
}

impl TransferError {
    /// A fault `code` whose string is `detail`, cut to 256 characters.
    pub fn new(code: FaultCode, detail: impl Into<String>) -> TransferError {
        let mut message: String = detail.into();
        if message.chars().count() > MAX_FAULT_STRING {
            message = message.chars().take(MAX_FAULT_STRING - 3).collect();
            message.push_str("...");
        }
        TransferError { code, message }
    }

    /// The fault as the answer to a Download or Upload RPC.
    pub fn fault(&self) -> cwmp::Fault {
        cwmp::Fault {
            code: self.code,
            string: self.message.clone(),
            set_parameter_values_faults: Vec::new(),
        }
    }
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.get())
    }
}

impl std::error::Error for TransferError {}

/// 9002 with a local I/O error.
pub(crate) fn internal(what: &str, e: impl fmt::Display) -> TransferError {
    TransferError::new(FaultCode::INTERNAL_ERROR, format!("Internal error: {what}: {e}"))
}

/// What installs downloaded files and produces uploaded ones. The daemon implements it with
/// the A/B firmware installer and confd's ApplyScript; [`FileInstaller`] and
/// [`ConfigScriptInstaller`] are the file-based and in-process implementations.
///
/// The methods are synchronous and may block (hashing an image, writing flash): the transfer
/// code calls them on tokio's blocking pool.
pub trait Installer: Send + Sync {
    /// Installs the downloaded firmware image at `image` (a file in the work directory, which
    /// the installer may move; it is deleted afterwards if still there). A corrupt image is
    /// refused with 9018.
    fn install_firmware(&self, image: &Path) -> Result<(), TransferError>;

    /// Applies a downloaded configuration script, all or nothing. A script that does not
    /// apply is refused with 9018 and changes nothing.
    fn apply_configuration(&self, script: &str) -> Result<(), TransferError>;

    /// The bytes to upload for an Upload FileType: [`VENDOR_CONFIGURATION_UPLOAD`] is the
    /// exported configuration without secrets, [`VENDOR_LOG_UPLOAD`] the log. Anything else
    /// is refused with 9011.
    fn upload_source(&self, file_type: &str) -> Result<Vec<u8>, TransferError>;
}

/// Everything a transfer needs besides the request.
#[derive(Clone)]
pub struct TransferContext {
    /// TLS for `https` URLs, from the Cwmp (or File) TLS policy: validation level, versions,
    /// suites (`pki::client_config`). `None` refuses `https` (9015).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// kTLS hand-off choice for `https` connections.
    pub ktls: ktls_offload::Options,
    /// Where downloads are written (created if missing). Files there are mode 0600 and
    /// removed when the transfer ends, unless the installer moved them.
    pub work_dir: PathBuf,
    /// Largest file downloaded or uploaded, in bytes.
    pub max_size: u64,
    /// Installs what is downloaded, produces what is uploaded.
    pub installer: Arc<dyn Installer>,
    /// Bound on the whole transfer (connection, request, body), not on the installation.
    pub timeout: Duration,
}

impl fmt::Debug for TransferContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransferContext")
            .field("tls", &self.tls.is_some())
            .field("ktls", &self.ktls)
            .field("work_dir", &self.work_dir)
            .field("max_size", &self.max_size)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// How a transfer went, for logs and tests (the ACS only sees the [`PendingTransfer`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransferReport {
    /// Body bytes received (Download) or sent (Upload).
    pub bytes: u64,
    /// The connection was TLS.
    pub tls: bool,
    /// The TLS data path was the kernel's (kTLS).
    pub kernel_tls: bool,
    /// The Download body went socket → file through `splice(2)` on kTLS, never through
    /// this process.
    pub spliced: bool,
    /// The Download body was chunked.
    pub chunked: bool,
    /// Redirects followed.
    pub redirects: u32,
}

/// The URL for logs: scheme, authority and path, never the query.
pub(crate) fn loggable(url: &Url) -> String {
    format!("{}://{}{}", url.scheme().as_str(), url.host_header(), url.path())
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The scheme of `url`, lower case, if it has one.
fn scheme_of(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once("://")?;
    let ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    ok.then(|| scheme.to_ascii_lowercase())
}

/// Parses a transfer URL. `sync`: the answer to the RPC (9013/9003); otherwise the
/// TransferComplete code `failure` (9010 or 9011), which 9013 may not be.
fn parse_url(url: &str, sync: bool, failure: FaultCode) -> Result<Url, TransferError> {
    match scheme_of(url).as_deref() {
        Some("http" | "https") => {}
        Some(other) => {
            let code = if sync {
                FaultCode::UNSUPPORTED_PROTOCOL
            } else {
                failure
            };
            // The scheme is safe to show; the rest of the URL may hold credentials.
            let other: String = other.chars().take(16).collect();
            return Err(TransferError::new(
                code,
                format!("Unsupported protocol for file transfer: {other} (only http and https)"),
            ));
        }
        None => {
            let code = if sync {
                FaultCode::INVALID_ARGUMENTS
            } else {
                failure
            };
            return Err(TransferError::new(code, "The URL is not an absolute http(s) URL"));
        }
    }
    Url::parse(url).map_err(|e| {
        let code = if sync {
            FaultCode::INVALID_ARGUMENTS
        } else {
            failure
        };
        // httpwire's URL errors are fixed texts, never the URL.
        TransferError::new(code, format!("Invalid URL: {e}"))
    })
}

/// The checks to make before accepting a Download RPC, answering it with a fault if one
/// fails: an unsupported protocol (9013), a malformed URL (9003), a FileType not handled
/// (9010), a FileSize over `max_size` (9010).
pub fn check_download(req: &cwmp::Download, max_size: u64) -> Result<(), TransferError> {
    parse_url(&req.url, true, FaultCode::DOWNLOAD_FAILURE)?;
    download_limit(req, max_size).map(|_| ())
}

/// The checks to make before accepting an Upload RPC: an unsupported protocol (9013), a
/// malformed URL (9003), a FileType not handled (9011).
pub fn check_upload(req: &cwmp::Upload) -> Result<(), TransferError> {
    parse_url(&req.url, true, FaultCode::UPLOAD_FAILURE)?;
    upload_type(&req.file_type).map(|_| ())
}

/// What a Download is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DownloadKind {
    Firmware,
    Configuration,
}

/// The kind of a Download and the largest body accepted for it.
fn download_limit(req: &cwmp::Download, max_size: u64) -> Result<(DownloadKind, u64), TransferError> {
    let (kind, limit) = match req.file_type.as_str() {
        FIRMWARE_IMAGE => (DownloadKind::Firmware, max_size),
        VENDOR_CONFIGURATION_DOWNLOAD => (
            DownloadKind::Configuration,
            max_size.min(params::script::MAX_SCRIPT_BYTES as u64),
        ),
        other => {
            let shown: String = other.chars().take(64).collect();
            return Err(TransferError::new(
                FaultCode::DOWNLOAD_FAILURE,
                format!("Download failure: FileType \"{shown}\" is not supported"),
            ));
        }
    };
    if u64::from(req.file_size) > limit {
        return Err(too_large(
            FaultCode::DOWNLOAD_FAILURE,
            u64::from(req.file_size),
            limit,
        ));
    }
    Ok((kind, limit))
}

fn upload_type(file_type: &str) -> Result<&'static str, TransferError> {
    match file_type {
        VENDOR_CONFIGURATION_UPLOAD => Ok(VENDOR_CONFIGURATION_UPLOAD),
        VENDOR_LOG_UPLOAD => Ok(VENDOR_LOG_UPLOAD),
        other => {
            let shown: String = other.chars().take(64).collect();
            Err(TransferError::new(
                FaultCode::UPLOAD_FAILURE,
                format!("Upload failure: FileType \"{shown}\" is not supported"),
            ))
        }
    }
}

pub(crate) fn too_large(code: FaultCode, size: u64, limit: u64) -> TransferError {
    let what = if code == FaultCode::UPLOAD_FAILURE {
        "Upload failure"
    } else {
        "Download failure"
    };
    TransferError::new(
        code,
        format!("{what}: the file ({size} bytes) is larger than the {limit}-byte limit"),
    )
}

/// Runs a Download and returns what its TransferComplete reports. See the module
/// documentation for the fault codes; the caller records the result with
/// [`crate::events::AgentState::add_transfer`].
pub async fn download(req: &cwmp::Download, ctx: &TransferContext) -> PendingTransfer {
    download_with_report(req, ctx).await.0
}

/// [`download`], also returning how the bytes travelled.
pub async fn download_with_report(
    req: &cwmp::Download,
    ctx: &TransferContext,
) -> (PendingTransfer, TransferReport) {
    let start = now_unix();
    let mut report = TransferReport::default();
    let result = run_download(req, ctx, &mut report).await;
    let done = finish(&req.command_key, false, start, result);
    log_outcome("Download", &req.command_key, &req.file_type, &done, &report);
    (done, report)
}

/// Runs an Upload and returns what its TransferComplete reports.
pub async fn upload(req: &cwmp::Upload, ctx: &TransferContext) -> PendingTransfer {
    upload_with_report(req, ctx).await.0
}

/// [`upload`], also returning how the bytes travelled.
pub async fn upload_with_report(
    req: &cwmp::Upload,
    ctx: &TransferContext,
) -> (PendingTransfer, TransferReport) {
    let start = now_unix();
    let mut report = TransferReport::default();
    let result = run_upload(req, ctx, &mut report).await;
    let done = finish(&req.command_key, true, start, result);
    log_outcome("Upload", &req.command_key, &req.file_type, &done, &report);
    (done, report)
}

fn finish(command_key: &str, upload: bool, start: i64, result: Result<(), TransferError>) -> PendingTransfer {
    let (fault_code, fault_string, complete) = match result {
        Ok(()) => (0, String::new(), now_unix()),
        // A failed transfer was never "fully completed and applied": unknown time.
        Err(e) => (e.code.get(), e.message, 0),
    };
    PendingTransfer {
        command_key: command_key.to_string(),
        upload,
        fault_code,
        fault_string,
        start,
        complete,
    }
}

fn log_outcome(what: &str, key: &str, file_type: &str, done: &PendingTransfer, r: &TransferReport) {
    let path = if r.spliced {
        "kTLS, spliced into the file"
    } else if r.kernel_tls {
        "kTLS"
    } else if r.tls {
        "userspace TLS"
    } else {
        "plain HTTP"
    };
    if done.fault_code == 0 {
        log::info!(
            target: "cwmpd",
            "{what} {key:?} ({file_type}): done, {} bytes over {path}{}",
            r.bytes,
            if r.chunked { ", chunked" } else { "" }
        );
    } else {
        log::warn!(
            target: "cwmpd",
            "{what} {key:?} ({file_type}) failed: {} {}",
            done.fault_code,
            done.fault_string
        );
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A file in the work directory, deleted when dropped (unless the installer moved it).
struct WorkFile {
    path: PathBuf,
}

impl WorkFile {
    fn create(dir: &Path, what: &str) -> Result<(WorkFile, std::fs::File), TransferError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| internal(&format!("creating {}", dir.display()), e))?;
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{what}-{}-{n}.part", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| internal(&format!("creating {}", path.display()), e))?;
        Ok((WorkFile { path }, file))
    }
}

impl Drop for WorkFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn run_download(
    req: &cwmp::Download,
    ctx: &TransferContext,
    report: &mut TransferReport,
) -> Result<(), TransferError> {
    let url = parse_url(&req.url, false, FaultCode::DOWNLOAD_FAILURE)?;
    let (kind, limit) = download_limit(req, ctx.max_size)?;
    log::info!(
        target: "cwmpd",
        "Download {:?} ({}): fetching {}",
        req.command_key,
        req.file_type,
        loggable(&url)
    );
    let what = match kind {
        DownloadKind::Firmware => "firmware",
        DownloadKind::Configuration => "config",
    };
    let (work, file) = WorkFile::create(&ctx.work_dir, what)?;
    let deadline = http::deadline(ctx.timeout);
    let size = http::fetch_to_file(&url, req, ctx, limit, &file, deadline, report).await?;
    if req.file_size > 0 && size != u64::from(req.file_size) {
        return Err(TransferError::new(
            FaultCode::FILE_CORRUPTED,
            format!(
                "Download failure: file corrupted: {size} bytes received, FileSize says {}",
                req.file_size
            ),
        ));
    }
    file.sync_all()
        .map_err(|e| internal("writing the downloaded file", e))?;
    drop(file);
    let installer = ctx.installer.clone();
    let path = work.path.clone();
    let installed = tokio::task::spawn_blocking(move || match kind {
        DownloadKind::Firmware => installer.install_firmware(&path),
        DownloadKind::Configuration => {
            let bytes = std::fs::read(&path).map_err(|e| internal("reading the downloaded file", e))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                TransferError::new(
                    FaultCode::FILE_CORRUPTED,
                    "Download failure: file corrupted: the configuration file is not UTF-8 text",
                )
            })?;
            installer.apply_configuration(&text)
        }
    })
    .await
    .map_err(|e| internal("the installer", e))?;
    drop(work);
    installed
}

async fn run_upload(
    req: &cwmp::Upload,
    ctx: &TransferContext,
    report: &mut TransferReport,
) -> Result<(), TransferError> {
    let url = parse_url(&req.url, false, FaultCode::UPLOAD_FAILURE)?;
    let file_type = upload_type(&req.file_type)?;
    let installer = ctx.installer.clone();
    let body = tokio::task::spawn_blocking(move || installer.upload_source(file_type))
        .await
        .map_err(|e| internal("the upload source", e))??;
    if body.len() as u64 > ctx.max_size {
        return Err(too_large(
            FaultCode::UPLOAD_FAILURE,
            body.len() as u64,
            ctx.max_size,
        ));
    }
    log::info!(
        target: "cwmpd",
        "Upload {:?} ({}): {} bytes to {}",
        req.command_key,
        req.file_type,
        body.len(),
        loggable(&url)
    );
    let deadline = http::deadline(ctx.timeout);
    http::put(&url, req, ctx, &body, deadline, report).await
}
