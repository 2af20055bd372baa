//! Installers: the file-based firmware installer, and an in-process configuration for tests
//! and tools.
//!
//! # Firmware image format ([`FileInstaller`])
//!
//! A firmware image file is the image followed by a 32-byte trailer, the SHA-256 of
//! everything before it:
//!
//! ```text
//! +---------------------------+------------------------------+
//! | image (N > 0 bytes)       | SHA-256(image) (32 bytes)    |
//! +---------------------------+------------------------------+
//! ```
//!
//! [`FileInstaller::seal`] makes one (`cat image; sha256sum image | xxd -r -p` in a shell).
//! The trailer protects against truncated or damaged transfers (an HTTP server or a cut
//! connection over plain HTTP cannot always be told from a complete one); it is not a
//! signature: who may install firmware is decided by the ACS and the TLS validation of the
//! file server (image signatures come with the A/B installer).
//!
//! An image whose trailer does not match is refused with 9018 (file corrupted). A good one
//! is cut to the image (trailer removed) and moved into `DIR/pending/firmware.img`; then
//! `DIR/pending/firmware.json` records it (size, SHA-256, time). The record is the commit
//! point: it is removed before the image is replaced and written last (atomically), so after
//! a crash at any moment either no image is pending or the recorded one is complete.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cwmp::FaultCode;
use params::script::ScriptError;
use params::Config;
use ring::digest;
use serde_json::{json, Value};

use super::{internal, Installer, TransferError, VENDOR_CONFIGURATION_UPLOAD, VENDOR_LOG_UPLOAD};

/// Length of the SHA-256 trailer of a firmware image file.
pub const FIRMWARE_TRAILER_LEN: u64 = 32;

/// Largest part of a log uploaded: its last this many bytes.
pub const MAX_LOG_UPLOAD: u64 = 1024 * 1024;

/// Largest firmware record read back.
const MAX_RECORD: u64 = 4096;

fn corrupted(what: impl std::fmt::Display) -> TransferError {
    TransferError::new(
        FaultCode::FILE_CORRUPTED,
        format!("Download failure: file corrupted: {what}"),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_unix() -> i64 {
    super::now_unix()
}

/// A firmware image waiting in `pending/` for the installer (the A/B switch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingFirmware {
    /// The image (trailer removed).
    pub image: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, lower-case hex.
    pub sha256: String,
    /// When it was accepted, seconds since 1970.
    pub received: i64,
}

/// Installs firmware images into `DIR/pending/` after checking their SHA-256 trailer (see
/// the module documentation for the format and the crash safety), and uploads a log file.
/// It takes no configuration (9010) and uploads no configuration (9011).
#[derive(Clone, Debug)]
pub struct FileInstaller {
    dir: PathBuf,
    log: Option<PathBuf>,
}

impl FileInstaller {
    /// An installer keeping its pending image under `dir` (created when needed).
    pub fn new(dir: impl Into<PathBuf>) -> FileInstaller {
        FileInstaller {
            dir: dir.into(),
            log: None,
        }
    }

    /// Uploads the end of `path` for `2 Vendor Log File`.
    pub fn with_log(mut self, path: impl Into<PathBuf>) -> FileInstaller {
        self.log = Some(path.into());
        self
    }

    /// `DIR/pending`.
    pub fn pending_dir(&self) -> PathBuf {
        self.dir.join("pending")
    }

    fn record_path(&self) -> PathBuf {
        self.pending_dir().join("firmware.json")
    }

    /// `payload` followed by its SHA-256: an image file this installer accepts.
    pub fn seal(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + FIRMWARE_TRAILER_LEN as usize);
        out.extend_from_slice(payload);
        out.extend_from_slice(digest::digest(&digest::SHA256, payload).as_ref());
        out
    }

    /// Checks an image file's trailer; returns the image's length and SHA-256 (hex).
    pub fn verify_image(path: &Path) -> Result<(u64, String), TransferError> {
        let mut file = File::open(path).map_err(|e| internal("opening the image", e))?;
        let len = file
            .metadata()
            .map_err(|e| internal("reading the image", e))?
            .len();
        if len <= FIRMWARE_TRAILER_LEN {
            return Err(corrupted(format!(
                "a firmware image of {len} bytes is too short to hold its SHA-256 trailer"
            )));
        }
        let payload = len - FIRMWARE_TRAILER_LEN;
        let mut ctx = digest::Context::new(&digest::SHA256);
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = payload;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let n = file
                .read(&mut buf[..want])
                .map_err(|e| internal("reading the image", e))?;
            if n == 0 {
                return Err(corrupted("the image shrank while it was checked"));
            }
            ctx.update(&buf[..n]);
            left -= n as u64;
        }
        let mut trailer = [0u8; FIRMWARE_TRAILER_LEN as usize];
        file.read_exact(&mut trailer)
            .map_err(|e| internal("reading the image trailer", e))?;
        let sum = ctx.finish();
        if sum.as_ref() != trailer {
            return Err(corrupted("the firmware image does not match its SHA-256 trailer"));
        }
        Ok((payload, hex(sum.as_ref())))
    }

    /// The image waiting in `pending/`, if a complete one is recorded.
    pub fn pending(&self) -> Result<Option<PendingFirmware>, TransferError> {
        let path = self.record_path();
        let text = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(internal("reading the firmware record", e)),
            Ok(m) if m.len() > MAX_RECORD => return Err(internal("the firmware record", "too large")),
            Ok(_) => {
                std::fs::read_to_string(&path).map_err(|e| internal("reading the firmware record", e))?
            }
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| internal("the firmware record", e))?;
        let bad = || internal("the firmware record", "missing or invalid field");
        let file = v.get("file").and_then(Value::as_str).ok_or_else(bad)?;
        if file.contains('/') || file.starts_with('.') {
            return Err(bad());
        }
        Ok(Some(PendingFirmware {
            image: self.pending_dir().join(file),
            size: v.get("size").and_then(Value::as_u64).ok_or_else(bad)?,
            sha256: v
                .get("sha256")
                .and_then(Value::as_str)
                .ok_or_else(bad)?
                .to_string(),
            received: v.get("received").and_then(Value::as_i64).ok_or_else(bad)?,
        }))
    }

    fn read_log(&self) -> Result<Vec<u8>, TransferError> {
        let Some(path) = &self.log else {
            return Err(TransferError::new(
                FaultCode::UPLOAD_FAILURE,
                "Upload failure: no log file on this unit",
            ));
        };
        read_tail(path, MAX_LOG_UPLOAD).map_err(|e| {
            TransferError::new(
                FaultCode::UPLOAD_FAILURE,
                format!("Upload failure: reading the log: {e}"),
            )
        })
    }
}

