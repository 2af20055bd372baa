//! The agent's session code against the project's test ACS, over HTTP with
//! digest authentication and over HTTPS (certificate checked): bootstrap,
//! the parameter RPCs with good and bad arguments, the state kept across
//! sessions, TransferComplete delivery, retries after a failed session.
//! Every envelope the agent sends is validated against the Broadband Forum
//! schema by the ACS.

use std::sync::Arc;
use std::time::Duration;

use acs::{Acs, AcsOptions, CertKind, HttpAuth, TestPki};
use cwmp::{Body, DeviceId, EventCode, FaultCode, ParameterValue, ValueType};
use cwmpd::datamodel::{DeviceInfo, Runtime, State};
use cwmpd::events::{AgentState, PendingTransfer};
use cwmpd::rpc::LocalRpc;
use cwmpd::session::{self, AcsTarget, SessionFailure};
use httpwire::Url;

fn device() -> DeviceId {
    DeviceId {
        manufacturer: "dgw".into(),
        oui: "00256D".into(),
        product_class: "DGW".into(),
        serial_number: "TEST-0001".into(),
    }
}

fn rpc() -> LocalRpc {
    let runtime = Runtime {
        device: DeviceInfo {
            manufacturer: "dgw".into(),
            manufacturer_oui: "00256D".into(),
            model_name: "dgw".into(),
            product_class: "DGW".into(),
            serial_number: "TEST-0001".into(),
            hardware_version: "qemu".into(),
            software_version: "0.1.0".into(),
            ..DeviceInfo::default()
        },
        connection_request_url: "http://127.0.0.1:7547/".into(),
        ..Runtime::default()
    };
    LocalRpc::new(params::Config::factory(), runtime, State::default())
}

