//! Child processes that cannot outlive the test that started them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A peer process started in its own process group, with stdout and stderr appended to a log file.
///
/// Its own process group because Kamailio forks worker processes: signalling the group reaches
/// all of them, so no worker keeps a port bound after the test (or a panic) drops the handle.
#[derive(Debug)]
pub(crate) struct Proc {
    child: Option<Child>,
    pgid: i32,
    name: String,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with stdin closed and its output appended to `log`.
    pub(crate) fn spawn(name: &str, mut cmd: Command, log: &Path) -> anyhow::Result<Proc> {
        use std::os::unix::process::CommandExt;
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
        let child = cmd.spawn().with_context(|| format!("starting {name}: {cmd:?}"))?;
        let pgid = i32::try_from(child.id()).context("pid out of range")?;
        Ok(Proc {
            child: Some(child),
            pgid,
            name: name.to_string(),
            log: log.to_path_buf(),
        })
    }

    /// Whether the main process is still running (false once it exited or was stopped).
    pub(crate) fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Description of how the process ended, for error messages; None while it runs.
    pub(crate) fn exit_status(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited: {status}", self.name)),
            _ => None,
        }
    }

    /// Contents of the log file (lossy UTF-8: peers print colour escapes and binary junk).
    pub(crate) fn log(&self) -> String {
        read_lossy(&self.log)
    }

    /// Sends `sig` to the whole process group (e.g. SIGSTOP to make a peer
    /// hang without closing its sockets).
    pub(crate) fn signal(&self, sig: i32) {
        signal_group(self.pgid, sig);
    }

    /// SIGTERM to the whole group, then SIGKILL if it has not gone after `grace`.
    pub(crate) fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal_group(self.pgid, libc::SIGTERM);
        // A frozen (SIGSTOPped) group only acts on the SIGTERM once continued.
        signal_group(self.pgid, libc::SIGCONT);
        let deadline = Instant::now() + grace;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if Instant::now() >= deadline {
                signal_group(self.pgid, libc::SIGKILL);
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Workers may outlive the main process by a few milliseconds (or forever if it was
        // SIGKILLed): wait until the group is empty, killing what is left after the grace time.
        let deadline = Instant::now() + grace;
        while group_alive(self.pgid) {
            if Instant::now() >= deadline {
                signal_group(self.pgid, libc::SIGKILL);
                std::thread::sleep(Duration::from_millis(50));
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

fn signal_group(pgid: i32, sig: i32) {
    // SAFETY: kill(2) with a negative pid only sends a signal to our own child's process group.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// Whether any non-zombie member of the process group remains.
fn group_alive(pgid: i32) -> bool {
    // kill(pid, 0) also succeeds for zombies (reparented workers nobody reaps in a container),
    // so look at /proc instead and ignore the zombies.
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command name: state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" {
            return true;
        }
    }
    false
}

/// Reads a file as lossy UTF-8, or an empty string when it does not exist.
pub(crate) fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Polls `f` every 50 ms until it returns Some or `timeout` passes.
pub(crate) fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last `n` lines of a log, for error messages that stay readable.
pub(crate) fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
