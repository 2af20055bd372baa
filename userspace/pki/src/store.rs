//! The Host and Others certificate stores on the data partition, and the
//! in-memory [`PkiSnapshot`] the TLS policy reads.
//!
//! Layout under the store directory (each entry is a directory, so that an
//! import appears or disappears with one atomic `rename(2)`):
//!
//! ```text
//! host/            0700
//!   <FileName>/    0700
//!     chain.pem    0644  certificate chain, leaf first
//!     key.pem      0600  private key (created 0600, never chmod-ed)
//!     meta         0644  usage=TlsServer / disabled=<services>
//! others/          0755
//!   <FileName>/    0755
//!     certs.pem    0644  CA certificates, root first
//! ```
//!
//! Every write is crash-safe: files are written in a temporary directory
//! (`.tmp-*`, a name no entry can have since file names cannot start with a
//! dot), each file is fsync-ed, the directory is fsync-ed, renamed into
//! place, and the parent directory fsync-ed. A rename onto an existing
//! entry fails, so two imports of one name cannot both succeed. Deletion
//! renames the entry to `.del-*` first, then removes it. Leftovers of an
//! interrupted write are removed by [`CertStore::open`].

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;

use crate::error::StoreError;
use crate::import::{
    cert_facts, certs_to_pem, parse_host_pem, parse_host_unlimited, parse_others, parse_others_unlimited,
    pem_certificates, validate_file_name, CertFacts, HostBundle,
};
use crate::model::{HostCertInfo, OthersCertInfo, Service, ServiceSet, Usage};

/// Where Debian (and our image) keep the system CA bundle.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

const HOST_DIR: &str = "host";
const OTHERS_DIR: &str = "others";
const CHAIN_FILE: &str = "chain.pem";
const KEY_FILE: &str = "key.pem";
const META_FILE: &str = "meta";
const OTHERS_FILE: &str = "certs.pem";
/// Stored files are read up to this size (a planted huge file is refused).
const MAX_STORED_FILE: u64 = 1024 * 1024;
/// The system bundle is read up to this size.
const MAX_SYSTEM_BUNDLE: u64 = 16 * 1024 * 1024;

static UNIQUE: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    )
}

/// The two certificate stores under one directory. Mutations are
/// serialised within the process; one process (the configuration daemon)
/// should own the directory.
#[derive(Debug)]
pub struct CertStore {
    dir: PathBuf,
    write: Mutex<()>,
}

