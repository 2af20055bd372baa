//! Proves the lab itself: every peer starts, registers, calls and stops as documented.

use std::net::UdpSocket;
use std::path::Path;
use std::time::Duration;

use siplab::{
    Baresip, BaresipOptions, ConnectionReuse, Kamailio, KamailioOptions, MediaEnc, Pki, SippUac, SippUas,
};

const T: Duration = Duration::from_secs(10);

/// Returns early (after a loud message) when the peers are not installed.
macro_rules! require_peers {
    ($name:expr) => {
        if !siplab::check_available($name, siplab::available()) {
            return;
        }
    };
}

/// A PKI plus a Kamailio on a free TLS port with users alice/bob/carol.
fn lab(name: &str, tweak: impl FnOnce(&mut KamailioOptions)) -> (std::path::PathBuf, Pki, Kamailio) {
    let dir = siplab::scratch_dir(name).unwrap();
    let pki = Pki::new(&dir.join("pki")).unwrap();
    let (cert, key) = pki.server_cert("kamailio", &["localhost", "127.0.0.1"]).unwrap();
    let mut opts = KamailioOptions::new(siplab::free_port(), &cert, &key)
        .user("alice", "alice-secret")
        .user("bob", "bob-secret")
        .user("carol", "carol-secret");
    opts.ca = Some(pki.ca_pem.clone());
    tweak(&mut opts);
    let k = Kamailio::start(&dir.join("kamailio"), &opts).unwrap();
    (dir, pki, k)
}

/// A baresip account registering to `k` over TLS; with a TLS server certificate when `cert`.
fn ua(dir: &Path, pki: &Pki, k: &Kamailio, user: &str, password: &str, cert: bool) -> BaresipOptions {
    let mut o = BaresipOptions::tls(user, password, &k.tls_uri(), &pki.ca_pem);
    if cert {
        o.cert = Some(pki.server_cert(user, &["localhost", "127.0.0.1"]).unwrap());
    }
    let _ = dir;
    o
}

#[test]
fn baresip_registers_over_tls_with_md5_digest() {
    require_peers!("baresip_registers_over_tls_with_md5_digest");
    let (dir, pki, k) = lab("reg-md5", |_| {});
    assert!(!k.registered("alice"));
    let alice = Baresip::start(
        &dir.join("alice"),
        &ua(&dir, &pki, &k, "alice", "alice-secret", false),
    )
    .unwrap();
    alice.wait_registered(T).unwrap();
    k.wait_registered("alice", T).unwrap();
    let contacts = k.contacts("alice");
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert!(contacts[0].contains(";transport=tls"), "{contacts:?}");
    assert!(
        contacts[0].contains(&format!(":{}", alice.tls_port())),
        "{contacts:?}"
    );
    // The REGISTER was challenged first: Kamailio logs the challenge.
    assert!(k.log().contains("challenging REGISTER of alice"));
}

#[test]
fn wrong_password_is_not_registered() {
    require_peers!("wrong_password_is_not_registered");
    let (dir, pki, k) = lab("reg-wrong", |_| {});
    let alice = Baresip::start(&dir.join("alice"), &ua(&dir, &pki, &k, "alice", "wrong", false)).unwrap();
    let err = alice.wait_registered(Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains("failed"), "{err:#}");
    assert!(!k.registered("alice"));
}

/// Sends `req` over UDP to `addr` and returns the first final response (skipping 1xx).
fn udp_transaction(sock: &UdpSocket, addr: std::net::SocketAddr, req: &str) -> String {
    sock.send_to(req.as_bytes(), addr).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        let (n, _) = sock.recv_from(&mut buf).expect("no SIP response within 5 s");
        let resp = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !resp.starts_with("SIP/2.0 1") {
            return resp;
        }
    }
}

fn sha256_hex(s: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of `name="..."` (or `name=token`) in a WWW-Authenticate header.
fn auth_param(resp: &str, name: &str) -> Option<String> {
    let line = resp
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("www-authenticate:"))?;
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    let rest = &line[start..];
    Some(match rest.strip_prefix('"') {
        Some(q) => q[..q.find('"')?].to_string(),
        None => rest.split([',', ' ']).next()?.to_string(),
    })
}

fn register(port: u16, user: &str, cseq: u32, auth: Option<String>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:localhost SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{cseq}-{user}\r\n\
         From: <sip:{user}@localhost>;tag=t{user}\r\nTo: <sip:{user}@localhost>\r\nCall-ID: reg-{user}@siplab\r\n\
         CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@127.0.0.1:{port}>\r\nExpires: 300\r\nMax-Forwards: 70\r\n\
         {auth}Content-Length: 0\r\n\r\n"
    )
}

