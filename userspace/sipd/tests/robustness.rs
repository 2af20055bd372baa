//! Hostile peers on sipd's TLS port: garbage, an oversize message, a
//! malformed one, a slow sender, too many connections. Each loses at most
//! its own connection; the registration over the persistent connection to
//! Kamailio is not disturbed.

mod common;

use std::time::Duration;

use common::*;
use pki::ValidationLevel;
use rustls::pki_types::ServerName;
use sipd::status::ids;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn options(n: u32, port: u16) -> Vec<u8> {
    format!(
        "OPTIONS sip:alice@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bKrob{n}\r\n\
         Max-Forwards: 70\r\nTo: <sip:alice@127.0.0.1>\r\nFrom: <sip:probe@127.0.0.1>;tag=p{n}\r\n\
         Call-ID: robust-{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

async fn tls(port: u16, ca: &std::path::Path) -> ktls_offload::TlsStream {
    let mut snap = pki::PkiSnapshot::new();
    snap.add_others_pem(&std::fs::read(ca).unwrap()).unwrap();
    let mut p = pki::ClientPolicy::new(pki::Service::Sip);
    p.clock_synchronised = true;
    let cfg = pki::client_config(&p, &snap).unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    ktls_offload::connect(
        cfg,
        ServerName::try_from("localhost").unwrap(),
        tcp,
        &Default::default(),
    )
    .await
    .expect("TLS to sipd")
}

/// Reads until `needle` shows up or the stream ends; returns what came.
async fn read_until(s: &mut ktls_offload::TlsStream, needle: &str, secs: u64) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if String::from_utf8_lossy(&got).contains(needle) {
            return (String::from_utf8_lossy(&got).into_owned(), false);
        }
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_lose_only_their_own_connection() {
    if !peers("sipd-robustness") {
        return;
    }
    let dir = siplab::scratch_dir("sipd-robust").unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let kam = kamailio(&dir, &pki, |o| o.users.push(("alice".into(), "pw".into())));
    let listen = siplab::free_port();
    let cfg = tls_config(
        &format!("localhost:{}", kam.tls_addr().port()),
        listen,
        &[("alice", "pw")],
        "",
    );
    let mut opts = tls_options(&pki, ValidationLevel::HostName, false);
    opts.limits.partial_message = Duration::from_secs(1);
    opts.limits.max_incoming = 6;
    // No call may be up at once: an INVITE flood gets 486 without costing
    // a media port each.
    opts.max_calls = 0;
    let sipd = start(cfg, opts).await;
    let notes = Notes::watch(sipd.status());
    wait_status(sipd.status(), 20, "alice registered", registered("alice"), || {
        kam.log()
    })
    .await;
    let ready_before = notes.with_id(ids::CONNECTION_READY).len();
    let port = sipd.listen_port();
    let ca = pki.ca_pem.clone();

    // 1. A well-behaved request is answered.
    let mut good = tls(port, &ca).await;
    good.write_all(&options(1, port)).await.unwrap();
    let (r, _) = read_until(&mut good, "\r\n\r\n", 5).await;
    assert!(r.starts_with("SIP/2.0 200 OK"), "{r}");

    // 1b. A call beyond the limit: 486 Busy Here.
    let invite = String::from_utf8(options(7, port))
        .unwrap()
        .replace("OPTIONS sip:", "INVITE sip:")
        .replace("CSeq: 7 OPTIONS", "CSeq: 7 INVITE")
        .replace(
            "Content-Length: 0\r\n\r\n",
            "Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n",
        );
    good.write_all(invite.as_bytes()).await.unwrap();
    let (r, _) = read_until(&mut good, "CSeq: 7 INVITE", 5).await;
    assert!(r.contains("SIP/2.0 486 Busy Here"), "{r}");
    assert!(sipd.calls().is_empty());

    // 2. Garbage: the connection is closed.
    let mut g = tls(port, &ca).await;
    g.write_all(b"\x00\x01\x02GARBAGE not sip at all\r\n\r\n")
        .await
        .unwrap();
    let (_, closed) = read_until(&mut g, "never", 5).await;
    assert!(closed, "garbage closes the connection");

    // 3. An oversize INVITE (body beyond 5120 bytes): 513, and the same
    // connection still works afterwards.
    let body = "v=0\r\n".repeat(1300);
    let big = format!(
        "INVITE sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bKbig\r\nMax-Forwards: 70\r\n\
         To: <sip:alice@127.0.0.1>\r\nFrom: <sip:x@127.0.0.1>;tag=b\r\nCall-ID: big-1\r\nCSeq: 1 INVITE\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut o = tls(port, &ca).await;
    o.write_all(big.as_bytes()).await.unwrap();
    let (r, closed) = read_until(&mut o, "\r\n\r\n", 5).await;
    assert!(
        r.starts_with("SIP/2.0 513"),
        "oversize answered 513: {r:?} closed={closed}"
    );
    o.write_all(&options(2, port)).await.unwrap();
    let (r, closed) = read_until(&mut o, "CSeq: 2 OPTIONS", 5).await;
    assert!(
        !closed && r.contains("SIP/2.0 200 OK"),
        "connection survives the oversize message: {r}"
    );

    // 4. A malformed message (CSeq method differs): dropped, connection kept.
    let bad = String::from_utf8(options(3, port))
        .unwrap()
        .replace("CSeq: 3 OPTIONS", "CSeq: 3 INVITE");
    o.write_all(bad.as_bytes()).await.unwrap();
    o.write_all(&options(4, port)).await.unwrap();
    let (r, closed) = read_until(&mut o, "CSeq: 4 OPTIONS", 5).await;
    assert!(!closed && r.contains("CSeq: 4 OPTIONS"), "{r}");
    assert!(!r.contains("CSeq: 3"), "the malformed request got no answer: {r}");

    // 5. Slow loris: half a message, then nothing. Closed after the limit.
    let mut slow = tls(port, &ca).await;
    slow.write_all(&options(5, port)[..60]).await.unwrap();
    let t = tokio::time::Instant::now();
    let (_, closed) = read_until(&mut slow, "never", 5).await;
    assert!(closed, "slow sender closed");
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "closed within the 1 s limit (+ slack): {:?}",
        t.elapsed()
    );

    // 6. Too many connections: beyond max_incoming, new ones are closed.
    let mut held = Vec::new();
    for _ in 0..8 {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        held.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        notes.all().contains("connections open"),
        "connections beyond the limit refused: {}",
        notes.all()
    );
    drop(held);

    // Nobody else noticed: alice is still registered over the one
    // persistent connection, and the first client still gets answers.
    assert_eq!(
        sipd.status().registration("alice"),
        Some(sipd::RegistrationState::Registered)
    );
    assert_eq!(
        notes.with_id(ids::CONNECTION_READY).len(),
        ready_before,
        "no reconnection: {}",
        notes.all()
    );
    assert!(sipd
        .status()
        .connections()
        .iter()
        .all(|c| c.state == sipd::ConnectionState::Up));
    good.write_all(&options(6, port)).await.unwrap();
    let (r, _) = read_until(&mut good, "CSeq: 6 OPTIONS", 5).await;
    assert!(r.contains("200 OK"), "{r}");
    assert!(!notes.with_id(ids::MESSAGE_REFUSED).is_empty(), "{}", notes.all());
    assert!(
        !notes.with_id(ids::CONNECTION_DROPPED).is_empty(),
        "{}",
        notes.all()
    );
    sipd.shutdown(Duration::from_secs(2)).await;
}
