//! dgw SIP test lab: Kamailio, baresip and SIPp started on loopback by tests.
//!
//! FINDINGS_PLACEHOLDER

#![warn(missing_docs)]

mod baresip;
mod kamailio;
mod pki;
mod proc;
mod sipp;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};

pub use baresip::{Audio, Baresip, BaresipOptions, MediaEnc};
pub use kamailio::{Algo, ConnectionReuse, Kamailio, KamailioOptions};
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
