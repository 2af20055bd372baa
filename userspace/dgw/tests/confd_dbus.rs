//! confd on a private dbus-daemon started by the test, with the real D-Bus
//! policy file; `dgw ctl` against it as root (admin) and as `nobody`
//! (everyone else): the policy must let nobody read and refuse changes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{can_run, scratch, start_bus, start_confd, text, Kill, DGW};

fn policy_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../confd/dbus/net.dgw.Config.conf")
        .canonicalize()
        .unwrap()
}

fn policy_text() -> String {
    std::fs::read_to_string(policy_file()).unwrap()
}

fn ctl(addr: &str, as_nobody: bool, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", DGW]);
        c
    } else {
        Command::new(DGW)
    };
    cmd.args(["ctl", "--bus", addr]).args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

#[test]
fn confd_over_dbus_with_policy() {
    if !can_run() {
        return;
    }
    let dir = scratch("main");
    let (_daemon, addr) = start_bus(&dir, &policy_text());
    // Records the restarts Scm.RestartRequiredServices asks for.
    let hook = dir.join("restart.sh");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\necho \"$1\" >> {}/restarted\n", dir.display()),
    )
    .unwrap();
    Command::new("chmod")
        .args(["0755", hook.to_str().unwrap()])
        .status()
        .unwrap();
    let t0 = Instant::now();
    let _confd = start_confd(&dir, &addr, &["--restart-command", hook.to_str().unwrap()]);
    eprintln!("confd ready in {:?}", t0.elapsed());
    let store = dir.join("store");
    // Watch the Changed signal: it must come, with secrets masked.
    let monitor = Command::new("dbus-monitor")
        .args(["--address", &addr, "type='signal',interface='net.dgw.Config1'"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut monitor = Kill(monitor);
    std::thread::sleep(Duration::from_millis(300));

    // Root (admin): set, get, list, script, export.
    let o = ctl(
        &addr,
        false,
        &["set", "Web.ServerPort=8080", "Cwmp.AcsPassword=hunter2"],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("restart required: Cwmp, Web"), "{}", text(&o));
    let o = ctl(&addr, false, &["get", "web.serverport"], None);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "web.serverport=8080\n");
    let o = ctl(
        &addr,
        false,
        &["--json", "get", "Web.ServerPort", "Hoc.StaticTimeZone"],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["Web.ServerPort"], "8080");
    let o = ctl(&addr, false, &["get", "Cwmp.AcsPassword"], None);
    assert!(
        !o.status.success() && text(&o).contains("write-only secret"),
        "{}",
        text(&o)
    );
    let bad = "Web.SecureServerPort=8443\nSipEp.TransportTlsVersion=TLSv1\n";
    let o = ctl(&addr, false, &["apply", "-"], Some(bad));
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("line 2: SipEp.TransportTlsVersion") && text(&o).contains("nothing changed"),
        "{}",
        text(&o)
    );
    let o = ctl(&addr, false, &["get", "Web.SecureServerPort"], None);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Web.SecureServerPort=443\n",
        "the bad script changed something"
    );
    let o = ctl(
        &addr,
        false,
        &["apply", "-", "--dry-run"],
        Some("Web.SecureServerPort=8443\n"),
    );
    assert!(
        text(&o).contains("would change: Web.SecureServerPort"),
        "{}",
        text(&o)
    );
    let o = ctl(&addr, false, &["get", "Web.SecureServerPort"], None);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Web.SecureServerPort=443\n",
        "dry run changed something"
    );
    let o = ctl(
        &addr,
        false,
        &["apply", "-"],
        Some("Web.SecureServerPort=8443\nScm.RestartRequiredServices\n"),
    );
    assert!(
        o.status.success() && text(&o).contains("command: Scm.RestartRequiredServices"),
        "{}",
        text(&o)
    );
    // The command ran: Web (set earlier) and Cwmp were restarted through the
    // hook and are no longer restart-required.
    assert!(text(&o).contains("restarted Web"), "{}", text(&o));
    let restarted = std::fs::read_to_string(dir.join("restarted")).unwrap_or_default();
    assert!(
        restarted.lines().any(|l| l == "Web") && restarted.lines().any(|l| l == "Cwmp"),
        "{restarted:?}"
    );
    let o = ctl(&addr, false, &["get", "Web.NeedRestartInfo"], None);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Web.NeedRestartInfo=No\n");
    let o = ctl(&addr, false, &["export", "--secrets"], None);
    assert!(text(&o).contains("Cwmp.AcsPassword=hunter2"), "{}", text(&o));

    // Everyone else: may read what is not secret, may not change.
    let o = ctl(&addr, true, &["get", "Web.ServerPort"], None);
    assert!(o.status.success(), "nobody cannot read: {}", text(&o));
    let o = ctl(&addr, true, &["list", "Web."], None);
    assert!(
        o.status.success() && text(&o).contains("Web.HttpMode=Secure"),
        "{}",
        text(&o)
    );
    let o = ctl(&addr, true, &["export"], None);
    assert!(
        o.status.success() && !text(&o).contains("hunter2"),
        "{}",
        text(&o)
    );
    for args in [
        &["set", "Web.ServerPort=81"][..],
        &["export", "--secrets"],
        &["factory-reset", "--yes"],
    ] {
        let o = ctl(&addr, true, args, None);
        assert!(!o.status.success(), "nobody could run {args:?}: {}", text(&o));
        assert!(text(&o).contains("permission denied"), "{args:?}: {}", text(&o));
    }
    let o = ctl(&addr, true, &["apply", "-"], Some("Web.ServerPort=82\n"));
    assert!(text(&o).contains("permission denied"), "{}", text(&o));
    let o = ctl(&addr, false, &["get", "Web.ServerPort"], None);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Web.ServerPort=8080\n");

    // Non-admins may not report status or clear restarts.
    for (method, sig, args) in [
        ("SetStatus", "a(ss)", vec!["1", "Hoc.ClockSynchronized", "Yes"]),
        ("ClearRestartRequired", "s", vec!["Web"]),
    ] {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "busctl",
            "--address",
            &addr,
            "call",
        ])
        .args([
            "net.dgw.Config",
            "/net/dgw/Config",
            "net.dgw.Config1",
            method,
            sig,
        ])
        .args(&args);
        let o = c.output().unwrap();
        assert!(
            !o.status.success() && text(&o).to_lowercase().contains("access"),
            "nobody could call {method}: {}",
            text(&o)
        );
    }
    let o = ctl(&addr, false, &["get", "Hoc.ClockSynchronized"], None);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Hoc.ClockSynchronized=No\n");

    // The Changed signals went out, naming the parameters, masking secrets.
    let _ = monitor.0.kill();
    let out = monitor.0.wait_with_output_now();
    assert!(
        out.contains("Web.ServerPort") && out.contains("8080"),
        "no Changed signal seen: {out}"
    );
    assert!(
        out.contains("Cwmp.AcsPassword") && out.contains("********"),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "a secret went out in a signal: {out}");

    // The store on disk holds what was set (and is private).
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(store.join("config.json")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads what a killed child printed.
trait OutputNow {
    fn wait_with_output_now(&mut self) -> String;
}

impl OutputNow for std::process::Child {
    fn wait_with_output_now(&mut self) -> String {
        use std::io::Read;
        let _ = self.wait();
        let mut s = String::new();
        if let Some(mut out) = self.stdout.take() {
            let _ = out.read_to_string(&mut s);
        }
        s
    }
}

/// The group rule: members of the admin group may change the configuration
/// but not report status. Proven with the policy's group swapped for
/// `nogroup`, the primary group of `nobody`, so no account has to be made.
#[test]
fn admin_group_may_change_but_not_report_status() {
    if !can_run() {
        return;
    }
    let dir = scratch("group");
    let policy = policy_text().replace("group=\"dgwadmin\"", "group=\"nogroup\"");
    assert!(policy.contains("nogroup"));
    let (_daemon, addr) = start_bus(&dir, &policy);
    let _confd = start_confd(&dir, &addr, &[]);
    let o = ctl(&addr, true, &["set", "Web.ServerPort=8081"], None);
    assert!(
        o.status.success(),
        "an admin-group member could not set: {}",
        text(&o)
    );
    let o = ctl(&addr, true, &["export", "--secrets"], None);
    assert!(o.status.success(), "{}", text(&o));
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "busctl",
            "--address",
            &addr,
            "call",
        ])
        .args([
            "net.dgw.Config",
            "/net/dgw/Config",
            "net.dgw.Config1",
            "SetStatus",
            "a(ss)",
            "1",
            "Hoc.ClockSynchronized",
            "Yes",
        ])
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "an admin-group member could report the clock synchronised"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctl_offline_store_and_schema() {
    let dir = std::env::temp_dir().join(format!("ctl-offline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = |args: &[&str]| {
        Command::new(DGW)
            .args(["ctl", "--store", dir.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["set", "Hoc.StaticTimeZone=CET-1CEST,M3.5.0,M10.5.0/3"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["set", "Hoc.StaticTimeZone=Mars/Olympus"]);
    assert!(
        !o.status.success() && text(&o).contains("Hoc.StaticTimeZone"),
        "{}",
        text(&o)
    );
    let o = run(&["get", "Hoc.StaticTimeZone"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Hoc.StaticTimeZone=CET-1CEST,M3.5.0,M10.5.0/3\n"
    );
    let o = run(&["factory-reset"]);
    assert!(!o.status.success(), "factory-reset without --yes ran");
    let o = run(&["factory-reset", "--yes"]);
    assert!(o.status.success());
    let o = run(&["get", "Hoc.StaticTimeZone"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Hoc.StaticTimeZone=EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00\n"
    );
    // The committed parameter reference is what the schema generates.
    let o = Command::new(DGW)
        .args(["ctl", "schema", "--markdown"])
        .output()
        .unwrap();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/parameters.md");
    let committed = std::fs::read_to_string(&docs).unwrap_or_default();
    assert!(
        committed == String::from_utf8_lossy(&o.stdout),
        "docs/parameters.md is stale: run `dgw ctl schema --markdown > docs/parameters.md`"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
