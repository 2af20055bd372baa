//! Full TR-069 sessions between the test ACS and the scripted fake CPE, over HTTP and HTTPS.

mod common;

use std::time::Duration;

use acs::{Acs, AcsOptions, Behaviour, CertKind, EndReason, Sent, TestPki, Validation};
use common::*;
use cwmp::*;

const WAIT: Duration = Duration::from_secs(10);

fn requests() -> Vec<Body> {
    vec![
        Body::GetParameterValues(vec![
            "Device.DeviceInfo.SoftwareVersion".into(),
            "Device.ManagementServer.PeriodicInformInterval".into(),
        ]),
        Body::SetParameterValues {
            parameters: vec![ParameterValue::new(
                "Device.ManagementServer.PeriodicInformInterval",
                "300",
                ValueType::UnsignedInt,
            )],
            parameter_key: "k1".into(),
        },
        Body::GetParameterNames {
            parameter_path: "Device.".into(),
            next_level: true,
        },
        Body::AddObject {
            object_name: "Device.NAT.PortMapping.".into(),
            parameter_key: "k2".into(),
        },
        Body::Reboot {
            command_key: "r1".into(),
        },
    ]
}

/// Bootstrap, every queued RPC answered in order, cookies, IDs, schema: over plain HTTP or TLS.
async fn full_session(acs: &Acs, cpe: &FakeCpe) {
    acs.push_requests(requests());
    let run = cpe
        .session(
            vec![event(EventCode::Bootstrap), event(EventCode::Boot)],
            vec![],
            default_answer,
        )
        .await;
    assert_eq!(run.error, None);
    assert_eq!(run.requests.len(), 5);
    // InformResponse, five requests, then the empty response.
    assert_eq!(run.statuses, [200, 200, 200, 200, 200, 200, 204]);

    let s = acs.wait_inform_with(&EventCode::Bootstrap, WAIT).await;
    assert!(s.has_event(&EventCode::Boot));
    assert_eq!(s.inform.device_id.serial_number, "SN0001");
    assert_eq!(s.end, EndReason::Completed);
    s.assert_no_violations();
    s.assert_valid();
    assert_eq!(s.validation, Validation::Valid);
    // Inform + five answers + the empty POST (not an envelope).
    assert_eq!(s.cpe_messages.len(), 6);
    assert_eq!(s.files.len(), 6);
    let answers = s.rpc_responses();
    let sent: Vec<&str> = answers.iter().map(|(b, _)| b.method_name()).collect();
    assert_eq!(
        sent,
        [
            "GetParameterValues",
            "SetParameterValues",
            "GetParameterNames",
            "AddObject",
            "Reboot"
        ]
    );
    let Body::GetParameterValuesResponse(values) = &answers[0].1.body else {
        panic!("{:?}", answers[0].1)
    };
    assert_eq!(values[0].name, "Device.DeviceInfo.SoftwareVersion");
    assert!(matches!(answers[4].1.body, Body::RebootResponse));

    // The HTTP side: InformResponse with MaxEnvelopes 1 and the Inform's ID, a session cookie
    // sent back on every later POST (redacted in the record), XML content type, empty 204.
    let first = &s.http[0];
    assert_eq!(first.status, 200);
    let inform_response = Envelope::parse(&first.response_body).expect("InformResponse parses");
    assert_eq!(inform_response.body, Body::InformResponse { max_envelopes: 1 });
    assert_eq!(inform_response.id.as_deref(), Some("1"));
    let set_cookie = first.response_headers.iter().find(|(n, _)| n == "Set-Cookie");
    assert!(set_cookie.is_some_and(|(_, v)| v.starts_with("acs_session=")));
    let content_type = first.response_headers.iter().find(|(n, _)| n == "Content-Type");
    assert_eq!(
        content_type.map(|(_, v)| v.as_str()),
        Some(r#"text/xml; charset="utf-8""#)
    );
    for later in &s.http[1..] {
        assert_eq!(later.header("cookie"), Some("acs_session=<redacted>"));
        assert!(later
            .response_headers
            .iter()
            .all(|(n, _)| !n.eq_ignore_ascii_case("soapaction")));
    }
    assert_eq!(s.http.last().map(|h| h.status), Some(204));
    // Each request went out with its own cwmp:ID, and the answer echoed it.
    let ids: Vec<Option<&str>> = answers.iter().map(|(_, e)| e.id.as_deref()).collect();
    assert!(
        ids.iter().all(|id| id.is_some_and(|i| i.starts_with("acs-"))),
        "{ids:?}"
    );
    assert_eq!(acs.pending_requests(), 0);
    acs.assert_all_valid();
}

#[tokio::test]
async fn full_session_over_http() {
    let acs = Acs::start(AcsOptions::default()).await;
    assert!(acs.url().starts_with("http://127.0.0.1:"));
    full_session(&acs, &FakeCpe::new(&acs.url())).await;
}

#[tokio::test]
async fn full_session_over_https() {
    let pki = TestPki::generate().unwrap();
    let acs = Acs::start(AcsOptions::https(pki.identity(CertKind::Valid).unwrap())).await;
    assert!(acs.url().starts_with("https://127.0.0.1:"));
    let mut cpe = FakeCpe::new(&acs.url());
    cpe.tls = Some(client_config(pki.roots()));
    full_session(&acs, &cpe).await;
    // The cookie is marked Secure over TLS.
    let s = acs.sessions().remove(0);
    let (_, cookie) = s.http[0]
        .response_headers
        .iter()
        .find(|(n, _)| n == "Set-Cookie")
        .unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn periodic_and_value_change_sessions_without_requests() {
    let acs = Acs::start(AcsOptions::default()).await;
    let cpe = FakeCpe::new(&acs.url());
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert_eq!(run.error, None);
    assert_eq!(run.statuses, [200, 204]);
    let run = cpe
        .session(vec![event(EventCode::ValueChange)], vec![], default_answer)
        .await;
    assert_eq!(run.error, None);
    // Skipping ahead leaves the earlier session for next_session.
    let vc = acs.wait_inform_with(&EventCode::ValueChange, WAIT).await;
    assert_eq!(vc.end, EndReason::Completed);
    let periodic = acs.next_session(WAIT).await;
    assert!(periodic.has_event(&EventCode::Periodic));
    assert!(acs.try_next_session(Duration::from_millis(50)).await.is_none());
    assert_eq!(acs.sessions().len(), 2);
    acs.assert_all_valid();
}

#[tokio::test]
async fn cpe_faults_are_recorded() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_request(Body::SetParameterValues {
        parameters: vec![ParameterValue::new(
            "Device.DeviceInfo.Manufacturer",
            "x",
            ValueType::String,
        )],
        parameter_key: String::new(),
    });
    acs.push_request(Body::FactoryReset);
    let run = FakeCpe::new(&acs.url())
        .session(vec![event(EventCode::Periodic)], vec![], |req| match &req.body {
            Body::SetParameterValues { parameters, .. } => Body::Fault(Fault {
                set_parameter_values_faults: vec![SetParameterValuesFault {
                    parameter_name: parameters[0].name.clone(),
                    code: FaultCode::NON_WRITABLE_PARAMETER,
                    string: "read-only".into(),
                }],
                ..Fault::new(FaultCode::INVALID_ARGUMENTS)
            }),
            _ => Body::Fault(Fault::new(FaultCode::METHOD_NOT_SUPPORTED)),
        })
        .await;
    assert_eq!(run.error, None);
    let s = acs.next_session(WAIT).await;
    let faults = s.faults();
    assert_eq!(faults.len(), 2);
    assert_eq!(faults[0].0, "SetParameterValues");
    assert_eq!(faults[0].1.code, FaultCode::INVALID_ARGUMENTS);
    assert_eq!(
        faults[0].1.set_parameter_values_faults[0].code,
        FaultCode::NON_WRITABLE_PARAMETER
    );
    assert_eq!(faults[1].0, "FactoryReset");
    assert_eq!(faults[1].1.code, FaultCode::METHOD_NOT_SUPPORTED);
    s.assert_no_violations();
    s.assert_valid();
}

#[tokio::test]
async fn transfer_complete_and_get_rpc_methods_from_the_cpe() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_request(Body::GetRpcMethods);
    let tc = TransferComplete {
        command_key: "fw-1".into(),
        fault: TransferFault::success(),
        start_time: DateTime::from_unix(1_700_000_000).unwrap(),
        complete_time: DateTime::from_unix(1_700_000_060).unwrap(),
    };
    let events = vec![
        event(EventCode::TransferComplete),
        Event {
            code: EventCode::MDownload,
            command_key: "fw-1".into(),
        },
    ];
    let run = FakeCpe::new(&acs.url())
        .session(
            events,
            vec![Body::TransferComplete(tc.clone()), Body::GetRpcMethods],
            default_answer,
        )
        .await;
    // CpeSession itself checks that each CPE request got its own response.
    assert_eq!(run.error, None);
    assert!(run.failed.is_empty());
    let s = acs.wait_inform_with(&EventCode::TransferComplete, WAIT).await;
    assert_eq!(s.transfer_completes(), [&tc]);
    assert_eq!(s.cpe_requests.len(), 2);
    // The ACS's GetRPCMethodsResponse, as the CPE received it.
    let acs_methods = Envelope::parse(&s.http[2].response_body).unwrap();
    let Body::GetRpcMethodsResponse(methods) = acs_methods.body else {
        panic!("{acs_methods:?}")
    };
    assert_eq!(methods, acs::ACS_METHODS);
    // And the ACS's own GetRPCMethods, answered by the CPE.
    assert!(matches!(
        s.rpc_responses()[0].1.body,
        Body::GetRpcMethodsResponse(_)
    ));
    s.assert_no_violations();
    s.assert_valid();
}

