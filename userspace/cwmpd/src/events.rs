//! What the agent must not lose across a restart or a reboot: the events
//! not yet delivered, the TransferComplete not yet acknowledged, whether the
//! factory state has been bootstrapped, and the session retry count. (The
//! ParameterKey, attributes and instance numbers are the data model's
//! [`crate::datamodel::State`].)
//!
//! TR-069 §3.7.1.5: an event stays queued until an Inform carrying it is
//! answered by an InformResponse; `7 TRANSFER COMPLETE` and `M Download` /
//! `M Upload` stay until the TransferComplete itself is acknowledged.
//! `0 BOOTSTRAP` is sent once per factory state (a factory reset, or a new
//! ACS URL, starts again). The state is saved with
//! [`params::store::write_file_atomic`] after every change, so a power cut
//! loses nothing that was acknowledged to anyone.

use std::io;
use std::path::Path;

use cwmp::{DateTime, Event, EventCode, TransferComplete, TransferFault};
use serde_json::{json, Value};

/// Largest state file read back (a corrupt or hostile file is refused).
const MAX_STATE: u64 = 256 * 1024;
/// Most events kept (TR-069 allows 64 in one Inform).
const MAX_EVENTS: usize = 64;
/// Most pending transfers kept.
const MAX_TRANSFERS: usize = 16;

/// A transfer whose TransferComplete the ACS has not acknowledged yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingTransfer {
    /// The Download's or Upload's CommandKey.
    pub command_key: String,
    /// Upload (`M Upload`) rather than Download (`M Download`).
    pub upload: bool,
    /// 0 on success, else the fault code.
    pub fault_code: u32,
    /// The fault's text (empty on success).
    pub fault_string: String,
    /// Start, seconds since 1970 (0: unknown).
    pub start: i64,
    /// Completion, seconds since 1970 (0: unknown).
    pub complete: i64,
}

impl PendingTransfer {
    /// The TransferComplete message for it.
    pub fn message(&self) -> TransferComplete {
        let t = |s: i64| {
            if s > 0 {
                DateTime::from_unix(s).unwrap_or_else(DateTime::unknown)
            } else {
                DateTime::unknown()
            }
        };
        TransferComplete {
            command_key: self.command_key.clone(),
            fault: if self.fault_code == 0 {
                TransferFault::success()
            } else {
                TransferFault {
                    code: self.fault_code,
                    string: self.fault_string.clone(),
                }
            },
            start_time: t(self.start),
            complete_time: t(self.complete),
        }
    }
}

/// The agent's persistent state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentState {
    /// `0 BOOTSTRAP` was acknowledged for this factory state and ACS URL.
    pub bootstrapped: bool,
    /// The ACS URL the bootstrap was for (a new URL bootstraps again).
    pub bootstrap_url: String,
    /// Events not yet delivered.
    pub events: Vec<Event>,
    /// Transfers not yet acknowledged.
    pub transfers: Vec<PendingTransfer>,
    /// Failed session attempts since the last successful one (the Inform's
    /// RetryCount and the back-off's exponent).
    pub retry_count: u32,
}

/// A state file that cannot be used.
#[derive(Debug)]
pub enum StateError {
    /// Reading failed.
    Io(io::Error),
    /// The file is not a state file; the text says what is wrong.
    Corrupt(String),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Io(e) => write!(f, "{e}"),
            StateError::Corrupt(w) => write!(f, "corrupt agent state: {w}"),
        }
    }
}

impl std::error::Error for StateError {}

/// Whether an event code may appear once only in the queue (TR-069 Table 7:
/// single) rather than once per CommandKey (the `M ...` codes).
fn single(code: &EventCode) -> bool {
    !matches!(
        code,
        EventCode::MReboot | EventCode::MScheduleInform | EventCode::MDownload | EventCode::MUpload
    )
}

impl AgentState {
    /// Queues an event. A single event already queued is not added twice;
    /// a multiple one is, once per CommandKey. Past [`MAX_EVENTS`] the
    /// oldest single events go first (they say less than a pending `M`).
    pub fn add_event(&mut self, code: EventCode, command_key: &str) {
        if single(&code) {
            if self.events.iter().any(|e| e.code == code) {
                return;
            }
        } else if self
            .events
            .iter()
            .any(|e| e.code == code && e.command_key == command_key)
        {
            return;
        }
        let event = Event {
            code,
            command_key: command_key.chars().take(32).collect(),
        };
        if event.code == EventCode::Bootstrap {
            // First in the Inform, with whatever else is owed (a bootstrap
            // after a boot also carries `1 BOOT`, TR-069 §3.7.1.5).
            self.events.insert(0, event);
        } else {
            self.events.push(event);
        }
        while self.events.len() > MAX_EVENTS {
            match self
                .events
                .iter()
                .position(|e| single(&e.code) && e.code != EventCode::Bootstrap)
            {
                Some(i) => {
                    self.events.remove(i);
                }
                None => {
                    self.events.remove(0);
                }
            }
        }
    }

