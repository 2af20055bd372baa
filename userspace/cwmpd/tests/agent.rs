//! The agent loop against the test ACS: which events open which sessions
//! (boot/bootstrap, ScheduleInform, connection request, value change,
//! periodic, a finished transfer), deferred Reboot executed after the
//! session and reported after the "reboot", retries after failed sessions,
//! and a TransferComplete that survives a restart in the middle.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use acs::{Acs, AcsOptions, Behaviour};
use cwmp::{Body, DateTime, DeviceId, EventCode};
use cwmpd::agent::{self, AgentConfig, AgentEvent, Executor, Trigger};
use cwmpd::datamodel::{DeviceInfo, Runtime, State};
use cwmpd::events::PendingTransfer;
use cwmpd::retry::RetryPolicy;
use cwmpd::rpc::LocalRpc;
use cwmpd::session::AcsTarget;
use tokio::sync::{broadcast, mpsc};

#[derive(Default)]
struct Recorder {
    reboots: AtomicU32,
    resets: AtomicU32,
    downloads: AtomicU32,
}

impl Executor for Recorder {
    fn reboot(&self) {
        self.reboots.fetch_add(1, Ordering::SeqCst);
    }
    fn factory_reset(&self) {
        self.resets.fetch_add(1, Ordering::SeqCst);
    }
    async fn download(&self, request: cwmp::Download) -> PendingTransfer {
        self.downloads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        PendingTransfer {
            command_key: request.command_key,
            upload: false,
            fault_code: 0,
            fault_string: String::new(),
            start: 1_700_000_000,
            complete: 1_700_000_001,
        }
    }
    async fn upload(&self, request: cwmp::Upload) -> PendingTransfer {
        PendingTransfer {
            command_key: request.command_key,
            upload: true,
            fault_code: 9011,
            fault_string: "Upload failure".into(),
            start: 1_700_000_010,
            complete: 1_700_000_011,
        }
    }
}

fn rpc() -> LocalRpc {
    let runtime = Runtime {
        device: DeviceInfo {
            manufacturer: "dgw".into(),
            serial_number: "AGENT-1".into(),
            software_version: "0.1.0".into(),
            ..DeviceInfo::default()
        },
        connection_request_url: "http://127.0.0.1:7547/x".into(),
        ..Runtime::default()
    };
    LocalRpc::new(params::Config::factory(), runtime, State::default())
}

