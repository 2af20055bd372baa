//! The agent's own persistent state: what TR-069 asks the CPE to remember that is not
//! configuration (`ParameterKey`, `ProvisioningCode`, `PeriodicInformTime`), the instance
//! numbers of table rows, and the parameters' notification attributes.
//!
//! It is one small JSON file on the data partition (`/var/lib/dgw/cwmp-state.json` is the
//! suggested place), written crash-safely with mode 0600 by [`State::save`] and read by
//! [`State::load`]. Nothing in it is secret.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::Path;

use cwmp::{DateTime, Notification};
use serde_json::{json, Map, Value};

/// Largest state file accepted: the full model has a few hundred parameters, so a legitimate
/// file is a few KiB; anything much larger is not ours.
pub const MAX_STATE_FILE: u64 = 1024 * 1024;

/// The on-disk format version.
pub const STATE_VERSION: u64 = 1;

/// Longest `ParameterKey` (TR-181: string(32)).
pub const MAX_PARAMETER_KEY: usize = 32;

/// Longest `ProvisioningCode` (TR-181: string(64)).
pub const MAX_PROVISIONING_CODE: usize = 64;

/// The instance numbers of one table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Numbering {
    /// The last number handed out; numbers only grow, so a deleted instance's number is never
    /// given to another row (an ACS holding `...Registration.3.` must not silently reach a
    /// different user).
    last: u32,
    /// Row key to instance number.
    rows: BTreeMap<String, u32>,
}

/// Instance numbers of multi-instance objects, per table: the TR-069 `{i}` of a row.
///
/// Tables in the parameter store are keyed by name (`SipEp.Registration[alice]`), TR-069
/// addresses rows by number (`...Registration.1.`). A row gets a number when AddObject creates
/// it (the next one), or, for rows that appear in the configuration some other way (a script,
/// `dgw ctl`, the factory configuration), when [`State::reconcile`] first sees it, in sorted
/// key order. A number is never reused, and a row renamed through its key column keeps its
/// number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceMap {
    tables: BTreeMap<String, Numbering>,
}

impl InstanceMap {
    /// The instance number of `key` in `table` (`SipEp.Registration`, or
    /// `Device.Security.Certificate` for certificates).
    pub fn number(&self, table: &str, key: &str) -> Option<u32> {
        self.tables.get(table)?.rows.get(key).copied()
    }

    /// The row key of instance `number`.
    pub fn key(&self, table: &str, number: u32) -> Option<&str> {
        self.tables
            .get(table)?
            .rows
            .iter()
            .find(|(_, n)| **n == number)
            .map(|(k, _)| k.as_str())
    }

    /// The instances of a table, by number.
    pub fn instances(&self, table: &str) -> Vec<(u32, &str)> {
        let mut v: Vec<(u32, &str)> = self
            .tables
            .get(table)
            .map(|t| t.rows.iter().map(|(k, n)| (*n, k.as_str())).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// The number the next new row of `table` would get, `None` when numbers are exhausted.
    pub fn next_number(&self, table: &str) -> Option<u32> {
        self.tables.get(table).map_or(0, |t| t.last).checked_add(1)
    }

    /// Gives `key` the next number (or returns the one it has).
    pub(crate) fn allocate(&mut self, table: &str, key: &str) -> Option<u32> {
        if let Some(n) = self.number(table, key) {
            return Some(n);
        }
        let t = self.tables.entry(table.to_string()).or_default();
        let n = t.last.checked_add(1)?;
        t.last = n;
        t.rows.insert(key.to_string(), n);
        Some(n)
    }

    /// Forgets `key`; its number stays used.
    pub(crate) fn remove(&mut self, table: &str, key: &str) -> Option<u32> {
        self.tables.get_mut(table)?.rows.remove(key)
    }

    /// Moves the numbers of rows renamed together (`(old, new)` pairs): all are taken out
    /// before any is put back, so a swap keeps both numbers.
    pub(crate) fn rename(&mut self, table: &str, pairs: &[(String, String)]) {
        if let Some(t) = self.tables.get_mut(table) {
            let moved: Vec<(&String, Option<u32>)> =
                pairs.iter().map(|(old, new)| (new, t.rows.remove(old))).collect();
            for (new, n) in moved {
                if let Some(n) = n {
                    t.rows.insert(new.clone(), n);
                }
            }
        }
    }

    /// Makes the numbered rows of `table` exactly `keys`: rows that are gone lose their
    /// number, rows without one get the next numbers in sorted key order. Returns whether
    /// anything changed.
    pub fn reconcile(&mut self, table: &str, keys: &[String]) -> bool {
        let t = self.tables.entry(table.to_string()).or_default();
        let before = t.clone();
        t.rows.retain(|k, _| keys.contains(k));
        let mut new: Vec<&String> = keys.iter().filter(|k| !t.rows.contains_key(*k)).collect();
        new.sort();
        new.dedup();
        for k in new {
            // u32 instance numbers run out only after four billion additions; a row that
            // cannot get one stays invisible rather than taking a used number.
            let Some(n) = t.last.checked_add(1) else { break };
            t.last = n;
            t.rows.insert(k.clone(), n);
        }
        *t != before
    }
}

/// A parameter's attributes as set by SetParameterAttributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Off, passive or active (lightweight notifications are not supported).
    pub notification: Notification,
    /// Whether `Subscriber` is in the access list. Stored and reported as the ACS set it; the
    /// gateway has no subscriber-facing write path, so it grants nothing.
    pub subscriber: bool,
}

/// Notification attributes of parameters, by full parameter name. Only attributes that differ
/// from the parameter's default are kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    map: BTreeMap<String, Attribute>,
}