/// baresip 1.0 cannot answer SHA-256 challenges (libre returns ENOSYS), so this speaks digest
/// over UDP by hand to prove Kamailio's SHA-256 configuration.
#[test]
fn sha256_digest_register() {
    require_peers!("sha256_digest_register");
    let udp = siplab::free_port();
    let (_dir, _pki, k) = lab("reg-sha256", |o| {
        o.algorithm = siplab::Algo::Sha256;
        o.udp_port = Some(udp);
    });
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let kaddr = std::net::SocketAddr::from(([127, 0, 0, 1], udp));
    let resp = udp_transaction(&sock, kaddr, &register(port, "carol", 1, None));
    assert!(resp.starts_with("SIP/2.0 401"), "{resp}");
    assert_eq!(
        auth_param(&resp, "algorithm").as_deref(),
        Some("SHA-256"),
        "{resp}"
    );
    let digest = |password: &str, cseq: u32, resp: &str| {
        let realm = auth_param(resp, "realm").unwrap();
        let nonce = auth_param(resp, "nonce").unwrap();
        let uri = "sip:localhost";
        let ha1 = sha256_hex(&format!("carol:{realm}:{password}"));
        let ha2 = sha256_hex(&format!("REGISTER:{uri}"));
        let response = sha256_hex(&format!("{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"));
        let auth = format!(
            "Digest username=\"carol\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c0ffee\""
        );
        udp_transaction(&sock, kaddr, &register(port, "carol", cseq, Some(auth)))
    };
    let wrong = digest("not-carols", 2, &resp);
    assert!(wrong.starts_with("SIP/2.0 401"), "{wrong}");
    assert!(!k.registered("carol"));
    let ok = digest("carol-secret", 3, &wrong);
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    assert!(k.registered("carol"));
}

/// Alice calls bob through Kamailio; everything over TLS, media SRTP (SDES).
/// Returns both UAs for extra checks.
fn call(
    name: &str,
    reuse: ConnectionReuse,
    bob_has_cert: bool,
    auth_invite: bool,
) -> (Kamailio, Baresip, Baresip) {
    let (dir, pki, k) = lab(name, |o| {
        o.reuse = reuse;
        o.auth_invite = auth_invite;
    });
    let alice = Baresip::start(
        &dir.join("alice"),
        &ua(&dir, &pki, &k, "alice", "alice-secret", true),
    )
    .unwrap();
    let bob = Baresip::start(
        &dir.join("bob"),
        &ua(&dir, &pki, &k, "bob", "bob-secret", bob_has_cert),
    )
    .unwrap();
    alice.wait_registered(T).unwrap();
    bob.wait_registered(T).unwrap();
    k.wait_registered("bob", T).unwrap();
    alice.dial("sip:bob@localhost").unwrap();
    bob.wait_call_established(T).unwrap();
    alice.wait_call_established(T).unwrap();
    alice.wait_event("CALL_RTPESTAB", T).unwrap();
    alice.hangup();
    alice.wait_call_closed(T).unwrap();
    bob.wait_call_closed(T).unwrap();
    (k, alice, bob)
}