#[tokio::test]
async fn hold_requests() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_behaviour(Behaviour::HoldRequests);
    acs.push_request(Body::GetParameterValues(vec!["Device.".into()]));
    let tc = Body::TransferComplete(TransferComplete {
        command_key: "c".into(),
        fault: TransferFault::success(),
        start_time: DateTime::unknown(),
        complete_time: DateTime::unknown(),
    });
    // CpeSession honours HoldRequests: its TransferComplete waits until the ACS has no
    // more requests.
    let run = FakeCpe::new(&acs.url())
        .session(
            vec![event(EventCode::TransferComplete)],
            vec![tc.clone()],
            default_answer,
        )
        .await;
    assert_eq!(run.error, None);
    let s = acs.next_session(WAIT).await;
    let informed = Envelope::parse(&s.http[0].response_body).unwrap();
    assert_eq!(informed.hold_requests, Some(true));
    let gpv = s
        .http
        .iter()
        .find(|h| h.response_body.windows(18).any(|w| w == b"GetParameterValues"));
    let gpv = Envelope::parse(&gpv.expect("the GPV went out").response_body).unwrap();
    assert_eq!(gpv.hold_requests, Some(true));
    s.assert_no_violations();
    assert_eq!(
        s.transfer_completes().len(),
        1,
        "delivered once the ACS had nothing more"
    );
    assert_eq!(s.end, EndReason::Completed);

    // A CPE that ignores the hold is flagged.
    acs.push_behaviour(Behaviour::HoldRequests);
    let mut raw = RawClient::connect(&acs.url(), None).await;
    let r = raw
        .post(&inform_envelope(
            "SN-HOLD",
            vec![event(EventCode::TransferComplete)],
        ))
        .await;
    assert_eq!(r.status(), 200);
    let r = raw.post(&Envelope::new(tc).with_id("7").to_xml()).await;
    assert_eq!(r.status(), 200);
    let r = raw.post("").await;
    assert_eq!(r.status(), 204);
    drop(raw);
    let s = acs.next_session(WAIT).await;
    assert_eq!(s.violations.len(), 1, "{:?}", s.violations);
    assert!(s.violations[0].contains("HoldRequests"));
}

