//! sipd against Kamailio over TLS: registration with MD5 and SHA-256
//! digest, refresh, wrong password, registrar restart, the certificate
//! validation levels, and shutdown unregistering.

mod common;

use std::time::Duration;

use common::*;
use pki::ValidationLevel;
use sipd::status::ids;
use sipd::{ConnectionState, RegistrationState};
use siplab::Algo;

async fn register_with(algo: Algo, name: &str) {
    if !peers(name) {
        return;
    }
    let dir = siplab::scratch_dir(name).unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let kam = kamailio(&dir, &pki, |o| {
        o.algorithm = algo;
        o.users.push(("alice".into(), "wonder land".into()));
    });
    let cfg = tls_config(
        &format!("localhost:{}", kam.tls_addr().port()),
        siplab::free_port(),
        &[("alice", "wonder land")],
        // 60 s asked: a refresh comes half-way, after 30 s.
        "SipEp.DefaultRegistrationExpiration=60\n",
    );
    let sipd = start(cfg, tls_options(&pki, ValidationLevel::HostName, false)).await;
    let notes = Notes::watch(sipd.status());
    wait_status(sipd.status(), 20, "alice registered", registered("alice"), || {
        kam.log()
    })
    .await;
    assert!(kam.registered("alice"), "Kamailio has no binding for alice");
    let conns = sipd.status().connections();
    assert_eq!(conns.len(), 1, "{conns:?}");
    assert_eq!(conns[0].state, ConnectionState::Up);
    assert!(conns[0].data_path.contains("TLS"), "{conns:?}");
    let contacts = kam.contacts("alice");
    assert!(
        contacts.iter().any(|c| c.contains("transport=tls")),
        "Contact carries transport=tls: {contacts:?}"
    );
    if algo == Algo::Sha256 {
        assert!(
            kam.log().contains("SHA-256")
                || std::fs::read_to_string(kam.config_path())
                    .unwrap()
                    .contains("SHA-256")
        );
    }
    // The refresh: a REGISTER reaches Kamailio again before the 60 s run
    // out (half-way), answered at once thanks to the cached challenge.
    let registers = || kam.log().matches("siplab: REGISTER").count();
    let after_first = registers();
    assert!(after_first >= 2, "challenge and answer: {}", kam.log());
    let t0 = tokio::time::Instant::now();
    while registers() == after_first {
        assert!(
            t0.elapsed() < Duration::from_secs(45),
            "no refresh within 45 s: {}",
            notes.all()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        t0.elapsed() > Duration::from_secs(20),
        "refreshed half-way, not at once: {:?}",
        t0.elapsed()
    );
    wait_status(
        sipd.status(),
        10,
        "alice registered again",
        registered("alice"),
        || kam.log(),
    )
    .await;
    assert!(kam.registered("alice"));
    assert_eq!(
        notes.with_id(ids::CONNECTION_READY).len(),
        1,
        "one connection: {}",
        notes.all()
    );
    let ready = &notes.with_id(ids::CONNECTION_READY)[0];
    assert!(
        ready.starts_with("303 TLS connection with remote host localhost:"),
        "{ready}"
    );
    assert!(
        ready.contains("is now ready to be used for SIP gateway default"),
        "{ready}"
    );
    assert!(!notes.with_id(ids::SERVER_REACHABLE).is_empty());
    // Shutdown unregisters.
    sipd.shutdown(Duration::from_secs(5)).await;
    assert!(
        !kam.registered("alice"),
        "binding left after shutdown: {:?}",
        kam.contacts("alice")
    );
    assert!(
        notes.with_id(ids::UNREGISTERED).len() == 1,
        "unregistration notified: {}",
        notes.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_md5_refresh_unregister() {
    register_with(Algo::Md5, "sipd-reg-md5").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_sha256_refresh_unregister() {
    register_with(Algo::Sha256, "sipd-reg-sha256").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_auth_failed() {
    if !peers("sipd-wrong-password") {
        return;
    }
    let dir = siplab::scratch_dir("sipd-wrong-pw").unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let kam = kamailio(&dir, &pki, |o| {
        o.algorithm = Algo::Sha256;
        o.users.push(("bob".into(), "right".into()));
    });
    let cfg = tls_config(
        &format!("localhost:{}", kam.tls_addr().port()),
        siplab::free_port(),
        &[("bob", "wrong")],
        "",
    );
    let sipd = start(cfg, tls_options(&pki, ValidationLevel::HostName, false)).await;
    let notes = Notes::watch(sipd.status());
    wait_status(
        sipd.status(),
        20,
        "AuthFailed",
        |s| s.registration("bob") == Some(RegistrationState::AuthFailed),
        || kam.log(),
    )
    .await;
    assert!(!kam.registered("bob"));
    let failed = notes.with_id(ids::REGISTRATION_FAILED);
    assert!(failed.iter().any(|n| n.contains("AuthFailed")), "{}", notes.all());
    // The password never reaches the log or the notifications.
    assert!(!notes.all().contains("wrong"), "{}", notes.all());
    let params = sipd.status().as_params();
    assert!(
        params.iter().any(|(k, v)| k == "SipEp.RegistrationStatus"
            && v.contains("User=bob Gateway=default State=AuthFailed")),
        "{params:?}"
    );
    sipd.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrar_restart_reconnects_and_reregisters() {
    if !peers("sipd-restart") {
        return;
    }
    let dir = siplab::scratch_dir("sipd-restart").unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let mut kam = kamailio(&dir, &pki, |o| o.users.push(("carol".into(), "pw-carol".into())));
    let cfg = tls_config(
        &format!("localhost:{}", kam.tls_addr().port()),
        siplab::free_port(),
        &[("carol", "pw-carol")],
        "",
    );
    let sipd = start(cfg, tls_options(&pki, ValidationLevel::HostName, false)).await;
    let notes = Notes::watch(sipd.status());
    wait_status(sipd.status(), 20, "carol registered", registered("carol"), || {
        kam.log()
    })
    .await;
    let first_port = sipd.status().connections()[0].local_port;
    tokio::task::block_in_place(|| kam.restart()).expect("restart");
    // The restarted registrar lost the binding (memory only): sipd must
    // notice the closed connection, reconnect and register again.
    assert!(!kam.registered("carol"));
    wait_status(
        sipd.status(),
        30,
        "carol registered again with the new registrar",
        |s| s.registration("carol") == Some(RegistrationState::Registered) && kam.registered("carol"),
        || format!("{}\n{}", notes.all(), kam.log()),
    )
    .await;
    assert_eq!(notes.with_id(ids::CONNECTION_READY).len(), 2, "{}", notes.all());
    assert!(
        !notes.with_id(ids::CONNECTION_CLOSED).is_empty(),
        "{}",
        notes.all()
    );
    // The persistent connection keeps its configured local port.
    assert_eq!(sipd.status().connections()[0].local_port, first_port);
    sipd.shutdown(Duration::from_secs(3)).await;
}

/// What each validation level must do with each certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_levels_against_good_and_bad_certificates() {
    if !peers("sipd-validation") {
        return;
    }
    let dir = siplab::scratch_dir("sipd-validation").unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let sans = ["localhost", "127.0.0.1"];
    let certs = [
        ("good", pki.server_cert("good", &sans).unwrap()),
        (
            "wrong-name",
            pki.server_cert("wrong-name", &["other.example.net"]).unwrap(),
        ),
        (
            "untrusted",
            pki.cert_signed_by_other_ca("untrusted", &sans).unwrap(),
        ),
        ("expired", pki.expired_cert("expired", &sans).unwrap()),
    ];
    let mut kams = Vec::new();
    for (name, (cert, key)) in &certs {
        let o = siplab::KamailioOptions::new(siplab::free_port(), cert, key).user("nobody", "x");
        let k = tokio::task::block_in_place(|| siplab::Kamailio::start(&dir.join(format!("k-{name}")), &o))
            .expect("kamailio");
        kams.push((*name, k));
    }
    use ValidationLevel::*;
    // (level, [good, wrong name, untrusted, expired]) → accepted?
    let expect = [
        (NoValidation, [true, true, true, true]),
        (TrustedCertificate, [true, true, false, false]),
        (DnsSrvResponse, [true, false, false, false]),
        (HostName, [true, false, false, false]),
    ];
    let mut failures = Vec::new();
    for (level, accepted) in expect {
        let opts = tls_options(&pki, level, false);
        for ((name, kam), want) in kams.iter().zip(accepted) {
            let cfg = tls_config(
                &format!("localhost:{}", kam.tls_addr().port()),
                siplab::free_port(),
                &[],
                "",
            );
            let sipd = start(cfg, opts.clone()).await;
            let notes = Notes::watch(sipd.status());
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            let outcome = loop {
                let c = sipd.status().connections();
                if c.iter().any(|r| r.state == ConnectionState::Up) {
                    break Some(true);
                }
                if !notes.with_id(ids::CERTIFICATE_REFUSED).is_empty() {
                    break Some(false);
                }
                if tokio::time::Instant::now() > deadline {
                    break None;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            if outcome != Some(want) {
                failures.push(format!(
                    "{level:?} with the {name} certificate: got {outcome:?}, want {want}: {}",
                    notes.all()
                ));
            }
            sipd.shutdown(Duration::from_millis(200)).await;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same registrar over UDP (retransmissions by timers, no connection)
/// and over TCP (a persistent connection without TLS): the transport is
/// one choice for the whole unit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_over_udp_and_tcp() {
    if !peers("sipd-udp-tcp") {
        return;
    }
    let dir = siplab::scratch_dir("sipd-udp-tcp").unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let (udp, tcp) = (siplab::free_port(), siplab::free_port());
    let kam = kamailio(&dir, &pki, |o| {
        o.users.push(("dave".into(), "pw-dave".into()));
        o.udp_port = Some(udp);
        o.tcp_port = Some(tcp);
    });
    for (transport, port) in [("Udp", udp), ("Tcp", tcp)] {
        let listen = siplab::free_port();
        let cfg = config(&format!(
            "SipEp.TransportConfig[default].TlsEnable=Disable\n\
             SipEp.TransportConfig[default].{transport}Enable=Enable\n\
             SipEp.TransportConfig[default].Port={listen}\n\
             SipEp.TransportPersistentBasePort={}\n\
             SipEp.DefaultStaticRegistrarHost=127.0.0.1:{port}\n\
             SipEp.Registration[dave].AuthPassword=pw-dave\n",
            siplab::free_port()
        ));
        let opts = sipd::SipdOptions {
            bind: "127.0.0.1".parse().unwrap(),
            ..Default::default()
        };
        let sipd = start(cfg, opts).await;
        assert_eq!(sipd.listen_port(), listen);
        wait_status(sipd.status(), 20, "dave registered", registered("dave"), || {
            kam.log()
        })
        .await;
        let contacts = kam.contacts("dave");
        let want = format!("127.0.0.1:{listen}");
        assert!(
            contacts.iter().any(|c| c.contains(&want)),
            "{transport}: {contacts:?}"
        );
        // SIPS needs TLS on every hop: refused before anything is sent.
        assert_eq!(
            sipd.call("dave", "sips:bob@localhost").await,
            Err(sipd::CallError::SipsNeedsTls)
        );
        if transport == "Tcp" {
            assert!(
                contacts.iter().any(|c| c.contains("transport=tcp")),
                "{contacts:?}"
            );
            assert_eq!(sipd.status().connections()[0].state, ConnectionState::Up);
        } else {
            assert!(sipd.status().connections().is_empty(), "no connection over UDP");
        }
        sipd.shutdown(Duration::from_secs(3)).await;
        assert!(!kam.registered("dave"), "{transport}: unregistered");
    }
}

/// RFC 5626 CRLF keep-alive: Kamailio answers the pings; when it hangs
/// (SIGSTOP: the connection stays open, nothing answers) the missing pong
/// takes the connection down and the registration is Unreachable; when it
/// comes back, sipd reconnects and registers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_keepalive_detects_a_hung_registrar() {
    if !peers("sipd-keepalive") {
        return;
    }
    let dir = siplab::scratch_dir("sipd-keepalive").unwrap();
    let pki = siplab::Pki::new(&dir.join("pki")).unwrap();
    let kam = kamailio(&dir, &pki, |o| o.users.push(("erin".into(), "pw-erin".into())));
    let cfg = tls_config(
        &format!("localhost:{}", kam.tls_addr().port()),
        siplab::free_port(),
        &[("erin", "pw-erin")],
        "SipEp.SipKeepAliveMethod=Ping\nSipEp.SipKeepAliveInterval=15\n",
    );
    let sipd = start(cfg, tls_options(&pki, ValidationLevel::HostName, false)).await;
    let notes = Notes::watch(sipd.status());
    wait_status(sipd.status(), 20, "erin registered", registered("erin"), || {
        kam.log()
    })
    .await;
    // One ping answered: still the same connection after 17 s.
    tokio::time::sleep(Duration::from_secs(17)).await;
    assert!(
        notes.with_id(ids::SERVER_UNREACHABLE).is_empty(),
        "{}",
        notes.all()
    );
    assert!(
        notes.with_id(ids::CONNECTION_CLOSED).is_empty(),
        "{}",
        notes.all()
    );
    kam.freeze();
    wait_status(
        sipd.status(),
        30,
        "the hung registrar noticed",
        |s| s.registration("erin") == Some(RegistrationState::Unreachable),
        || notes.all(),
    )
    .await;
    let unreachable = notes.with_id(ids::SERVER_UNREACHABLE);
    assert_eq!(unreachable.len(), 1, "{}", notes.all());
    assert!(
        unreachable[0].starts_with("311 Server localhost:"),
        "{unreachable:?}"
    );
    assert!(
        notes.all().contains("no keep-alive pong within 10 s"),
        "{}",
        notes.all()
    );
    kam.thaw();
    wait_status(
        sipd.status(),
        40,
        "erin registered again",
        registered("erin"),
        || format!("{}\n{}", notes.all(), kam.log()),
    )
    .await;
    assert!(notes.with_id(ids::CONNECTION_READY).len() >= 2, "{}", notes.all());
    sipd.shutdown(Duration::from_secs(3)).await;
}
