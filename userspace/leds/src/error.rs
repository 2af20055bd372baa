//! The one error type of the crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while driving an LED.
#[derive(Debug)]
pub enum LedError {
    /// The LED name is not usable as one directory name under the class root
    /// (empty, `.`/`..`, contains `/`, NUL, a comma or control characters, or is too long).
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// No LED of that name under the class root.
    NotFound {
        /// The LED name asked for.
        name: String,
        /// The class root that was searched.
        root: PathBuf,
    },
    /// Reading or writing an attribute file failed.
    Io {
        /// `read` or `write`.
        op: &'static str,
        /// The attribute file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// An attribute file holds something that is not what the LED class ABI promises.
    Malformed {
        /// The attribute file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A value is outside the range the LED (or this crate) accepts.
    OutOfRange {
        /// What the value is (e.g. `brightness`, `blink on_ms`).
        what: &'static str,
        /// The rejected value.
        value: u64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// Software blinking is needed (no `timer` trigger) but there is no tokio runtime to run it.
    NoRuntime {
        /// The LED that needed it.
        name: String,
    },
    /// The role is not in the role map, or its LED could not be opened.
    RoleUnavailable {
        /// The role.
        role: String,
        /// Why (not mapped, or the error seen when opening its LED).
        reason: String,
    },
}

impl fmt::Display for LedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedError::InvalidName { name, reason } => {
                write!(f, "invalid LED name {name:?}: {reason}")
            }
            LedError::NotFound { name, root } => {
                write!(f, "no LED named {name:?} under {}", root.display())
            }
            LedError::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
            LedError::Malformed { path, detail } => {
                write!(f, "unexpected content in {}: {detail}", path.display())
            }
            LedError::OutOfRange {
                what,
                value,
                min,
                max,
            } => write!(f, "{what} {value} is out of range {min}..={max}"),
            LedError::NoRuntime { name } => write!(
                f,
                "LED {name:?} needs software blinking (no timer trigger) but no tokio runtime is running"
            ),
            LedError::RoleUnavailable { role, reason } => {
                write!(f, "LED role {role} unavailable: {reason}")
            }
        }
    }
}

impl std::error::Error for LedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LedError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
