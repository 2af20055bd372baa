//! The agent: when to open a session, and what to do after it.
//!
//! Sessions start on boot, on the periodic timer, on a connection request,
//! on an active value change, at a ScheduleInform's time, when a transfer
//! finishes, and again after a failure with the back-off of
//! [`crate::retry`]. One session at a time.
//!
//! The ACS's requests that act on the system are not executed inside the
//! session: TR-069 wants Reboot and FactoryReset to happen after the
//! session ends, and transfers to run in the background with their
//! outcome reported in a later session. [`AgentRpc`] answers them, records
//! them as [`Deferred`] actions, and the loop executes them through an
//! [`Executor`] once the session is over. Everything owed to the ACS goes
//! through the persistent [`AgentState`] first, so a reboot (or a crash)
//! loses nothing.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cwmp::{Body, DateTime, DeviceId, Envelope, EventCode, ParameterValue, Status};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use crate::events::{AgentState, PendingTransfer};
use crate::retry::RetryPolicy;
use crate::session::{self, AcsTarget, Rpc};

/// What the system does for the agent: the daemon's implementation
/// reboots through systemd and transfers through [`crate::transfer`];
/// tests record.
pub trait Executor: Send + Sync + 'static {
    /// Reboots the unit (called after the `M Reboot` event is saved).
    fn reboot(&self);
    /// Returns the unit to its factory state (the agent state file is
    /// deleted first, so the next contact bootstraps).
    fn factory_reset(&self);
    /// Runs a Download; its outcome becomes a TransferComplete.
    fn download(&self, request: cwmp::Download) -> impl Future<Output = PendingTransfer> + Send;
    /// Runs an Upload.
    fn upload(&self, request: cwmp::Upload) -> impl Future<Output = PendingTransfer> + Send;
}

/// An ACS request executed after the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deferred {
    /// `Reboot` with its CommandKey.
    Reboot(String),
    /// `FactoryReset`.
    FactoryReset,
    /// `Download`.
    Download(cwmp::Download),
    /// `Upload`.
    Upload(cwmp::Upload),
    /// `ScheduleInform`: a session after `delay`, with this CommandKey.
    ScheduleInform {
        /// Seconds from now.
        delay: u32,
        /// Reported in `M ScheduleInform`.
        command_key: String,
    },
}

/// Wraps the parameter RPCs with the system ones, which it defers.
pub struct AgentRpc<R> {
    /// The parameter RPCs.
    pub inner: R,
    deferred: Vec<Deferred>,
    /// Largest Download accepted (checked before the RPC is accepted).
    pub max_download: u64,
}

/// Largest Download accepted by default: the firmware image of a gateway.
pub const DEFAULT_MAX_DOWNLOAD: u64 = 256 * 1024 * 1024;

impl<R> AgentRpc<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> AgentRpc<R> {
        AgentRpc {
            inner,
            deferred: Vec::new(),
            max_download: DEFAULT_MAX_DOWNLOAD,
        }
    }

    /// What the session asked for, in order; empties the list.
    pub fn take_deferred(&mut self) -> Vec<Deferred> {
        std::mem::take(&mut self.deferred)
    }
}

/// The methods [`AgentRpc`] adds to the inner ones.
pub const SYSTEM_METHODS: &[&str] = &["Download", "Upload", "Reboot", "FactoryReset", "ScheduleInform"];

impl<R: Rpc> Rpc for AgentRpc<R> {
    fn inform_parameters(&mut self) -> Vec<ParameterValue> {
        self.inner.inform_parameters()
    }

