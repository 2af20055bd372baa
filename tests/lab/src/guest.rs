//! The guest: the image booted by `qemu/run`, and ssh into it.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Host port forwarded to the guest's TR-069 connection request port (7547) when free;
/// another free port otherwise (printed).
pub const CONNREQ_FORWARD: u16 = 7547;

/// A booted guest; QEMU is killed if it is still running when this is dropped.
pub struct Guest {
    child: Child,
    /// The serial console log of the current boot.
    pub console_log: PathBuf,
    /// Host port of the guest's ssh.
    pub ssh_port: u16,
    /// Host port of the guest's connection request server.
    pub connreq_port: u16,
    key: PathBuf,
    exit: Option<ExitStatus>,
    qemu_run: PathBuf,
    args: Vec<OsString>,
    dir: PathBuf,
    /// Boots so far (1 for the first).
    pub boots: u32,
}

impl Drop for Guest {
    fn drop(&mut self) {
        if self.running() {
            // qemu/run's group: the script and QEMU.
            unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

fn free_port(preferred: u16) -> u16 {
    if std::net::TcpListener::bind(("127.0.0.1", preferred)).is_ok() {
        return preferred;
    }
    siplab::free_port()
}

fn launch(qemu_run: &Path, args: &[OsString], dir: &Path, console_log: &Path) -> anyhow::Result<Child> {
    Command::new(qemu_run)
        .arg("--log")
        .arg(console_log)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("qemu.log"))?)
        .stderr(std::fs::File::create(dir.join("qemu.err"))?)
        // Its own process group: Ctrl-C reaches the lab, which powers the guest off.
        .process_group(0)
        .spawn()
        .context("qemu/run")
}

impl Guest {
    /// Boots a copy of `image` in `dir` (the image itself stays untouched; the copy keeps the
    /// guest's changes across reboots) with the lab's credentials.
    pub fn boot(
        root: &Path,
        image: &Path,
        dir: &Path,
        credentials: &[(String, PathBuf)],
    ) -> anyhow::Result<Guest> {
        let disk = dir.join(format!(
            "disk.{}",
            image.extension().and_then(|e| e.to_str()).unwrap_or("img")
        ));
        // Sparse copy: a few hundred MB of data in a disk of a few GB.
        let o = Command::new("cp")
            .args(["--sparse=always", "--reflink=auto"])
            .arg(image)
            .arg(&disk)
            .output()
            .context("cp")?;
        anyhow::ensure!(
            o.status.success(),
            "copying {}: {}",
            image.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let ssh_port = free_port(2222);
        let connreq_port = free_port(CONNREQ_FORWARD);
        let mut args: Vec<OsString> = vec![
            "--no-default-fwd".into(),
            "--fwd".into(),
            format!("{ssh_port}:22").into(),
            "--fwd".into(),
            format!("{connreq_port}:7547").into(),
        ];
        for (name, file) in credentials {
            args.push("--cred".into());
            args.push(format!("{name}={}", file.display()).into());
        }
        args.push(disk.into());
        let qemu_run = root.join("qemu/run");
        let console_log = dir.join("console.log");
        let child = launch(&qemu_run, &args, dir, &console_log)?;
        Ok(Guest {
            child,
            console_log,
            ssh_port,
            connreq_port,
            key: dir.join("id_ed25519"),
            exit: None,
            qemu_run,
            args,
            dir: dir.to_path_buf(),
            boots: 1,
        })
    }

    /// Reboots the guest: `systemctl reboot` in it ends QEMU (it runs with -no-reboot), then
    /// QEMU starts again on the same disk, logging to `console-N.log`. Returns the status
    /// QEMU exited with and the console log of the boot that ended.
    pub async fn reboot(&mut self, timeout: Duration) -> anyhow::Result<(ExitStatus, String)> {
        // The connection drops as the guest goes down: the outcome says nothing.
        let _ = self.ssh("systemctl reboot").await;
        let status = tokio::task::block_in_place(|| self.wait_exit_blocking(timeout))?;
        let console = self.console();
        self.boots += 1;
        self.console_log = self.dir.join(format!("console-{}.log", self.boots));
        self.child = launch(&self.qemu_run, &self.args, &self.dir, &self.console_log)?;
        self.exit = None;
        Ok((status, console))
    }

    /// Whether QEMU still runs.
    pub fn running(&mut self) -> bool {
        if self.exit.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(s)) => {
                self.exit = Some(s);
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// Waits for QEMU to exit by itself.
    pub async fn wait_exit(&mut self) -> anyhow::Result<ExitStatus> {
        loop {
            if !self.running() {
                return self.exit.context("no exit status");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Asks the guest to power off (ACPI, through qemu/run) and waits for QEMU to exit.
    pub fn power_off(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        if self.running() {
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        }
        self.wait_exit_blocking(timeout)
    }

    /// Waits up to `timeout` for QEMU to exit.
    pub fn wait_exit_blocking(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let t0 = Instant::now();
        while self.running() {
            anyhow::ensure!(t0.elapsed() < timeout, "QEMU still runs after {timeout:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
        self.exit.context("no exit status")
    }

    /// The last `n` lines of the console log.
    pub fn console_tail(&self, n: usize) -> String {
        let log = self.console();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The whole console log so far (control characters and all).
    pub fn console(&self) -> String {
        std::fs::read(&self.console_log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The console logs of every boot so far, in order, concatenated.
    pub fn consoles(&self) -> String {
        (1..=self.boots)
            .map(|n| match n {
                1 => self.dir.join("console.log"),
                n => self.dir.join(format!("console-{n}.log")),
            })
            .filter_map(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    /// The options that reach the guest's ssh as root, for a person to paste.
    pub fn ssh_hint(&self) -> String {
        format!(
            "-i {} -p {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1",
            self.key.display(),
            self.ssh_port
        )
    }

    /// Runs `command` in the guest as root over ssh: (exit code, stdout, stderr).
    pub async fn ssh(&self, command: &str) -> anyhow::Result<(i32, String, String)> {
        let o = tokio::process::Command::new("ssh")
            .arg("-i")
            .arg(&self.key)
            .args(["-p", &self.ssh_port.to_string()])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
                "root@127.0.0.1",
                command,
            ])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let o = tokio::time::timeout(Duration::from_secs(60), o)
            .await
            .context("ssh took over 60 s")?
            .context("ssh (Debian package openssh-client)")?;
        Ok((
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ))
    }

    /// [`Guest::ssh`] that must succeed; returns stdout.
    pub async fn run(&self, command: &str) -> anyhow::Result<String> {
        let (code, out, err) = self.ssh(command).await?;
        anyhow::ensure!(code == 0, "`{command}` in the guest exited {code}: {err}{out}");
        Ok(out)
    }
}