impl CertStore {
    /// Opens (creating if needed) the stores under `dir`, e.g.
    /// `/var/lib/dgw/certs`, and removes leftovers of interrupted writes.
    pub fn open(dir: impl AsRef<Path>) -> Result<CertStore, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        let store = CertStore {
            dir,
            write: Mutex::new(()),
        };
        mkdir(&store.dir, 0o755)?;
        for (sub, mode) in [(HOST_DIR, 0o700), (OTHERS_DIR, 0o755)] {
            let d = store.dir.join(sub);
            mkdir(&d, mode)?;
            let entries = fs::read_dir(&d).map_err(|e| StoreError::io(&d, e))?;
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let p = entry.path();
                if name.starts_with(".tmp-") || name.starts_with(".del-") {
                    if let Err(e) = fs::remove_dir_all(&p) {
                        log::warn!("{}: cannot remove leftover: {e}", p.display());
                    }
                } else if p.is_dir() {
                    // An interrupted association update leaves a temporary
                    // file inside the entry.
                    for inner in fs::read_dir(&p).into_iter().flatten().flatten() {
                        if inner.file_name().to_string_lossy().starts_with(".tmp-") {
                            let _ = fs::remove_file(inner.path());
                        }
                    }
                }
            }
        }
        Ok(store)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn host_dir(&self) -> PathBuf {
        self.dir.join(HOST_DIR)
    }

    fn others_dir(&self) -> PathBuf {
        self.dir.join(OTHERS_DIR)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Imports a host certificate: `pem` holds the chain (leaf first) and
    /// its private key; see [`parse_host_pem`] for the checks. The entry is
    /// associated to every service.
    pub fn import_host(&self, file_name: &str, usage: Usage, pem: &[u8]) -> Result<HostCertInfo, StoreError> {
        validate_file_name(file_name)?;
        let bundle = parse_host_pem(pem, usage)?;
        let services = ServiceSet::all();
        let _guard = self.lock();
        let parent = self.host_dir();
        if parent.join(file_name).exists() {
            return Err(StoreError::DuplicateName {
                file_name: file_name.to_string(),
            });
        }
        write_entry(
            &parent,
            file_name,
            0o700,
            &[
                (KEY_FILE, &bundle.key_pem, 0o600),
                (CHAIN_FILE, &bundle.chain_pem(), 0o644),
                (META_FILE, meta_text(usage, services).as_bytes(), 0o644),
            ],
        )?;
        Ok(host_info(file_name, usage, services, &bundle.facts))
    }

    /// The Host store, sorted by file name. Damaged entries are left out
    /// (with a log warning); [`CertStore::snapshot`] reports them.
    pub fn list_host(&self) -> Result<Vec<HostCertInfo>, StoreError> {
        let mut out = Vec::new();
        for name in entry_names(&self.host_dir())? {
            match self.host_entry(&name) {
                Ok(info) => out.push(info),
                Err(e) => log::warn!("host certificate {name}: {e}"),
            }
        }
        Ok(out)
    }

    /// One Host store entry.
    pub fn host_entry(&self, file_name: &str) -> Result<HostCertInfo, StoreError> {
        validate_file_name(file_name)?;
        let dir = self.existing(&self.host_dir(), file_name)?;
        let (usage, services) = read_meta(&dir)?;
        let chain_path = dir.join(CHAIN_FILE);
        let chain = read_capped(&chain_path, MAX_STORED_FILE)?;
        let certs = pem_certificates(&chain).map_err(|e| corrupt(&chain_path, e))?;
        let facts = certs
            .iter()
            .enumerate()
            .map(|(i, c)| cert_facts(i + 1, c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(&chain_path, e))?;
        Ok(host_info(file_name, usage, services, &facts))
    }

    /// Deletes a Host store entry (certificate and key).
    pub fn delete_host(&self, file_name: &str) -> Result<(), StoreError> {
        validate_file_name(file_name)?;
        let _guard = self.lock();
        delete_entry(&self.host_dir(), file_name)
    }

    /// Sets which services may use a host certificate (the DGW's
    /// `HostCertificateAssociation` row).
    pub fn set_host_services(
        &self,
        file_name: &str,
        services: ServiceSet,
    ) -> Result<HostCertInfo, StoreError> {
        validate_file_name(file_name)?;
        let _guard = self.lock();
        let dir = self.existing(&self.host_dir(), file_name)?;
        let (usage, _) = read_meta(&dir)?;
        replace_file(&dir, META_FILE, meta_text(usage, services).as_bytes(), 0o644)?;
        drop(_guard);
        self.host_entry(file_name)
    }

    /// Imports trusted CA certificates under `file_name`; see
    /// [`parse_others`] for the checks. Returns the new rows.
    pub fn import_others(&self, file_name: &str, data: &[u8]) -> Result<Vec<OthersCertInfo>, StoreError> {
        validate_file_name(file_name)?;
        let certs = parse_others(data)?;
        let _guard = self.lock();
        let parent = self.others_dir();
        if parent.join(file_name).exists() {
            return Err(StoreError::DuplicateName {
                file_name: file_name.to_string(),
            });
        }
        write_entry(
            &parent,
            file_name,
            0o755,
            &[(OTHERS_FILE, &certs_to_pem(&certs), 0o644)],
        )?;
        others_rows(file_name, &certs)
    }

    /// The Others store: one row per certificate, by file name then
    /// position. Damaged entries are left out (with a log warning).
    pub fn list_others(&self) -> Result<Vec<OthersCertInfo>, StoreError> {
        let mut out = Vec::new();
        for name in entry_names(&self.others_dir())? {
            match self.others_certificates(&name) {
                Ok(certs) => match others_rows(&name, &certs) {
                    Ok(rows) => out.extend(rows),
                    Err(e) => log::warn!("trusted certificate {name}: {e}"),
                },
                Err(e) => log::warn!("trusted certificate {name}: {e}"),
            }
        }
        Ok(out)
    }

    fn others_certificates(&self, file_name: &str) -> Result<Vec<CertificateDer<'static>>, StoreError> {
        let dir = self.existing(&self.others_dir(), file_name)?;
        let path = dir.join(OTHERS_FILE);
        let data = read_capped(&path, MAX_STORED_FILE)?;
        parse_others_unlimited(&data).map_err(|e| corrupt(&path, e))
    }

    /// Deletes an Others store entry (every certificate of the file).
    pub fn delete_others(&self, file_name: &str) -> Result<(), StoreError> {
        validate_file_name(file_name)?;
        let _guard = self.lock();
        delete_entry(&self.others_dir(), file_name)
    }

    fn existing(&self, parent: &Path, file_name: &str) -> Result<PathBuf, StoreError> {
        let dir = parent.join(file_name);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(StoreError::NotFound {
                file_name: file_name.to_string(),
            })
        }
    }

    /// Loads everything the TLS policy needs: the host certificates with
    /// their keys, the Others CAs and, when `trust_system_cas` (the
    /// `Cert.TrustSystemCas` parameter) is set, the system CA bundle
    /// (`system_bundle`, default [`SYSTEM_CA_BUNDLE`]).
    ///
    /// Damaged entries and an unreadable system bundle do not fail the
    /// snapshot (that would stop every TLS service); they are left out and
    /// listed in [`PkiSnapshot::problems`]. Leaving a CA out only makes
    /// validation refuse more.
    pub fn snapshot(
        &self,
        trust_system_cas: bool,
        system_bundle: Option<&Path>,
    ) -> Result<PkiSnapshot, StoreError> {
        let mut snap = PkiSnapshot::new();
        for name in entry_names(&self.host_dir())? {
            if let Err(e) = self.load_host(&name, &mut snap) {
                snap.problem(format!("host certificate {name}: {e}"));
            }
        }
        for name in entry_names(&self.others_dir())? {
            match self.others_certificates(&name) {
                Ok(certs) => {
                    snap.add_others_ders(certs);
                }
                Err(e) => snap.problem(format!("trusted certificate {name}: {e}")),
            }
        }
        if trust_system_cas {
            let path = system_bundle.unwrap_or(Path::new(SYSTEM_CA_BUNDLE));
            if let Err(e) = snap.add_system_bundle(path) {
                snap.problem(e.to_string());
            }
        }
        Ok(snap)
    }

    fn load_host(&self, name: &str, snap: &mut PkiSnapshot) -> Result<(), StoreError> {
        let dir = self.existing(&self.host_dir(), name)?;
        let (usage, services) = read_meta(&dir)?;
        let mut pem = read_capped(&dir.join(CHAIN_FILE), MAX_STORED_FILE)?;
        pem.extend_from_slice(&read_capped(&dir.join(KEY_FILE), MAX_STORED_FILE)?);
        let bundle = parse_host_unlimited(&pem, usage).map_err(|e| corrupt(&dir, e))?;
        snap.push_host(name, usage, services, bundle);
        Ok(())
    }
}

