//! sip-bench: SIP over one persistent TLS connection, kTLS vs userspace rustls, measured side by
//! side in one run over loopback.
//!
//! Two measurements, each printed as a Markdown table with ratios against the userspace row:
//!
//! 1. **Message rate and CPU per message.** A SIP client sends REGISTER requests (about 630 bytes,
//!    the shape a desk phone sends) over one TLS connection; the server, which plays the gateway,
//!    frames them with [`sipmsg::Framer`], parses them with [`Message::parse`] and answers each
//!    with a 200 OK built by [`Message::response_to`]; the client frames and parses the responses
//!    and checks their CSeq. Every message is written on its own (one TLS record each way). It
//!    runs pipelined (a window of outstanding requests, 32 by default) and strictly ping-pong
//!    (window 1). The server is the measured side: its data path is the variant (userspace rustls
//!    or kTLS), the client is userspace rustls in every variant, so the variants differ only in
//!    the server. Server and client each run on their own thread with their own single-threaded
//!    tokio runtime: the server's CPU time is its thread's (`getrusage(RUSAGE_THREAD)`, user +
//!    system, which includes the kernel's encryption in its system calls) and the process CPU
//!    time (`getrusage(RUSAGE_SELF)`) adds the client's. The first exchange (and the handshake)
//!    is left out of the measurement.
//!
//! 2. **Memory per idle persistent connection after the hand-off.** A server process (this
//!    program again, `--role idle-server`) accepts N connections from a client process
//!    (`--role idle-clients`, userspace rustls), completes the handshake (and with kTLS the
//!    hand-off of the keys to the kernel), answers one REGISTER on each, and keeps them idle with
//!    a read pending, as a gateway keeps its phones' connections. Measured per connection: the
//!    server process's RSS growth (`/proc/<pid>/status` VmRSS, each path in a fresh process), the
//!    growth of the kernel's slab objects in use (`/proc/slabinfo`, active objects x object size:
//!    socket structures, kTLS contexts and their AEAD state, for both ends of each loopback
//!    connection; it needs root, else `/proc/meminfo` Slab is used, which counts whole slabs and
//!    misses objects reused from an earlier run) and the pages charged to TCP sockets
//!    (`/proc/net/sockstat` "TCP ... mem"). A plain TCP row (no TLS) is the baseline, and the TLS
//!    cost per connection is RSS plus slab above it. Userspace rustls keeps its state in the
//!    process; kTLS moves the record state into the kernel, so only the two together compare
//!    honestly. The kernel-wide figures are only meaningful on a quiet machine (the test VM).
//!
//! The rate runs are interleaved (userspace, kTLS, userspace, ...) and the median by wall time is
//! shown, so that a change in the machine's load weighs on both paths alike.
//!
//! Under QEMU TCG only the ratios mean anything; absolute figures need real hardware.

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ktls_interop::kit::{self, Pki};
use ktls_offload::{Cipher, DataPath, Mode, Options, TlsVersion};
use sipmsg::{Frame, Framer, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const PIN: (TlsVersion, Cipher) = (TlsVersion::Tls13, Cipher::Aes128Gcm);
const READ_CHUNK: usize = 4096;

/// The server's data path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    /// No TLS at all (memory baseline only).
    Tcp,
    Userspace,
    Kernel,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Tcp => "tcp",
            Path::Userspace => "userspace",
            Path::Kernel => "kernel",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Path> {
        match s {
            "tcp" => Ok(Path::Tcp),
            "userspace" | "user" => Ok(Path::Userspace),
            "kernel" | "ktls" => Ok(Path::Kernel),
            _ => anyhow::bail!("unknown path {s:?} (userspace, kernel)"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Path::Tcp => "plain TCP, no TLS (baseline)",
            Path::Userspace => "userspace rustls",
            Path::Kernel => "kTLS",
        }
    }

    fn options(self) -> Options {
        Options {
            mode: if self == Path::Kernel {
                Mode::Kernel
            } else {
                Mode::Userspace
            },
            ..Default::default()
        }
    }
}

/// CPU time (user, system) in seconds.
#[derive(Clone, Copy, Default)]
struct Cpu {
    user: f64,
    sys: f64,
}

impl Cpu {
    fn total(self) -> f64 {
        self.user + self.sys
    }

    fn since(self, start: Cpu) -> Cpu {
        Cpu {
            user: self.user - start.user,
            sys: self.sys - start.sys,
        }
    }
}

fn rusage(who: libc::c_int) -> Cpu {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid rusage for getrusage to fill.
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Cpu {
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
    }
}

/// CPU time of the calling thread.
fn thread_cpu() -> Cpu {
    rusage(libc::RUSAGE_THREAD)
}

/// CPU time of the whole process.
fn process_cpu() -> Cpu {
    rusage(libc::RUSAGE_SELF)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A REGISTER as a desk phone behind the gateway sends it (RFC 5626 outbound, ~630 bytes).
fn register(seq: u64) -> Vec<u8> {
    format!(
        "REGISTER sip:registrar.example.net SIP/2.0\r\n\
         Via: SIP/2.0/TLS 192.0.2.45:5061;branch=z9hG4bK-{seq:010}-sb;rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Desk 2041\" <sip:2041@example.net>;tag=a73kszlfl\r\n\
         To: \"Desk 2041\" <sip:2041@example.net>\r\n\
         Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.45\r\n\
         CSeq: {} REGISTER\r\n\
         Contact: <sip:2041@192.0.2.45:5061;transport=tls;ob>;reg-id=1;\
         +sip.instance=\"<urn:uuid:00000000-0000-1000-8000-0004f2a1b2c3>\"\r\n\
         Expires: 600\r\n\
         Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE, SUBSCRIBE\r\n\
         Supported: path, outbound, gruu, replaces, timer\r\n\
         User-Agent: dgw-sip-bench/1.0 (desk phone profile)\r\n\
         Content-Length: 0\r\n\r\n",
        seq + 1
    )
    .into_bytes()
}

/// The gateway's answer: 200 OK with the registered contact and a To tag.
fn answer(req: &Message) -> Message {
    let mut resp = Message::response_to(req, 200, "OK");
    if let Some(to) = req.headers.get("To") {
        let tagged = format!("{to};tag=gw-5f3a9c");
        resp.headers.set("To", &tagged);
    }
    if let Some(contact) = req.headers.get("Contact") {
        let c = format!("{contact};expires=600");
        resp.headers.push("Contact", &c);
    }
    resp.headers.push("Server", "dgw");
    resp
}

/// The gateway side of one connection: frame, parse, answer 200 OK, until the peer closes.
/// `first` is called once the first response is out (to start measurements after warm-up).
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, mut first: impl FnMut()) -> anyhow::Result<u64> {
    let mut framer = Framer::new(sipmsg::MAX_MESSAGE);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut served = 0u64;
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) => return Ok(served),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(served),
            Err(e) => return Err(e.into()),
        };
        framer.push(&buf[..n]);
        loop {
            match framer.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Message(bytes))) => {
                    let req = Message::parse(&bytes).map_err(|e| anyhow::anyhow!("request: {e:?}"))?;
                    s.write_all(&answer(&req).to_bytes()).await?;
                    served += 1;
                    if served == 1 {
                        s.flush().await?;
                        first();
                    }
                }
                Ok(Some(Frame::Ping)) => s.write_all(b"\r\n").await?,
                Ok(Some(Frame::Pong)) => {}
                Err(e) => anyhow::bail!("framing requests: {e:?}"),
            }
        }
        s.flush().await?;
    }
}

