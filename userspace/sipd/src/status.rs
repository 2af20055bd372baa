//! What the SIP service reports: the DGW's status tables and its numbered
//! notifications.
//!
//! The status tables mirror the DGW's `SipEp.GatewayStatus`,
//! `SipEp.RegistrationStatus` and `SipEp.TlsPersistentConnectionStatus`,
//! with the DGW's state names. Notifications carry a number in the DGW
//! style ("303 TLS connection with remote host ... is now ready ..."). The
//! DGW's own catalogue is not public, so apart from 303 and 310 (quoted in
//! the project's design) the numbers are ours; `docs/sip.md` lists them.

use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

/// `SipEp.GatewayStatus.State`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayState {
    /// Serving.
    Ready,
    /// The listening port is taken.
    CannotStartPortInUse,
    /// TLS validation needs the time, and the clock is not synchronised:
    /// the TLS port stays closed and no connection is opened.
    WaitingForTimeSync,
    /// A keep-alive method is set and no server answers.
    ServerUnreachable,
    /// The parameters cannot work; the text says which and why.
    InvalidConfiguration(String),
    /// Being restarted or stopped.
    Restarting,
}

impl fmt::Display for GatewayState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayState::Ready => f.write_str("Ready"),
            GatewayState::CannotStartPortInUse => f.write_str("Cannot start, port already in use"),
            GatewayState::WaitingForTimeSync => f.write_str("Waiting for time synchronization"),
            GatewayState::ServerUnreachable => f.write_str("Server unreachable"),
            GatewayState::InvalidConfiguration(why) => write!(f, "Invalid Configuration ({why})"),
            GatewayState::Restarting => f.write_str("Restarting"),
        }
    }
}

/// `SipEp.RegistrationStatus.State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not registered (yet, or after unregistering).
    Unregistered,
    /// First REGISTER in progress.
    Registering,
    /// The registrar accepted the binding.
    Registered,
    /// A refresh is in progress (still registered).
    Refreshing,
    /// Removing the binding (shutdown).
    Unregistering,
    /// No response, or no connection to the registrar.
    Unreachable,
    /// The registrar refused the credentials.
    AuthFailed,
    /// The registrar answered with another final error.
    Rejected,
    /// The user cannot register as configured.
    ConfigError,
    /// The registrar's answer made no sense (e.g. a challenge we cannot use).
    InvalidResponse,
}

