//! `cwmp-download-check`: an HTTPS Download through the TR-069 agent's transfer code
//! (`cwmpd::transfer::download`) whose bytes go through kTLS, for the kTLS test VM
//! (`tests/vm/ktls-vm-test`, section "TR-069 Download over kTLS").
//!
//! 1. Starts the project's test ACS (`acs`) on 127.0.0.1 over HTTPS, with a certificate from
//!    a fresh test CA; it serves a firmware image of `--mib` MiB (deterministic pattern
//!    bytes, then their SHA-256 trailer, the format `cwmpd::transfer::FileInstaller` takes).
//!    The server side uses kTLS where the kernel has it.
//! 2. Runs the Download (`1 Firmware Upgrade Image`) as the agent would: TLS policy from
//!    `pki` at validation level HostName against the test CA, `ktls_offload::Mode::Kernel`
//!    (`--ktls kernel`, the default: no kTLS is a failure, never a silent fallback), the body
//!    spliced from the kTLS socket into the file, the image checked and moved into
//!    `pending/` by `FileInstaller`.
//! 3. Checks that the transfer succeeded on the kernel path (the stream was kTLS and the
//!    body was spliced), that the pending image's SHA-256 is the served image's, and reads
//!    the kernel's own counters (`/proc/net/tls_stat`) before and after (the kTLS probe's own
//!    sockets excluded): TlsRxSw and TlsTxSw must have grown (a socket put on kTLS each way,
//!    at each end) and TlsDecryptError not, and TlsCurrRxSw, sampled while the download
//!    runs, must show an open kTLS receive socket.
//!
//! Prints what it saw, then `cwmp-download-check: ok` (status 0) or
//! `cwmp-download-check: FAIL: why` (status 1). The whole run is bounded by `--timeout`.
//! `--ktls auto` is for a dry run on a host without kernel TLS (the counter checks are then
//! skipped).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use acs::{Acs, AcsOptions, CertKind, TestPki};
use anyhow::{bail, ensure, Context as _};
use cwmpd::transfer::{self, FileInstaller, TransferContext, FIRMWARE_IMAGE};
use ktls_offload::{Mode, Options};
use ring::digest;

