//! The files wpa_supplicant reads: the trusted CAs, our certificate chain
//! and our private key, in a per-link runtime directory.
//!
//! Each configuration gets new file names (a generation number), so that
//! wpa_supplicant never reads a file being replaced, and never keeps using
//! a cached copy of an older file of the same name. Files of older
//! generations are removed once the new network is in place; everything is
//! removed when 802.1X stops being attempted, so that no key copy stays
//! behind.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::Material;
use crate::error::Error;

/// The paths of one generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    pub ca: Option<PathBuf>,
    pub client: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug)]
pub(crate) struct RuntimeDir {
    dir: PathBuf,
    generation: u64,
}

impl RuntimeDir {
    /// Creates `<base>/<ifname>` (mode 0700) and empties it: what a previous
    /// run left is of no use, and may hold a key.
    pub(crate) fn open(base: &Path, ifname: &str) -> Result<RuntimeDir, Error> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(base)
            .map_err(|e| Error::io(base, e))?;
        let dir = base.join(ifname);
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Made by someone else, or by an older version: only root
                // (wpa_supplicant) has to read the key.
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::io(&dir, e))?;
            }
            Err(e) => return Err(Error::io(&dir, e)),
        }
        let rd = RuntimeDir { dir, generation: 0 };
        rd.remove_except(None);
        Ok(rd)
    }

    /// Writes a new generation.
    pub(crate) fn write(&mut self, m: &Material) -> Result<Written, Error> {
        self.generation += 1;
        let g = self.generation;
        let ca = match &m.ca_pem {
            Some(pem) => {
                let p = self.dir.join(format!("ca-{g}.pem"));
                write_new(&p, pem, 0o644)?;
                Some(p)
            }
            None => None,
        };
        let client = self.dir.join(format!("client-{g}.pem"));
        write_new(&client, &m.chain_pem, 0o644)?;
        let key = self.dir.join(format!("key-{g}.pem"));
        write_new(&key, m.key_pem.bytes(), 0o600)?;
        Ok(Written { ca, client, key })
    }

    /// Removes every file but those of `keep`.
    pub(crate) fn remove_except(&self, keep: Option<&Written>) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let kept =
                keep.is_some_and(|w| w.ca.as_ref() == Some(&path) || w.client == path || w.key == path);
            if kept || !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            if let Err(e) = fs::remove_file(&path) {
                log::warn!("dot1x: cannot remove {}: {e}", path.display());
            }
        }
    }
}

/// Creates `path` with `mode` from the start (a key must never be readable
/// by others, not even briefly), replacing a leftover of that name.
fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), Error> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(data).map_err(|e| Error::io(path, e))
}

/// Checks a link name: it becomes a directory name and goes to
/// wpa_supplicant, so it must be a plausible Linux interface name (1 to 15
/// bytes, no '/', no whitespace, not "." or "..").
pub(crate) fn check_ifname(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInterfaceName(name.chars().take(40).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EapolVersion, Secret};
    use std::os::unix::fs::MetadataExt;

    fn material(ca: bool) -> Material {
        Material {
            identity: "gw".into(),
            eapol_version: EapolVersion::V2001,
            host_file_name: "h".into(),
            ca_pem: ca.then(|| b"CA".to_vec()),
            chain_pem: b"CHAIN".to_vec(),
            key_pem: Secret::for_tests(b"KEY"),
        }
    }

    #[test]
    fn generations_modes_and_cleanup() {
        let base = std::env::temp_dir().join(format!("dot1x-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let mut rd = RuntimeDir::open(&base, "eth0").expect("open");
        let dir = base.join("eth0");
        assert_eq!(fs::metadata(&dir).map(|m| m.mode() & 0o777).ok(), Some(0o700));
        let w1 = rd.write(&material(true)).expect("write");
        assert_eq!(fs::metadata(&w1.key).map(|m| m.mode() & 0o777).ok(), Some(0o600));
        assert_eq!(fs::read(&w1.key).ok(), Some(b"KEY".to_vec()));
        let w2 = rd.write(&material(false)).expect("write");
        assert_ne!(w1.key, w2.key);
        assert!(w2.ca.is_none());
        rd.remove_except(Some(&w2));
        assert!(!w1.key.exists() && !w1.client.exists());
        assert!(w2.key.exists() && w2.client.exists());
        // A new run starts empty.
        drop(rd);
        let _rd = RuntimeDir::open(&base, "eth0").expect("reopen");
        assert!(!w2.key.exists());
        let _ = fs::remove_dir_all(&base);
    }

    #[test]
    fn interface_names() {
        for ok in ["eth0", "enp3s0", "veth-s", "a.b_c", "x23456789012345"] {
            assert!(check_ifname(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "eth0:1", "x2345678901234567"] {
            assert!(check_ifname(bad).is_err(), "{bad}");
        }
    }
}