/// The TLS port baresip saw an incoming INVITE arrive on: its log says
/// `sipsess connect via TLS <peer> --> <local>`.
fn invite_local_port(b: &Baresip) -> u16 {
    let log = b.log();
    let line = log
        .lines()
        .find(|l| l.contains("sipsess connect via TLS"))
        .expect("no incoming INVITE");
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

#[test]
fn tls_call_with_srtp_new_connection() {
    require_peers!("tls_call_with_srtp_new_connection");
    let (k, alice, bob) = call("call-new", ConnectionReuse::NewConnection, true, false);
    assert_eq!(alice.srtp_suite().as_deref(), Some("AES_CM_128_HMAC_SHA1_80"));
    assert_eq!(bob.srtp_suite().as_deref(), Some("AES_CM_128_HMAC_SHA1_80"));
    // SDES: the offer and the answer carry a=crypto, over RTP/SAVP.
    assert!(alice.log().contains("m=audio") && alice.log().contains("RTP/SAVP"));
    assert!(alice.log().contains("a=crypto:"));
    assert!(bob.log().contains("a=crypto:"));
    // Kamailio connected to bob's TLS listening port (a new connection).
    assert_eq!(invite_local_port(&bob), bob.tls_port());
    assert!(k.log().contains("relaying INVITE"));
}

#[test]
fn tls_call_reusing_the_registration_connection_received() {
    require_peers!("tls_call_reusing_the_registration_connection_received");
    // bob has no TLS server certificate: the call only works over bob's own connection.
    let (k, _alice, bob) = call("call-rcv", ConnectionReuse::Received, false, false);
    assert_ne!(invite_local_port(&bob), bob.tls_port());
    assert!(
        k.contacts("bob")[0].contains("received=sip:127.0.0.1:"),
        "{:?}",
        k.contacts("bob")
    );
}

#[test]
fn tls_call_reusing_the_registration_connection_via_alias() {
    require_peers!("tls_call_reusing_the_registration_connection_via_alias");
    // Also with INVITEs challenged (407), which baresip answers.
    let (k, alice, bob) = call("call-alias", ConnectionReuse::ViaAlias, false, true);
    assert_ne!(invite_local_port(&bob), bob.tls_port());
    assert!(alice.log().contains("SIP/2.0 407 Proxy Authentication Required"));
    assert!(k.log().contains("relaying INVITE"));
}

#[test]
fn sipp_udp_calls_to_registered_baresip() {
    require_peers!("sipp_udp_calls_to_registered_baresip");
    if !siplab::check_available("sipp_udp_calls_to_registered_baresip", siplab::sipp_available()) {
        return;
    }
    let udp = siplab::free_port();
    let (dir, pki, k) = lab("sipp-baresip", |o| o.udp_port = Some(udp));
    let mut o = ua(&dir, &pki, &k, "bob", "bob-secret", true);
    // SIPp offers plain RTP only.
    o.mediaenc = MediaEnc::None;
    let bob = Baresip::start(&dir.join("bob"), &o).unwrap();
    bob.wait_registered(T).unwrap();
    let mut uac = SippUac::new(([127, 0, 0, 1], udp).into(), "bob", 3);
    uac.timeout = Duration::from_secs(20);
    let r = uac.run(&dir.join("sipp")).unwrap();
    assert_eq!((r.successful, r.failed), (3, 0), "{r:?}\nkamailio:\n{}", k.log());
    assert_eq!(r.exit.as_deref(), Some("sipp-uac exited: exit status: 0"));
}

#[test]
fn sipp_uac_to_sipp_uas_via_static_route() {
    require_peers!("sipp_uac_to_sipp_uas_via_static_route");
    if !siplab::check_available("sipp_uac_to_sipp_uas_via_static_route", siplab::sipp_available()) {
        return;
    }
    let dir = siplab::scratch_dir("sipp-static").unwrap();
    let uas_port = siplab::free_port();
    let uas = SippUas::start(&dir.join("uas"), uas_port, 4, false).unwrap();
    let udp = siplab::free_port();
    let (_d, _pki, _k) = lab("sipp-static-k", |o| {
        o.udp_port = Some(udp);
        o.static_routes.push(("uas".to_string(), uas.uri()));
    });
    let mut uac = SippUac::new(([127, 0, 0, 1], udp).into(), "uas", 4);
    uac.rate = 10;
    uac.call_duration = Duration::from_millis(200);
    let r = uac.run(&dir.join("uac")).unwrap();
    assert_eq!((r.successful, r.failed), (4, 0), "{r:?}");
    let s = uas.wait(Duration::from_secs(10)).unwrap();
    assert_eq!((s.successful, s.failed), (4, 0), "{s:?}");
}

#[test]
fn restart_forgets_registrations() {
    require_peers!("restart_forgets_registrations");
    let (dir, pki, mut k) = lab("restart", |_| {});
    let mut o = ua(&dir, &pki, &k, "alice", "alice-secret", false);
    o.regint = 3600;
    let alice = Baresip::start(&dir.join("alice"), &o).unwrap();
    k.wait_registered("alice", T).unwrap();
    k.restart().unwrap();
    assert!(!k.registered("alice"));
    assert!(k.kamcmd(&["core.uptime"]).is_ok());
    drop(alice);
}

#[test]
fn options_and_crlf_keepalive() {
    require_peers!("options_and_crlf_keepalive");
    let udp = siplab::free_port();
    let tcp = siplab::free_port();
    let (_dir, _pki, k) = lab("options", |o| {
        o.udp_port = Some(udp);
        o.tcp_port = Some(tcp);
    });
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let options = format!(
        "OPTIONS sip:localhost SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-opt\r\n\
         From: <sip:probe@localhost>;tag=p\r\nTo: <sip:localhost>\r\nCall-ID: opt@siplab\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    let resp = udp_transaction(&sock, ([127, 0, 0, 1], udp).into(), &options);
    assert!(resp.starts_with("SIP/2.0 200"), "{resp}");
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    s.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");
    assert!(!k.log().is_empty());
}

#[test]
fn pki_files() {
    let dir = siplab::scratch_dir("pki").unwrap();
    let pki = Pki::new(&dir).unwrap();
    let verify = |cert: &Path| {
        std::process::Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&pki.ca_pem)
            .arg(cert)
            .output()
            .unwrap()
            .status
            .success()
    };
    let (good, key) = pki.server_cert("srv", &["localhost", "127.0.0.1"]).unwrap();
    assert!(verify(&good));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&pki.ca_key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&good)
        .output();
    let text = String::from_utf8_lossy(&text.unwrap().stdout).into_owned();
    assert!(
        text.contains("DNS:localhost") && text.contains("IP Address:127.0.0.1"),
        "{text}"
    );
    let (expired, _) = pki.expired_cert("old", &["localhost"]).unwrap();
    assert!(!verify(&expired));
    let (other, _) = pki.cert_signed_by_other_ca("other", &["localhost"]).unwrap();
    assert!(!verify(&other));
    let (client, _) = pki.client_cert("client").unwrap();
    assert!(verify(&client));
}