fn corrupt(path: &Path, e: StoreError) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

fn host_info(file_name: &str, usage: Usage, services: ServiceSet, facts: &[CertFacts]) -> HostCertInfo {
    let leaf = &facts[0];
    HostCertInfo {
        file_name: file_name.to_string(),
        issued_to: leaf.summary.issued_to.clone(),
        issued_by: leaf.summary.issued_by.clone(),
        valid_from: leaf.summary.valid_from.clone(),
        valid_to: leaf.summary.valid_to.clone(),
        usage,
        services,
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        chain_len: facts.len(),
        subject_alt_names: leaf.summary.subject_alt_names.clone(),
    }
}

fn others_rows(file_name: &str, certs: &[CertificateDer<'_>]) -> Result<Vec<OthersCertInfo>, StoreError> {
    certs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let f = cert_facts(i + 1, c)?;
            Ok(OthersCertInfo {
                file_name: file_name.to_string(),
                position: i + 1,
                issued_to: f.summary.issued_to,
                issued_by: f.summary.issued_by,
                valid_from: f.summary.valid_from,
                valid_to: f.summary.valid_to,
                certificate_authority: f.is_ca,
                not_before: f.not_before,
                not_after: f.not_after,
            })
        })
        .collect()
}

fn meta_text(usage: Usage, services: ServiceSet) -> String {
    // Disabled services are recorded, so a service added later starts
    // enabled, as the DGW's default is.
    let disabled: ServiceSet = Service::ALL
        .into_iter()
        .filter(|s| !services.contains(*s))
        .collect();
    format!("usage={usage}\ndisabled={disabled}\n")
}

fn read_meta(dir: &Path) -> Result<(Usage, ServiceSet), StoreError> {
    let path = dir.join(META_FILE);
    let text = read_capped(&path, 4096)?;
    let text = String::from_utf8_lossy(&text);
    let mut usage = None;
    let mut services = ServiceSet::all();
    for line in text.lines() {
        let bad = |e: StoreError| corrupt(&path, e);
        match line.split_once('=') {
            Some(("usage", v)) => usage = Some(Usage::parse(v).map_err(bad)?),
            Some(("disabled", v)) => {
                for s in ServiceSet::parse_list(v).map_err(bad)?.iter() {
                    services.set(s, false);
                }
            }
            _ => {}
        }
    }
    let usage = usage.ok_or_else(|| StoreError::Corrupt {
        path: path.clone(),
        detail: "no usage= line".to_string(),
    })?;
    Ok((usage, services))
}