impl fmt::Display for RegistrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `SipEp.TlsPersistentConnectionStatus.State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connected and usable.
    Up,
    /// Not connected; a retry is scheduled.
    Down,
    /// Being closed (shutdown).
    WaitingShutdown,
    /// Connecting (TCP and TLS handshake).
    WaitingUp,
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A row of the registration status table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationRow {
    /// The user.
    pub user: String,
    /// Its gateway.
    pub gateway: String,
    /// State.
    pub state: RegistrationState,
    /// Seconds the registrar granted (when registered).
    pub expires: Option<u32>,
}

/// A row of the persistent connection status table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRow {
    /// Gateway.
    pub gateway: String,
    /// Local port of the connection (0 while none).
    pub local_port: u16,
    /// The configured server, host:port.
    pub remote_host: String,
    /// The address connected to (empty while none).
    pub remote_addr: String,
    /// State.
    pub state: ConnectionState,
    /// The kTLS data path ("kernel" or "userspace (...)"), when up over TLS.
    pub data_path: String,
}

/// One notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The number.
    pub id: u16,
    /// Severity, as `SipEp.MinSeverity` names them.
    pub severity: Severity,
    /// The text, without the number.
    pub text: String,
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.text)
    }
}

/// Notification severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warning.
    Warning,
    /// Error.
    Error,
}

/// The numbered notifications sipd emits.
pub mod ids {
    /// TLS (or TCP) connection to a server failed to come up.
    pub const CONNECTION_FAILED: u16 = 301;
    /// An established connection closed.
    pub const CONNECTION_CLOSED: u16 = 302;
    /// A connection is ready for SIP.
    pub const CONNECTION_READY: u16 = 303;
    /// A server's certificate was refused.
    pub const CERTIFICATE_REFUSED: u16 = 304;
    /// A server answers (keep-alive or first contact).
    pub const SERVER_REACHABLE: u16 = 310;
    /// A server stopped answering keep-alives.
    pub const SERVER_UNREACHABLE: u16 = 311;
    /// A user is registered.
    pub const REGISTERED: u16 = 320;
    /// A registration failed.
    pub const REGISTRATION_FAILED: u16 = 321;
    /// A user is unregistered.
    pub const UNREGISTERED: u16 = 322;
    /// The gateway waits for the clock.
    pub const WAITING_FOR_TIME: u16 = 330;
    /// The gateway is ready.
    pub const GATEWAY_READY: u16 = 331;
    /// The gateway cannot start.
    pub const GATEWAY_FAILED: u16 = 332;
    /// A call was set up.
    pub const CALL_ESTABLISHED: u16 = 340;
    /// A call ended.
    pub const CALL_ENDED: u16 = 341;
    /// A call attempt failed.
    pub const CALL_FAILED: u16 = 342;
    /// A message was refused (too large, malformed).
    pub const MESSAGE_REFUSED: u16 = 350;
    /// A connection was closed for misbehaving (garbage, slow sender).
    pub const CONNECTION_DROPPED: u16 = 351;
    /// An incoming TLS connection failed its handshake.
    pub const INCOMING_TLS_FAILED: u16 = 352;
}

#[derive(Default)]
struct Tables {
    gateway: Option<GatewayState>,
    registrations: Vec<RegistrationRow>,
    connections: Vec<ConnectionRow>,
}

/// The service's status, shared by its tasks; changes are broadcast.
#[derive(Clone)]
pub struct Status {
    gateway_name: String,
    tables: Arc<Mutex<Tables>>,
    events: broadcast::Sender<Event>,
}

/// What changed.
#[derive(Clone, Debug)]
pub enum Event {
    /// A notification was emitted.
    Notification(Notification),
    /// A status table changed.
    StatusChanged,
}

impl Status {
    /// A new status for `gateway`.
    pub fn new(gateway_name: &str) -> Status {
        let (events, _) = broadcast::channel(1024);
        Status {
            gateway_name: gateway_name.to_string(),
            tables: Arc::default(),
            events,
        }
    }

    /// The gateway's name.
    pub fn gateway_name(&self) -> &str {
        &self.gateway_name
    }

    /// Subscribes to notifications and status changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Emits a notification: to the log (journal) and to subscribers.
    pub fn notify(&self, id: u16, severity: Severity, text: String) {
        let n = Notification { id, severity, text };
        match severity {
            Severity::Debug => log::debug!(target: "sipd", "{n}"),
            Severity::Info => log::info!(target: "sipd", "{n}"),
            Severity::Warning => log::warn!(target: "sipd", "{n}"),
            Severity::Error => log::error!(target: "sipd", "{n}"),
        }
        let _ = self.events.send(Event::Notification(n));
    }

    fn changed(&self) {
        let _ = self.events.send(Event::StatusChanged);
    }

    /// Sets the gateway state.
    pub fn set_gateway(&self, state: GatewayState) {
        let mut t = self.lock();
        if t.gateway.as_ref() != Some(&state) {
            t.gateway = Some(state);
            drop(t);
            self.changed();
        }
    }

    /// The gateway state.
    pub fn gateway(&self) -> Option<GatewayState> {
        self.lock().gateway.clone()
    }

    /// Updates (or adds) a user's registration row.
    pub fn set_registration(&self, user: &str, state: RegistrationState, expires: Option<u32>) {
        let mut t = self.lock();
        let row = RegistrationRow {
            user: user.to_string(),
            gateway: self.gateway_name.clone(),
            state,
            expires,
        };
        match t.registrations.iter_mut().find(|r| r.user == user) {
            Some(r) if *r == row => return,
            Some(r) => *r = row,
            None => t.registrations.push(row),
        }
        drop(t);
        self.changed();
    }

    /// The registration table.
    pub fn registrations(&self) -> Vec<RegistrationRow> {
        self.lock().registrations.clone()
    }

    /// A user's registration state.
    pub fn registration(&self, user: &str) -> Option<RegistrationState> {
        self.lock()
            .registrations
            .iter()
            .find(|r| r.user == user)
            .map(|r| r.state)
    }

    /// Updates (or adds) the row of the connection to `remote_host`.
    pub fn set_connection(&self, row: ConnectionRow) {
        let mut t = self.lock();
        match t
            .connections
            .iter_mut()
            .find(|r| r.remote_host == row.remote_host)
        {
            Some(r) if *r == row => return,
            Some(r) => *r = row,
            None => t.connections.push(row),
        }
        drop(t);
        self.changed();
    }

    /// The persistent connection table.
    pub fn connections(&self) -> Vec<ConnectionRow> {
        self.lock().connections.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A panic while holding the lock leaves consistent rows (each update
        // is one assignment), so a poisoned lock is still usable.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status as the read-only parameters `SipEp.GatewayStatus`,
    /// `SipEp.RegistrationStatus` and `SipEp.TlsPersistentConnectionStatus`
    /// hold them (rows separated by "; ").
    pub fn as_params(&self) -> Vec<(String, String)> {
        let t = self.lock();
        let gw = t.gateway.as_ref().map(|g| g.to_string()).unwrap_or_default();
        let regs: Vec<String> = t
            .registrations
            .iter()
            .map(|r| format!("User={} Gateway={} State={}", r.user, r.gateway, r.state))
            .collect();
        let conns: Vec<String> = t
            .connections
            .iter()
            .map(|c| {
                format!(
                    "Gateway={} LocalPort={} RemoteHost={} RemoteHostIpAddr={} State={}",
                    c.gateway, c.local_port, c.remote_host, c.remote_addr, c.state
                )
            })
            .collect();
        vec![
            (
                "SipEp.GatewayStatus".to_string(),
                format!("Gateway={} State={gw}", self.gateway_name),
            ),
            ("SipEp.RegistrationStatus".to_string(), regs.join("; ")),
            (
                "SipEp.TlsPersistentConnectionStatus".to_string(),
                conns.join("; "),
            ),
        ]
    }
}