    async fn handle(&mut self, request: &Envelope) -> Body {
        let unknown = DateTime::unknown;
        match &request.body {
            Body::Reboot { command_key } => {
                self.deferred.push(Deferred::Reboot(command_key.clone()));
                Body::RebootResponse
            }
            Body::FactoryReset => {
                self.deferred.push(Deferred::FactoryReset);
                Body::FactoryResetResponse
            }
            Body::Download(d) => {
                // What can be refused now is refused now (9013 unsupported
                // protocol, 9003 bad URL, 9010 type or size): the schema
                // has no TransferComplete for some of these codes.
                if let Err(e) = crate::transfer::check_download(d, self.max_download) {
                    return Body::Fault(e.fault());
                }
                self.deferred.push(Deferred::Download(d.clone()));
                // 1: not yet done; the outcome comes as a TransferComplete.
                Body::DownloadResponse(cwmp::TransferResponse {
                    status: Status::Pending,
                    start_time: unknown(),
                    complete_time: unknown(),
                })
            }
            Body::Upload(u) => {
                if let Err(e) = crate::transfer::check_upload(u) {
                    return Body::Fault(e.fault());
                }
                self.deferred.push(Deferred::Upload(u.clone()));
                Body::UploadResponse(cwmp::TransferResponse {
                    status: Status::Pending,
                    start_time: unknown(),
                    complete_time: unknown(),
                })
            }
            Body::ScheduleInform {
                delay_seconds,
                command_key,
            } => {
                if *delay_seconds == 0 {
                    // TR-069 A.4.1.4: DelaySeconds must be greater than zero.
                    return Body::Fault(cwmp::Fault::new(cwmp::FaultCode::INVALID_ARGUMENTS));
                }
                self.deferred.push(Deferred::ScheduleInform {
                    delay: *delay_seconds,
                    command_key: command_key.clone(),
                });
                Body::ScheduleInformResponse
            }
            Body::GetRpcMethods => {
                let mut methods = match self.inner.handle(request).await {
                    Body::GetRpcMethodsResponse(m) => m,
                    _ => Vec::new(),
                };
                methods.extend(SYSTEM_METHODS.iter().map(|m| m.to_string()));
                Body::GetRpcMethodsResponse(methods)
            }
            _ => self.inner.handle(request).await,
        }
    }
}

/// Why the agent opens a session now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// An authenticated connection request (`6 CONNECTION REQUEST`).
    ConnectionRequest,
    /// A parameter with active notification changed (`4 VALUE CHANGE`).
    ValueChange,
    /// Stop after the current session (tests, shutdown).
    Stop,
}

/// What the agent reports (for logs and tests).
#[derive(Clone, Debug)]
pub enum AgentEvent {
    /// A session ended well.
    SessionDone {
        /// Events in its Inform.
        events: Vec<String>,
        /// ACS requests handled.
        requests: Vec<String>,
    },
    /// A session failed; the next try is after `retry_in`.
    SessionFailed {
        /// Why.
        error: String,
        /// The back-off.
        retry_in: Duration,
    },
    /// A deferred action ran.
    Executed(Deferred),
}

/// How the agent runs.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The ACS.
    pub acs: AcsTarget,
    /// The device identity for the Inform.
    pub device: DeviceId,
    /// Periodic Inform interval (`None`: disabled).
    pub periodic: Option<Duration>,
    /// `PeriodicInformTime` (Unix seconds): periodic Informs fall on this
    /// time plus whole intervals, so a fleet can be spread or aligned;
    /// `None`: counted from the agent's start.
    pub periodic_reference: Option<i64>,
    /// The retry back-off.
    pub retry: RetryPolicy,
    /// The persistent state file.
    pub state_path: PathBuf,
    /// This start is a boot (`1 BOOT`), not a service restart.
    pub boot: bool,
}

