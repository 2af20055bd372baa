//! hostd on a private bus with confd and the real policies: SNTP against a
//! chrony server started by the test, the time status reaching confd and
//! D-Bus, LEDs on a simulated LED tree, the Ready indicator fed by a
//! service's TLS report, network facts, and the policy refusing non-admins.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{
    can_run, chrony, confd_and_hostd_policy, scratch, start_bus, start_confd, start_hostd, text, DGW,
};

fn ctl(addr: &str, args: &[&str]) -> Output {
    Command::new(DGW)
        .args(["ctl", "--bus", addr])
        .args(args)
        .output()
        .unwrap()
}

fn busctl(addr: &str, as_nobody: bool, args: &[&str]) -> Output {
    let mut c = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "busctl"]);
        c
    } else {
        Command::new("busctl")
    };
    c.args(["--address", addr]).args(args).output().unwrap()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn hostd_time_leds_network_over_dbus() {
    if !can_run() {
        return;
    }
    let dir = scratch("hostd");
    // One bus, both services' policies: confd's file without its closing
    // tag, then the body of hostd's.
    let both = confd_and_hostd_policy("");
    let (_bus, addr) = start_bus(&dir, &both);
    let _confd = start_confd(&dir, &addr, &[]);
    let (_chrony, port) = chrony(&dir);
    // A simulated LED tree with the Ready LED.
    let leds_root = dir.join("leds");
    leds::LedClass::create_simulated(&leds_root, &[leds::SimLed::new("dgw:green:ready")]).unwrap();
    let server = format!("127.0.0.1:{port}");
    let o = ctl(
        &addr,
        &[
            "set",
            "Hoc.SntpConfigSource=Static",
            &format!("Hoc.StaticSntpServers[1].HostName={server}"),
            "Hoc.LedRoles=Ready=dgw:green:ready",
            "Hoc.StaticTimeZone=CET-1CEST,M3.5.0,M10.5.0/3",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));

    let localtime = dir.join("localtime");
    let _hostd = start_hostd(
        &dir,
        &addr,
        &dir.join("certs"),
        &[
            "--leds-root",
            leds_root.to_str().unwrap(),
            "--localtime",
            localtime.to_str().unwrap(),
        ],
    );

    // SNTP: synchronised from chrony, visible in confd (the TLS gate) and on D-Bus.
    wait_for("Hoc.ClockSynchronized=Yes", || {
        String::from_utf8_lossy(&ctl(&addr, &["get", "Hoc.ClockSynchronized"]).stdout).contains("=Yes")
    });
    let o = ctl(&addr, &["get", "Hoc.SntpCurrentSource"]);
    assert!(text(&o).contains(&server), "{}", text(&o));
    let o = busctl(
        &addr,
        true,
        &[
            "get-property",
            "net.dgw.Host",
            "/net/dgw/Host/Time",
            "net.dgw.Time1",
            "Synchronized",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "b true",
        "{}",
        text(&o)
    );
    let o = busctl(
        &addr,
        false,
        &[
            "get-property",
            "net.dgw.Host",
            "/net/dgw/Host/Time",
            "net.dgw.Time1",
            "TimeZone",
        ],
    );
    assert!(text(&o).contains("CET-1CEST"), "{}", text(&o));

    // The zone is installed as a TZif file glibc reads: `date` in that zone
    // says CEST in July and CET in January, and Hoc.SystemTime is local.
    let date = |at: &str| {
        let o = Command::new("date")
            .env("TZ", &localtime)
            .args(["-d", at, "+%Z %z"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(date("@1783000000"), "CEST +0200"); // 2026-07-02
    assert_eq!(date("@1767225600"), "CET +0100"); // 2026-01-01
    wait_for("Hoc.SystemTime in CET/CEST", || {
        let t = String::from_utf8_lossy(&ctl(&addr, &["get", "Hoc.SystemTime"]).stdout).to_string();
        t.contains(" CET +01:00") || t.contains(" CEST +02:00")
    });
    // A live change of zone is applied at once.
    let o = ctl(
        &addr,
        &[
            "set",
            "Hoc.StaticTimeZone=CAUST-9:30DCAUST-10:30,M10.5.0/02:00:00,M3.5.0/02:00:00",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    wait_for("the new zone installed", || date("@1783000000") == "CAUST +0930");
    assert_eq!(date("@1767225600"), "DCAUST +1030"); // southern summer: the DST name

    // LEDs: a pattern set over D-Bus lands in the LED class files.
    let o = busctl(
        &addr,
        false,
        &[
            "call",
            "net.dgw.Host",
            "/net/dgw/Host/Leds",
            "net.dgw.Leds1",
            "SetPattern",
            "ss",
            "Ready",
            "blink:200:300",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let led = leds_root.join("dgw:green:ready");
    assert!(std::fs::read_to_string(led.join("trigger"))
        .unwrap()
        .contains("[timer]"));
    assert_eq!(
        std::fs::read_to_string(led.join("delay_on")).unwrap().trim(),
        "200"
    );
    let o = busctl(
        &addr,
        true,
        &[
            "call",
            "net.dgw.Host",
            "/net/dgw/Host/Leds",
            "net.dgw.Leds1",
            "GetPattern",
            "s",
            "Ready",
        ],
    );
    assert!(text(&o).contains("blink:200:300"), "{}", text(&o));
    // The Ready indicator: blinking while a TLS connection is missing, steady when all are up.
    let report = |up: &str| {
        busctl(
            &addr,
            false,
            &[
                "call",
                "net.dgw.Host",
                "/net/dgw/Host/Leds",
                "net.dgw.Leds1",
                "ReportTlsConnections",
                "suu",
                "SipEp",
                "2",
                up,
            ],
        )
    };
    assert!(report("1").status.success());
    assert_eq!(
        std::fs::read_to_string(led.join("delay_on")).unwrap().trim(),
        "500"
    );
    assert!(report("2").status.success());
    assert!(std::fs::read_to_string(led.join("trigger"))
        .unwrap()
        .contains("[none]"));
    assert_eq!(
        std::fs::read_to_string(led.join("brightness")).unwrap().trim(),
        std::fs::read_to_string(led.join("max_brightness"))
            .unwrap()
            .trim()
    );
    let o = busctl(
        &addr,
        false,
        &[
            "call",
            "net.dgw.Host",
            "/net/dgw/Host/Leds",
            "net.dgw.Leds1",
            "SetPattern",
            "ss",
            "Ready",
            "blink:1:1",
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("20"),
        "out-of-range pattern accepted: {}",
        text(&o)
    );

    // 802.1X: a configured link is reported; with the clock synchronised
    // and no client certificate for Eap, it says so (the wired exchange with
    // hostapd and wpa_supplicant is tested in the dot1x crate).
    let o = ctl(
        &addr,
        &[
            "set",
            "Eth.Ieee8021X[eth0].Enable=Enable",
            "Eth.Ieee8021X[eth0].UserName=gw@example.net",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    wait_for("802.1X status for eth0", || {
        let o = busctl(
            &addr,
            true,
            &[
                "call",
                "net.dgw.Host",
                "/net/dgw/Host/Ieee8021x",
                "net.dgw.Ieee8021x1",
                "Status",
            ],
        );
        text(&o).contains("\"eth0\" \"NoCertificate\"")
    });
    wait_for("Eth.Ieee8021XStatus in confd", || {
        String::from_utf8_lossy(&ctl(&addr, &["get", "Eth.Ieee8021XStatus"]).stdout)
            .contains("eth0=NoCertificate")
    });

    // Network facts: at least the loopback link.
    let o = busctl(
        &addr,
        true,
        &[
            "call",
            "net.dgw.Host",
            "/net/dgw/Host/Network",
            "net.dgw.Network1",
            "Links",
        ],
    );
    assert!(o.status.success() && text(&o).contains("\"lo\""), "{}", text(&o));

    // Policy: others may read, not drive the LEDs or report connections.
    let o = busctl(
        &addr,
        true,
        &[
            "call",
            "net.dgw.Host",
            "/net/dgw/Host/Leds",
            "net.dgw.Leds1",
            "SetPattern",
            "ss",
            "Ready",
            "off",
        ],
    );
    assert!(
        !o.status.success() && text(&o).to_lowercase().contains("access"),
        "{}",
        text(&o)
    );
    let o = busctl(
        &addr,
        true,
        &[
            "call",
            "net.dgw.Host",
            "/net/dgw/Host/Leds",
            "net.dgw.Leds1",
            "ReportTlsConnections",
            "suu",
            "x",
            "1",
            "0",
        ],
    );
    assert!(!o.status.success(), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// DHCP option 42: with `Hoc.SntpConfigSource=Automatic`, the servers the
/// DHCP client's hook writes to a file are used (here chrony on loopback).
#[test]
fn hostd_takes_sntp_servers_from_dhcp() {
    if !can_run() {
        return;
    }
    let dir = scratch("hostd-dhcp");
    let both = confd_and_hostd_policy("");
    let (_bus, addr) = start_bus(&dir, &both);
    let _confd = start_confd(&dir, &addr, &[]);
    let (_chrony, port) = chrony(&dir);
    let o = ctl(&addr, &["set", "Hoc.SntpConfigSource=Automatic", "Hoc.LedRoles="]);
    assert!(o.status.success(), "{}", text(&o));
    let dhcp = dir.join("ntp-servers");
    // As dhclient's $new_ntp_servers: space separated; junk is skipped.
    std::fs::write(&dhcp, format!("not-a-host:99999 127.0.0.1:{port}\n")).unwrap();
    let _hostd = start_hostd(
        &dir,
        &addr,
        &dir.join("certs"),
        &[
            "--leds-root",
            dir.to_str().unwrap(),
            "--dhcp-ntp-file",
            dhcp.to_str().unwrap(),
        ],
    );
    wait_for("synchronised from the DHCP server", || {
        String::from_utf8_lossy(&ctl(&addr, &["get", "Hoc.SntpCurrentSource"]).stdout)
            .contains(&format!("127.0.0.1:{port}"))
    });
    let _ = std::fs::remove_dir_all(&dir);
}
