//! The configuration on disk: one JSON file on the data partition, written
//! so that a crash or power cut at any instant leaves either the old or the
//! new configuration, never a mix and never a truncated file.
//!
//! Write protocol: write a temporary file in the same directory, `fsync`
//! it, `rename` it over `config.json` (atomic on POSIX file systems), then
//! `fsync` the directory so the rename itself is durable.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::config::{resolve, validate, Config, Target};
use crate::schema::{self, Access};

/// The current on-disk format version.
pub const SCHEMA_VERSION: u64 = 1;

/// Largest configuration file accepted (a full configuration is a few KiB).
pub const MAX_FILE: u64 = 4 * 1024 * 1024;

/// Parameters renamed between schema versions: (old name, new name).
/// Applied on load so older stores keep their values.
const RENAMED: &[(&str, &str)] = &[("Hoc.TimeZone", "Hoc.StaticTimeZone")];

/// A store directory, e.g. `/var/lib/dgw`.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

/// The writer lock of a store; released when dropped (or when the process
/// ends, however it ends).
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

/// Why a store could not be read.
#[derive(Debug)]
pub enum StoreError {
    /// File-system error.
    Io(io::Error),
    /// The file is not a configuration this firmware can read.
    Format(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Io(e) => write!(f, "configuration store: {e}"),
            StoreError::Format(e) => write!(f, "configuration store: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        StoreError::Io(e)
    }
}

impl Store {
    /// Opens (creating with mode 0700 if needed) a store directory.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Store> {
        let dir = dir.into();
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        Ok(Store { dir })
    }

    /// Takes the store's writer lock (an `flock` on `.lock`), so that only
    /// one process (confd, or `dgw ctl --store` when confd is not running)
    /// writes it; a second writer would silently overwrite the first one's
    /// changes. Fails at once, saying so, if another process holds it.
    /// Also removes temporary files a killed writer left behind.
    pub fn lock(&self) -> io::Result<StoreLock> {
        use std::os::fd::AsRawFd;
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.dir.join(".lock"))?;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "{} is in use by another writer (a running confd, or another dgw ctl --store); \
                         use dgw ctl without --store to go through confd",
                        self.dir.display()
                    ),
                ));
            }
            return Err(e);
        }
        // With the lock held no save is in flight: a temporary file is a
        // leftover of a killed writer (the real file is intact).
        for e in fs::read_dir(&self.dir)?.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".config.json.") && name.ends_with(".tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(StoreLock { _file: f })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the configuration file.
    pub fn path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// Loads the configuration. A missing file is the factory configuration.
    /// Values the schema no longer knows, or no longer accepts, are dropped
    /// (their default applies) and reported in the returned warnings, so a
    /// unit always boots after a firmware change.
    pub fn load(&self) -> Result<(Config, Vec<String>), StoreError> {
        let path = self.path();
        let text = match fs::metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Config::factory(), Vec::new())),
            Err(e) => return Err(e.into()),
            Ok(m) if m.len() > MAX_FILE => {
                return Err(StoreError::Format(format!(
                    "{} is {} bytes, over the {MAX_FILE}-byte limit",
                    path.display(),
                    m.len()
                )))
            }
            Ok(_) => fs::read_to_string(&path)?,
        };
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| StoreError::Format(format!("{}: not valid JSON ({e})", path.display())))?;
        from_json(v)
    }

    /// Saves crash-safely (see the module docs). The file is mode 0600: it
    /// holds secrets.
    pub fn save(&self, cfg: &Config) -> io::Result<()> {
        let mut data = serde_json::to_vec_pretty(&to_json(cfg)).map_err(io::Error::other)?;
        data.push(b'\n');
        write_file_atomic(&self.path(), &data, 0o600)
    }

    /// Factory reset: the next load gives the factory configuration.
    pub fn factory_reset(&self) -> io::Result<()> {
        self.save(&Config::factory())
    }
}

/// Writes `data` to `path` crash-safely: a temporary file in the same
/// directory (mode `mode`), `fsync`, `rename` over `path`, `fsync` of the
/// directory. After a crash at any point `path` holds either the old or the
/// new contents, never a mix. Other services' state files (the TR-069
/// agent's event queue, ...) use it too.
pub fn write_file_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?
        .to_string_lossy();
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The on-disk JSON form.
pub fn to_json(cfg: &Config) -> Value {
    let scalars: Map<String, Value> = cfg
        .scalars
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let tables: Map<String, Value> = cfg
        .tables
        .iter()
        .map(|(t, rows)| {
            let rows: Map<String, Value> = rows
                .iter()
                .map(|(k, cells)| {
                    (
                        k.clone(),
                        Value::Object(
                            cells
                                .iter()
                                .map(|(c, v)| (c.clone(), Value::String(v.clone())))
                                .collect(),
                        ),
                    )
                })
                .collect();
            (t.clone(), Value::Object(rows))
        })
        .collect();
    json!({ "schema_version": SCHEMA_VERSION, "scalars": scalars, "tables": tables })
}