impl Attributes {
    /// The attribute set for `name`, if any (the default applies otherwise).
    pub fn get(&self, name: &str) -> Option<Attribute> {
        self.map.get(name).copied()
    }

    /// Every stored attribute.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Attribute)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn set(&mut self, name: &str, attr: Attribute, default: Attribute) {
        if attr == default {
            self.map.remove(name);
        } else {
            self.map.insert(name.to_string(), attr);
        }
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) -> bool {
        let before = self.map.len();
        self.map.retain(|k, _| keep(k));
        self.map.len() != before
    }
}

/// Everything the agent keeps between runs besides the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// `Device.ManagementServer.ParameterKey`: the key of the last successful
    /// SetParameterValues, AddObject or DeleteObject (empty after a factory reset).
    pub parameter_key: String,
    /// `Device.DeviceInfo.ProvisioningCode`, set by the ACS.
    pub provisioning_code: String,
    /// `Device.ManagementServer.PeriodicInformTime`; `None` is the unknown time (Informs
    /// at arbitrary times).
    pub periodic_inform_time: Option<DateTime>,
    /// Instance numbers of table rows and certificates.
    pub instances: InstanceMap,
    /// Notification attributes.
    pub attributes: Attributes,
}

/// Why a state file could not be read.
#[derive(Debug)]
pub enum StateError {
    /// File-system error.
    Io(io::Error),
    /// The file is not a state file this firmware can read.
    Format(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Io(e) => write!(f, "TR-069 agent state: {e}"),
            StateError::Format(e) => write!(f, "TR-069 agent state: {e}"),
        }
    }
}

impl std::error::Error for StateError {}

impl From<io::Error> for StateError {
    fn from(e: io::Error) -> Self {
        StateError::Io(e)
    }
}

fn bad(msg: impl Into<String>) -> StateError {
    StateError::Format(msg.into())
}

fn text(v: Option<&Value>, what: &str, max: usize) -> Result<String, StateError> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) if s.chars().count() <= max && !s.chars().any(char::is_control) => {
            Ok(s.clone())
        }
        Some(_) => Err(bad(format!("{what}: not a string of at most {max} characters"))),
    }
}

fn number(v: &Value, what: &str) -> Result<u32, StateError> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad(format!("{what}: not an instance number")))
}

