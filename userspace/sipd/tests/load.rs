//! Load: many calls from SIPp (UDP; Debian's SIPp has no TLS) into
//! Kamailio, which relays each to sipd over TLS. sipd answers every call;
//! Kamailio reuses one TLS connection to sipd for all of them.

mod common;

use std::time::Duration;

use common::*;
use pki::ValidationLevel;
use sipd::{CallState, Direction};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_calls_over_one_persistent_tls_connection() {
    if !peers("sipd-load") || !siplab::check_available("sipd-load", siplab::sipp_available()) {
        return;
    }
    const CALLS: u32 = 100;
    let dir = siplab::scratch_dir("sipd-load").unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let udp = siplab::free_port();
    let kam = kamailio(&dir, &pki, |o| {
        o.users.push(("alice".into(), "pw".into()));
        o.udp_port = Some(udp);
    });
    let cfg = tls_config(
        &format!("localhost:{}", kam.tls_addr().port()),
        siplab::free_port(),
        &[("alice", "pw")],
        "",
    );
    let mut opts = tls_options(&pki, ValidationLevel::HostName, false);
    // SIPp offers plain RTP: SRTP optional here, so sipd answers without keys.
    opts.srtp = sdp::SrtpPolicy::Optional;
    let sipd = start(cfg, opts).await;
    let notes = Notes::watch(sipd.status());
    wait_status(sipd.status(), 20, "alice registered", registered("alice"), || {
        kam.log()
    })
    .await;
    let mut uac = siplab::SippUac::new(format!("127.0.0.1:{udp}").parse().unwrap(), "alice", CALLS);
    uac.rate = 20;
    uac.call_duration = Duration::from_millis(200);
    uac.timeout = Duration::from_secs(60);
    let r = tokio::task::block_in_place(|| uac.run(&dir.join("sipp"))).expect("sipp runs");
    assert_eq!(
        (r.successful, r.failed),
        (CALLS, 0),
        "every call succeeds: {:?}\n{}\n{}",
        r.exit,
        r.log,
        notes.all()
    );
    let calls: Vec<_> = sipd
        .calls()
        .into_iter()
        .filter(|c| c.direction == Direction::Incoming)
        .collect();
    assert_eq!(calls.len(), CALLS as usize);
    // SIPp hangs up each call: every one ended by BYE.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sipd.calls().iter().any(|c| c.state != CallState::Ended) {
        assert!(tokio::time::Instant::now() < deadline, "calls left open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sipd.calls().iter().all(|c| c.transport == sipd::Transport::Tls));
    // One TLS connection carried them: Kamailio's TLS connection list toward
    // sipd's port has a single entry.
    let conns = kam.connections().unwrap_or_default();
    let to_sipd: Vec<_> = conns
        .iter()
        .filter(|c| c.contains(&sipd.listen_port().to_string()))
        .collect();
    assert_eq!(
        to_sipd.len(),
        1,
        "one connection from Kamailio to sipd: {conns:?}"
    );
    sipd.shutdown(Duration::from_secs(3)).await;
}