/// The phone side: `total` requests with at most `window` outstanding; checks every response.
/// `first` is called once the first response is in.
async fn run_client<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    total: u64,
    window: u64,
    mut first: impl FnMut(),
) -> anyhow::Result<()> {
    let mut framer = Framer::new(sipmsg::MAX_MESSAGE);
    let mut buf = vec![0u8; READ_CHUNK];
    let (mut sent, mut got) = (0u64, 0u64);
    while got < total {
        // Until the first response is in, one request only (the warm-up exchange).
        let limit = if got == 0 { 1 } else { window };
        while sent < total && sent - got < limit {
            s.write_all(&register(sent)).await?;
            sent += 1;
        }
        s.flush().await?;
        let n = s.read(&mut buf).await?;
        anyhow::ensure!(n > 0, "server closed after {got} responses");
        framer.push(&buf[..n]);
        while let Some(frame) = framer
            .next_frame()
            .map_err(|e| anyhow::anyhow!("framing responses: {e:?}"))?
        {
            let Frame::Message(bytes) = frame else { continue };
            let resp = Message::parse(&bytes).map_err(|e| anyhow::anyhow!("response: {e:?}"))?;
            anyhow::ensure!(resp.code() == Some(200), "got {:?}", resp.code());
            let (cseq, _) = resp.cseq().map_err(|e| anyhow::anyhow!("CSeq: {e:?}"))?;
            anyhow::ensure!(u64::from(cseq) == got + 1, "CSeq {cseq}, expected {}", got + 1);
            got += 1;
            if got == 1 {
                first();
            }
        }
    }
    Ok(())
}