/// The last `max` bytes of the file at `path`.
fn read_tail(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut out = Vec::new();
    f.take(max).read_to_end(&mut out)?;
    Ok(out)
}

impl Installer for FileInstaller {
    fn install_firmware(&self, image: &Path) -> Result<(), TransferError> {
        use std::os::unix::fs::DirBuilderExt;
        let (size, sha256) = FileInstaller::verify_image(image)?;
        let pending = self.pending_dir();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&pending)
            .map_err(|e| internal("creating the pending directory", e))?;
        // Drop the trailer: the installer gets the image alone.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(image)
            .map_err(|e| internal("opening the image", e))?;
        f.set_len(size).map_err(|e| internal("trimming the image", e))?;
        f.sync_all().map_err(|e| internal("writing the image", e))?;
        drop(f);
        // The record goes first, so no record ever names a half-replaced image.
        match std::fs::remove_file(self.record_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(internal("removing the old firmware record", e))
            }
            _ => {}
        }
        let target = pending.join("firmware.img");
        if std::fs::rename(image, &target).is_err() {
            // Another file system (work directory on tmpfs, say): copy, then rename.
            let tmp = pending.join(".firmware.img.tmp");
            let copied = std::fs::copy(image, &tmp)
                .and_then(|_| File::open(&tmp)?.sync_all())
                .and_then(|()| std::fs::rename(&tmp, &target));
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&tmp);
                return Err(internal("moving the image into pending/", e));
            }
        }
        if let Ok(d) = File::open(&pending) {
            let _ = d.sync_all();
        }
        let record = json!({
            "version": 1,
            "file": "firmware.img",
            "size": size,
            "sha256": sha256,
            "received": now_unix(),
        });
        let mut data = serde_json::to_vec_pretty(&record).map_err(|e| internal("the firmware record", e))?;
        data.push(b'\n');
        params::store::write_file_atomic(&self.record_path(), &data, 0o600)
            .map_err(|e| internal("writing the firmware record", e))?;
        log::info!(target: "cwmpd", "firmware image of {size} bytes (SHA-256 {sha256}) is pending installation");
        Ok(())
    }

    fn apply_configuration(&self, _script: &str) -> Result<(), TransferError> {
        Err(TransferError::new(
            FaultCode::DOWNLOAD_FAILURE,
            "Download failure: this installer takes no configuration files",
        ))
    }

    fn upload_source(&self, file_type: &str) -> Result<Vec<u8>, TransferError> {
        match file_type {
            VENDOR_LOG_UPLOAD => self.read_log(),
            _ => Err(TransferError::new(
                FaultCode::UPLOAD_FAILURE,
                "Upload failure: this installer has no configuration to upload",
            )),
        }
    }
}

/// The configuration as an in-process [`params::Config`]: scripts apply to it with
/// `params::script::apply` (all or nothing), the configuration upload is
/// `params::script::export` without secrets. Firmware goes to an optional
/// [`FileInstaller`], the log upload reads an optional log file.
#[derive(Debug)]
pub struct ConfigScriptInstaller {
    config: Mutex<Config>,
    firmware: Option<FileInstaller>,
    log: Option<PathBuf>,
}

impl ConfigScriptInstaller {
    /// An installer over `config`, taking no firmware and having no log.
    pub fn new(config: Config) -> ConfigScriptInstaller {
        ConfigScriptInstaller {
            config: Mutex::new(config),
            firmware: None,
            log: None,
        }
    }

