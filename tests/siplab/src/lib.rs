//! dgw SIP test lab: Kamailio, baresip and SIPp started on loopback by tests.
//!
//! Real third-party SIP peers for the tests of `sipd`, all on 127.0.0.1 with ports from
//! [`free_port`], so tests run in parallel. Every process runs in its own process group and is
//! killed when its handle is dropped (also when a test panics); every wait has a timeout.
//!
//! * [`Pki`]: a test CA (rcgen) issuing server, client, expired and untrusted certificates.
//! * [`Kamailio`]: a TLS registrar/proxy (digest MD5 or SHA-256, passwords in an htable,
//!   usrloc in memory, Record-Route, optional UDP/TCP listeners, static routes, `kamcmd` access).
//! * [`Baresip`]: a real TLS user agent (SRTP with SDES, auto-answer, sine audio, no sound card),
//!   driven through its `ctrl_tcp` module (JSON netstrings) with events parsed from it.
//! * [`SippUac`] / [`SippUas`]: SIPp over UDP/TCP (Debian's SIPp has no TLS) for load.
//!
//! Tests start with `if !siplab::check_available("name", siplab::available()) { return; }`:
//! a missing peer skips with a loud banner, or panics when `SIPLAB_REQUIRE=1`.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use std::time::Duration;
//! let dir = siplab::scratch_dir("example")?;
//! let pki = siplab::Pki::new(&dir.join("pki"))?;
//! let (cert, key) = pki.server_cert("kamailio", &["localhost", "127.0.0.1"])?;
//! let opts = siplab::KamailioOptions::new(siplab::free_port(), &cert, &key).user("bob", "bob-pw");
//! let k = siplab::Kamailio::start(&dir.join("kamailio"), &opts)?;
//! let mut bob_opts = siplab::BaresipOptions::tls("bob", "bob-pw", &k.tls_uri(), &pki.ca_pem);
//! // Kamailio connects to bob's TLS port for incoming calls: bob needs a server certificate.
//! bob_opts.cert = Some(pki.server_cert("bob", &["localhost", "127.0.0.1"])?);
//! let bob = siplab::Baresip::start(&dir.join("bob"), &bob_opts)?;
//! bob.wait_registered(Duration::from_secs(10))?;
//! assert!(k.registered("bob"));
//! // ... let sipd register as alice and call sip:bob@localhost ...
//! # Ok(()) }
//! ```
//!
//! # The Kamailio script
//!
//! Only REGISTER is challenged by default (`www_challenge("$td", "1")`, qop=auth, realm = the
//! To domain; a wrong password gets a fresh 401 and baresip gives up); set
//! [`KamailioOptions::auth_invite`] to also challenge initial INVITEs with 407. OPTIONS to the
//! server itself gets 200. Other initial requests: a [`KamailioOptions::static_routes`] entry for
//! the R-URI user wins (`$du`), else `lookup("location")` (404 when not registered), then
//! `t_relay()`. INVITEs are record-routed (double Record-Route when the transport changes, e.g.
//! UDP to TLS), and in-dialog requests follow `loose_route()`. `fr_timer` is 5 s, so a relay that
//! cannot connect ends with 408 in 5 s. Aliases are `localhost` and the domain, each with the
//! listening ports and 5060/5061: an alias without a port would match every port of the host, so
//! a UA's Contact on 127.0.0.1 would count as Kamailio itself and `loose_route()` would loop.
//!
//! # Reaching a registered TLS UA: new connection or reuse ([`ConnectionReuse`])
//!
//! Measured with baresip (tests `tls_call_*`):
//!
//! * [`ConnectionReuse::NewConnection`] (Kamailio's default): for a REGISTERed Contact
//!   `sip:bob@127.0.0.1:P;transport=tls`, Kamailio opens a NEW TLS connection, as a TLS client,
//!   to 127.0.0.1:P, whatever connection the REGISTER came over. The UA must therefore be a TLS
//!   server on its Contact address, with a certificate Kamailio accepts
//!   ([`KamailioOptions::verify_server`] + [`KamailioOptions::ca`] make Kamailio check it against
//!   the CA, chain only; an untrusted one makes the call fail with 408). Kamailio presents
//!   [`KamailioOptions::client_cert`] (or its server certificate) as client certificate. The
//!   in-dialog requests that follow (ACK, BYE) use that new connection too.
//! * [`ConnectionReuse::ViaAlias`]: `force_tcp_alias()` on every TCP/TLS request registers the
//!   connection under (source IP, top-Via port). When the UA uses the same host:port in its Via
//!   sent-by and its Contact (baresip does, and `sipd` should), requests to the Contact go back
//!   over the UA's own connection (RFC 5923 style), so no TLS server is needed on the UA. A UA can
//!   also ask for this itself with `;alias` in its Via, which Kamailio honours only with
//!   `tcp_accept_aliases=yes` (not set here).
//! * [`ConnectionReuse::Received`]: `fix_nated_register()` stores the REGISTER's source address
//!   (`received` in [`Kamailio::contacts`], `;received=` in the 200 OK Contact); `lookup()` sets
//!   `$du` to it, so the INVITE goes over the registration connection whatever the Contact says
//!   (the RFC 5626 flow behaviour; Debian ships no `outbound` module). Dialogs use
//!   `add_contact_alias()` / `handle_ruri_alias()` so ACK/BYE reuse connections too. If the
//!   connection is gone, Kamailio tries to connect to the UA's old ephemeral port and fails.
//!
//! Connection handling common to all modes: `tcp_connection_lifetime=3605` and the tls module's
//! `connection_timeout=3605` keep idle connections open for an hour (`core.tcp_list` shows
//! `timeout` ~3600; it shows a few seconds only while a worker holds the connection);
//! `tcp_crlf_ping=yes` answers a double-CRLF keep-alive with a single CRLF (RFC 5626 §4.4.1),
//! tested over TCP; `tcp_accept_no_cl=yes` accepts TCP messages without Content-Length.
//! A [`Kamailio::restart`] closes every connection and forgets every registration.
//!
//! # baresip 1.0 facts and gotchas
//!
//! * Only MD5 digest: a SHA-256 challenge makes it fail with "Register: Function not
//!   implemented" (ENOSYS from libre). The SHA-256 setup is tested with a hand-written REGISTER.
//! * It does NOT verify the server certificate (an untrusted, expired or misnamed Kamailio
//!   certificate still registers; test `baresip_does_not_verify_the_server_certificate`): use
//!   another client (`openssl s_client -verify_return_error`) to test certificate rejection.
//!   `sip_cafile` ([`BaresipOptions::ca`]) is still loaded.
//! * It listens for TLS on `sip_listen` port + 1 ([`Baresip::tls_port`]); its TLS server needs
//!   `sip_certificate` (cert + key in one PEM, [`BaresipOptions::cert`]), which it also presents
//!   as client certificate (so it works with [`KamailioOptions::require_client_cert`]).
//! * Its REGISTER Contact is `sip:<user>-0x<hex>@127.0.0.1:<tls port>;transport=tls` and its Via
//!   carries the same port; in a 200 OK to an INVITE that came over its own outgoing connection it
//!   puts that connection's local (ephemeral) port in the Contact.
//! * SRTP (SDES): `mediaenc=srtp-mand` offers `m=audio ... RTP/SAVP` with
//!   `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:...` (the only suite it offers) and answers a
//!   crypto offer the same way, with `200 Answering` as reason phrase; the log shows
//!   `srtp: audio: SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)` ([`Baresip::srtp_suite`])
//!   and ctrl_tcp sends a `CALL_MENC` event. With `-s` ([`BaresipOptions::sip_trace`]) every SIP
//!   message, SDP included, is in [`Baresip::log`].
//! * `net_interface 127.0.0.1` is required, otherwise it picks eth0's address for SDP and RTP.
//!   `ausine` only produces 48 kHz stereo (`ausrc_srate 48000`, `ausrc_channels 2`); no player
//!   module is loaded, so no sound hardware is needed.
//! * Registration happens before the ctrl_tcp connection is up, so [`Baresip::wait_registered`]
//!   reads the log (`... 200 OK (...) [1 binding]`) rather than waiting for `REGISTER_OK`.
//! * Timing here: Kamailio is ready in ~0.5-1 s, baresip registers in well under a second, a
//!   TLS call with SRTP is established in ~0.2 s; the whole test suite takes ~12 s.
//!
//! # SIPp
//!
//! Debian 12's SIPp has no TLS, so it talks UDP (or TCP) to Kamailio, which relays to TLS. The
//! built-in `uac` scenario sends ACK/BYE without Route headers, which a record-routing proxy
//! cannot relay, so [`SippUac`] uses its own scenario with `rrs="true"`/`[routes]`, and
//! [`SippUas`] copies `Record-Route` into its answers. A SIPp UAS cannot register, so it sits
//! behind a [`KamailioOptions::static_routes`] entry. SIPp offers plain RTP: the callee baresip
//! needs [`MediaEnc::None`] (or `Srtp`), not `SrtpMandatory`.