/// `assert_all_valid` is not vacuous: an envelope that does not parse, or breaks the schema,
/// fails it and is named.
#[tokio::test]
async fn invalid_envelopes_fail_validation() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_request(Body::GetRpcMethods);
    let mut raw = RawClient::connect(&acs.url(), None).await;
    let r = raw
        .post(&inform_envelope("SN9", vec![event(EventCode::Periodic)]))
        .await;
    assert_eq!(r.status(), 200);
    let r = raw.post("").await;
    assert_eq!(r.status(), 200);
    // Not XML at all: the ACS answers the fault its decoder maps it to (8003).
    let r = raw.post("<cwmp:GetRPCMethodsResponse").await;
    assert_eq!(r.status(), 200);
    let fault = Envelope::parse(&r.body).unwrap();
    assert!(matches!(fault.body, Body::Fault(ref f) if f.code == FaultCode::ACS_INVALID_ARGUMENTS));
    let r = raw.post("").await;
    assert_eq!(r.status(), 204);
    drop(raw);
    let s = acs.next_session(WAIT).await;
    assert_eq!(s.unparsable.len(), 1);
    assert_eq!(s.unanswered, [Sent::Rpc(Body::GetRpcMethods)]);
    let Validation::Invalid(report) = &s.validation else {
        panic!("{:?}", s.validation)
    };
    assert!(
        report.contains("FAIL") && report.contains("unparsable"),
        "{report}"
    );
    let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| acs.assert_all_valid()));
    let message = failure.expect_err("assert_all_valid must fail");
    let message = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("did not parse"), "{message}");
    // Invalid envelopes are kept as evidence when the ACS is dropped; this test's are expected.
    std::fs::remove_dir_all(acs.envelope_dir()).unwrap();
}