struct Rate {
    wall: f64,
    server_cpu: Cpu,
    process_cpu: Cpu,
    /// Messages measured (request + response pairs, the warm-up exchange excluded).
    messages: u64,
}

/// One persistent connection: measured server (`path`), userspace client.
fn bench_rate(pki: &Arc<Pki>, path: Path, total: u64, window: u64) -> anyhow::Result<Rate> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let server_cfg = kit::server_config(pki, Some(PIN), false);
    let server = std::thread::spawn(move || -> anyhow::Result<(u64, Cpu)> {
        rt().block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener)?;
            let (t, _) = l.accept().await?;
            t.set_nodelay(true)?;
            let s = ktls_offload::accept(server_cfg, t, &path.options()).await?;
            anyhow::ensure!(
                (s.info().path == DataPath::Kernel) == (path == Path::Kernel),
                "server path is {}",
                s.info().path
            );
            let mut c0 = Cpu::default();
            let served = serve(s, || c0 = thread_cpu()).await?;
            Ok((served, thread_cpu().since(c0)))
        })
    });
    let client_cfg = kit::client_config(pki, Some(PIN));
    let (wall, process_cpu) = std::thread::spawn(move || -> anyhow::Result<(f64, Cpu)> {
        rt().block_on(async move {
            let t = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            t.set_nodelay(true)?;
            let mut s =
                ktls_offload::connect(client_cfg, kit::localhost(), t, &Path::Userspace.options()).await?;
            let mut start = (Instant::now(), Cpu::default());
            run_client(&mut s, total, window, || start = (Instant::now(), process_cpu())).await?;
            let m = (start.0.elapsed().as_secs_f64(), process_cpu().since(start.1));
            s.shutdown().await?;
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest).await;
            Ok(m)
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("client panicked"))??;
    let (served, server_cpu) = server.join().map_err(|_| anyhow::anyhow!("server panicked"))??;
    anyhow::ensure!(served == total, "server answered {served} of {total}");
    Ok(Rate {
        wall,
        server_cpu,
        process_cpu,
        messages: total - 1,
    })
}

fn ratio(x: f64, base: Option<f64>) -> String {
    match base {
        Some(b) if b > 0.0 => format!("{:.2}", x / b),
        _ => "1.00".to_string(),
    }
}

fn rate_table(
    pki: &Arc<Pki>,
    paths: &[Path],
    kernel: bool,
    cases: &[(u64, u64)],
    reps: usize,
) -> anyhow::Result<()> {
    println!(
        "| mode | server data path | messages | msg/s | server CPU µs/msg | of which system \
         | process CPU µs/msg | msg/s vs userspace | server CPU vs userspace | process CPU vs userspace |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &(window, total) in cases {
        let mode = if window == 1 {
            "ping-pong (window 1)".to_string()
        } else {
            format!("pipelined (window {window})")
        };
        let run: Vec<Path> = paths
            .iter()
            .copied()
            .filter(|p| *p != Path::Kernel || kernel)
            .collect();
        // Interleaved (userspace, kTLS, userspace, ...) so that a change in the machine's load
        // during the run weighs on every path alike.
        let mut runs: Vec<Vec<Rate>> = run.iter().map(|_| Vec::new()).collect();
        for _ in 0..reps {
            for (i, &path) in run.iter().enumerate() {
                runs[i]
                    .push(bench_rate(pki, path, total, window).with_context(|| format!("{mode} {path:?}"))?);
            }
        }
        let mut base: Option<(f64, f64, f64)> = None;
        for &path in paths {
            let Some(i) = run.iter().position(|p| *p == path) else {
                println!("| {mode} | kTLS | | n/a | n/a | | n/a | n/a (no kTLS) | | |");
                continue;
            };
            let rs = &mut runs[i];
            rs.sort_by(|a, b| a.wall.total_cmp(&b.wall));
            let m = &rs[rs.len() / 2];
            let n = m.messages as f64;
            let (rate, scpu, pcpu) = (
                n / m.wall,
                m.server_cpu.total() / n * 1e6,
                m.process_cpu.total() / n * 1e6,
            );
            let sys = 100.0 * m.server_cpu.sys / m.server_cpu.total().max(1e-9);
            println!(
                "| {mode} | {} | {} | {rate:.0} | {scpu:.1} | {sys:.0} % | {pcpu:.1} | {} | {} | {} |",
                path.label(),
                m.messages,
                ratio(rate, base.map(|b| b.0)),
                ratio(scpu, base.map(|b| b.1)),
                ratio(pcpu, base.map(|b| b.2)),
            );
            if base.is_none() {
                base = Some((rate, scpu, pcpu));
            }
        }
    }
    Ok(())
}

// ---- memory per idle connection ----

/// `--role idle-server`: accepts connections on `path`, answers SIP on each and keeps them open
/// until stdin closes. Prints `ready <port>` once warmed up.
fn idle_server(path: Path) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("sip-bench-srv-{}", std::process::id()));
    let pki = Arc::new(Pki::generate(&work)?);
    let _ = std::fs::remove_dir_all(&work);
    let server_cfg = kit::server_config(&pki, Some(PIN), false);
    let client_cfg = kit::client_config(&pki, Some(PIN));
    rt().block_on(async move {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = l.local_addr()?.port();
        let accept_one = |t: tokio::net::TcpStream| {
            let cfg = server_cfg.clone();
            async move {
                if path == Path::Tcp {
                    serve(t, || {}).await
                } else {
                    let s = ktls_offload::accept(cfg, t, &path.options()).await?;
                    anyhow::ensure!(
                        (s.info().path == DataPath::Kernel) == (path == Path::Kernel),
                        "server path is {}",
                        s.info().path
                    );
                    serve(s, || {}).await
                }
            }
        };
        // Warm-up: one connection from ourselves, so one-time allocations (runtime, rustls,
        // probe) are in the baseline rather than charged to the first measured connection.
        let c = tokio::spawn(async move {
            let mut t = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            if path == Path::Tcp {
                run_client(&mut t, 2, 1, || {}).await
            } else {
                let mut s =
                    ktls_offload::connect(client_cfg, kit::localhost(), t, &Path::Userspace.options())
                        .await?;
                run_client(&mut s, 2, 1, || {}).await?;
                s.shutdown().await?;
                Ok(())
            }
        });
        let (t, _) = l.accept().await?;
        accept_one(t).await?;
        c.await??;
        // SAFETY: malloc_trim only returns free heap memory to the system.
        unsafe { libc::malloc_trim(0) };
        let done = tokio::spawn(async {
            let mut sink = Vec::new();
            let _ = tokio::io::stdin().read_to_end(&mut sink).await;
        });
        println!("ready {port}");
        std::io::stdout().flush()?;
        let acceptor = async {
            loop {
                let (t, _) = l.accept().await?;
                let f = accept_one(t);
                tokio::spawn(async move {
                    if let Err(e) = f.await {
                        eprintln!("sip-bench idle-server: {e:#}");
                    }
                });
            }
            #[allow(unreachable_code)]
            Ok::<(), anyhow::Error>(())
        };
        tokio::select! {
            r = acceptor => r?,
            _ = done => {}
        }
        Ok::<(), anyhow::Error>(())
    })?;
    // Connections are simply dropped with the process.
    std::process::exit(0)
}

