//! ktls-bench: bulk TLS throughput and CPU cost, userspace rustls vs kTLS vs
//! kTLS with sendfile/splice, measured side by side in one run over loopback.
//!
//! Each side of a transfer runs on its own thread with its own
//! single-threaded tokio runtime, so the measured side's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`, user + system, which includes the kernel's
//! encryption done in its system calls) is not mixed with the peer's. The
//! peer is the same for every variant of a direction (userspace rustls), so
//! the variants differ only in the measured side.
//!
//! Prints a Markdown table with ratios against the userspace row. Under QEMU
//! TCG only the ratios mean anything; absolute figures need real hardware.

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Instant;

use ktls_interop::kit::{self, Pki};
use ktls_offload::{Cipher, Mode, Options, TlsVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHUNK: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Userspace,
    Kernel,
    KernelZeroCopy,
}

impl Variant {
    fn mode(self) -> Mode {
        match self {
            Variant::Userspace => Mode::Userspace,
            _ => Mode::Kernel,
        }
    }
}

fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

struct Measure {
    wall: f64,
    cpu: f64,
    bytes: u64,
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Measured sender, userspace receiver.
fn bench_send(
    pki: &Arc<Pki>,
    pin: (TlsVersion, Cipher),
    variant: Variant,
    size: u64,
    src: &std::path::Path,
) -> anyhow::Result<Measure> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let pki2 = pki.clone();
    let receiver = std::thread::spawn(move || -> anyhow::Result<u64> {
        rt().block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener)?;
            let (t, _) = l.accept().await?;
            let mut s = ktls_offload::accept(
                kit::server_config(&pki2, Some(pin), false),
                t,
                &Options {
                    mode: Mode::Userspace,
                    ..Default::default()
                },
            )
            .await?;
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0u64;
            loop {
                let n = s.read(&mut buf).await?;
                if n == 0 {
                    return Ok(total);
                }
                total += n as u64;
            }
        })
    });
    let pki3 = pki.clone();
    let src = src.to_path_buf();
    let m = std::thread::spawn(move || -> anyhow::Result<Measure> {
        rt().block_on(async move {
            let t = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            let mut s = ktls_offload::connect(
                kit::client_config(&pki3, Some(pin)),
                kit::localhost(),
                t,
                &Options {
                    mode: variant.mode(),
                    ..Default::default()
                },
            )
            .await?;
            let data = kit::test_data(CHUNK, 9);
            let file = std::fs::File::open(&src)?;
            let (w0, c0) = (Instant::now(), thread_cpu());
            let mut sent = 0u64;
            if variant == Variant::KernelZeroCopy {
                sent = s.send_file(&file, 0, size).await?;
            } else {
                while sent < size {
                    let n = (size - sent).min(CHUNK as u64) as usize;
                    s.write_all(&data[..n]).await?;
                    sent += n as u64;
                }
            }
            s.shutdown().await?;
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest).await;
            Ok(Measure {
                wall: w0.elapsed().as_secs_f64(),
                cpu: thread_cpu() - c0,
                bytes: sent,
            })
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("sender panicked"))??;
    let got = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("receiver panicked"))??;
    anyhow::ensure!(got == m.bytes, "receiver got {got} of {}", m.bytes);
    Ok(m)
}