#![warn(missing_docs)]

mod baresip;
mod kamailio;
mod ntp;
mod pki;
mod proc;
mod sipp;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};

pub use baresip::{Audio, Baresip, BaresipOptions, MediaEnc};
pub use kamailio::{Algo, ConnectionReuse, Kamailio, KamailioOptions};
pub use ntp::chrony_command;
pub use pki::Pki;
pub use sipp::{SippResult, SippUac, SippUas};

/// Kamailio's module directory on Debian 12 (amd64).
const KAMAILIO_MODULES: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";
/// baresip's module directory on Debian 12.
const BARESIP_MODULES: &str = "/usr/lib/baresip/modules";

/// Checks that Kamailio (with its TLS module and kamcmd) and baresip (with the modules the lab
/// loads) are installed. `Err` says what is missing and which package provides it.
pub fn available() -> Result<(), String> {
    let mut missing = Vec::new();
    for (bin, pkg) in [
        ("/usr/sbin/kamailio", "kamailio"),
        ("/usr/sbin/kamcmd", "kamailio"),
        ("/usr/bin/baresip", "baresip-core"),
    ] {
        if !Path::new(bin).exists() {
            missing.push(format!("{bin} (package {pkg})"));
        }
    }
    let kam = [
        "tls", "ctl", "kex", "sl", "tm", "rr", "pv", "maxfwd", "textops", "siputils", "xlog",
    ];
    let kam2 = ["sanity", "usrloc", "registrar", "auth", "htable", "nathelper"];
    for m in kam.iter().chain(kam2.iter()) {
        let path = Path::new(KAMAILIO_MODULES).join(format!("{m}.so"));
        if !path.exists() {
            let pkg = if *m == "tls" {
                "kamailio-tls-modules"
            } else {
                "kamailio"
            };
            missing.push(format!("{} (package {pkg})", path.display()));
        }
    }
    for m in ["account", "menu", "ctrl_tcp", "g711", "srtp", "ausine", "aufile"] {
        let path = Path::new(BARESIP_MODULES).join(format!("{m}.so"));
        if !path.exists() {
            missing.push(format!("{} (package baresip-core)", path.display()));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing: {}", missing.join(", ")))
    }
}

/// Checks that SIPp (Debian package `sip-tester`) is installed.
pub fn sipp_available() -> Result<(), String> {
    if Path::new("/usr/bin/sipp").exists() {
        Ok(())
    } else {
        Err("missing: /usr/bin/sipp (package sip-tester)".to_string())
    }
}

/// For the top of a test: true when the peers are available; otherwise prints a loud SKIPPED
/// banner and returns false (the test should return early). With `SIPLAB_REQUIRE=1` in the
/// environment it panics instead, so CI cannot pass by skipping.
pub fn check_available(test: &str, check: Result<(), String>) -> bool {
    match check {
        Ok(()) => true,
        Err(why) => {
            if std::env::var("SIPLAB_REQUIRE").is_ok_and(|v| v == "1") {
                panic!("{test}: SIP test peers required (SIPLAB_REQUIRE=1) but {why}");
            }
            eprintln!("\n{}", "!".repeat(78));
            eprintln!("!!! SKIPPED {test}: SIP test peers not installed: {why}");
            eprintln!(
                "!!! install with: apt-get install kamailio kamailio-tls-modules baresip-core sip-tester"
            );
            eprintln!("{}\n", "!".repeat(78));
            false
        }
    }
}

/// A fresh scratch directory `/tmp/siplab/<name>` (emptied if it exists). Kept after the test
/// for post-mortems. Short on purpose: Kamailio's control socket lives in it and unix socket
/// paths are limited to 108 bytes. `name` must be unique among concurrently running tests.
pub fn scratch_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = Path::new("/tmp/siplab").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Whether 127.0.0.1:`port` can be bound over both TCP and UDP right now.
pub(crate) fn port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok() && UdpSocket::bind(("127.0.0.1", port)).is_ok()
}

/// A port that is currently free on 127.0.0.1 for both TCP and UDP (the kernel picks it by
/// binding port 0). Nothing reserves it: bind it soon.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let Ok(l) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = l.local_addr() else {
            continue;
        };
        drop(l);
        if UdpSocket::bind(("127.0.0.1", addr.port())).is_ok() {
            return addr.port();
        }
    }
    panic!("no free port on 127.0.0.1");
}

/// An even port `p` such that `p` and `p + 1` are both free (TCP and UDP): baresip listens for
/// TLS on its SIP port + 1, and RTP/RTCP use an even/odd pair.
pub fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let p = free_port() & !1;
        if p > 1024 && port_free(p) && port_free(p + 1) {
            return p;
        }
    }
    panic!("no free port pair on 127.0.0.1");
}