/// `--role idle-clients`: opens `conns` connections (userspace rustls unless `tcp`), sends one
/// REGISTER on each, prints `ready` and keeps them open; another batch for each `more` line on
/// stdin, until stdin closes.
fn idle_clients(port: u16, conns: usize, tcp: bool) -> anyhow::Result<()> {
    // The server process generated its own CA; the client takes any certificate (benchmark only).
    let cfg = insecure_client_config();
    rt().block_on(async move {
        use tokio::io::AsyncBufReadExt;
        let mut tls = Vec::new();
        let mut plain = Vec::new();
        let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        loop {
            for _ in 0..conns {
                let mut t = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
                if tcp {
                    run_client(&mut t, 1, 1, || {}).await?;
                    plain.push(t);
                } else {
                    let mut s =
                        ktls_offload::connect(cfg.clone(), kit::localhost(), t, &Path::Userspace.options())
                            .await?;
                    run_client(&mut s, 1, 1, || {}).await?;
                    tls.push(s);
                }
            }
            println!("ready");
            std::io::stdout().flush()?;
            // "more" opens another batch; end of input ends.
            match stdin.next_line().await? {
                Some(l) if l.trim() == "more" => {}
                _ => return Ok::<(), anyhow::Error>(()),
            }
        }
    })?;
    std::process::exit(0)
}