#[tokio::test]
async fn protocol_violations_are_recorded() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_request(Body::GetRpcMethods);
    let mut cpe = FakeCpe::new(&acs.url());
    cpe.soapaction_on_empty = true;
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert_eq!(run.error, None);
    let s = acs.next_session(WAIT).await;
    assert!(
        s.violations.iter().any(|v| v.contains("has a SOAPAction header")),
        "{:?}",
        s.violations
    );

    // A response with the wrong cwmp:ID, and an empty POST while an answer is due.
    acs.push_request(Body::GetRpcMethods);
    acs.push_request(Body::FactoryReset);
    let mut raw = RawClient::connect(&acs.url(), None).await;
    raw.post(&inform_envelope("SN1", vec![event(EventCode::Periodic)]))
        .await;
    let r = raw.post("").await;
    let request = Envelope::parse(&r.body).unwrap();
    let wrong = Envelope::new(Body::GetRpcMethodsResponse(vec!["Inform".into()])).with_id("nope");
    assert_ne!(request.id.as_deref(), Some("nope"));
    raw.post(&wrong.to_xml()).await;
    let r = raw.post("").await;
    assert_eq!(
        r.status(),
        204,
        "the FactoryReset was abandoned by the empty POST"
    );
    drop(raw);
    let s = acs.next_session(WAIT).await;
    assert!(
        s.violations.iter().any(|v| v.contains("cwmp:ID")),
        "{:?}",
        s.violations
    );
    assert!(
        s.violations.iter().any(|v| v.contains("empty POST")),
        "{:?}",
        s.violations
    );
    assert_eq!(s.unanswered, [Sent::Rpc(Body::FactoryReset)]);
    assert_eq!(s.end, EndReason::Completed);
}

#[tokio::test]
async fn one_session_at_a_time_per_cpe() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_request(Body::GetRpcMethods);
    let mut first = RawClient::connect(&acs.url(), None).await;
    assert_eq!(
        first
            .post(&inform_envelope("SN7", vec![event(EventCode::Periodic)]))
            .await
            .status(),
        200
    );
    // The same device opens a second connection while the first session is open.
    let mut second = RawClient::connect(&acs.url(), None).await;
    let r = second
        .post(&inform_envelope("SN7", vec![event(EventCode::Periodic)]))
        .await;
    assert_eq!(r.status(), 503);
    let refused = acs.next_session(WAIT).await;
    assert_eq!(refused.end, EndReason::Overlapping);
    // Another device is not affected.
    let mut other = RawClient::connect(&acs.url(), None).await;
    assert_eq!(
        other
            .post(&inform_envelope("SN8", vec![event(EventCode::Periodic)]))
            .await
            .status(),
        200
    );
    drop(first);
    drop(other);
    let mut ended = [acs.next_session(WAIT).await, acs.next_session(WAIT).await];
    ended.sort_by_key(|s| s.id);
    assert_eq!(ended[0].end, EndReason::CpeClosed);
    assert_eq!(ended[0].unanswered, []);
}

/// The agent restarts while its TransferComplete is pending: the interrupted session is
/// recorded as cut by the CPE, and the next boot's session carries the TransferComplete.
#[tokio::test]
async fn restart_with_a_pending_transfer_complete() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_request(Body::GetParameterValues(vec!["Device.DeviceInfo.".into()]));
    let pending = vec![
        event(EventCode::TransferComplete),
        Event {
            code: EventCode::MDownload,
            command_key: "fw-2".into(),
        },
    ];
    // The Inform goes out, then the process dies: the connection closes without a word.
    let mut raw = RawClient::connect(&acs.url(), None).await;
    assert_eq!(
        raw.post(&inform_envelope("SN3", pending.clone())).await.status(),
        200
    );
    drop(raw);
    let cut = acs.next_session(WAIT).await;
    assert_eq!(cut.end, EndReason::CpeClosed);
    assert!(cut.transfer_completes().is_empty());
    // The queued request was never asked for, so it waits for the next session.
    assert_eq!(acs.pending_requests(), 1);

    let mut events = vec![event(EventCode::Boot)];
    events.extend(pending);
    let tc = Body::TransferComplete(TransferComplete {
        command_key: "fw-2".into(),
        fault: TransferFault {
            code: 9010,
            string: "interrupted by a restart".into(),
        },
        start_time: DateTime::unknown(),
        complete_time: DateTime::unknown(),
    });
    let run = FakeCpe::new(&acs.url())
        .session(events, vec![tc], default_answer)
        .await;
    assert_eq!(run.error, None);
    let s = acs.wait_inform_with(&EventCode::Boot, WAIT).await;
    assert!(s.has_event(&EventCode::TransferComplete));
    assert_eq!(s.transfer_completes()[0].fault.code, 9010);
    assert_eq!(s.rpc_responses().len(), 1);
    assert_eq!(s.end, EndReason::Completed);
    s.assert_no_violations();
    acs.assert_all_valid();
}
