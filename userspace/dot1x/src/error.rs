//! Errors of the 802.1X controller.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What went wrong.
#[derive(Debug)]
pub enum Error {
    /// A parameter value that is not one of the allowed ones.
    InvalidValue {
        /// The parameter.
        what: &'static str,
        /// The value given (truncated).
        value: String,
        /// The allowed values.
        expected: &'static str,
    },
    /// The link name cannot be a Linux interface name.
    InvalidInterfaceName(String),
    /// The runtime directory (where the files for wpa_supplicant go).
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The certificate stores could not be read.
    Store(pki::StoreError),
    /// A call to wpa_supplicant failed.
    Supplicant {
        /// What was being done.
        doing: &'static str,
        /// The D-Bus error.
        source: Box<zbus::Error>,
    },
    /// wpa_supplicant answered, but not as its API says.
    Unexpected(String),
    /// The controller's task has ended.
    Stopped,
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn dbus(doing: &'static str) -> impl FnOnce(zbus::Error) -> Error {
        move |source| Error::Supplicant {
            doing,
            source: Box::new(source),
        }
    }

    /// Whether this is wpa_supplicant not being on the bus at all.
    pub(crate) fn is_not_running(&self) -> bool {
        match self {
            Error::Supplicant { source, .. } => match &**source {
                zbus::Error::MethodError(name, _, _) => matches!(
                    name.as_str(),
                    "org.freedesktop.DBus.Error.ServiceUnknown" | "org.freedesktop.DBus.Error.NameHasNoOwner"
                ),
                zbus::Error::FDO(e) => matches!(
                    **e,
                    zbus::fdo::Error::ServiceUnknown(_) | zbus::fdo::Error::NameHasNoOwner(_)
                ),
                _ => false,
            },
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidValue {
                what,
                value,
                expected,
            } => write!(f, "{what}: {value:?} is not one of {expected}"),
            Error::InvalidInterfaceName(name) => {
                write!(f, "{name:?} is not a valid network interface name")
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Store(e) => write!(f, "certificate stores: {e}"),
            Error::Supplicant { .. } if self.is_not_running() => {
                f.write_str("wpa_supplicant is not running (no owner of fi.w1.wpa_supplicant1)")
            }
            Error::Supplicant { doing, source } => write!(f, "wpa_supplicant, {doing}: {source}"),
            Error::Unexpected(what) => write!(f, "wpa_supplicant: {what}"),
            Error::Stopped => f.write_str("the 802.1X controller has stopped"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Store(e) => Some(e),
            Error::Supplicant { source, .. } => Some(&**source),
            _ => None,
        }
    }
}