/// Brings an older format up to [`SCHEMA_VERSION`].
fn migrate(mut v: Value, warnings: &mut Vec<String>) -> Result<Value, StoreError> {
    let version = match v.get("schema_version") {
        None => 0,
        Some(n) => n
            .as_u64()
            .ok_or_else(|| StoreError::Format("schema_version is not a number".into()))?,
    };
    if version > SCHEMA_VERSION {
        return Err(StoreError::Format(format!(
            "the store has schema version {version}, newer than this firmware's {SCHEMA_VERSION}; \
             refusing to guess (restore a backup or factory-reset)"
        )));
    }
    if version == 0 {
        // Version 0 was a flat object of "Service.Name": "value".
        let flat = v
            .as_object()
            .cloned()
            .ok_or_else(|| StoreError::Format("expected a JSON object".into()))?;
        warnings.push("migrated the store from schema version 0".into());
        v = json!({ "schema_version": 1, "scalars": flat, "tables": {} });
    }
    if let Some(s) = v.get_mut("scalars").and_then(Value::as_object_mut) {
        for (old, new) in RENAMED {
            if let Some(val) = s.remove(*old) {
                warnings.push(format!("renamed {old} to {new}"));
                s.insert((*new).to_string(), val);
            }
        }
    }
    Ok(v)
}

/// Reads the JSON form, migrating and validating every value.
pub fn from_json(v: Value) -> Result<(Config, Vec<String>), StoreError> {
    let mut warnings = Vec::new();
    let v = migrate(v, &mut warnings)?;
    let mut cfg = Config::factory();
    if let Some(s) = v.get("scalars").and_then(Value::as_object) {
        for (name, val) in s {
            let Some(val) = val.as_str() else {
                warnings.push(format!("{name}: not a string, ignored"));
                continue;
            };
            match resolve(name) {
                Ok(Target::Scalar(p)) if p.access != Access::ReadOnly => match validate(&p.kind, val) {
                    Ok(c) => {
                        if c != p.default {
                            cfg.scalars.insert(p.full_name(), c);
                        }
                    }
                    Err(e) => warnings.push(format!(
                        "{name}: stored value no longer valid ({e}); using the default"
                    )),
                },
                _ => warnings.push(format!("{name}: unknown to this firmware, dropped")),
            }
        }
    }
    if let Some(tables) = v.get("tables").and_then(Value::as_object) {
        for (tname, rows) in tables {
            let Some(t) = schema::table(tname) else {
                warnings.push(format!("table {tname}: unknown to this firmware, dropped"));
                continue;
            };
            let mut out = BTreeMap::new();
            for (key, cells) in rows.as_object().into_iter().flatten() {
                let Ok(key) = validate(&t.key.1, key) else {
                    warnings.push(format!("{tname}[{key}]: invalid key, row dropped"));
                    continue;
                };
                if out.len() >= t.max_rows {
                    warnings.push(format!("{tname}: more than {} rows, extra dropped", t.max_rows));
                    break;
                }
                let mut row: BTreeMap<String, String> = t
                    .columns
                    .iter()
                    .map(|c| (c.name.to_string(), c.default.to_string()))
                    .collect();
                for (col, val) in cells.as_object().into_iter().flatten() {
                    match (t.column(col), val.as_str()) {
                        (Some(c), Some(val)) => match validate(&c.kind, val) {
                            Ok(ok) => {
                                row.insert(c.name.to_string(), ok);
                            }
                            Err(e) => warnings.push(format!("{tname}[{key}].{col}: {e}; using the default")),
                        },
                        _ => warnings.push(format!(
                            "{tname}[{key}].{col}: unknown column or not a string, dropped"
                        )),
                    }
                }
                out.insert(key, row);
            }
            cfg.tables.insert(t.full_name(), out);
        }
    }
    for e in cfg.check_constraints() {
        warnings.push(format!("stored configuration breaks a rule: {e}"));
    }
    Ok((cfg, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("params-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn round_trip_and_mode() {
        let d = tmpdir("rt");
        let s = Store::open(&d).unwrap();
        assert_eq!(s.load().unwrap().0, Config::factory());
        let mut c = Config::factory();
        c.set_many(&[
            ("Web.ServerPort".into(), "8080".into()),
            ("Cwmp.AcsPassword".into(), "s3cret".into()),
            (
                "Hoc.StaticSntpServers[1].HostName".into(),
                "ntp.example.net".into(),
            ),
        ])
        .unwrap();
        s.save(&c).unwrap();
        let (back, warnings) = s.load().unwrap();
        assert_eq!(back, c);
        assert!(warnings.is_empty(), "{warnings:?}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(s.path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
        s.factory_reset().unwrap();
        assert_eq!(s.load().unwrap().0, Config::factory());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn migrates_version_0_and_renames() {
        let (c, w) = from_json(json!({"Web.ServerPort": "8081", "Hoc.TimeZone": "UTC0"})).unwrap();
        assert_eq!(c.get("Web.ServerPort").unwrap(), "8081");
        assert_eq!(c.get("Hoc.StaticTimeZone").unwrap(), "UTC0");
        assert!(w.iter().any(|x| x.contains("version 0")), "{w:?}");
    }

    #[test]
    fn bad_stored_values_fall_back_with_warnings() {
        let (c, w) = from_json(json!({"schema_version": 1, "scalars": {"Web.ServerPort": "99999", "Gone.Param": "x"}, "tables": {}})).unwrap();
        assert_eq!(c.get("Web.ServerPort").unwrap(), "80");
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(from_json(json!({"schema_version": 99})).is_err());
        assert!(from_json(json!([1, 2])).is_err());
    }
}