/// A client config that accepts any server certificate: the idle clients run in another process
/// than the server's freshly generated CA. Benchmark use only.
fn insecure_client_config() -> Arc<rustls::ClientConfig> {
    #[derive(Debug)]
    struct AnyCert(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for AnyCert {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: vec![kit::suite(PIN.0, PIN.1)],
        ..rustls::crypto::ring::default_provider()
    });
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3 with a TLS 1.3 suite")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    cfg.enable_secret_extraction = true;
    Arc::new(cfg)
}

#[derive(Clone, Copy, Default)]
struct Snapshot {
    /// Server process VmRSS, KiB.
    rss: u64,
    /// Slab objects in use, KiB: the sum of active_objs x objsize over /proc/slabinfo (root
    /// only), else /proc/meminfo Slab (which counts whole slabs, reused ones included).
    slab: u64,
    /// /proc/net/sockstat TCP mem, KiB.
    tcp_mem: u64,
    /// kTLS software sockets open (/proc/net/tls_stat TlsCurrTxSw).
    ktls: u64,
}

fn kib_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn snapshot(pid: u32) -> Snapshot {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let sockstat = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    // SAFETY: sysconf has no preconditions.
    let page_kib = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(4096) as u64 / 1024;
    let tcp_pages = sockstat
        .lines()
        .find_map(|l| l.strip_prefix("TCP:"))
        .and_then(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.windows(2)
                .find(|p| p[0] == "mem")
                .and_then(|p| p[1].parse::<u64>().ok())
        })
        .unwrap_or(0);
    Snapshot {
        rss: kib_field(&status, "VmRSS"),
        slab: slab_in_use().unwrap_or_else(|| kib_field(&meminfo, "Slab")),
        tcp_mem: tcp_pages * page_kib,
        ktls: ktls_offload::tls_stat_value("TlsCurrTxSw"),
    }
}

/// Bytes of slab objects in use, in KiB, from /proc/slabinfo (readable by root only).
fn slab_in_use() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/slabinfo").ok()?;
    let bytes: u64 = text
        .lines()
        .skip(2)
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().take(4).collect();
            Some(w.get(1)?.parse::<u64>().ok()? * w.get(3)?.parse::<u64>().ok()?)
        })
        .sum();
    Some(bytes / 1024)
}