    /// Records a finished transfer: its TransferComplete is owed, with
    /// `7 TRANSFER COMPLETE` and the `M Download`/`M Upload` event.
    pub fn add_transfer(&mut self, t: PendingTransfer) {
        let code = if t.upload {
            EventCode::MUpload
        } else {
            EventCode::MDownload
        };
        let key = t.command_key.clone();
        self.transfers
            .retain(|p| !(p.command_key == t.command_key && p.upload == t.upload));
        self.transfers.push(t);
        if self.transfers.len() > MAX_TRANSFERS {
            self.transfers.remove(0);
        }
        self.add_event(EventCode::TransferComplete, "");
        self.add_event(code, &key);
    }

    /// The events for the next Inform, in queue order.
    pub fn inform_events(&self) -> Vec<Event> {
        self.events.clone()
    }

    /// The Inform carrying `sent` was answered: those events are delivered,
    /// except the transfer ones, which wait for the TransferComplete's
    /// acknowledgement. A delivered BOOTSTRAP marks the state bootstrapped.
    pub fn inform_acknowledged(&mut self, sent: &[Event], acs_url: &str) {
        let transfer = |c: &EventCode| {
            matches!(
                c,
                EventCode::TransferComplete | EventCode::MDownload | EventCode::MUpload
            )
        };
        if sent.iter().any(|e| e.code == EventCode::Bootstrap) {
            self.bootstrapped = true;
            self.bootstrap_url = acs_url.to_string();
        }
        self.events.retain(|e| {
            transfer(&e.code)
                || !sent
                    .iter()
                    .any(|s| s.code == e.code && s.command_key == e.command_key)
        });
    }

    /// The ACS acknowledged the TransferComplete for `command_key`.
    pub fn transfer_acknowledged(&mut self, command_key: &str, upload: bool) {
        self.transfers
            .retain(|p| !(p.command_key == command_key && p.upload == upload));
        let code = if upload {
            EventCode::MUpload
        } else {
            EventCode::MDownload
        };
        self.events
            .retain(|e| !(e.code == code && e.command_key == command_key));
        if self.transfers.is_empty() {
            self.events.retain(|e| e.code != EventCode::TransferComplete);
        }
    }

    /// Whether `acs_url` still needs a `0 BOOTSTRAP`.
    pub fn needs_bootstrap(&self, acs_url: &str) -> bool {
        !self.bootstrapped || self.bootstrap_url != acs_url
    }

