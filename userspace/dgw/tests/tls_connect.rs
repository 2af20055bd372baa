//! `dgw tls connect` against `openssl s_server` on loopback: the operator
//! view, validation failures, and the NSS key log checked against the one
//! openssl writes for the same session (so Wireshark gets the right keys).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::{openssl_pki, workdir, Kill, DGW};

/// A CA and a localhost certificate made with the openssl command line.
fn pki(dir: &Path) {
    openssl_pki(
        dir,
        "dgw test CA",
        "s",
        "localhost",
        "subjectAltName=DNS:localhost\n",
    );
}

fn s_server(dir: &Path, extra: &[&str]) -> (Kill, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut args = vec![
        "s_server".to_string(),
        "-accept".into(),
        port.to_string(),
        "-cert".into(),
        "s.pem".into(),
        "-key".into(),
        "s.key".into(),
        "-naccept".into(),
        "1".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = Command::new("openssl")
        .args(&args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("ACCEPT") {
        line.clear();
    }
    // Keep draining stdout so s_server never blocks on it.
    std::thread::spawn(move || for _ in out.lines() {});
    (Kill(child), port)
}

fn connect(dir: &Path, port: u16, args: &[&str], input: &str) -> (bool, String, String) {
    let mut child = Command::new(DGW)
        .args(["tls", "connect", &format!("127.0.0.1:{port}"), "--ca", "ca.pem"])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn keylog_matches_openssl_for_tls13_and_tls12() {
    let dir = workdir("keylog");
    pki(&dir);
    for (ver, flag) in [("1.3", "--tls13"), ("1.2", "--tls12")] {
        let server_log = dir.join(format!("server-{ver}.keys"));
        let client_log = dir.join(format!("client-{ver}.keys"));
        let (_srv, port) = s_server(&dir, &["-WWW", "-keylogfile", server_log.to_str().unwrap()]);
        std::fs::write(dir.join("hello.txt"), "hello over TLS\n").unwrap();
        let (ok, out, err) = connect(
            &dir,
            port,
            &[
                "--servername",
                "localhost",
                flag,
                "--keylog",
                client_log.to_str().unwrap(),
            ],
            "GET /hello.txt HTTP/1.0\r\n\r\n",
        );
        assert!(ok, "TLS {ver}: {err}");
        assert!(out.contains("hello over TLS"), "TLS {ver}: {out}");
        assert!(err.contains(&format!("protocol:    TLSv{ver}")), "{err}");
        assert!(err.contains("validation:  OK"), "{err}");
        assert!(err.contains("IssuedBy:  CN=dgw test CA"), "{err}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&client_log).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let ours: Vec<String> = std::fs::read_to_string(&client_log)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let theirs = std::fs::read_to_string(&server_log).unwrap();
        assert!(!ours.is_empty(), "no keys logged");
        let want = if ver == "1.3" {
            "CLIENT_TRAFFIC_SECRET_0"
        } else {
            "CLIENT_RANDOM"
        };
        assert!(
            ours.iter().any(|l| l.starts_with(want)),
            "TLS {ver}: no {want} line: {ours:?}"
        );
        for l in &ours {
            assert!(
                theirs.lines().any(|t| t == l),
                "TLS {ver}: our key log line is not openssl's: {l}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validation_failure_refuses_and_insecure_reports() {
    let dir = workdir("verify");
    pki(&dir);
    let (_srv, port) = s_server(&dir, &[]);
    let (ok, _, err) = connect(&dir, port, &["--servername", "wrong.example"], "");
    assert!(!ok, "connected despite a name mismatch");
    assert!(
        err.contains("certificate validation failed for wrong.example") && err.contains("not valid for name"),
        "{err}"
    );
    let (_srv, port) = s_server(&dir, &[]);
    let (ok, _, err) = connect(&dir, port, &["--servername", "wrong.example", "--insecure"], "");
    assert!(ok, "{err}");
    assert!(
        err.contains("validation:  FAILED") && err.contains("--insecure"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