struct ChildProc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl ChildProc {
    fn spawn(args: &[&str]) -> anyhow::Result<ChildProc> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(ChildProc { child, stdin, stdout })
    }

    /// Waits for a line starting with `ready`; returns the rest.
    fn ready(&mut self) -> anyhow::Result<String> {
        let mut line = String::new();
        loop {
            line.clear();
            anyhow::ensure!(self.stdout.read_line(&mut line)? > 0, "child exited before ready");
            if let Some(rest) = line.trim().strip_prefix("ready") {
                return Ok(rest.trim().to_string());
            }
        }
    }

    fn send_line(&mut self, line: &str) -> anyhow::Result<()> {
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let st = self.child.wait()?;
        anyhow::ensure!(st.success(), "child failed: {st}");
        Ok(())
    }
}

struct MemResult {
    rss: f64,
    slab: f64,
    tcp_mem: f64,
    ktls: i64,
}

fn bench_mem(path: Path, conns: usize) -> anyhow::Result<MemResult> {
    let mut server = ChildProc::spawn(&["--role", "idle-server", "--path", path.name()])?;
    let port = server.ready()?;
    let n = conns.to_string();
    let mut args = vec!["--role", "idle-clients", "--port", &port, "--conns", &n];
    if path == Path::Tcp {
        args.push("--tcp");
    }
    // A first batch warms up what grows once (heap arenas, tokio's task slab, the kernel's
    // per-CPU slab caches); the measurement is the second batch, the marginal cost.
    let mut clients = ChildProc::spawn(&args)?;
    clients.ready()?;
    // Let deferred work (TCP timers, RCU-freed objects) settle.
    std::thread::sleep(Duration::from_millis(1500));
    let before = snapshot(server.child.id());
    clients.send_line("more")?;
    clients.ready()?;
    std::thread::sleep(Duration::from_millis(1500));
    let after = snapshot(server.child.id());
    clients.finish()?;
    server.finish()?;
    let per = |a: u64, b: u64| (a as f64 - b as f64) / conns as f64;
    Ok(MemResult {
        rss: per(after.rss, before.rss),
        slab: per(after.slab, before.slab),
        tcp_mem: per(after.tcp_mem, before.tcp_mem),
        ktls: after.ktls as i64 - before.ktls as i64,
    })
}

fn mem_table(paths: &[Path], kernel: bool, conns: usize) -> anyhow::Result<()> {
    let slab_src = if slab_in_use().is_some() {
        "slab objects in use (/proc/slabinfo)"
    } else {
        "whole slabs (/proc/meminfo Slab; /proc/slabinfo needs root)"
    };
    println!(
        "| server data path | server RSS KiB/conn | kernel slab KiB/conn | TCP socket mem KiB/conn \
         | TLS cost over plain TCP KiB/conn (RSS + slab) | server RSS vs userspace | kernel slab vs userspace \
         | TLS cost vs userspace |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut tcp: Option<MemResult> = None;
    let mut base: Option<(f64, f64, f64)> = None;
    let mut notes = Vec::new();
    for path in std::iter::once(Path::Tcp).chain(paths.iter().copied()) {
        if path == Path::Kernel && !kernel {
            println!("| kTLS | n/a | n/a | n/a | n/a | n/a (no kTLS) | | |");
            continue;
        }
        let m = bench_mem(path, conns).with_context(|| format!("memory {path:?}"))?;
        let Some(t) = &tcp else {
            println!(
                "| {} | {:.1} | {:.1} | {:.1} | 0 | | | |",
                path.label(),
                m.rss,
                m.slab,
                m.tcp_mem
            );
            tcp = Some(m);
            continue;
        };
        let cost = (m.rss - t.rss) + (m.slab - t.slab);
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {cost:.1} | {} | {} | {} |",
            path.label(),
            m.rss,
            m.slab,
            m.tcp_mem,
            ratio(m.rss, base.map(|b| b.0)),
            ratio(m.slab, base.map(|b| b.1)),
            ratio(cost, base.map(|b| b.2)),
        );
        if base.is_none() {
            base = Some((m.rss, m.slab, cost));
        }
        if path == Path::Kernel {
            notes.push(format!(
                "kTLS sockets opened during the kTLS run (TlsCurrTxSw): {} of {conns}",
                m.ktls
            ));
        }
    }
    println!("\nkernel slab: {slab_src}, both ends of each loopback connection");
    for n in notes {
        println!("{n}");
    }
    Ok(())
}