fn target(acs: &Acs, user: &str, password: &str, tls: Option<Arc<rustls::ClientConfig>>) -> AcsTarget {
    AcsTarget {
        url: Url::parse(&acs.url()).unwrap(),
        username: user.into(),
        password: password.into(),
        tls,
        ktls: ktls_offload::Options::default(),
        timeout: session::EXCHANGE_TIMEOUT,
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cwmpd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn value(name: &str, v: &str, t: Option<ValueType>) -> ParameterValue {
    ParameterValue {
        name: name.into(),
        value: v.into(),
        value_type: t,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_then_parameter_rpcs_over_http_with_digest() {
    let acs = Acs::start(AcsOptions {
        auth: HttpAuth::digest("cpe", "cpe-secret"),
        ..AcsOptions::default()
    })
    .await;
    let dir = scratch("http");
    let state_path = dir.join("agent.json");
    let mut state = AgentState::default();
    state.add_event(EventCode::Boot, "");
    let mut rpc = rpc();
    acs.push_requests([
        Body::GetParameterValues(vec![
            "Device.ManagementServer.PeriodicInformInterval".into(),
            "Device.DeviceInfo.".into(),
        ]),
        Body::SetParameterValues {
            parameters: vec![value(
                "Device.ManagementServer.PeriodicInformInterval",
                "300",
                Some(ValueType::UnsignedInt),
            )],
            parameter_key: "pk-1".into(),
        },
        // Bad: an unknown name, and a value out of range (both listed).
        Body::SetParameterValues {
            parameters: vec![
                value("Device.NoSuch.Thing", "1", Some(ValueType::String)),
                value(
                    "Device.ManagementServer.PeriodicInformInterval",
                    "5",
                    Some(ValueType::UnsignedInt),
                ),
            ],
            parameter_key: "pk-2".into(),
        },
        Body::GetParameterNames {
            parameter_path: "Device.ManagementServer.".into(),
            next_level: true,
        },
        Body::Reboot {
            command_key: "r1".into(),
        },
    ]);
    let t = target(&acs, "cpe", "cpe-secret", None);
    let report = session::run(&t, &device(), &mut state, &state_path, &mut rpc)
        .await
        .expect("session");
    assert_eq!(report.events, ["0 BOOTSTRAP", "1 BOOT"]);
    assert_eq!(
        report.requests,
        [
            "GetParameterValues",
            "SetParameterValues",
            "SetParameterValues",
            "GetParameterNames",
            "Reboot"
        ]
    );
    let s = acs.next_session(Duration::from_secs(10)).await;
    s.assert_valid();
    s.assert_no_violations();
    assert!(s.has_event(&EventCode::Bootstrap) && s.has_event(&EventCode::Boot));
    assert_eq!(
        s.inform_value("Device.ManagementServer.ConnectionRequestURL"),
        Some("http://127.0.0.1:7547/")
    );
    let bodies: Vec<&Body> = s.responses.iter().map(|(_, e)| &e.body).collect();
    match bodies[0] {
        Body::GetParameterValuesResponse(v) => {
            assert!(v
                .iter()
                .any(|p| p.name == "Device.ManagementServer.PeriodicInformInterval" && p.value == "86400"));
            assert!(v
                .iter()
                .any(|p| p.name == "Device.DeviceInfo.SerialNumber" && p.value == "TEST-0001"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(bodies[1], Body::SetParameterValuesResponse(_)),
        "{:?}",
        bodies[1]
    );
    match bodies[2] {
        Body::Fault(f) => {
            assert_eq!(f.code, FaultCode::INVALID_ARGUMENTS);
            let codes: Vec<(String, FaultCode)> = f
                .set_parameter_values_faults
                .iter()
                .map(|p| (p.parameter_name.clone(), p.code))
                .collect();
            assert_eq!(
                codes,
                [
                    (
                        "Device.NoSuch.Thing".to_string(),
                        FaultCode::INVALID_PARAMETER_NAME
                    ),
                    (
                        "Device.ManagementServer.PeriodicInformInterval".to_string(),
                        FaultCode::INVALID_PARAMETER_VALUE
                    )
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(bodies[3], Body::GetParameterNamesResponse(n) if !n.is_empty()));
    // Reboot is the daemon's: not executed here.
    assert!(matches!(bodies[4], Body::Fault(f) if f.code == FaultCode::METHOD_NOT_SUPPORTED));
    // The applied change and only it: the bad set changed nothing.
    assert_eq!(rpc.config.get("Cwmp.PeriodicInformInterval").unwrap(), "300");
    assert_eq!(rpc.state.parameter_key, "pk-1");
    // Delivered events are gone from the saved state; the bootstrap is done.
    let saved = AgentState::load(&state_path).unwrap();
    assert!(saved.events.is_empty(), "{:?}", saved.events);
    assert!(!saved.needs_bootstrap(&acs.url()));
    assert_eq!(saved.retry_count, 0);

    // The next session: no BOOTSTRAP again; a pending TransferComplete is
    // delivered and acknowledged.
    state.add_transfer(PendingTransfer {
        command_key: "fw-1".into(),
        upload: false,
        fault_code: 0,
        fault_string: String::new(),
        start: 1_700_000_000,
        complete: 1_700_000_060,
    });
    let report = session::run(&t, &device(), &mut state, &state_path, &mut rpc)
        .await
        .expect("second session");
    assert_eq!(report.events, ["7 TRANSFER COMPLETE", "M Download"]);
    let s = acs.next_session(Duration::from_secs(10)).await;
    s.assert_valid();
    let tc = s.cpe_requests.iter().find_map(|e| match &e.body {
        Body::TransferComplete(t) => Some(t.clone()),
        _ => None,
    });
    assert_eq!(tc.expect("TransferComplete sent").command_key, "fw-1");
    assert!(state.transfers.is_empty() && state.events.is_empty());
    acs.assert_all_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_unreachable_acs_fail_and_keep_the_events() {
    let acs = Acs::start(AcsOptions {
        auth: HttpAuth::digest("cpe", "right"),
        ..AcsOptions::default()
    })
    .await;
    let dir = scratch("fail");
    let state_path = dir.join("agent.json");
    let mut state = AgentState::default();
    state.add_event(EventCode::Boot, "");
    let mut rpc = rpc();
    let r = session::run(
        &target(&acs, "cpe", "wrong", None),
        &device(),
        &mut state,
        &state_path,
        &mut rpc,
    )
    .await;
    assert!(matches!(r, Err(SessionFailure::Http(_))), "{r:?}");
    // Nothing was delivered: BOOT and BOOTSTRAP are still owed.
    let codes: Vec<&str> = state.events.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["0 BOOTSTRAP", "1 BOOT"]);
    let closed = Url::parse(&format!("http://127.0.0.1:{}/acs", free_port())).unwrap();
    let t = AcsTarget {
        url: closed,
        ..target(&acs, "", "", None)
    };
    let r = session::run(&t, &device(), &mut state, &state_path, &mut rpc).await;
    assert!(matches!(r, Err(SessionFailure::Connect(_))), "{r:?}");
    assert_eq!(state.events.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_acs_with_hostname_validation() {
    let pki = TestPki::generate().unwrap();
    for (kind, accepted) in [
        (CertKind::Valid, true),
        (CertKind::WrongHost, false),
        (CertKind::Expired, false),
    ] {
        let acs = Acs::start(AcsOptions::https(pki.identity(kind).unwrap())).await;
        // The agent's Cwmp TLS policy: HostName validation against the
        // project's CA, clock synchronised.
        let mut snap = pki::PkiSnapshot::new();
        snap.add_others_pem(pki.ca_pem().as_bytes()).unwrap();
        let mut p = pki::ClientPolicy::new(pki::Service::Cwmp);
        p.clock_synchronised = true;
        let tls = pki::client_config(&p, &snap).unwrap();
        let dir = scratch("https");
        let mut state = AgentState::default();
        let mut rpc = rpc();
        acs.push_request(Body::GetRpcMethods);
        let r = session::run(
            &target(&acs, "", "", Some(tls)),
            &device(),
            &mut state,
            &dir.join("agent.json"),
            &mut rpc,
        )
        .await;
        if accepted {
            let report = r.expect("session over HTTPS");
            assert_eq!(report.requests, ["GetRPCMethods"]);
            let s = acs.next_session(Duration::from_secs(10)).await;
            s.assert_valid();
            assert!(matches!(&s.responses[0].1.body, Body::GetRpcMethodsResponse(m) if m.len() == 8));
        } else {
            assert!(matches!(r, Err(SessionFailure::Connect(_))), "{kind:?}: {r:?}");
            assert!(state.needs_bootstrap(&acs.url()));
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A misbehaving ACS: bad messages get the right fault and the session
/// goes on; a dead, slow, refusing or faulting ACS ends the session as a
/// failure, with nothing lost (the events are still owed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_acs_gets_faults_or_a_clean_failure_never_a_lost_event() {
    use acs::Behaviour;
    let acs = Acs::start(AcsOptions::default()).await;
    let dir = scratch("misbehave");
    let state_path = dir.join("agent.json");
    let t = target(&acs, "", "", None);
    // Bad messages inside a good session: answered with faults.
    for (b, code) in [
        (Behaviour::MalformedXml, FaultCode::INVALID_ARGUMENTS),
        (Behaviour::HugeEnvelope(300 * 1024), FaultCode::RESOURCES_EXCEEDED),
        (Behaviour::WrongNamespace, FaultCode::METHOD_NOT_SUPPORTED),
        (Behaviour::UnknownRpc, FaultCode::METHOD_NOT_SUPPORTED),
    ] {
        acs.push_behaviour(b.clone());
        acs.push_request(Body::GetRpcMethods);
        let mut state = AgentState::default();
        let mut rpc = rpc();
        session::run(&t, &device(), &mut state, &state_path, &mut rpc)
            .await
            .unwrap_or_else(|e| panic!("{b:?}: {e}"));
        let s = acs.next_session(Duration::from_secs(10)).await;
        let faults: Vec<FaultCode> = s
            .responses
            .iter()
            .filter_map(|(_, e)| match &e.body {
                Body::Fault(f) => Some(f.code),
                _ => None,
            })
            .collect();
        assert_eq!(faults, [code], "{b:?}");
        // The queued request after the bad one was still answered.
        assert!(
            s.responses
                .iter()
                .any(|(_, e)| matches!(e.body, Body::GetRpcMethodsResponse(_))),
            "{b:?}"
        );
        s.assert_valid();
    }
    // A failing ACS: the session fails, the events stay.
    for b in [
        Behaviour::HttpStatus(500),
        Behaviour::Unauthorized,
        Behaviour::CloseAfterPosts(1),
        Behaviour::InformFault(FaultCode::ACS_RETRY_REQUEST),
    ] {
        acs.push_behaviour(b.clone());
        let mut state = AgentState::default();
        state.add_event(EventCode::Boot, "");
        let r = session::run(&t, &device(), &mut state, &state_path, &mut rpc()).await;
        assert!(r.is_err(), "{b:?}: {r:?}");
        let codes: Vec<&str> = state.events.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["0 BOOTSTRAP", "1 BOOT"], "{b:?}");
        let _ = acs.try_next_session(Duration::from_secs(5)).await;
    }
}

/// HoldRequests: the ACS holds the agent's requests; the pending
/// TransferComplete waits until the ACS has no more requests, then goes in
/// the same session, and no request is sent while held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_requests_is_honoured() {
    let acs = Acs::start(AcsOptions::default()).await;
    let dir = scratch("hold");
    let mut state = AgentState::default();
    state.add_transfer(PendingTransfer {
        command_key: "held".into(),
        upload: false,
        fault_code: 0,
        fault_string: String::new(),
        start: 1_700_000_000,
        complete: 1_700_000_001,
    });
    acs.push_behaviour(acs::Behaviour::HoldRequests);
    acs.push_request(Body::GetRpcMethods);
    session::run(
        &target(&acs, "", "", None),
        &device(),
        &mut state,
        &dir.join("a.json"),
        &mut rpc(),
    )
    .await
    .expect("session");
    let s = acs.next_session(Duration::from_secs(10)).await;
    s.assert_no_violations();
    s.assert_valid();
    assert_eq!(s.transfer_completes().len(), 1, "delivered after the hold");
    assert!(state.transfers.is_empty());
}

/// A slow ACS: an exchange over the time limit ends the session as a
/// timeout, the events stay owed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_acs_times_out_without_losing_events() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_behaviour(acs::Behaviour::Delay(Duration::from_secs(3)));
    let dir = scratch("slow");
    let mut state = AgentState::default();
    state.add_event(EventCode::Periodic, "");
    let t = AcsTarget {
        timeout: Duration::from_secs(1),
        ..target(&acs, "", "", None)
    };
    let started = std::time::Instant::now();
    let r = session::run(&t, &device(), &mut state, &dir.join("a.json"), &mut rpc()).await;
    assert!(matches!(r, Err(SessionFailure::Timeout)), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let codes: Vec<&str> = state.events.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["0 BOOTSTRAP", "2 PERIODIC"]);
}
