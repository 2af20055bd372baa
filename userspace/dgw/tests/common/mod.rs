//! Helpers shared by the `dgw` integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The binary under test.
pub const DGW: &str = env!("CARGO_BIN_EXE_dgw");

/// Kills and reaps a child process when dropped, so a failing assertion
/// never leaves a peer running.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the openssl command line in `dir`, asserting success.
pub fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl {args:?} failed");
}

/// An ECDSA P-256 CA (`ca.pem`, `ca.key`) and a leaf `NAME.pem`/`NAME.key`
/// for `cn`, signed by it with the extensions in `ext` (openssl x509 -extfile
/// syntax), all made by the openssl command line.
pub fn openssl_pki(dir: &Path, ca_cn: &str, name: &str, cn: &str, ext: &str) {
    if !dir.join("ca.pem").exists() {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "30",
                "-subj",
                &format!("/CN={ca_cn}"),
            ],
        );
    }
    let (key, csr, pem, extf) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={cn}"),
        ],
    );
    std::fs::write(dir.join(&extf), ext).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "30",
            "-extfile",
            &extf,
        ],
    );
}

/// Stdout and stderr together, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh scratch directory for one test.
pub fn workdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dgw-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a bus configuration with the defaults of Debian's system bus
/// (deny method calls and name ownership unless a service's policy opens
/// them) plus `policy`, the service policy file's text.
pub fn bus_config(dir: &Path, policy: &str) -> PathBuf {
    let policy_path = dir.join("service-policy.conf");
    std::fs::write(&policy_path, policy).unwrap();
    let cfg = format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"#,
        dir = dir.display(),
        policy = policy_path.display()
    );
    let p = dir.join("bus.conf");
    std::fs::write(&p, cfg).unwrap();
    p
}

/// Whether this machine can run the D-Bus tests; they are part of
/// `make test` (root, dbus-daemon, setpriv, busctl, dbus-monitor), so a
/// missing piece is a failure unless DGW_ALLOW_SKIP is set.
pub fn can_run() -> bool {
    let have = |p: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let ok = root
        && ["dbus-daemon", "setpriv", "busctl", "dbus-monitor"]
            .iter()
            .all(|p| have(p));
    if !ok {
        assert!(
            std::env::var_os("DGW_ALLOW_SKIP").is_some(),
            "the D-Bus tests need root, dbus-daemon, setpriv, busctl and dbus-monitor (make test installs them); \
             set DGW_ALLOW_SKIP=1 to skip them knowingly"
        );
        eprintln!("SKIP (DGW_ALLOW_SKIP): D-Bus tests");
    }
    ok
}

/// A private bus with `policy`; returns the daemon and its address.
pub fn start_bus(dir: &Path, policy: &str) -> (Kill, String) {
    let conf = bus_config(dir, policy);
    let mut daemon = Command::new("dbus-daemon")
        .args([
            "--nofork",
            "--print-address",
            &format!("--config-file={}", conf.display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().to_string();
    assert!(addr.starts_with("unix:"), "dbus-daemon said {addr:?}");
    (Kill(daemon), addr)
}

/// A scratch directory nobody can traverse (the bus socket lives there).
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("confd-dbus-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Command::new("chmod")
        .args(["0755", dir.to_str().unwrap()])
        .status()
        .unwrap();
    dir
}

/// confd on `addr`; waits for its sd_notify READY=1.
pub fn start_confd(dir: &Path, addr: &str, extra: &[&str]) -> Kill {
    let notify = dir.join("notify");
    let _ = std::fs::remove_file(&notify);
    let sock = UnixDatagram::bind(&notify).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let store = dir.join("store");
    let confd = Command::new(DGW)
        .args(["confd", "--store", store.to_str().unwrap(), "--bus", addr])
        .args(extra)
        .env("NOTIFY_SOCKET", &notify)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let k = Kill(confd);
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("confd never notified readiness");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    k
}

/// Waits for sd_notify READY=1 on a socket bound at `path`, then returns.
pub fn wait_ready(sock: &UnixDatagram) {
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("no readiness notification");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
}

/// Policy text of a service policy file in the repository.
pub fn policy(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// One bus policy holding confd's rules, `extra` (more `<policy>` blocks),
/// and hostd's rules: confd's file without its closing tag, then the body
/// of hostd's.
pub fn confd_and_hostd_policy(extra: &str) -> String {
    let host = policy("../hostd/dbus/net.dgw.Host.conf");
    let host_body = host.split_once("<busconfig>").expect("a busconfig file").1;
    policy("../confd/dbus/net.dgw.Config.conf").replace("</busconfig>", "") + extra + host_body
}

/// A chrony NTP server on a free loopback port (not touching the system
/// clock); returns it and its port.
pub fn chrony(dir: &Path) -> (Kill, u16) {
    let (mut cmd, port) = siplab::chrony_command(dir).unwrap();
    let k = Kill(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chronyd (Debian package chrony)"),
    );
    (k, port)
}

/// `dgw hostd` on `addr` with its certificates in `cert_store` and its
/// 802.1X files under `dir`, plus `extra` options; waits for READY=1.
pub fn start_hostd(dir: &Path, addr: &str, cert_store: &Path, extra: &[&str]) -> Kill {
    let notify = dir.join("hostd-notify");
    let _ = std::fs::remove_file(&notify);
    let sock = UnixDatagram::bind(&notify).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let k = Kill(
        Command::new(DGW)
            .args(["hostd", "--bus", addr])
            .args(["--cert-store", cert_store.to_str().unwrap()])
            .args(["--dot1x-runtime-dir", dir.join("dot1x").to_str().unwrap()])
            .args(extra)
            .env("NOTIFY_SOCKET", &notify)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    wait_ready(&sock);
    k
}