    /// Hands firmware images to `installer`.
    pub fn with_firmware(mut self, installer: FileInstaller) -> ConfigScriptInstaller {
        self.firmware = Some(installer);
        self
    }

    /// Uploads the end of `path` for `2 Vendor Log File`.
    pub fn with_log(mut self, path: impl Into<PathBuf>) -> ConfigScriptInstaller {
        self.log = Some(path.into());
        self
    }

    /// The configuration now.
    pub fn config(&self) -> Config {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Config> {
        // A panic elsewhere while holding the lock cannot leave a half-applied script: the
        // configuration is only ever replaced whole.
        self.config.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The parameter a script error names (`Name: what is wrong`), if it names one.
fn parameter_of(message: &str) -> Option<&str> {
    let (name, _) = message.split_once(": ")?;
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '[' | ']' | '_' | '-'));
    ok.then_some(name)
}

/// 9018 for a refused script. Only line numbers and parameter names are given: the messages
/// quote values, and a value may be a password.
fn script_refused(errors: &[ScriptError]) -> TransferError {
    let first = match errors.first() {
        Some(e) if e.line > 0 => match parameter_of(&e.message) {
            Some(p) => format!(", first on line {} ({p})", e.line),
            None => format!(", first on line {}", e.line),
        },
        _ => String::new(),
    };
    let n = errors.len();
    corrupted(format!(
        "the configuration script was refused ({n} error{}{first}); nothing was applied",
        if n == 1 { "" } else { "s" }
    ))
}

impl Installer for ConfigScriptInstaller {
    fn install_firmware(&self, image: &Path) -> Result<(), TransferError> {
        match &self.firmware {
            Some(f) => f.install_firmware(image),
            None => Err(TransferError::new(
                FaultCode::DOWNLOAD_FAILURE,
                "Download failure: this unit takes no firmware images",
            )),
        }
    }

    fn apply_configuration(&self, script: &str) -> Result<(), TransferError> {
        let mut cfg = self.lock();
        match params::script::apply(&cfg, script) {
            Ok(applied) => {
                *cfg = applied.config;
                log::info!(
                    target: "cwmpd",
                    "configuration script applied{}",
                    if applied.commands.is_empty() {
                        String::new()
                    } else {
                        format!(", then {}", applied.commands.join(", "))
                    }
                );
                Ok(())
            }
            Err(errors) => Err(script_refused(&errors)),
        }
    }

    fn upload_source(&self, file_type: &str) -> Result<Vec<u8>, TransferError> {
        match file_type {
            VENDOR_CONFIGURATION_UPLOAD => Ok(params::script::export(&self.lock(), false).into_bytes()),
            VENDOR_LOG_UPLOAD => match &self.log {
                Some(path) => read_tail(path, MAX_LOG_UPLOAD).map_err(|e| {
                    TransferError::new(
                        FaultCode::UPLOAD_FAILURE,
                        format!("Upload failure: reading the log: {e}"),
                    )
                }),
                None => Err(TransferError::new(
                    FaultCode::UPLOAD_FAILURE,
                    "Upload failure: no log file on this unit",
                )),
            },
            other => Err(TransferError::new(
                FaultCode::UPLOAD_FAILURE,
                format!(
                    "Upload failure: FileType \"{}\" is not supported",
                    other.chars().take(64).collect::<String>()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cwmpd-install-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn sealed_images_install_and_corrupt_ones_do_not() {
        let dir = scratch("fw");
        let inst = FileInstaller::new(dir.join("state"));
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        let img = dir.join("a.part");
        std::fs::write(&img, FileInstaller::seal(&payload)).unwrap();
        inst.install_firmware(&img).unwrap();
        let p = inst.pending().unwrap().unwrap();
        assert_eq!(p.size, payload.len() as u64);
        assert_eq!(std::fs::read(&p.image).unwrap(), payload);
        assert!(!img.exists());
        for bad in [Vec::new(), vec![0u8; 32], {
            let mut b = FileInstaller::seal(&payload);
            b[5] ^= 1;
            b
        }] {
            std::fs::write(&img, &bad).unwrap();
            let e = inst.install_firmware(&img).unwrap_err();
            assert_eq!(e.code, FaultCode::FILE_CORRUPTED, "{e}");
        }
        // The good image is still the pending one.
        assert_eq!(inst.pending().unwrap().unwrap().sha256, p.sha256);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn script_errors_name_lines_and_parameters_not_values() {
        let i = ConfigScriptInstaller::new(Config::factory());
        let e = i
            .apply_configuration(
                "Web.ServerPort=8080\nSipEp.Registration[a].AuthPassword=\"x\"\nWeb.ServerPort=hunter2\n",
            )
            .unwrap_err();
        assert_eq!(e.code, FaultCode::FILE_CORRUPTED);
        assert!(e.message.contains("line 3 (Web.ServerPort)"), "{e}");
        assert!(!e.message.contains("hunter2"), "{e}");
        assert_eq!(i.config(), Config::factory());
    }
}
