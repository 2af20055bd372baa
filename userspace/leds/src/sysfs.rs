//! File access for the LED class layout: bounded reads, attribute writes, and
//! the few kernel side effects a simulated tree has to reproduce.
//!
//! Everything above this module (pattern setting, trigger discovery, read-back,
//! fallbacks) is shared by both backends. The only backend-specific code is
//! [`Backend::store`]: writing an attribute of the real sysfs has side effects
//! inside the kernel (e.g. writing `timer` to `trigger` rewrites the trigger
//! list and creates `delay_on`/`delay_off`); in a plain directory nobody does
//! that, so the simulated backend performs those effects itself, after the same
//! write the real backend makes.

use crate::LedError;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Which LED class tree a [`crate::LedClass`] drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The kernel's LED class (normally `/sys/class/leds`).
    Sysfs,
    /// A plain directory with the same layout (workstations, unit tests).
    Simulated,
}

/// Largest value attribute we read. sysfs text attributes are at most one page.
pub(crate) const ATTR_LIMIT: u64 = 4096;
/// Largest `trigger` file we read. It is a binary attribute since Linux 5.10
/// precisely because the list can exceed a page (one `cpuN` trigger per CPU,
/// one per network device...), so it gets more room, but still a bound.
pub(crate) const TRIGGER_LIMIT: u64 = 64 * 1024;
/// Longest accepted LED name (NAME_MAX).
const NAME_MAX: usize = 255;

/// Checks that `name` is a single, plain directory name: it comes from
/// configuration and is joined to the class root, so it must not be able to
/// point anywhere else.
pub(crate) fn validate_name(name: &str) -> Result<(), LedError> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name == "." || name == ".." {
        Some("not a name")
    } else if name.len() > NAME_MAX {
        Some("longer than 255 bytes")
    } else if name.contains('/') {
        Some("contains '/'")
    } else if name.contains(',') {
        // Role maps are comma-separated; such a name could never be configured.
        Some("contains ','")
    } else if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Some("contains whitespace or control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(LedError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Reads at most `limit` bytes of a text attribute. A longer file is an error
/// rather than silently truncated: a cut-off trigger list could hide the
/// active `[trigger]`.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<String, LedError> {
    let io_err = |source| LedError::Io {
        op: "read",
        path: path.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(io_err)?;
    let mut buf = Vec::new();
    file.take(limit + 1).read_to_end(&mut buf).map_err(io_err)?;
    if buf.len() as u64 > limit {
        return Err(LedError::Malformed {
            path: path.to_owned(),
            detail: format!("longer than {limit} bytes"),
        });
    }
    String::from_utf8(buf).map_err(|_| LedError::Malformed {
        path: path.to_owned(),
        detail: "not UTF-8 text".into(),
    })
}

/// Reads a decimal attribute (`brightness`, `max_brightness`, `delay_on`...).
pub(crate) fn read_u32(path: &Path) -> Result<u32, LedError> {
    let text = read_bounded(path, ATTR_LIMIT)?;
    let t = text.trim();
    t.parse::<u32>().map_err(|_| LedError::Malformed {
        path: path.to_owned(),
        detail: format!("expected an unsigned 32-bit number, found {:?}", clip(t)),
    })
}

/// Shortens content quoted in error messages.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The `trigger` file: every trigger the LED accepts, the active one in brackets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Triggers {
    /// All names, in file order, brackets removed (includes `none`).
    pub(crate) available: Vec<String>,
    /// The bracketed one; `None` when the file shows no bracket at all.
    pub(crate) active: Option<String>,
}

