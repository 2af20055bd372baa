//! Calls between sipd and baresip through Kamailio, all over TLS, with
//! SDES SRTP keys negotiated; mutual TLS with client certificates required.

mod common;

use std::time::Duration;

use common::*;
use pki::ValidationLevel;
use sipd::{CallState, Direction};
use siplab::{Baresip, BaresipOptions};

async fn wait_call(
    sipd: &sipd::Sipd,
    id: &str,
    state: CallState,
    secs: u64,
    ctx: impl Fn() -> String,
) -> sipd::CallInfo {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(c) = sipd.call_info(id) {
            if c.state == state {
                return c;
            }
            if c.state == CallState::Ended && state != CallState::Ended {
                panic!("call {id} ended: {:?}\n{}", c.end_reason, ctx());
            }
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "call {id} not {state:?} after {secs} s: {:?}\n{}",
                sipd.call_info(id),
                ctx()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_incoming(sipd: &sipd::Sipd, secs: u64, ctx: impl Fn() -> String) -> sipd::CallInfo {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(c) = sipd
            .calls()
            .into_iter()
            .find(|c| c.direction == Direction::Incoming)
        {
            return c;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("no incoming call after {secs} s\n{}", ctx());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_both_ways_with_baresip_over_tls_with_sdes() {
    calls_both_ways("sipd-calls", false).await;
}

/// The same with client certificates required by sipd's TLS server:
/// Kamailio presents one when it connects to deliver the INVITE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_kamailio_presents_a_client_certificate() {
    calls_both_ways("sipd-mtls", true).await;
}

async fn calls_both_ways(name: &str, mutual: bool) {
    if !peers(name) {
        return;
    }
    let dir = siplab::scratch_dir(name).unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let client = pki.client_cert("kamailio-client").unwrap();
    let kam = kamailio(&dir, &pki, |o| {
        o.users.push(("alice".into(), "alice-pw".into()));
        o.users.push(("bob".into(), "bob-pw".into()));
        if mutual {
            o.client_cert = Some(client.clone());
        }
    });
    let cfg = tls_config(
        &format!("localhost:{}", kam.tls_addr().port()),
        siplab::free_port(),
        &[("alice", "alice-pw")],
        "",
    );
    let sipd = start(cfg, tls_options(&pki, ValidationLevel::HostName, mutual)).await;
    let notes = Notes::watch(sipd.status());
    let mut bo = BaresipOptions::tls("bob", "bob-pw", &kam.tls_uri(), &pki.ca_pem);
    bo.cert = Some(pki.server_cert("baresip", &["localhost", "127.0.0.1"]).unwrap());
    let bob = tokio::task::block_in_place(|| Baresip::start(&dir.join("bob"), &bo)).expect("baresip");
    tokio::task::block_in_place(|| bob.wait_registered(Duration::from_secs(20))).expect("bob registers");
    wait_status(sipd.status(), 20, "alice registered", registered("alice"), || {
        kam.log()
    })
    .await;
    let ctx = || {
        format!(
            "{}\n--- kamailio\n{}\n--- baresip\n{}",
            notes.all(),
            kam.log(),
            bob.log()
        )
    };

    // sipd calls bob; baresip answers at once (SRTP mandatory on its side).
    let id = sipd.call("alice", "bob").await.expect("INVITE sent");
    let call = wait_call(&sipd, &id, CallState::Established, 20, ctx).await;
    tokio::task::block_in_place(|| bob.wait_call_established(Duration::from_secs(10))).expect("bob in call");
    let media = call.media.expect("media negotiated");
    assert!(media.srtp_suite.is_some(), "SDES keys agreed: {media:?}");
    assert_eq!(call.transport, sipd::Transport::Tls);
    assert!(bob.srtp_suite().is_some(), "baresip uses SRTP: {}", bob.log());
    sipd.hangup(&id).await.expect("BYE");
    tokio::task::block_in_place(|| bob.wait_call_closed(Duration::from_secs(10))).expect("bob sees the BYE");
    assert_eq!(sipd.call_info(&id).unwrap().state, CallState::Ended);

    // bob calls alice; sipd answers (auto-answer) with its own SDES key.
    tokio::task::block_in_place(|| bob.dial("sip:alice@localhost")).expect("dial");
    let incoming = wait_incoming(&sipd, 20, ctx).await;
    let call = wait_call(&sipd, &incoming.call_id, CallState::Established, 20, ctx).await;
    tokio::task::block_in_place(|| bob.wait_call_established(Duration::from_secs(10))).expect("bob in call");
    assert!(
        call.media.as_ref().and_then(|m| m.srtp_suite.as_ref()).is_some(),
        "{call:?}"
    );
    tokio::task::block_in_place(|| bob.hangup());
    let ended = wait_call(&sipd, &incoming.call_id, CallState::Ended, 10, ctx).await;
    assert_eq!(ended.end_reason.as_deref(), Some("remote hangup"));
    if mutual {
        // The INVITE from bob came on a connection Kamailio opened to
        // sipd's TLS port, which required its client certificate.
        assert!(
            notes.with_id(sipd::status::ids::INCOMING_TLS_FAILED).is_empty(),
            "no refused incoming connection: {}",
            notes.all()
        );
    }
    sipd.shutdown(Duration::from_secs(3)).await;
}

/// A client without a certificate is refused when client authentication
/// is on, and accepted when it is off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_without_certificate_refused_when_client_auth_is_on() {
    let dir = std::env::temp_dir().join(format!("sipd-mtls-refuse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pki = siplab::Pki::new(&dir).unwrap();
    for required in [true, false] {
        let listen = siplab::free_port();
        let cfg = config(&format!("SipEp.TransportConfig[default].SecurePort={listen}\n"));
        let sipd = start(cfg, tls_options(&pki, ValidationLevel::HostName, required)).await;
        let notes = Notes::watch(sipd.status());
        let ca = pki.ca_pem.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("openssl")
                .args(["s_client", "-connect", &format!("127.0.0.1:{listen}"), "-CAfile"])
                .arg(&ca)
                .args(["-verify_return_error", "-brief"])
                .stdin(std::process::Stdio::null())
                .output()
                .expect("openssl")
        })
        .await
        .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let refused = notes.with_id(sipd::status::ids::INCOMING_TLS_FAILED);
        if required {
            assert!(
                !refused.is_empty(),
                "sipd refused the client: {text}\n{}",
                notes.all()
            );
            assert!(
                refused[0].contains("Incoming TLS connection from 127.0.0.1"),
                "{refused:?}"
            );
        } else {
            assert!(refused.is_empty(), "{refused:?}");
            assert!(text.contains("CONNECTION ESTABLISHED"), "{text}");
        }
        sipd.shutdown(Duration::from_millis(200)).await;
    }
}

/// CANCEL both ways: sipd cancels its ringing call to bob (487), and bob
/// cancels his ringing call to sipd (sipd does not answer at once here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_both_ways() {
    if !peers("sipd-cancel") {
        return;
    }
    let dir = siplab::scratch_dir("sipd-cancel").unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let kam = kamailio(&dir, &pki, |o| {
        o.users.push(("alice".into(), "alice-pw".into()));
        o.users.push(("bob".into(), "bob-pw".into()));
    });
    let cfg = tls_config(
        &format!("localhost:{}", kam.tls_addr().port()),
        siplab::free_port(),
        &[("alice", "alice-pw")],
        "",
    );
    let mut opts = tls_options(&pki, ValidationLevel::HostName, false);
    opts.auto_answer = false;
    let sipd = start(cfg, opts).await;
    let notes = Notes::watch(sipd.status());
    let mut bo = BaresipOptions::tls("bob", "bob-pw", &kam.tls_uri(), &pki.ca_pem);
    bo.cert = Some(pki.server_cert("baresip", &["localhost", "127.0.0.1"]).unwrap());
    bo.auto_answer = false;
    let bob = tokio::task::block_in_place(|| Baresip::start(&dir.join("bob"), &bo)).expect("baresip");
    tokio::task::block_in_place(|| bob.wait_registered(Duration::from_secs(20))).expect("bob registers");
    wait_status(sipd.status(), 20, "alice registered", registered("alice"), || {
        kam.log()
    })
    .await;
    let ctx = || {
        format!(
            "{}\n--- kamailio\n{}\n--- baresip\n{}",
            notes.all(),
            kam.log(),
            bob.log()
        )
    };

    let id = sipd.call("alice", "bob").await.expect("INVITE sent");
    wait_call(&sipd, &id, CallState::Ringing, 20, ctx).await;
    tokio::task::block_in_place(|| bob.wait_incoming(Duration::from_secs(10))).expect("bob rings");
    sipd.hangup(&id).await.expect("CANCEL answered");
    let ended = wait_call(&sipd, &id, CallState::Ended, 10, ctx).await;
    assert!(
        ended.end_reason.as_deref().unwrap_or_default().starts_with("487"),
        "{ended:?}"
    );
    tokio::task::block_in_place(|| bob.wait_call_closed(Duration::from_secs(10))).expect("bob stops ringing");

    tokio::task::block_in_place(|| bob.dial("sip:alice@localhost")).expect("dial");
    let incoming = wait_incoming(&sipd, 20, ctx).await;
    assert_eq!(incoming.state, CallState::Ringing);
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::block_in_place(|| bob.hangup());
    let ended = wait_call(&sipd, &incoming.call_id, CallState::Ended, 10, ctx).await;
    assert_eq!(
        ended.end_reason.as_deref(),
        Some("cancelled by the caller"),
        "{ended:?}"
    );
    sipd.shutdown(Duration::from_secs(3)).await;
}