    /// The state as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "version": 1,
            "bootstrapped": self.bootstrapped,
            "bootstrap_url": self.bootstrap_url,
            "events": self.events.iter().map(|e| json!([e.code.as_str(), e.command_key])).collect::<Vec<_>>(),
            "transfers": self.transfers.iter().map(|t| json!({
                "command_key": t.command_key, "upload": t.upload, "fault_code": t.fault_code,
                "fault_string": t.fault_string, "start": t.start, "complete": t.complete,
            })).collect::<Vec<_>>(),
            "retry_count": self.retry_count,
        })
    }

    /// Reads the JSON form back; every field is checked.
    pub fn from_json(v: &Value) -> Result<AgentState, StateError> {
        let bad = |w: &str| StateError::Corrupt(w.to_string());
        if v.get("version").and_then(Value::as_u64) != Some(1) {
            return Err(bad("unknown version"));
        }
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(k))
        };
        let mut st = AgentState {
            bootstrapped: v
                .get("bootstrapped")
                .and_then(Value::as_bool)
                .ok_or_else(|| bad("bootstrapped"))?,
            bootstrap_url: s("bootstrap_url")?,
            retry_count: v
                .get("retry_count")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad("retry_count"))?,
            ..AgentState::default()
        };
        for e in v
            .get("events")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("events"))?
        {
            let pair = e
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| bad("event"))?;
            let code = pair[0]
                .as_str()
                .and_then(EventCode::parse)
                .ok_or_else(|| bad("event code"))?;
            let key = pair[1].as_str().ok_or_else(|| bad("event key"))?;
            st.events.push(Event {
                code,
                command_key: key.chars().take(32).collect(),
            });
        }
        for t in v
            .get("transfers")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("transfers"))?
        {
            let g = |k: &str| t.get(k).ok_or_else(|| bad(k));
            st.transfers.push(PendingTransfer {
                command_key: g("command_key")?
                    .as_str()
                    .ok_or_else(|| bad("command_key"))?
                    .to_string(),
                upload: g("upload")?.as_bool().ok_or_else(|| bad("upload"))?,
                fault_code: g("fault_code")?
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad("fault_code"))?,
                fault_string: g("fault_string")?
                    .as_str()
                    .ok_or_else(|| bad("fault_string"))?
                    .to_string(),
                start: g("start")?.as_i64().ok_or_else(|| bad("start"))?,
                complete: g("complete")?.as_i64().ok_or_else(|| bad("complete"))?,
            });
        }
        st.events.truncate(MAX_EVENTS);
        st.transfers.truncate(MAX_TRANSFERS);
        Ok(st)
    }

    /// Loads the state; a missing file is the factory state.
    pub fn load(path: &Path) -> Result<AgentState, StateError> {
        let text = match std::fs::metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(AgentState::default()),
            Err(e) => return Err(StateError::Io(e)),
            Ok(m) if m.len() > MAX_STATE => return Err(StateError::Corrupt("too large".into())),
            Ok(_) => std::fs::read_to_string(path).map_err(StateError::Io)?,
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| StateError::Corrupt(e.to_string()))?;
        AgentState::from_json(&v)
    }

    /// Saves crash-safely, mode 0600 (CommandKeys may be meaningful to an
    /// operator; nothing secret is stored).
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let mut data = serde_json::to_vec_pretty(&self.to_json()).map_err(io::Error::other)?;
        data.push(b'\n');
        params::store::write_file_atomic(path, &data, 0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(s: &AgentState) -> Vec<String> {
        s.events
            .iter()
            .map(|e| format!("{}/{}", e.code.as_str(), e.command_key))
            .collect()
    }

    #[test]
    fn single_events_once_multiple_per_key() {
        let mut s = AgentState::default();
        s.add_event(EventCode::Boot, "");
        s.add_event(EventCode::Boot, "");
        s.add_event(EventCode::MReboot, "k1");
        s.add_event(EventCode::MReboot, "k1");
        s.add_event(EventCode::MReboot, "k2");
        assert_eq!(codes(&s), ["1 BOOT/", "M Reboot/k1", "M Reboot/k2"]);
    }

    #[test]
    fn bootstrap_goes_first_and_the_rest_stays() {
        let mut s = AgentState::default();
        s.add_event(EventCode::Boot, "");
        s.add_transfer(PendingTransfer {
            command_key: "dl".into(),
            upload: false,
            fault_code: 0,
            fault_string: String::new(),
            start: 1,
            complete: 2,
        });
        s.add_event(EventCode::Bootstrap, "");
        s.add_event(EventCode::Bootstrap, "");
        assert_eq!(
            codes(&s),
            ["0 BOOTSTRAP/", "1 BOOT/", "7 TRANSFER COMPLETE/", "M Download/dl"]
        );
        assert!(s.needs_bootstrap("https://acs"));
        let sent = s.inform_events();
        s.inform_acknowledged(&sent, "https://acs");
        assert!(!s.needs_bootstrap("https://acs"));
        assert!(s.needs_bootstrap("https://other-acs"));
        // The transfer's events wait for the TransferComplete's answer.
        assert_eq!(codes(&s), ["7 TRANSFER COMPLETE/", "M Download/dl"]);
        s.transfer_acknowledged("dl", false);
        assert!(s.events.is_empty() && s.transfers.is_empty());
    }

    #[test]
    fn transfer_events_stay_until_transfer_complete_is_acknowledged() {
        let mut s = AgentState::default();
        s.add_transfer(PendingTransfer {
            command_key: "up".into(),
            upload: true,
            fault_code: 9011,
            fault_string: "Upload failure".into(),
            start: 10,
            complete: 0,
        });
        s.add_event(EventCode::Boot, "");
        let sent = s.inform_events();
        assert_eq!(codes(&s), ["7 TRANSFER COMPLETE/", "M Upload/up", "1 BOOT/"]);
        s.inform_acknowledged(&sent, "u");
        assert_eq!(codes(&s), ["7 TRANSFER COMPLETE/", "M Upload/up"]);
        let m = s.transfers[0].message();
        assert_eq!(m.fault.code, 9011);
        s.transfer_acknowledged("up", true);
        assert!(s.events.is_empty());
    }

    #[test]
    fn bounded_queue() {
        let mut s = AgentState::default();
        s.add_event(EventCode::Boot, "");
        for i in 0..100 {
            s.add_event(EventCode::MScheduleInform, &format!("k{i}"));
        }
        assert_eq!(s.events.len(), MAX_EVENTS);
        // The oldest single event gave way first.
        assert!(s.events.iter().all(|e| e.code != EventCode::Boot));
    }

    #[test]
    fn survives_save_and_load_and_refuses_corrupt_files() {
        let dir = std::env::temp_dir().join(format!("cwmpd-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        assert_eq!(AgentState::load(&path).unwrap(), AgentState::default());
        let mut s = AgentState {
            retry_count: 3,
            ..AgentState::default()
        };
        s.add_event(EventCode::ValueChange, "");
        s.add_transfer(PendingTransfer {
            command_key: "fw".into(),
            upload: false,
            fault_code: 0,
            fault_string: String::new(),
            start: 1_700_000_000,
            complete: 1_700_000_100,
        });
        s.save(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(AgentState::load(&path).unwrap(), s);
        for junk in ["", "{}", "[1,2]", "{\"version\":1}", "\u{0}\u{ff}"] {
            std::fs::write(&path, junk).unwrap();
            assert!(
                matches!(AgentState::load(&path), Err(StateError::Corrupt(_))),
                "{junk:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