impl Triggers {
    pub(crate) fn parse(text: &str) -> Triggers {
        let mut t = Triggers::default();
        for word in text.split_ascii_whitespace() {
            let name = match word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                Some(inner) => {
                    t.active = Some(inner.to_owned());
                    inner
                }
                None => word,
            };
            if !name.is_empty() {
                t.available.push(name.to_owned());
            }
        }
        t
    }

    pub(crate) fn read(dir: &Path) -> Result<Triggers, LedError> {
        Ok(Triggers::parse(&read_bounded(
            &dir.join("trigger"),
            TRIGGER_LIMIT,
        )?))
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.available.iter().any(|t| t == name)
    }

    /// The active trigger, with `none` (and a missing bracket) as `None`.
    pub(crate) fn active_trigger(&self) -> Option<&str> {
        self.active.as_deref().filter(|t| *t != "none")
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for name in &self.available {
            if !out.is_empty() {
                out.push(' ');
            }
            if self.active.as_deref() == Some(name.as_str()) {
                out.push('[');
                out.push_str(name);
                out.push(']');
            } else {
                out.push_str(name);
            }
        }
        out.push('\n');
        out
    }
}

impl Backend {
    /// Writes `value` to attribute `attr` of the LED directory `dir`.
    pub(crate) fn store(self, dir: &Path, attr: &str, value: &str) -> Result<(), LedError> {
        let path = dir.join(attr);
        match self {
            Backend::Sysfs => write_attr(&path, value),
            Backend::Simulated => simulate_store(dir, attr, value).map_err(|source| LedError::Io {
                op: "write",
                path,
                source,
            }),
        }
    }
}

/// One `write(2)` of the whole value, to an existing file only: sysfs
/// attributes are never created by writing, and a vanished LED must give an
/// error rather than a stray regular file.
fn write_attr(path: &Path, value: &str) -> Result<(), LedError> {
    let mut f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|source| LedError::Io {
            op: "write",
            path: path.to_owned(),
            source,
        })?;
    f.write_all(value.as_bytes()).map_err(|source| LedError::Io {
        op: "write",
        path: path.to_owned(),
        source,
    })
}

fn einval(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned())
}

/// Replaces the content of an existing file (no create, like sysfs).
fn overwrite(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(value.as_bytes())
}

fn to_io(e: LedError) -> io::Error {
    match e {
        LedError::Io { source, .. } => source,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// Parses a number the way the kernel's `kstrtoul` does for these attributes:
/// decimal, one trailing newline allowed.
fn kernel_number(value: &str) -> io::Result<u64> {
    value
        .strip_suffix('\n')
        .unwrap_or(value)
        .parse::<u64>()
        .map_err(|_| einval("not a number"))
}

/// What the kernel does on a store to an LED class attribute, done to plain files.
/// Mirrors drivers/leds/led-class.c and led-triggers.c behaviour as documented
/// in Documentation/ABI/testing/sysfs-class-led: brightness is clamped to
/// max_brightness and 0 removes the trigger; an unknown trigger is EINVAL;
/// changing trigger turns the LED off; `timer` brings `delay_on`/`delay_off`
/// (500 ms each by default) and they vanish with it.
fn simulate_store(dir: &Path, attr: &str, value: &str) -> io::Result<()> {
    match attr {
        "brightness" => {
            let max = read_u32(&dir.join("max_brightness")).map_err(to_io)?;
            let v = kernel_number(value)?.min(u64::from(max));
            if v == 0 {
                set_trigger(dir, "none")?;
            }
            overwrite(&dir.join("brightness"), &format!("{v}\n"))
        }
        "trigger" => {
            let name = value.strip_suffix('\n').unwrap_or(value);
            set_trigger(dir, name)
        }
        "delay_on" | "delay_off" => {
            let v = kernel_number(value)?;
            // The file exists only while `timer` is active; opening without
            // create reproduces the ENOENT the kernel gives otherwise.
            overwrite(&dir.join(attr), &format!("{v}\n"))
        }
        "max_brightness" => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "read-only attribute",
        )),
        _ => overwrite(&dir.join(attr), value),
    }
}