#[test]
fn verify_server_checks_the_callee_certificate() {
    require_peers!("verify_server_checks_the_callee_certificate");
    let (dir, pki, k) = lab("verify-server", |o| o.verify_server = true);
    let alice = Baresip::start(
        &dir.join("alice"),
        &ua(&dir, &pki, &k, "alice", "alice-secret", true),
    )
    .unwrap();
    let mut o = ua(&dir, &pki, &k, "bob", "bob-secret", false);
    o.cert = Some(
        pki.cert_signed_by_other_ca("bob", &["localhost", "127.0.0.1"])
            .unwrap(),
    );
    let bob = Baresip::start(&dir.join("bob"), &o).unwrap();
    alice.wait_registered(T).unwrap();
    bob.wait_registered(T).unwrap();
    alice.dial("sip:bob@localhost").unwrap();
    // Kamailio refuses bob's certificate, so the INVITE never arrives and the call fails.
    let closed = alice.wait_call_closed(T).unwrap();
    assert!(bob.wait_incoming(Duration::from_millis(100)).is_err());
    assert!(
        !alice.events().iter().any(|e| e["type"] == "CALL_ESTABLISHED"),
        "{closed}"
    );
}

#[test]
fn mutual_tls_toward_kamailio() {
    require_peers!("mutual_tls_toward_kamailio");
    let (dir, pki, k) = lab("mtls", |o| o.require_client_cert = true);
    let without = Baresip::start(
        &dir.join("alice"),
        &ua(&dir, &pki, &k, "alice", "alice-secret", false),
    )
    .unwrap();
    // baresip presents its sip_certificate as TLS client certificate too.
    let mut o = ua(&dir, &pki, &k, "bob", "bob-secret", false);
    o.cert = Some(pki.client_cert("bob").unwrap());
    let with = Baresip::start(&dir.join("bob"), &o).unwrap();
    with.wait_registered(T).unwrap();
    assert!(k.registered("bob"));
    assert!(without.wait_registered(Duration::from_secs(2)).is_err());
    assert!(!k.registered("alice"));
}

/// Pins a limitation: baresip 1.0 registers to a server whose certificate it cannot verify, so
/// it cannot stand in for a client that must reject a bad server certificate.
#[test]
fn baresip_does_not_verify_the_server_certificate() {
    require_peers!("baresip_does_not_verify_the_server_certificate");
    let dir = siplab::scratch_dir("no-verify").unwrap();
    let pki = Pki::new(&dir.join("pki")).unwrap();
    let (cert, key) = pki.cert_signed_by_other_ca("kamailio", &["example.org"]).unwrap();
    let k = Kamailio::start(
        &dir.join("kamailio"),
        &KamailioOptions::new(siplab::free_port(), &cert, &key).user("alice", "pw"),
    )
    .unwrap();
    let alice = Baresip::start(&dir.join("alice"), &ua(&dir, &pki, &k, "alice", "pw", false)).unwrap();
    alice.wait_registered(T).unwrap();
    assert!(k.registered("alice"));
}