struct Args {
    mib: u64,
    mode: Mode,
    timeout: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        mib: 16,
        mode: Mode::Kernel,
        timeout: Duration::from_secs(300),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--mib" => a.mib = value()?.parse().context("--mib")?,
            "--ktls" => {
                a.mode = match value()?.as_str() {
                    "kernel" => Mode::Kernel,
                    "auto" => Mode::Auto,
                    other => bail!("--ktls kernel|auto, not {other}"),
                }
            }
            "--timeout" => a.timeout = Duration::from_secs(value()?.parse().context("--timeout")?),
            "-h" | "--help" => {
                println!("usage: cwmp-download-check [--mib N] [--ktls kernel|auto] [--timeout SECS]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    ensure!((1..=256).contains(&a.mib), "--mib must be 1..=256");
    Ok(a)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn stat() -> Vec<(String, u64)> {
    ktls_offload::tls_stat().unwrap_or_default()
}

fn delta(before: &[(String, u64)], after: &[(String, u64)], name: &str) -> i128 {
    let get = |v: &[(String, u64)]| v.iter().find(|(n, _)| n == name).map_or(0, |(_, x)| *x);
    i128::from(get(after)) - i128::from(get(before))
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let pki = TestPki::generate()?;
    let acs = Acs::try_start(AcsOptions {
        validate: false,
        ..AcsOptions::https(pki.identity(CertKind::Valid)?)
    })
    .await?;
    let payload = acs::pattern(0, usize::try_from(args.mib * 1024 * 1024)?);
    let want = hex(digest::digest(&digest::SHA256, &payload).as_ref());
    let image = FileInstaller::seal(&payload);
    drop(payload);
    let size = u32::try_from(image.len())?;
    let url = acs.add_file("firmware.img", image);
    println!("serving {url}: {size} bytes, an image with SHA-256 {want} and its trailer");

    let dir = std::env::temp_dir().join(format!("cwmp-download-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let fw = FileInstaller::new(dir.join("state"));
    let mut snap = pki::PkiSnapshot::new();
    snap.add_others_pem(pki.ca_pem().as_bytes())?;
    let mut policy = pki::ClientPolicy::new(pki::Service::Cwmp);
    policy.validation = pki::ValidationLevel::HostName;
    policy.clock_synchronised = true;
    let ctx = TransferContext {
        tls: Some(pki::client_config(&policy, &snap)?),
        ktls: Options {
            mode: args.mode,
            ..Options::default()
        },
        work_dir: dir.join("work"),
        max_size: 512 * 1024 * 1024,
        installer: Arc::new(fw.clone()),
        timeout: args.timeout,
    };
    let req = cwmp::Download {
        command_key: "vm-firmware".into(),
        file_type: FIRMWARE_IMAGE.into(),
        url,
        username: String::new(),
        password: String::new(),
        file_size: size,
        target_file_name: String::new(),
        delay_seconds: 0,
        success_url: String::new(),
        failure_url: String::new(),
    };
    transfer::check_download(&req, ctx.max_size)?;
    // The kTLS probe opens and configures sockets of its own, which the counters count:
    // run it (once per process) before the first reading, so the deltas are the download's.
    let _ = ktls_offload::probe();
    let before = stat();
    // Sample the open kTLS receive sockets while the download runs: the connection's must show.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut max = 0u64;
            while sampling.load(Ordering::Relaxed) {
                max = max.max(ktls_offload::tls_stat_value("TlsCurrRxSw"));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            max
        })
    };
    let t0 = Instant::now();
    let (done, report) = transfer::download_with_report(&req, &ctx).await;
    let took = t0.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let open_rx_max = sampler.await.unwrap_or(0);
    let after = stat();
    println!(
        "TransferComplete: CommandKey {:?}, FaultCode {}, FaultString {:?}, StartTime {}, CompleteTime {}",
        done.command_key,
        done.fault_code,
        done.fault_string,
        done.message().start_time,
        done.message().complete_time
    );
    println!(
        "report: {} bytes in {:.2} s, tls {}, kernel_tls {}, spliced {}, chunked {}",
        report.bytes,
        took.as_secs_f64(),
        report.tls,
        report.kernel_tls,
        report.spliced,
        report.chunked
    );
    let changed: Vec<String> = after
        .iter()
        .map(|(n, _)| (n, delta(&before, &after, n)))
        .filter(|(_, d)| *d != 0)
        .map(|(n, d)| format!("{n} {d:+}"))
        .collect();
    println!(
        "tls_stat delta: {}",
        if changed.is_empty() {
            "none".to_string()
        } else {
            changed.join(", ")
        }
    );
    let open_rx_before = before
        .iter()
        .find(|(n, _)| n == "TlsCurrRxSw")
        .map_or(0, |(_, v)| *v);
    println!("TlsCurrRxSw: {open_rx_before} before, at most {open_rx_max} during the download");
    ensure!(
        done.fault_code == 0,
        "the Download failed: {} {}",
        done.fault_code,
        done.fault_string
    );
    ensure!(
        done.start > 0 && done.complete >= done.start,
        "bad times in {done:?}"
    );
    ensure!(
        report.bytes == u64::from(size),
        "{} bytes received, {size} served",
        report.bytes
    );
    let pending = fw.pending()?.context("no pending firmware after the Download")?;
    let got = hex(digest::digest(&digest::SHA256, &std::fs::read(&pending.image)?).as_ref());
    println!(
        "pending image {}: {} bytes, SHA-256 {got}",
        pending.image.display(),
        pending.size
    );
    ensure!(
        got == want && pending.sha256 == want,
        "the image did not arrive intact"
    );
    if args.mode == Mode::Kernel {
        ensure!(report.kernel_tls, "the download's TLS stream was not on kTLS");
        ensure!(report.spliced, "the body was not spliced from the kTLS socket");
        // Both ends of the connection are kTLS sockets (the client certainly: Mode::Kernel).
        ensure!(delta(&before, &after, "TlsRxSw") >= 1, "TlsRxSw did not grow");
        ensure!(delta(&before, &after, "TlsTxSw") >= 1, "TlsTxSw did not grow");
        ensure!(
            delta(&before, &after, "TlsDecryptError") == 0,
            "TlsDecryptError grew"
        );
        ensure!(
            open_rx_max > open_rx_before,
            "no kTLS receive socket was open during the download"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let result = match parse_args() {
        Ok(args) => {
            let bound = args.timeout + Duration::from_secs(30);
            match tokio::time::timeout(bound, run(&args)).await {
                Ok(r) => r,
                Err(_) => Err(anyhow::anyhow!("timed out after {} s", bound.as_secs())),
            }
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => println!("cwmp-download-check: ok"),
        Err(e) => {
            println!("cwmp-download-check: FAIL: {e:#}");
            std::process::exit(1);
        }
    }
}