fn set_trigger(dir: &Path, name: &str) -> io::Result<()> {
    let mut triggers = Triggers::read(dir).map_err(to_io)?;
    if !triggers.has(name) {
        return Err(einval("no such trigger"));
    }
    let current = triggers.active.clone().unwrap_or_else(|| "none".into());
    if current == name {
        return Ok(());
    }
    if current == "timer" {
        for f in ["delay_on", "delay_off"] {
            match fs::remove_file(dir.join(f)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    overwrite(&dir.join("brightness"), "0\n")?;
    triggers.active = Some(name.to_owned());
    overwrite(&dir.join("trigger"), &triggers.render())?;
    if name == "timer" {
        for f in ["delay_on", "delay_off"] {
            fs::write(dir.join(f), "500\n")?;
        }
    }
    Ok(())
}

/// Description of one simulated LED for [`crate::LedClass::create_simulated`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimLed {
    /// LED name, e.g. `dgw:green:ready`.
    pub name: String,
    /// Value of `max_brightness` (1 for a plain on/off LED, 255 for a dimmable one).
    pub max_brightness: u32,
    /// Triggers the LED offers besides `none`. Leave out `timer` to simulate a
    /// kernel without `ledtrig-timer`.
    pub triggers: Vec<String>,
}

impl SimLed {
    /// A dimmable LED (`max_brightness` 255) offering `timer` and `heartbeat`.
    pub fn new(name: &str) -> SimLed {
        SimLed {
            name: name.to_owned(),
            max_brightness: 255,
            triggers: vec!["timer".into(), "heartbeat".into()],
        }
    }

    /// Same LED without the `timer` trigger (as with `ledtrig-timer` not loaded).
    pub fn without_timer(mut self) -> SimLed {
        self.triggers.retain(|t| t != "timer");
        self
    }

    /// Same LED with another `max_brightness`.
    pub fn with_max_brightness(mut self, max: u32) -> SimLed {
        self.max_brightness = max;
        self
    }

    /// Creates (or resets) this LED's directory under `root`.
    pub(crate) fn create(&self, root: &Path) -> Result<PathBuf, LedError> {
        validate_name(&self.name)?;
        if self.max_brightness == 0 {
            return Err(LedError::OutOfRange {
                what: "max_brightness",
                value: 0,
                min: 1,
                max: u32::MAX.into(),
            });
        }
        for t in &self.triggers {
            if t.is_empty() || t == "none" || t.contains(|c: char| c.is_whitespace() || "[]".contains(c)) {
                return Err(LedError::InvalidName {
                    name: t.clone(),
                    reason: "not a usable trigger name",
                });
            }
        }
        let dir = root.join(&self.name);
        let io_err = |path: PathBuf| {
            move |source| LedError::Io {
                op: "write",
                path,
                source,
            }
        };
        fs::create_dir_all(&dir).map_err(io_err(dir.clone()))?;
        let mut triggers = Triggers {
            available: vec!["none".into()],
            active: Some("none".into()),
        };
        triggers.available.extend(self.triggers.iter().cloned());
        for (file, content) in [
            ("brightness", "0\n".to_owned()),
            ("max_brightness", format!("{}\n", self.max_brightness)),
            ("trigger", triggers.render()),
        ] {
            let p = dir.join(file);
            fs::write(&p, content).map_err(io_err(p.clone()))?;
        }
        for stale in ["delay_on", "delay_off"] {
            match fs::remove_file(dir.join(stale)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_err(dir.join(stale))(e));
                }
                _ => {}
            }
        }
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_list_parsing() {
        let t = Triggers::parse("none rfkill-any kbd-scrolllock [timer] heartbeat\n");
        assert_eq!(t.active.as_deref(), Some("timer"));
        assert_eq!(t.active_trigger(), Some("timer"));
        assert_eq!(t.available.len(), 5);
        assert!(t.has("heartbeat") && t.has("timer") && !t.has("[timer]"));

        let t = Triggers::parse("[none] timer\n");
        assert_eq!(t.active_trigger(), None);
        assert_eq!(t.render(), "[none] timer\n");

        // Odd content never panics and yields no active trigger.
        for s in ["", "[", "[]", "]] [[", "\0\u{1}", "[a] [b]"] {
            let t = Triggers::parse(s);
            assert!(t.available.iter().all(|a| !a.is_empty()));
        }
    }

    #[test]
    fn names_are_single_path_components() {
        for ok in ["dgw:green:ready", "input3::capslock", "a"] {
            validate_name(ok).unwrap();
        }
        let long = "x".repeat(256);
        for bad in [
            "", ".", "..", "../etc", "a/b", "a,b", "a b", "a\nb", "a\0b", &long,
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