/// Raises the open-file limit to its hard limit (many idle connections need many descriptors).
fn raise_nofile() {
    // SAFETY: an all-zero rlimit is a valid value for getrlimit to overwrite.
    let mut r: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `r` is a valid rlimit for getrlimit to fill and setrlimit to read.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: sip-bench [--paths userspace,kernel] [--messages N] [--pingpong N] [--window N] [--reps N]\n\
         \x20                [--conns N] [--no-rate] [--no-mem]\n\
         \x20 --messages N   requests per pipelined run (default 10000)\n\
         \x20 --pingpong N   requests per ping-pong run (default 1000)\n\
         \x20 --window N     outstanding requests when pipelined (default 32)\n\
         \x20 --reps N       runs per case, the median is shown (default 5)\n\
         \x20 --conns N      idle connections measured, after as many opened first (default 500)"
    );
    std::process::exit(2)
}

fn main() -> anyhow::Result<()> {
    let mut paths = vec![Path::Userspace, Path::Kernel];
    let (mut messages, mut pingpong, mut window, mut reps, mut conns) =
        (10_000u64, 1_000u64, 32u64, 5usize, 500usize);
    let (mut rate, mut mem) = (true, true);
    let (mut role, mut port, mut path, mut tcp) = (None, 0u16, Path::Userspace, false);
    let mut args = std::env::args().skip(1);
    fn num<T: std::str::FromStr>(v: Option<String>) -> T {
        v.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage())
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "--paths" => {
                paths = args
                    .next()
                    .unwrap_or_else(|| usage())
                    .split(',')
                    .map(Path::parse)
                    .collect::<anyhow::Result<_>>()?;
                paths.retain(|p| *p != Path::Tcp);
            }
            "--messages" => messages = num::<u64>(args.next()).max(2),
            "--pingpong" => pingpong = num::<u64>(args.next()).max(2),
            "--window" => window = num::<u64>(args.next()).max(1),
            "--reps" => reps = num::<usize>(args.next()).max(1),
            "--conns" => conns = num::<usize>(args.next()).max(1),
            "--no-rate" => rate = false,
            "--no-mem" => mem = false,
            "--role" => role = args.next(),
            "--port" => port = num(args.next()),
            "--path" => path = Path::parse(&args.next().unwrap_or_else(|| usage()))?,
            "--tcp" => tcp = true,
            _ => usage(),
        }
    }
    raise_nofile();
    match role.as_deref() {
        Some("idle-server") => return idle_server(path),
        Some("idle-clients") => return idle_clients(port, conns, tcp),
        Some(_) => usage(),
        None => {}
    }
    // Userspace first: it is the reference the ratios are taken against.
    paths.sort_by_key(|p| *p == Path::Kernel);
    paths.dedup();
    let k = ktls_offload::probe();
    let kernel = k.supports(PIN.0, PIN.1);
    println!(
        "kernel {}; kTLS for {} {}: {}",
        k.kernel_release,
        PIN.0,
        PIN.1,
        if kernel {
            "yes".to_string()
        } else {
            format!(
                "unavailable ({}), only userspace runs",
                k.ulp_error.as_deref().unwrap_or("cipher not supported")
            )
        }
    );
    println!(
        "SIP REGISTER {} bytes, 200 OK {} bytes, one TLS record each; loopback, one thread per side\n",
        register(0).len(),
        answer(&Message::parse(&register(0)).map_err(|e| anyhow::anyhow!("{e:?}"))?)
            .to_bytes()
            .len()
    );
    if rate {
        let work = std::env::temp_dir().join(format!("sip-bench-{}", std::process::id()));
        let pki = Arc::new(Pki::generate(&work)?);
        let _ = std::fs::remove_dir_all(&work);
        println!("Messages over one persistent connection, median of {reps} runs (by wall time):\n");
        rate_table(&pki, &paths, kernel, &[(window, messages), (1, pingpong)], reps)?;
        println!();
    }
    if mem {
        println!(
            "Memory per idle persistent connection after the hand-off: {conns} connections measured \
             after {conns} opened first:\n"
        );
        mem_table(&paths, kernel, conns)?;
    }
    Ok(())
}
