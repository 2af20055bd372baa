//! `dgw sipd` as it runs on the unit: configured through confd on a private
//! bus (with the real policies) by the SIP TLS trunk recipe, certificates
//! imported with `dgw cert`, waiting for time synchronisation until hostd
//! has set the clock from an NTP server (chrony), then registering with
//! Kamailio over TLS; its status read back with `dgw ctl`, its TLS
//! connection driving hostd's Ready LED; SIGTERM unregisters.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    can_run, chrony, confd_and_hostd_policy, scratch, start_bus, start_confd, start_hostd, text, Kill, DGW,
};

fn ctl(addr: &str, args: &[&str]) -> Output {
    Command::new(DGW)
        .args(["ctl", "--bus", addr])
        .args(args)
        .output()
        .unwrap()
}

fn get(addr: &str, name: &str) -> String {
    String::from_utf8_lossy(&ctl(addr, &["get", name]).stdout).to_string()
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool, ctx: impl Fn() -> String) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}\n{}",
            ctx()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn sipd_from_the_recipe_waits_for_the_clock_then_registers() {
    if !can_run() || !siplab::check_available("sipd_dbus", siplab::available()) {
        return;
    }
    let dir = scratch("sipd");
    let lab = siplab::scratch_dir("dgw-sipd").unwrap();
    let pki = siplab::Pki::new(&lab.join("pki")).unwrap();
    let (kcert, kkey) = pki.server_cert("kamailio", &["localhost", "127.0.0.1"]).unwrap();
    let o = siplab::KamailioOptions::new(siplab::free_port(), &kcert, &kkey).user("alice", "pw-alice");
    let kam = siplab::Kamailio::start(&lab.join("kam"), &o).unwrap();

    let (_bus, addr) = start_bus(&dir, &confd_and_hostd_policy(""));
    let _confd = start_confd(&dir, &addr, &[]);

    // Certificates, as the recipe's comments say.
    let certs = dir.join("certs");
    let cert = |args: &[&str]| {
        let o = Command::new(DGW)
            .args(["cert", "--store", certs.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "dgw cert {args:?}: {}", text(&o));
    };
    cert(&["import-ca", "sip-ca", pki.ca_pem.to_str().unwrap()]);
    let (scert, skey) = pki.server_cert("unit", &["localhost", "127.0.0.1"]).unwrap();
    cert(&[
        "import-host",
        "sip-server",
        scert.to_str().unwrap(),
        "--key",
        skey.to_str().unwrap(),
        "--usage",
        "TlsServer",
    ]);
    cert(&["services", "sip-server", "Sip"]);

    // The recipe, pointed at the lab's Kamailio and NTP server.
    let (_chrony, ntp_port) = chrony(&dir);
    let recipe = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../recipes/sip-tls-trunk.cfg"
    ))
    .unwrap()
    .replace(
        "sip.example.net:5061",
        &format!("localhost:{}", kam.tls_addr().port()),
    )
    .replace("\"change me\"", "\"pw-alice\"")
    .replace("ntp.example.net", &format!("127.0.0.1:{ntp_port}"))
        + &format!(
            "SipEp.TransportConfig[default].SecurePort={}\nSipEp.TransportPersistentBasePort={}\n",
            siplab::free_port(),
            siplab::free_port()
        );
    let script = dir.join("sip.cfg");
    std::fs::write(&script, &recipe).unwrap();
    let o = ctl(&addr, &["apply", script.to_str().unwrap()]);
    assert!(o.status.success(), "recipe applies: {}", text(&o));

    // sipd, as its unit starts it (plus the test's bus and loopback).
    let notify = dir.join("sipd-notify");
    let sock = UnixDatagram::bind(&notify).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let log = dir.join("sipd.log");
    let child = Command::new(DGW)
        .args([
            "sipd",
            "--bus",
            &addr,
            "--cert-store",
            certs.to_str().unwrap(),
            "--bind",
            "127.0.0.1",
        ])
        .env("NOTIFY_SOCKET", &notify)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut sipd = Kill(child);
    let sipd_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("sipd notifies");
    let note = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(
        note.contains("READY=1") && note.contains("Waiting for time synchronization"),
        "{note}"
    );

    // The clock is not synchronised: no connection, the status says why.
    wait_for(
        "the waiting status",
        10,
        || get(&addr, "SipEp.GatewayStatus").contains("Waiting for time synchronization"),
        sipd_log,
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(!kam.registered("alice"));
    assert!(
        sipd_log().contains("330 SIP gateway default is waiting for time synchronization"),
        "{}",
        sipd_log()
    );

    // hostd sets the clock from chrony and reports it to confd; sipd
    // notices and starts.
    let leds_root = dir.join("leds");
    leds::LedClass::create_simulated(&leds_root, &[leds::SimLed::new("dgw:green:ready")]).unwrap();
    let _hostd = start_hostd(
        &dir,
        &addr,
        &certs,
        &[
            "--leds-root",
            leds_root.to_str().unwrap(),
            "--localtime",
            dir.join("localtime").to_str().unwrap(),
        ],
    );
    let o = ctl(&addr, &["set", "Hoc.LedRoles=Ready=dgw:green:ready"]);
    assert!(o.status.success(), "{}", text(&o));
    wait_for(
        "alice registered",
        30,
        || get(&addr, "SipEp.RegistrationStatus").contains("User=alice Gateway=default State=Registered"),
        || {
            format!(
                "{}{}{}\n{}",
                get(&addr, "Hoc.ClockSynchronized"),
                get(&addr, "Hoc.SntpCurrentSource"),
                sipd_log(),
                kam.log()
            )
        },
    );
    assert!(kam.registered("alice"));
    assert!(get(&addr, "SipEp.GatewayStatus").contains("State=Ready"));
    let conn = get(&addr, "SipEp.TlsPersistentConnectionStatus");
    assert!(
        conn.contains("State=Up") && conn.contains("RemoteHostIpAddr=127.0.0.1:"),
        "{conn}"
    );
    let l = sipd_log();
    assert!(
        l.contains("303 TLS connection with remote host localhost:"),
        "{l}"
    );
    assert!(l.contains("320 User alice is registered"), "{l}");
    assert!(!l.contains("pw-alice"), "the password is never logged");
    // The one TLS connection is up: hostd's Ready LED is steady.
    wait_for(
        "the Ready LED steady",
        10,
        || {
            let o = Command::new("busctl")
                .args([
                    "--address",
                    &addr,
                    "call",
                    "net.dgw.Host",
                    "/net/dgw/Host/Leds",
                    "net.dgw.Leds1",
                ])
                .args(["GetPattern", "s", "Ready"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).contains("\"on\"")
        },
        sipd_log,
    );

    // SIGTERM: unregister, then exit 0.
    let pid = sipd.0.id();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = sipd.0.try_wait().unwrap() {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "sipd did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}: {}", sipd_log());
    assert!(!kam.registered("alice"), "unregistered at shutdown");
    assert!(
        sipd_log().contains("322 User alice is unregistered"),
        "{}",
        sipd_log()
    );
}
