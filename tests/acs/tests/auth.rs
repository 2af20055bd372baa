//! Authentication of the CPE (Digest, Basic), the session cookie, and Connection Requests.

mod common;

use std::time::{Duration, Instant};

use acs::{connection_request, Acs, AcsOptions, CertKind, EndReason, HttpAuth, TestPki};
use common::*;
use cwmp::*;
use httpwire::{BufferedStream, DigestServer, DigestVerdict, ResponseHead};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn digest_authenticated_cpe() {
    let acs = Acs::start(AcsOptions {
        auth: HttpAuth::digest("cpe", "secret"),
        ..AcsOptions::default()
    })
    .await;
    acs.push_request(Body::GetRpcMethods);
    let mut cpe = FakeCpe::new(&acs.url());
    cpe.credentials = Some(creds("cpe", "secret"));
    let run = cpe
        .session(vec![event(EventCode::Boot)], vec![], default_answer)
        .await;
    assert_eq!(run.error, None);
    let s = acs.next_session(WAIT).await;
    s.assert_no_violations();
    // Every POST of the session was authenticated; the secret is not in the record.
    for h in &s.http {
        assert_eq!(h.header("authorization"), Some("Digest <redacted>"));
    }
    // The challenge came first, outside the session.
    let log = acs.http_log();
    assert_eq!(log[0].status, 401);
    assert!(log[0]
        .response_headers
        .iter()
        .any(|(n, v)| n == "WWW-Authenticate" && v.starts_with("Digest ")));

    // Wrong password: 401, and no session.
    cpe.credentials = Some(creds("cpe", "wrong"));
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert_eq!(run.error.as_deref(), Some("HTTP 401"));
    // No credentials at all: the same.
    cpe.credentials = None;
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert_eq!(run.error.as_deref(), Some("HTTP 401"));
    assert!(acs.try_next_session(Duration::from_millis(100)).await.is_none());
}

#[tokio::test]
async fn basic_authenticated_cpe_over_https() {
    let pki = TestPki::generate().unwrap();
    let acs = Acs::start(AcsOptions {
        auth: HttpAuth::basic("cpe", "secret"),
        ..AcsOptions::https(pki.identity(CertKind::Valid).unwrap())
    })
    .await;
    let mut cpe = FakeCpe::new(&acs.url());
    cpe.tls = Some(client_config(pki.roots()));
    cpe.credentials = Some(creds("cpe", "secret"));
    let run = cpe
        .session(vec![event(EventCode::Boot)], vec![], default_answer)
        .await;
    assert_eq!(run.error, None);
    let s = acs.next_session(WAIT).await;
    assert_eq!(s.http[0].header("authorization"), Some("Basic <redacted>"));
    cpe.credentials = Some(creds("cpe", "bad"));
    let run = cpe
        .session(vec![event(EventCode::Boot)], vec![], default_answer)
        .await;
    assert_eq!(run.error.as_deref(), Some("HTTP 401"));
}

#[tokio::test]
async fn missing_cookie_is_refused() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.push_request(Body::GetRpcMethods);
    let mut cpe = FakeCpe::new(&acs.url());
    cpe.send_cookies = false;
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert_eq!(run.error.as_deref(), Some("HTTP 403"));
    let s = acs.next_session(WAIT).await;
    assert_eq!(s.end, EndReason::CookieRefused);
    assert_eq!(s.violations, ["POST 2 of the session lacks the session cookie"]);
    // The request was never sent: it is still queued for the next session.
    assert_eq!(acs.pending_requests(), 1);
}

#[tokio::test]
async fn missing_cookie_is_recorded_when_not_enforced() {
    let acs = Acs::start(AcsOptions {
        enforce_cookie: false,
        ..AcsOptions::default()
    })
    .await;
    acs.push_request(Body::GetRpcMethods);
    let mut cpe = FakeCpe::new(&acs.url());
    cpe.send_cookies = false;
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert_eq!(run.error, None);
    let s = acs.next_session(WAIT).await;
    assert_eq!(s.end, EndReason::Completed);
    assert_eq!(s.violations.len(), 2, "{:?}", s.violations);
    // With cookies, the same session is clean.
    acs.push_request(Body::GetRpcMethods);
    cpe.send_cookies = true;
    cpe.session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    acs.next_session(WAIT).await.assert_no_violations();
}

/// A tiny Connection Request server, as a CPE runs one: digest only, 200 when authenticated.
async fn cr_server(
    user: &'static str,
    password: &'static str,
) -> (String, tokio::task::JoinHandle<Vec<u16>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cr-7f3a", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut digest = DigestServer::new("dgw connection request").unwrap();
        let creds = creds(user, password);
        let mut answered = Vec::new();
        // Two Connection Requests, each on its own connection.
        for _ in 0..2 {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = BufferedStream::new(tcp);
            while let Ok(Some(head)) = httpwire::read_request(&mut conn).await {
                let reply = match digest.verify(&head, &creds, Instant::now()) {
                    DigestVerdict::Authorized { .. } if head.target() == "/cr-7f3a" => {
                        ResponseHead::new(200).unwrap()
                    }
                    DigestVerdict::Stale => digest.unauthorized(Instant::now(), true).unwrap(),
                    _ => digest.unauthorized(Instant::now(), false).unwrap(),
                };
                answered.push(reply.status());
                httpwire::write_response(&mut conn, &reply, b"").await.unwrap();
            }
        }
        answered
    });
    (url, task)
}

#[tokio::test]
async fn connection_requests() {
    let (url, server) = cr_server("acs", "crpass").await;
    let acs = Acs::start(AcsOptions::default()).await;
    assert_eq!(acs.connection_request(&url, "acs", "crpass").await.unwrap(), 200);
    assert_eq!(acs.connection_request(&url, "acs", "wrong").await.unwrap(), 401);
    let answered = tokio::time::timeout(WAIT, server).await.unwrap().unwrap();
    // Challenge, success; challenge, refusal.
    assert_eq!(answered, [401, 200, 401, 401]);

    // Never off loopback, never HTTPS.
    let err = connection_request("http://192.0.2.1:7547/cr", "a", "b", WAIT)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
    assert!(connection_request("https://127.0.0.1:1/cr", "a", "b", WAIT)
        .await
        .is_err());
    // Nobody listening: an error, quickly.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/cr");
    assert!(connection_request(&url, "a", "b", WAIT).await.is_err());
}
