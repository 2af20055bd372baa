//! Kills a writer at random points, hundreds of times, and checks the store
//! always loads, holding either the old or the new configuration.

use std::process::{Command, Stdio};
use std::time::Duration;

use params::{Config, Store};

const ENV: &str = "PARAMS_CRASH_CHILD_DIR";

/// The writer: saves configurations with two correlated values as fast as
/// it can until killed. Only runs when the parent test starts it.
#[test]
#[ignore = "run by crash_at_random_points as a child process"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(ENV) else { return };
    let store = Store::open(&dir).unwrap();
    let _lock = store.lock().unwrap();
    let (mut cfg, _) = store.load().unwrap();
    let mut n: u64 = cfg.get("Web.ServerPort").unwrap().parse().unwrap();
    loop {
        n = if n >= 60000 { 1000 } else { n + 1 };
        cfg.set_many(&[
            ("Web.ServerPort".into(), n.to_string()),
            ("Web.SecureServerPort".into(), (n + 1).to_string()),
            (
                "Hoc.StaticSntpServers[1].HostName".into(),
                format!("ntp{n}.example.net"),
            ),
        ])
        .unwrap();
        store.save(&cfg).unwrap();
    }
}

fn check_consistent(c: &Config) -> Result<u64, String> {
    let a: u64 = c.get("Web.ServerPort").unwrap().parse().unwrap();
    let b: u64 = c.get("Web.SecureServerPort").unwrap().parse().unwrap();
    if a == 80 && b == 443 {
        return Ok(0); // factory: nothing written yet
    }
    let host = c
        .get("Hoc.StaticSntpServers[1].HostName")
        .map_err(|e| e.to_string())?;
    if b != a + 1 || host != format!("ntp{a}.example.net") {
        return Err(format!("mixed configuration: {a} {b} {host}"));
    }
    Ok(a)
}

#[test]
fn crash_at_random_points() {
    let dir = std::env::temp_dir().join(format!("params-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let exe = std::env::current_exe().unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ std::process::id() as u64;
    let mut last = 0u64;
    let mut progressed = 0;
    let runs = 300;
    for i in 0..runs {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child_writer", "--ignored", "--test-threads=1"])
            .env(ENV, &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Between 2 and 30 ms: start-up takes a few, so most kills land in
        // the middle of a save loop, at a different point each time.
        std::thread::sleep(Duration::from_micros(2000 + seed % 28000));
        child.kill().unwrap(); // SIGKILL: no destructors, no flush
        child.wait().unwrap();
        let store = Store::open(&dir).unwrap();
        // The killed writer's lock died with it.
        let _lock = store
            .lock()
            .unwrap_or_else(|e| panic!("run {i}: lock still held: {e}"));
        let (cfg, warnings) = store
            .load()
            .unwrap_or_else(|e| panic!("run {i}: store does not load: {e}"));
        assert!(warnings.is_empty(), "run {i}: {warnings:?}");
        let n = check_consistent(&cfg).unwrap_or_else(|e| panic!("run {i}: {e}"));
        if n != last {
            progressed += 1;
        }
        last = n;
    }
    // The writer must actually have been writing when killed, or this test
    // proves nothing.
    assert!(
        progressed > runs / 2,
        "the writer made progress in only {progressed} of {runs} runs"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
