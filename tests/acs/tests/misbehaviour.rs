//! Each misbehaviour of the ACS does what it says, in the session it was chosen for only.

mod common;

use std::time::{Duration, Instant};

use acs::{Acs, AcsOptions, Behaviour, EndReason, HttpAuth, Sent};
use common::*;
use cwmp::*;

const WAIT: Duration = Duration::from_secs(10);

async fn run_one(acs: &Acs, cpe: &FakeCpe, behaviour: Behaviour) -> (Run, acs::Session) {
    acs.push_behaviour(behaviour);
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    let s = acs.next_session(WAIT).await;
    (run, s)
}

/// The CPE's fault answering the behaviour's bad message.
fn raw_fault(s: &acs::Session) -> FaultCode {
    let (sent, env) = &s.responses[0];
    assert!(matches!(sent, Sent::Raw(_)), "{sent:?}");
    match &env.body {
        Body::Fault(f) => f.code,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_messages_get_cpe_faults() {
    let acs = Acs::start(AcsOptions::default()).await;
    let cpe = FakeCpe::new(&acs.url());
    for (behaviour, fault) in [
        (Behaviour::MalformedXml, FaultCode::INVALID_ARGUMENTS),
        (Behaviour::HugeEnvelope(300 * 1024), FaultCode::RESOURCES_EXCEEDED),
        (Behaviour::WrongNamespace, FaultCode::METHOD_NOT_SUPPORTED),
        (Behaviour::UnknownRpc, FaultCode::METHOD_NOT_SUPPORTED),
    ] {
        // A real request after the bad one: the session goes on.
        acs.push_request(Body::GetRpcMethods);
        let (run, s) = run_one(&acs, &cpe, behaviour.clone()).await;
        assert_eq!(run.error, None, "{behaviour:?}");
        assert_eq!(s.behaviour, behaviour);
        assert_eq!(raw_fault(&s), fault, "{behaviour:?}");
        assert_eq!(s.rpc_responses().len(), 1, "{behaviour:?}");
        assert_eq!(s.end, EndReason::Completed);
        s.assert_valid();
        if let Behaviour::HugeEnvelope(n) = behaviour {
            assert!(s.http[1].response_body.len() >= n);
        }
    }
    acs.assert_all_valid();
}

#[tokio::test]
async fn delay() {
    let acs = Acs::start(AcsOptions::default()).await;
    let cpe = FakeCpe::new(&acs.url());
    let started = Instant::now();
    let (run, s) = run_one(&acs, &cpe, Behaviour::Delay(Duration::from_millis(150))).await;
    assert_eq!(run.error, None);
    // InformResponse and the empty response, each delayed.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(s.end, EndReason::Completed);
    // The next session is back to normal.
    let started = Instant::now();
    cpe.session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(acs.next_session(WAIT).await.behaviour, Behaviour::Normal);
}

#[tokio::test]
async fn close_mid_session() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_request(Body::GetRpcMethods);
    let cpe = FakeCpe::new(&acs.url());
    let (run, s) = run_one(&acs, &cpe, Behaviour::CloseAfterPosts(2)).await;
    let error = run.error.expect("the CPE sees the connection close");
    assert!(error.starts_with("POST"), "{error}");
    assert_eq!(s.end, EndReason::AcsClosed);
    assert_eq!(s.http.last().map(|h| h.status), Some(0));
    // Closing on the Inform itself.
    let (run, s) = run_one(&acs, &cpe, Behaviour::CloseAfterPosts(1)).await;
    assert!(run.error.is_some());
    assert_eq!(s.end, EndReason::AcsClosed);
    assert_eq!(run.statuses, []);
}

#[tokio::test]
async fn http_errors_and_inform_fault() {
    let acs = Acs::start(AcsOptions::default()).await;
    let cpe = FakeCpe::new(&acs.url());
    let (run, s) = run_one(&acs, &cpe, Behaviour::HttpStatus(500)).await;
    assert_eq!(run.error.as_deref(), Some("HTTP 500"));
    assert_eq!(s.http[0].status, 500);
    assert_eq!(s.end, EndReason::CpeClosed);

    let (run, s) = run_one(&acs, &cpe, Behaviour::InformFault(FaultCode::ACS_RETRY_REQUEST)).await;
    let error = run.error.expect("the CPE's session fails");
    assert!(error.contains("8005"), "{error}");
    let fault = Envelope::parse(&s.http[0].response_body).unwrap();
    assert_eq!(fault.id.as_deref(), Some("1"));
    assert!(matches!(fault.body, Body::Fault(ref f) if f.code == FaultCode::ACS_RETRY_REQUEST));
}

#[tokio::test]
async fn unauthorized_loop() {
    let acs = Acs::start(AcsOptions {
        auth: HttpAuth::digest("cpe", "secret"),
        ..AcsOptions::default()
    })
    .await;
    let mut cpe = FakeCpe::new(&acs.url());
    cpe.credentials = Some(creds("cpe", "secret"));
    let (run, s) = run_one(&acs, &cpe, Behaviour::Unauthorized).await;
    // Good credentials, and still 401: httpwire's client answers once, then gives up.
    assert_eq!(run.error.as_deref(), Some("HTTP 401"));
    assert!(s.http.iter().all(|h| h.status == 401));
    // The next session authenticates normally.
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert_eq!(run.error, None);
    assert_eq!(acs.next_session(WAIT).await.end, EndReason::Completed);
}