impl State {
    /// Reads the state file; a missing file is the initial state (first boot, or after a
    /// factory reset deleted it). A damaged file is an error: the caller decides whether to
    /// start afresh (and says so in the log).
    pub fn load(path: &Path) -> Result<State, StateError> {
        let data = match std::fs::File::open(path) {
            Ok(f) => {
                use std::io::Read;
                let mut buf = Vec::new();
                f.take(MAX_STATE_FILE + 1).read_to_end(&mut buf)?;
                if buf.len() as u64 > MAX_STATE_FILE {
                    return Err(bad(format!("larger than {MAX_STATE_FILE} bytes")));
                }
                buf
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(e.into()),
        };
        let v: Value = serde_json::from_slice(&data).map_err(|e| bad(format!("not JSON: {e}")))?;
        State::from_json(&v)
    }

    /// Writes the state file crash-safely (temporary file, fsync, rename, fsync of the
    /// directory) with mode 0600.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let mut text = serde_json::to_string_pretty(&self.to_json()).map_err(io::Error::other)?;
        text.push('\n');
        params::store::write_file_atomic(path, text.as_bytes(), 0o600)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        let tables: Map<String, Value> = self
            .instances
            .tables
            .iter()
            .map(|(name, t)| {
                let rows: Map<String, Value> = t.rows.iter().map(|(k, n)| (k.clone(), json!(n))).collect();
                (name.clone(), json!({ "last": t.last, "rows": rows }))
            })
            .collect();
        let attrs: Map<String, Value> = self
            .attributes
            .map
            .iter()
            .map(|(k, a)| {
                (
                    k.clone(),
                    json!({ "notification": a.notification.number(), "subscriber": a.subscriber }),
                )
            })
            .collect();
        json!({
            "version": STATE_VERSION,
            "parameter_key": self.parameter_key,
            "provisioning_code": self.provisioning_code,
            "periodic_inform_time": self.periodic_inform_time.as_ref().map(|t| t.as_str()),
            "instances": tables,
            "attributes": attrs,
        })
    }

    /// Reads the JSON form, checking every field.
    pub fn from_json(v: &Value) -> Result<State, StateError> {
        let obj = v.as_object().ok_or_else(|| bad("not a JSON object"))?;
        match obj.get("version").and_then(Value::as_u64) {
            Some(STATE_VERSION) => {}
            Some(n) => {
                return Err(bad(format!(
                    "version {n} is newer than this firmware's {STATE_VERSION}"
                )))
            }
            None => return Err(bad("no version")),
        }
        let mut st = State {
            parameter_key: text(obj.get("parameter_key"), "parameter_key", MAX_PARAMETER_KEY)?,
            provisioning_code: text(
                obj.get("provisioning_code"),
                "provisioning_code",
                MAX_PROVISIONING_CODE,
            )?,
            ..State::default()
        };
        let pit = text(obj.get("periodic_inform_time"), "periodic_inform_time", 64)?;
        if !pit.is_empty() {
            let t = DateTime::parse(&pit).ok_or_else(|| bad("periodic_inform_time: not a date-time"))?;
            st.periodic_inform_time = (!t.is_unknown()).then_some(t);
        }
        if let Some(tables) = obj.get("instances") {
            let tables = tables
                .as_object()
                .ok_or_else(|| bad("instances: not an object"))?;
            for (name, t) in tables {
                let last = number(t.get("last").unwrap_or(&Value::Null), name)?;
                let rows = t
                    .get("rows")
                    .and_then(Value::as_object)
                    .ok_or_else(|| bad(format!("{name}: no rows")))?;
                let mut numbering = Numbering {
                    last,
                    rows: BTreeMap::new(),
                };
                let mut seen = std::collections::BTreeSet::new();
                for (key, n) in rows {
                    let n = number(n, name)?;
                    // A number above `last`, zero, or used twice would break "never reused".
                    if n == 0 || n > last || !seen.insert(n) {
                        return Err(bad(format!("{name}: instance number {n} is inconsistent")));
                    }
                    numbering.rows.insert(key.clone(), n);
                }
                st.instances.tables.insert(name.clone(), numbering);
            }
        }
        if let Some(attrs) = obj.get("attributes") {
            let attrs = attrs
                .as_object()
                .ok_or_else(|| bad("attributes: not an object"))?;
            for (name, a) in attrs {
                let n = a.get("notification").and_then(Value::as_i64).unwrap_or(-1);
                let notification = match Notification::from_number(n) {
                    Some(x @ (Notification::Off | Notification::Passive | Notification::Active)) => x,
                    _ => return Err(bad(format!("{name}: notification {n} is not 0, 1 or 2"))),
                };
                let subscriber = a.get("subscriber").and_then(Value::as_bool).unwrap_or(false);
                st.attributes.map.insert(
                    name.clone(),
                    Attribute {
                        notification,
                        subscriber,
                    },
                );
            }
        }
        Ok(st)
    }
}