/// Runs the agent until a [`Trigger::Stop`] (or the trigger channel
/// closes) and returns the parameter RPCs (and so the configuration the
/// tests inspect).
pub async fn run<R: Rpc, E: Executor>(
    cfg: AgentConfig,
    rpc: R,
    exec: Arc<E>,
    mut triggers: mpsc::Receiver<Trigger>,
    events: broadcast::Sender<AgentEvent>,
) -> R {
    let mut state = match AgentState::load(&cfg.state_path) {
        Ok(s) => s,
        Err(e) => {
            // A corrupt file must not stop management: start over (the
            // bootstrap that follows tells the ACS), keeping the evidence.
            log::error!(target: "cwmpd", "{e}; starting from a fresh state");
            let _ = std::fs::rename(&cfg.state_path, cfg.state_path.with_extension("corrupt"));
            AgentState::default()
        }
    };
    if cfg.boot {
        state.add_event(EventCode::Boot, "");
    }
    let mut rpc = AgentRpc::new(rpc);
    let (done_tx, mut done_rx) = mpsc::channel::<PendingTransfer>(16);
    let mut scheduled: Vec<(Instant, String)> = Vec::new();
    let mut next_periodic = cfg
        .periodic
        .map(|p| Instant::now() + until_periodic(unix_now(), p, cfg.periodic_reference));
    let mut retry_at: Option<Instant> = None;
    let mut stop = false;
    // After a factory reset the state file must stay gone (a fresh
    // state, not a saved one).
    let mut reset = false;
    // The first contact (BOOT or BOOTSTRAP) is due at once.
    let mut due = !state.events.is_empty() || state.needs_bootstrap(&cfg.acs.url.to_string());
    loop {
        if stop && !due {
            break;
        }
        if !due {
            let mut wake = Instant::now() + Duration::from_secs(24 * 3600);
            for t in scheduled
                .iter()
                .map(|(t, _)| *t)
                .chain(next_periodic)
                .chain(retry_at)
            {
                wake = wake.min(t);
            }
            tokio::select! {
                t = triggers.recv() => match t {
                    Some(Trigger::ConnectionRequest) => {
                        state.add_event(EventCode::ConnectionRequest, "");
                        due = true;
                    }
                    Some(Trigger::ValueChange) => {
                        state.add_event(EventCode::ValueChange, "");
                        due = true;
                    }
                    Some(Trigger::Stop) | None => {
                        stop = true;
                        continue;
                    }
                },
                Some(t) = done_rx.recv() => {
                    state.add_transfer(t);
                    due = true;
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
            let now = Instant::now();
            if next_periodic.is_some_and(|t| now >= t) {
                state.add_event(EventCode::Periodic, "");
                next_periodic = cfg
                    .periodic
                    .map(|p| now + until_periodic(unix_now(), p, cfg.periodic_reference));
                due = true;
            }
            let (ready, later): (Vec<_>, Vec<_>) = scheduled.drain(..).partition(|(t, _)| now >= *t);
            scheduled = later;
            for (_, key) in ready {
                state.add_event(EventCode::Scheduled, "");
                state.add_event(EventCode::MScheduleInform, &key);
                due = true;
            }
            if retry_at.is_some_and(|t| now >= t) {
                retry_at = None;
                due = !state.events.is_empty();
            }
            // A pending retry holds back new sessions until its time
            // (TR-069 §3.2.1.1), except that events keep accumulating.
            if retry_at.is_some() {
                due = false;
            }
            if !due {
                continue;
            }
        }
        if let Err(e) = state.save(&cfg.state_path) {
            log::error!(target: "cwmpd", "saving the agent state: {e}");
        }
        due = false;
        match session::run(&cfg.acs, &cfg.device, &mut state, &cfg.state_path, &mut rpc).await {
            Ok(report) => {
                let _ = events.send(AgentEvent::SessionDone {
                    events: report.events,
                    requests: report.requests,
                });
                let mut going_down = false;
                for d in rpc.take_deferred() {
                    going_down |= matches!(d, Deferred::Reboot(_) | Deferred::FactoryReset);
                    reset |= d == Deferred::FactoryReset;
                    execute(&d, &mut state, &cfg, &exec, &done_tx, &mut scheduled).await;
                    let _ = events.send(AgentEvent::Executed(d));
                }
                if going_down {
                    // The system is rebooting: what is owed now (M Reboot)
                    // goes in the first session after the boot.
                    break;
                }
                // Something queued while the session ran (a transfer that
                // finished, a trigger) gets its own session.
                due = !state.events.is_empty() && !stop;
            }
            Err(e) => {
                let _ = rpc.take_deferred(); // a failed session's requests are void
                state.retry_count = state.retry_count.saturating_add(1);
                if let Err(e) = state.save(&cfg.state_path) {
                    log::error!(target: "cwmpd", "saving the agent state: {e}");
                }
                let wait = cfg.retry.wait(state.retry_count, random());
                log::warn!(target: "cwmpd", "session failed: {e}; retry {} in {wait:?}", state.retry_count);
                let _ = events.send(AgentEvent::SessionFailed {
                    error: e.to_string(),
                    retry_in: wait,
                });
                retry_at = Some(Instant::now() + wait);
                if stop {
                    break;
                }
            }
        }
    }
    if !reset {
        if let Err(e) = state.save(&cfg.state_path) {
            log::error!(target: "cwmpd", "saving the agent state: {e}");
        }
    }
    rpc.inner
}

async fn execute<E: Executor>(
    d: &Deferred,
    state: &mut AgentState,
    cfg: &AgentConfig,
    exec: &Arc<E>,
    done: &mpsc::Sender<PendingTransfer>,
    scheduled: &mut Vec<(Instant, String)>,
) {
    match d {
        Deferred::Reboot(key) => {
            // Saved before the reboot: after it, `1 BOOT` and `M Reboot`.
            state.add_event(EventCode::MReboot, key);
            if let Err(e) = state.save(&cfg.state_path) {
                log::error!(target: "cwmpd", "saving the agent state before reboot: {e}");
            }
            exec.reboot();
        }
        Deferred::FactoryReset => {
            let _ = std::fs::remove_file(&cfg.state_path);
            *state = AgentState::default();
            exec.factory_reset();
        }
        Deferred::ScheduleInform { delay, command_key } => {
            scheduled.push((
                Instant::now() + Duration::from_secs(u64::from(*delay)),
                command_key.clone(),
            ));
        }
        Deferred::Download(req) => {
            let (exec, done, req) = (exec.clone(), done.clone(), req.clone());
            tokio::spawn(async move {
                // DelaySeconds: the ACS wants the transfer to start later.
                // (Not kept across a restart yet: docs/tr069.md.)
                tokio::time::sleep(Duration::from_secs(u64::from(req.delay_seconds))).await;
                let outcome = exec.download(req).await;
                let _ = done.send(outcome).await;
            });
        }
        Deferred::Upload(req) => {
            let (exec, done, req) = (exec.clone(), done.clone(), req.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(u64::from(req.delay_seconds))).await;
                let outcome = exec.upload(req).await;
                let _ = done.send(outcome).await;
            });
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// How long until the next periodic Inform at `now`: a whole interval
/// without a reference time; with one, until the next `reference + k ×
/// interval` (TR-181 `PeriodicInformTime`), never 0 (a just-passed
/// point waits for the next).
pub fn until_periodic(now: i64, interval: Duration, reference: Option<i64>) -> Duration {
    let i = interval.as_secs().max(1) as i64;
    match reference {
        None => interval.max(Duration::from_secs(1)),
        Some(r) => {
            let into = (now - r).rem_euclid(i);
            Duration::from_secs((i - into) as u64)
        }
    }
}

fn random() -> u64 {
    let mut b = [0u8; 8];
    use ring::rand::SecureRandom;
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_informs_fall_on_the_reference_time() {
        let hour = Duration::from_secs(3600);
        assert_eq!(until_periodic(1_000, hour, None), hour);
        // Reference 10:00:00, now 10:20:00: the next is at 11:00:00.
        let r = 36_000;
        assert_eq!(until_periodic(r + 1200, hour, Some(r)), Duration::from_secs(2400));
        // A reference in the future works the same way.
        assert_eq!(until_periodic(r - 600, hour, Some(r)), Duration::from_secs(600));
        // Exactly on a point: the next one, not now.
        assert_eq!(until_periodic(r + 7200, hour, Some(r)), hour);
    }
}