/// Userspace sender, measured receiver writing to a file.
fn bench_recv(
    pki: &Arc<Pki>,
    pin: (TlsVersion, Cipher),
    variant: Variant,
    size: u64,
    dst: &std::path::Path,
) -> anyhow::Result<Measure> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let pki2 = pki.clone();
    let sender = std::thread::spawn(move || -> anyhow::Result<()> {
        rt().block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener)?;
            let (t, _) = l.accept().await?;
            let mut s = ktls_offload::accept(
                kit::server_config(&pki2, Some(pin), false),
                t,
                &Options {
                    mode: Mode::Userspace,
                    ..Default::default()
                },
            )
            .await?;
            let data = kit::test_data(CHUNK, 10);
            let mut sent = 0u64;
            while sent < size {
                let n = (size - sent).min(CHUNK as u64) as usize;
                s.write_all(&data[..n]).await?;
                sent += n as u64;
            }
            s.shutdown().await?;
            Ok(())
        })
    });
    let pki3 = pki.clone();
    let dst = dst.to_path_buf();
    let m = std::thread::spawn(move || -> anyhow::Result<Measure> {
        rt().block_on(async move {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&dst)?;
            let t = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            let mut s = ktls_offload::connect(
                kit::client_config(&pki3, Some(pin)),
                kit::localhost(),
                t,
                &Options {
                    mode: variant.mode(),
                    ..Default::default()
                },
            )
            .await?;
            let (w0, c0) = (Instant::now(), thread_cpu());
            let got = if variant == Variant::KernelZeroCopy {
                s.recv_to_file(&file, 0, u64::MAX).await?
            } else {
                let mut buf = vec![0u8; CHUNK];
                let mut total = 0u64;
                loop {
                    let n = s.read(&mut buf).await?;
                    if n == 0 {
                        break total;
                    }
                    file.write_all_at(&buf[..n], total)?;
                    total += n as u64;
                }
            };
            Ok(Measure {
                wall: w0.elapsed().as_secs_f64(),
                cpu: thread_cpu() - c0,
                bytes: got,
            })
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("receiver panicked"))??;
    sender.join().map_err(|_| anyhow::anyhow!("sender panicked"))??;
    anyhow::ensure!(m.bytes == size, "received {} of {size}", m.bytes);
    Ok(m)
}

fn main() -> anyhow::Result<()> {
    let mut size_mib: u64 = 64;
    let mut reps = 3usize;
    let mut tls12 = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mib" => size_mib = args.next().and_then(|v| v.parse().ok()).unwrap_or(size_mib),
            "--reps" => reps = args.next().and_then(|v| v.parse().ok()).unwrap_or(reps).max(1),
            "--tls12" => tls12 = true,
            _ => {
                eprintln!("usage: ktls-bench [--mib N] [--reps N] [--tls12]");
                std::process::exit(2);
            }
        }
    }
    let pin = (
        if tls12 {
            TlsVersion::Tls12
        } else {
            TlsVersion::Tls13
        },
        Cipher::Aes128Gcm,
    );
    let work = std::env::temp_dir().join(format!("ktls-bench-{}", std::process::id()));
    let pki = Arc::new(Pki::generate(&work.join("pki"))?);
    let size = size_mib * 1024 * 1024;
    let src = work.join("src.bin");
    {
        let f = std::fs::File::create(&src)?;
        let block = kit::test_data(1024 * 1024, 11);
        for i in 0..size_mib {
            f.write_all_at(&block, i * 1024 * 1024)?;
        }
    }
    let dst = work.join("dst.bin");
    let k = ktls_offload::probe();
    let kernel = k.supports(pin.0, pin.1);
    println!(
        "kernel {}; kTLS for {} {}: {}",
        k.kernel_release,
        pin.0,
        pin.1,
        if kernel { "yes" } else { "no" }
    );
    println!("{size_mib} MiB per transfer, median of {reps} runs, loopback, one thread per side\n");
    println!(
        "| direction | measured side | MiB/s | CPU s/GiB | throughput vs userspace | CPU vs userspace |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for (dir, variants) in [
        (
            "send",
            [
                (Variant::Userspace, "userspace rustls write"),
                (Variant::Kernel, "kTLS write"),
                (Variant::KernelZeroCopy, "kTLS sendfile"),
            ],
        ),
        (
            "receive",
            [
                (Variant::Userspace, "userspace rustls read+write"),
                (Variant::Kernel, "kTLS read+write"),
                (Variant::KernelZeroCopy, "kTLS splice"),
            ],
        ),
    ] {
        let mut base: Option<(f64, f64)> = None;
        for (v, label) in variants {
            if v != Variant::Userspace && !kernel {
                println!("| {dir} | {label} | n/a | n/a | n/a (no kTLS) | |");
                continue;
            }
            let mut runs = Vec::new();
            for _ in 0..reps {
                runs.push(if dir == "send" {
                    bench_send(&pki, pin, v, size, &src)?
                } else {
                    bench_recv(&pki, pin, v, size, &dst)?
                });
            }
            runs.sort_by(|a, b| a.wall.total_cmp(&b.wall));
            let m = &runs[runs.len() / 2];
            let mibs = m.bytes as f64 / m.wall / (1024.0 * 1024.0);
            let cpu_gib = m.cpu / (m.bytes as f64 / (1024.0 * 1024.0 * 1024.0));
            let (rt, rc) = match base {
                None => {
                    base = Some((mibs, cpu_gib));
                    ("1.00".to_string(), "1.00".to_string())
                }
                Some((bm, bc)) => (format!("{:.2}", mibs / bm), format!("{:.2}", cpu_gib / bc)),
            };
            println!("| {dir} | {label} | {mibs:.1} | {cpu_gib:.2} | {rt} | {rc} |");
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