fn config(acs: &Acs, state: &std::path::Path, boot: bool, periodic: Option<Duration>) -> AgentConfig {
    AgentConfig {
        acs: AcsTarget {
            url: httpwire::Url::parse(&acs.url()).unwrap(),
            username: String::new(),
            password: String::new(),
            tls: None,
            ktls: ktls_offload::Options::default(),
            timeout: cwmpd::session::EXCHANGE_TIMEOUT,
        },
        device: DeviceId {
            manufacturer: "dgw".into(),
            oui: "00256D".into(),
            product_class: "DGW".into(),
            serial_number: "AGENT-1".into(),
        },
        periodic,
        periodic_reference: None,
        // Fast retries for the test: 1 s, not growing.
        retry: RetryPolicy {
            minimum_wait: 1,
            multiplier: 1000,
        },
        state_path: state.to_path_buf(),
        boot,
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cwmpd-agent-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn events_of(s: &acs::Session) -> Vec<String> {
    s.inform
        .events
        .iter()
        .map(|e| {
            if e.command_key.is_empty() {
                e.code.as_str().to_string()
            } else {
                format!("{} {}", e.code.as_str(), e.command_key)
            }
        })
        .collect()
}

const T: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_open_sessions_and_deferred_actions_run_after_them() {
    let acs = Acs::start(AcsOptions::default()).await;
    let dir = scratch("loop");
    let state = dir.join("agent.json");
    let exec = Arc::new(Recorder::default());
    let (tx, rx) = mpsc::channel(4);
    let (ev, mut evs) = broadcast::channel(64);
    acs.push_request(Body::ScheduleInform {
        delay_seconds: 1,
        command_key: "s1".into(),
    });
    let agent = tokio::spawn(agent::run(
        config(&acs, &state, true, None),
        rpc(),
        exec.clone(),
        rx,
        ev,
    ));

    // 1. Boot of a factory unit: BOOTSTRAP and BOOT.
    let s = acs.next_session(T).await;
    assert_eq!(events_of(&s), ["0 BOOTSTRAP", "1 BOOT"]);
    // 2. The ScheduleInform's session, a second later.
    let s = acs.next_session(T).await;
    assert_eq!(events_of(&s), ["3 SCHEDULED", "M ScheduleInform s1"]);
    // 3. A connection request; the ACS asks for a Download.
    acs.push_request(Body::Download(cwmp::Download {
        command_key: "dl-1".into(),
        file_type: "3 Vendor Configuration File".into(),
        url: acs.add_file("site.cfg", "Cwmp.PeriodicInformInterval=600\n"),
        username: String::new(),
        password: String::new(),
        file_size: 0,
        target_file_name: String::new(),
        delay_seconds: 0,
        success_url: String::new(),
        failure_url: String::new(),
    }));
    tx.send(Trigger::ConnectionRequest).await.unwrap();
    let s = acs.next_session(T).await;
    assert_eq!(events_of(&s), ["6 CONNECTION REQUEST"]);
    assert!(matches!(&s.responses[0].1.body, Body::DownloadResponse(r) if r.status == cwmp::Status::Pending));
    // 4. The transfer's outcome in its own session.
    let s = acs.next_session(T).await;
    assert_eq!(events_of(&s), ["7 TRANSFER COMPLETE", "M Download dl-1"]);
    assert_eq!(s.transfer_completes().len(), 1);
    assert_eq!(exec.downloads.load(Ordering::SeqCst), 1);
    // 5. A value change; the ACS asks for a Reboot, done after the session.
    acs.push_request(Body::Reboot {
        command_key: "r1".into(),
    });
    tx.send(Trigger::ValueChange).await.unwrap();
    let s = acs.next_session(T).await;
    assert_eq!(events_of(&s), ["4 VALUE CHANGE"]);
    let deadline = tokio::time::Instant::now() + T;
    while exec.reboots.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no reboot");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The agent ends its loop: the system is going down.
    agent.await.unwrap();
    drop(tx);
    // 6. After the "reboot": BOOT and M Reboot, no new BOOTSTRAP.
    let (tx, rx) = mpsc::channel(4);
    let (ev, _) = broadcast::channel(64);
    let agent = tokio::spawn(agent::run(
        config(&acs, &state, true, None),
        rpc(),
        exec.clone(),
        rx,
        ev,
    ));
    let s = acs.next_session(T).await;
    assert_eq!(events_of(&s), ["M Reboot r1", "1 BOOT"]);
    tx.send(Trigger::Stop).await.unwrap();
    agent.await.unwrap();
    acs.assert_all_valid();
    // The agent reported what it did.
    let mut executed = Vec::new();
    while let Ok(e) = evs.try_recv() {
        if let AgentEvent::Executed(d) = e {
            executed.push(
                format!("{d:?}")
                    .split('(')
                    .next()
                    .unwrap_or_default()
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    assert_eq!(executed, ["ScheduleInform", "Download", "Reboot"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sessions_are_retried_and_a_transfer_complete_survives_a_restart() {
    let acs = Acs::start(AcsOptions::default()).await;
    let dir = scratch("retry");
    let state = dir.join("agent.json");
    let exec = Arc::new(Recorder::default());
    // The first contact fails (HTTP 500), the retry a second later works.
    acs.push_behaviour(Behaviour::HttpStatus(500));
    acs.push_behaviour(Behaviour::Normal);
    acs.push_request(Body::Upload(cwmp::Upload {
        command_key: "up-1".into(),
        file_type: "1 Vendor Configuration File".into(),
        url: acs.upload_url("cfg"),
        username: String::new(),
        password: String::new(),
        delay_seconds: 0,
    }));
    // The session carrying the Upload's TransferComplete is cut off.
    acs.push_behaviour(Behaviour::CloseAfterPosts(1));
    let (tx, rx) = mpsc::channel(4);
    let (ev, mut evs) = broadcast::channel(64);
    let agent = tokio::spawn(agent::run(
        config(&acs, &state, true, None),
        rpc(),
        exec.clone(),
        rx,
        ev,
    ));
    let failed = acs.next_session(T).await;
    assert_eq!(events_of(&failed), ["0 BOOTSTRAP", "1 BOOT"]);
    let s = acs.next_session(T).await;
    // The retry carries the same events and says it is a retry.
    assert_eq!(events_of(&s), ["0 BOOTSTRAP", "1 BOOT"]);
    assert_eq!(s.inform.retry_count, 1);
    let cut = acs.next_session(T).await;
    assert_eq!(events_of(&cut), ["7 TRANSFER COMPLETE", "M Upload up-1"]);
    // Restart before the TransferComplete got through.
    tx.send(Trigger::Stop).await.unwrap();
    agent.await.unwrap();
    let mut failures = 0;
    while let Ok(e) = evs.try_recv() {
        if let AgentEvent::SessionFailed { retry_in, .. } = e {
            assert_eq!(retry_in, Duration::from_secs(1));
            failures += 1;
        }
    }
    assert!(failures >= 2, "{failures}");
    let (tx, rx) = mpsc::channel(4);
    let (ev, _) = broadcast::channel(64);
    let agent = tokio::spawn(agent::run(
        config(&acs, &state, true, None),
        rpc(),
        exec.clone(),
        rx,
        ev,
    ));
    let s = acs.next_session(T).await;
    assert_eq!(events_of(&s), ["7 TRANSFER COMPLETE", "M Upload up-1", "1 BOOT"]);
    let tc = &s.transfer_completes()[0];
    assert_eq!((tc.command_key.as_str(), tc.fault.code), ("up-1", 9011));
    assert_ne!(tc.start_time, DateTime::unknown());
    tx.send(Trigger::Stop).await.unwrap();
    agent.await.unwrap();
    let saved = cwmpd::events::AgentState::load(&state).unwrap();
    assert!(saved.transfers.is_empty() && saved.events.is_empty(), "{saved:?}");
    acs.assert_all_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_informs() {
    let acs = Acs::start(AcsOptions::default()).await;
    let dir = scratch("periodic");
    let (tx, rx) = mpsc::channel(4);
    let (ev, _) = broadcast::channel(64);
    let exec = Arc::new(Recorder::default());
    let agent = tokio::spawn(agent::run(
        config(&acs, &dir.join("agent.json"), false, Some(Duration::from_secs(1))),
        rpc(),
        exec,
        rx,
        ev,
    ));
    assert_eq!(events_of(&acs.next_session(T).await), ["0 BOOTSTRAP"]);
    assert_eq!(events_of(&acs.next_session(T).await), ["2 PERIODIC"]);
    assert_eq!(events_of(&acs.next_session(T).await), ["2 PERIODIC"]);
    tx.send(Trigger::Stop).await.unwrap();
    agent.await.unwrap();
    let _ = EventCode::Periodic;
}
