//! `dgw-lab`: the gateway in QEMU against a local lab, for `make run` and the system test.
//!
//! On the host, on loopback only: a Kamailio TLS registrar (user `alice`), an NTP server
//! (chrony) and the test ACS over HTTPS, with a fresh CA for each. The guest reaches them as
//! `10.0.2.2` (QEMU user networking), so their certificates carry that address. The guest is
//! provisioned through systemd credentials (`dgw.*`, applied by `dgw-provision.service`): the
//! CAs, a TLS server certificate, and a configuration script built from the SIP TLS trunk
//! and TR-069 recipes. An ssh key (`ssh.authorized_keys.root`) lets the lab, and the
//! developer, in.
//!
//! `dgw-lab` (make run) shows the gateway come up and stays until Ctrl-C, which powers the
//! guest off cleanly and stops the lab. `dgw-lab --check` (the system test) checks the
//! gateway from the inside and from the lab, powers it off and exits non-zero on any
//! failure.

mod guest;
mod lab;
mod system_test;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;

/// How long the gateway may take from power-on to every milestone, under QEMU without KVM
/// (measured: about 60-90 s to registration on 2 cores; the bound leaves room for a loaded
/// CI machine).
pub const BOOT_BOUND: Duration = Duration::from_secs(300);

#[derive(Parser)]
#[command(about = "Boot the dgw image in QEMU against a local lab (Kamailio, NTP, ACS)")]
struct Args {
    /// Disk image to boot (default: build/image/dgw-dev.img).
    #[arg(long)]
    image: Option<PathBuf>,
    /// Lab directory: certificates, configuration, logs (recreated on each run).
    #[arg(long, default_value = "build/lab")]
    dir: PathBuf,
    /// Run the system test: check the gateway, power it off, exit non-zero on failure.
    #[arg(long)]
    check: bool,
}

fn repo_root() -> PathBuf {
    // tests/lab -> the workspace.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = match rt.block_on(run(args)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dgw-lab: FAILED: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

async fn run(args: Args) -> anyhow::Result<()> {
    let root = repo_root().canonicalize().context("the repository")?;
    let image = args
        .image
        .clone()
        .unwrap_or_else(|| root.join("build/image/dgw-dev.img"));
    anyhow::ensure!(
        image.is_file(),
        "no image at {} (image/build-image makes one)",
        image.display()
    );
    let dir = if args.dir.is_absolute() {
        args.dir.clone()
    } else {
        std::env::current_dir()?.join(&args.dir)
    };
    let t0 = Instant::now();
    let lab = lab::Lab::start(&dir).await?;
    say(
        t0,
        &format!(
            "lab up: Kamailio TLS {} (10.0.2.2:{} from the guest), NTP 127.0.0.1:{}, ACS {}",
            lab.kamailio.tls_addr(),
            lab.kamailio.tls_addr().port(),
            lab.ntp_port,
            lab.acs_url_for_guest
        ),
    );
    let mut guest = guest::Guest::boot(&root, &image, &dir, &lab.credentials)?;
    say(
        t0,
        &format!(
            "booting {} under QEMU (console log: {})",
            image.display(),
            guest.console_log.display()
        ),
    );
    let result = if args.check {
        system_test::run(t0, &lab, &mut guest).await
    } else {
        show(t0, &lab, &mut guest).await
    };
    if let Err(e) = &result {
        eprintln!("dgw-lab: {e:#}");
        eprintln!("--- last console lines ---\n{}", guest.console_tail(40));
    }
    if guest.running() {
        say(t0, "powering the guest off");
        guest.power_off(Duration::from_secs(120))?;
    }
    say(t0, "lab stopped");
    result
}

/// Prints a progress line with the time since the lab started.
pub fn say(t0: Instant, what: &str) {
    println!("[{:6.1}s] {what}", t0.elapsed().as_secs_f64());
}

/// `make run`: show the gateway come up, print where to reach it, wait for Ctrl-C.
async fn show(t0: Instant, lab: &lab::Lab, guest: &mut guest::Guest) -> anyhow::Result<()> {
    // Ctrl-C, or a SIGTERM from a supervisor: both power the guest off and stop the lab.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let ctrl_c = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    tokio::pin!(ctrl_c);
    let milestones = async {
        let up = system_test::come_up(t0, lab, guest, 0).await?;
        println!();
        println!("The gateway is up:");
        println!("  services ready:   {}", up.units.join(", "));
        println!("  SIP:              {}", up.registration);
        println!("  kTLS (guest):     {}", up.ktls);
        println!(
            "  TR-069:           Inform ({}) received by the ACS",
            up.inform_events
        );
        println!("  CLI:              ssh {} dgw ctl list", guest.ssh_hint());
        println!("                    (or log in: ssh {})", guest.ssh_hint());
        println!(
            "  connection req.:  http://127.0.0.1:{}/ on the host reaches the guest's cwmpd",
            guest.connreq_port
        );
        println!("  console log:      {}", guest.console_log.display());
        println!("  lab files:        {}", lab.dir.display());
        println!();
        println!("Ctrl-C powers the gateway off and stops the lab.");
        anyhow::Ok(())
    };
    tokio::select! {
        r = milestones => r?,
        _ = &mut ctrl_c => { println!(); return Ok(()); }
    }
    tokio::select! {
        _ = &mut ctrl_c => { println!(); Ok(()) }
        r = guest.wait_exit() => {
            let status = r?;
            anyhow::bail!("the guest stopped by itself ({status})")
        }
    }
}