fn mkdir(dir: &Path, mode: u32) -> Result<(), StoreError> {
    match DirBuilder::new().recursive(true).mode(mode).create(dir) {
        Ok(()) => Ok(()),
        Err(e) => Err(StoreError::io(dir, e)),
    }
}

fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

/// Creates `path` with `mode` (never widened afterwards), writes and
/// fsyncs it.
fn write_new_file(path: &Path, data: &[u8], mode: u32) -> Result<(), StoreError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| StoreError::io(path, e))
}

/// Writes a whole entry directory atomically (see the module docs).
fn write_entry(
    parent: &Path,
    name: &str,
    dir_mode: u32,
    files: &[(&str, &[u8], u32)],
) -> Result<(), StoreError> {
    let tmp = parent.join(format!(".tmp-{name}-{}", unique_suffix()));
    let result = (|| {
        DirBuilder::new()
            .mode(dir_mode)
            .create(&tmp)
            .map_err(|e| StoreError::io(&tmp, e))?;
        for (file, data, mode) in files {
            write_new_file(&tmp.join(file), data, *mode)?;
        }
        fsync_dir(&tmp)?;
        let dest = parent.join(name);
        match fs::rename(&tmp, &dest) {
            Ok(()) => {}
            Err(e)
                if e.kind() == io::ErrorKind::AlreadyExists
                    || e.kind() == io::ErrorKind::DirectoryNotEmpty =>
            {
                return Err(StoreError::DuplicateName {
                    file_name: name.to_string(),
                })
            }
            Err(e) => return Err(StoreError::io(&dest, e)),
        }
        fsync_dir(parent)
    })();
    if result.is_err() && tmp.exists() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

/// Replaces one file of an entry atomically.
fn replace_file(dir: &Path, name: &str, data: &[u8], mode: u32) -> Result<(), StoreError> {
    let tmp = dir.join(format!(".tmp-{name}-{}", unique_suffix()));
    let result = write_new_file(&tmp, data, mode).and_then(|()| {
        let dest = dir.join(name);
        fs::rename(&tmp, &dest).map_err(|e| StoreError::io(&dest, e))
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    fsync_dir(dir)
}

fn delete_entry(parent: &Path, name: &str) -> Result<(), StoreError> {
    let dir = parent.join(name);
    if !dir.is_dir() {
        return Err(StoreError::NotFound {
            file_name: name.to_string(),
        });
    }
    let gone = parent.join(format!(".del-{name}-{}", unique_suffix()));
    fs::rename(&dir, &gone).map_err(|e| StoreError::io(&dir, e))?;
    fsync_dir(parent)?;
    if let Err(e) = fs::remove_dir_all(&gone) {
        // The entry is already gone; the leftover is removed at next open.
        log::warn!("{}: {e}", gone.display());
    }
    Ok(())
}

/// Entry names (valid file names only), sorted.
fn entry_names(parent: &Path) -> Result<Vec<String>, StoreError> {
    let mut names = Vec::new();
    let entries = match fs::read_dir(parent) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(StoreError::io(parent, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(parent, e))?;
        if let Ok(name) = entry.file_name().into_string() {
            if validate_file_name(&name).is_ok() && entry.path().is_dir() {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(names)
}

fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, StoreError> {
    let f = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut data = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut data)
        .map_err(|e| StoreError::io(path, e))?;
    if data.len() as u64 > cap {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("larger than {cap} bytes"),
        });
    }
    Ok(data)
}

/// A host certificate ready for rustls.
#[derive(Clone, Debug)]
pub struct HostCredential {
    /// Its listing row (file name, usage, services, validity...).
    pub info: HostCertInfo,
    /// Chain and signing key.
    pub certified_key: Arc<CertifiedKey>,
}

/// Everything the TLS policy reads, in memory: a snapshot of the stores
/// (from [`CertStore::snapshot`], or built directly).
///
/// Two trust sets are kept: the Others CAs plus, when enabled, the system
/// bundle, for validating servers; and the Others CAs alone, for validating
/// client certificates (public CAs issue clientAuth certificates to
/// anyone, so they must not let clients in).
#[derive(Clone, Debug)]
pub struct PkiSnapshot {
    host: Vec<HostCredential>,
    others: Arc<RootCertStore>,
    server_roots: Arc<RootCertStore>,
    problems: Vec<String>,
}

impl Default for PkiSnapshot {
    fn default() -> Self {
        PkiSnapshot::new()
    }
}

impl PkiSnapshot {
    /// An empty snapshot: no host certificate, no trusted CA.
    pub fn new() -> PkiSnapshot {
        PkiSnapshot {
            host: Vec::new(),
            others: Arc::new(RootCertStore::empty()),
            server_roots: Arc::new(RootCertStore::empty()),
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, p: String) {
        log::warn!("pki: {p}");
        self.problems.push(p);
    }

    fn push_host(&mut self, name: &str, usage: Usage, services: ServiceSet, b: HostBundle) {
        self.host.retain(|h| h.info.file_name != name);
        self.host.push(HostCredential {
            info: host_info(name, usage, services, &b.facts),
            certified_key: b.certified_key,
        });
    }

    /// Adds a host certificate from PEM (same checks as
    /// [`CertStore::import_host`]); an entry of the same name is replaced.
    pub fn add_host_pem(
        &mut self,
        file_name: &str,
        usage: Usage,
        services: ServiceSet,
        pem: &[u8],
    ) -> Result<(), StoreError> {
        validate_file_name(file_name)?;
        let b = parse_host_pem(pem, usage)?;
        self.push_host(file_name, usage, services, b);
        Ok(())
    }

    /// Adds trusted CA certificates (same checks as
    /// [`CertStore::import_others`]). Returns how many were added.
    pub fn add_others_pem(&mut self, data: &[u8]) -> Result<usize, StoreError> {
        let certs = parse_others(data)?;
        Ok(self.add_others_ders(certs))
    }

    fn add_others_ders(&mut self, certs: Vec<CertificateDer<'static>>) -> usize {
        let (added, _) = Arc::make_mut(&mut self.others).add_parsable_certificates(certs.clone());
        Arc::make_mut(&mut self.server_roots).add_parsable_certificates(certs);
        added
    }

    /// Adds the certificates of a system CA bundle (PEM) to the CAs that
    /// validate servers. Certificates that are not usable as trust anchors
    /// are skipped. Returns how many were added.
    pub fn add_system_bundle(&mut self, path: &Path) -> Result<usize, StoreError> {
        let err = |detail: String| StoreError::SystemBundle {
            path: path.to_path_buf(),
            detail,
        };
        let data = read_capped(path, MAX_SYSTEM_BUNDLE).map_err(|e| err(e.to_string()))?;
        // Lenient on purpose: the bundle is the operating system's, and
        // blocks of other kinds are skipped. A malformed block ends the
        // reading (what came before is kept).
        let mut certs = Vec::new();
        for item in CertificateDer::pem_slice_iter(&data) {
            match item {
                Ok(c) => certs.push(c),
                Err(e) => {
                    log::warn!("system CA bundle {}: {e:?}", path.display());
                    break;
                }
            }
        }
        let (added, ignored) = Arc::make_mut(&mut self.server_roots).add_parsable_certificates(certs);
        if ignored > 0 {
            log::info!(
                "system CA bundle {}: {ignored} certificates not usable as trust anchors",
                path.display()
            );
        }
        if added == 0 {
            return Err(err("no usable CA certificate".to_string()));
        }
        Ok(added)
    }

    /// The host certificates.
    pub fn host_credentials(&self) -> &[HostCredential] {
        &self.host
    }

    /// The host certificate a service uses for `usage`: among the entries
    /// with that usage and associated to `service`, one valid at `now`
    /// if there is one (`now` is `None` when the clock is not
    /// synchronised), then the latest expiry, then the first file name.
    pub fn host_certificate(
        &self,
        service: Service,
        usage: Usage,
        now: Option<UnixTime>,
    ) -> Option<&HostCredential> {
        let now = now.map(|t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
        self.host
            .iter()
            .filter(|h| h.info.usage == usage && h.info.services.contains(service))
            .max_by(|a, b| {
                let valid =
                    |h: &HostCredential| now.is_some_and(|t| h.info.not_before <= t && t <= h.info.not_after);
                valid(a)
                    .cmp(&valid(b))
                    .then(a.info.not_after.cmp(&b.info.not_after))
                    .then(b.info.file_name.cmp(&a.info.file_name))
            })
    }

    /// The CAs that validate servers: Others, plus the system bundle if it
    /// was loaded.
    pub fn server_roots(&self) -> Arc<RootCertStore> {
        self.server_roots.clone()
    }

    /// The CAs that validate client certificates: Others only.
    pub fn client_roots(&self) -> Arc<RootCertStore> {
        self.others.clone()
    }

    /// What could not be loaded (damaged entries, an unusable system
    /// bundle), one message each.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}
