//! Interoperability and robustness scenarios for `ktls-offload`.
//!
//! The same scenarios run on the host (no kTLS: every stream must take the
//! userspace path) and inside the kernel-TLS test VM (every stream must take
//! the kernel path, proved by `/proc/net/tls_stat`). Peers that are not
//! rustls (`openssl s_server`, `openssl s_client`, curl) are started by the
//! scenarios themselves, on loopback.
#![allow(missing_docs)]

pub mod kit;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context as _};
use ktls_offload::{Cipher, KtlsError, Mode, Options, TlsStream, TlsVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use kit::{Peer, Pki};

/// What the data path must be in this environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Every stream on kTLS; `rekey` says whether the kernel must support
    /// TLS 1.3 KeyUpdate (checked against the probe).
    Kernel { rekey: bool },
    /// Every stream in userspace rustls (a kernel without kTLS).
    Userspace,
}

/// Shared state of a run.
pub struct Ctx {
    pub expect: Expect,
    pub pki: Pki,
    pub openssl: String,
    pub curl: String,
    pub work: PathBuf,
}

type Fut = Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send>>;

/// One named scenario.
pub struct Scenario {
    pub name: String,
    pub run: Box<dyn Fn(Arc<Ctx>) -> Fut + Send + Sync>,
}

fn scenario<F, R>(name: String, f: F) -> Scenario
where
    F: Fn(Arc<Ctx>) -> R + Send + Sync + 'static,
    R: Future<Output = anyhow::Result<String>> + Send + 'static,
{
    Scenario {
        name,
        run: Box::new(move |c| Box::pin(f(c))),
    }
}

const VERSIONS: [TlsVersion; 2] = [TlsVersion::Tls12, TlsVersion::Tls13];
const MIB: usize = 1024 * 1024;
const T: Duration = Duration::from_secs(60);

/// The kTLS counters, before and after.
struct Stat(BTreeMap<String, u64>);

impl Stat {
    fn now() -> Stat {
        Stat(ktls_offload::tls_stat().unwrap_or_default().into_iter().collect())
    }
    fn delta(&self) -> BTreeMap<String, u64> {
        let now = Stat::now().0;
        now.iter()
            .map(|(k, v)| (k.clone(), v.saturating_sub(*self.0.get(k).unwrap_or(&0))))
            .collect()
    }
}

impl Ctx {
    fn kernel(&self) -> bool {
        matches!(self.expect, Expect::Kernel { .. })
    }
    fn rekey(&self) -> bool {
        matches!(self.expect, Expect::Kernel { rekey: true })
    }

    /// Checks the stream took the expected path.
    fn check_path(&self, s: &TlsStream, who: &str) -> anyhow::Result<()> {
        ensure!(
            s.is_kernel() == self.kernel(),
            "{who}: expected {} path, got {}",
            if self.kernel() { "kernel" } else { "userspace" },
            s.info().path
        );
        Ok(())
    }

    /// Checks the kernel counted `sockets` kTLS sockets each way (kernel
    /// expectation), or that nothing was counted (userspace), and that no
    /// record failed to decrypt. Returns a summary for the log.
    fn check_stat(&self, before: &Stat, sockets: u64) -> anyhow::Result<String> {
        let d = before.delta();
        let get = |k: &str| d.get(k).copied().unwrap_or(0);
        if self.kernel() {
            ensure!(
                get("TlsTxSw") >= sockets && get("TlsRxSw") >= sockets,
                "kTLS did not engage: TlsTxSw +{} TlsRxSw +{} (want +{sockets} each)",
                get("TlsTxSw"),
                get("TlsRxSw")
            );
            ensure!(
                get("TlsDecryptError") == 0,
                "TlsDecryptError +{}",
                get("TlsDecryptError")
            );
        }
        Ok(format!(
            "TlsTxSw+{} TlsRxSw+{} TlsDecryptError+{} TlsRxRekeyOk+{} TlsTxRekeyOk+{}",
            get("TlsTxSw"),
            get("TlsRxSw"),
            get("TlsDecryptError"),
            get("TlsRxRekeyOk"),
            get("TlsTxRekeyOk")
        ))
    }

    /// Options for streams under test: the userspace expectation forces
    /// the userspace path, so the host suite means the same on a host whose
    /// kernel happens to have kTLS (Debian's has it as a module).
    fn opts(&self) -> Options {
        match self.expect {
            Expect::Userspace => Options {
                mode: Mode::Userspace,
                ..Default::default()
            },
            Expect::Kernel { .. } => Options {
                mode: Mode::Kernel,
                ..Default::default()
            },
        }
    }
}

fn path_word(s: &TlsStream) -> &'static str {
    if s.is_kernel() {
        "kernel"
    } else {
        "userspace"
    }
}

async fn listener() -> anyhow::Result<(TcpListener, u16)> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let port = l.local_addr()?.port();
    Ok((l, port))
}

async fn tcp(port: u16) -> anyhow::Result<TcpStream> {
    Ok(TcpStream::connect(("127.0.0.1", port)).await?)
}

async fn read_to_end_t(s: &mut TlsStream) -> anyhow::Result<Vec<u8>> {
    let mut v = Vec::new();
    tokio::time::timeout(T, s.read_to_end(&mut v))
        .await
        .map_err(|_| anyhow!("read timed out"))??;
    Ok(v)
}

/// Reads until `needle` has arrived (or error / EOF / timeout).
async fn read_until(s: &mut TlsStream, needle: &[u8], limit: Duration) -> anyhow::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    while !got.windows(needle.len()).any(|w| w == needle) {
        let n = tokio::time::timeout_at(deadline, s.read(&mut buf))
            .await
            .map_err(|_| anyhow!("timed out waiting for {:?}", String::from_utf8_lossy(needle)))??;
        if n == 0 {
            bail!("EOF before {:?}", String::from_utf8_lossy(needle));
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(got)
}

/// `openssl s_server` on `port` with the test certificate, pinned to one
/// version and suite, plus `extra` options.
fn s_server_args(c: &Ctx, port: u16, pin: (TlsVersion, Cipher), extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "s_server".into(),
        "-accept".into(),
        port.to_string(),
        "-naccept".into(),
        "1".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend([
        "-cert".into(),
        c.pki.cert_pem.display().to_string(),
        "-key".into(),
        c.pki.key_pem.display().to_string(),
    ]);
    args.extend(kit::openssl_args(pin.0, pin.1));
    args
}

/// All scenarios, in run order.
pub fn scenarios() -> Vec<Scenario> {
    let mut v = Vec::new();
    for version in VERSIONS {
        for cipher in Cipher::ALL {
            let tag = format!("{version}/{cipher}");
            v.push(scenario(format!("rustls-pair/{tag}"), move |c| {
                rustls_pair(c, version, cipher)
            }));
            v.push(scenario(format!("client-vs-openssl-s_server/{tag}"), move |c| {
                vs_openssl_server(c, version, cipher)
            }));
            v.push(scenario(format!("server-vs-openssl-s_client/{tag}"), move |c| {
                vs_openssl_client(c, version, cipher)
            }));
            v.push(scenario(format!("server-vs-curl/{tag}"), move |c| {
                vs_curl(c, version, cipher)
            }));
        }
    }
    for cipher in Cipher::ALL {
        v.push(scenario(
            format!("keyupdate-from-openssl-s_server/{cipher}"),
            move |c| keyupdate_from_server(c, cipher),
        ));
        v.push(scenario(
            format!("keyupdate-from-openssl-s_client/{cipher}"),
            move |c| keyupdate_from_client(c, cipher),
        ));
    }
    v.push(scenario("record-limit-keyupdate-to-openssl".into(), |c| {
        record_limit(c, Cipher::Aes128Gcm)
    }));
    v.push(scenario(
        "handoff-keeps-data-sent-with-finished".into(),
        handoff_keeps_data,
    ));
    v.push(scenario(
        "handoff-peer-data-in-the-last-flight".into(),
        handoff_same_flight,
    ));
    v.push(scenario("handoff-keeps-0rtt-early-data".into(), early_data));
    v.push(scenario(
        "keyupdate-during-recv_to_file-download".into(),
        keyupdate_during_download,
    ));
    v.push(scenario("record-limit-hard-stop-tls12".into(), record_limit_hard));
    v.push(scenario("session-ticket-resumption".into(), resumption));
    v.push(scenario("bad/fatal-alert-after-handoff".into(), fatal_alert));
    for fault in [Fault::Corrupt, Fault::Truncate, Fault::Garbage] {
        for victim in [Victim::ClientRead, Victim::ClientSplice, Victim::Server] {
            let name = match victim {
                Victim::ClientRead => format!("bad/{fault:?}-record-to-client-read"),
                Victim::ClientSplice => format!("bad/{fault:?}-record-to-client-recv_to_file"),
                Victim::Server => format!("bad/{fault:?}-record-to-server-read"),
            };
            v.push(scenario(name.to_lowercase(), move |c| {
                injected_fault(c, fault, victim)
            }));
        }
    }
    v.push(scenario("bad/not-a-tls-server".into(), not_tls));
    v.push(scenario(
        "bad/server-closes-mid-handshake".into(),
        closes_mid_handshake,
    ));
    v
}

/// Both ends are this crate: the client sends 1 MiB, the server checks it
/// and sends 1 MiB back; close_notify both ways.
async fn rustls_pair(c: Arc<Ctx>, version: TlsVersion, cipher: Cipher) -> anyhow::Result<String> {
    let before = Stat::now();
    let (l, port) = listener().await?;
    let scfg = kit::server_config(&c.pki, Some((version, cipher)), false);
    let up = kit::test_data(MIB, 1);
    let down = kit::test_data(MIB, 2);
    let (up2, down2, c2) = (up.clone(), down.clone(), c.clone());
    let server = tokio::spawn(async move {
        let (t, _) = l.accept().await?;
        let mut s = ktls_offload::accept(scfg, t, &c2.opts()).await?;
        c2.check_path(&s, "server")?;
        let got = read_to_end_t(&mut s).await?;
        ensure!(
            got == up2,
            "server received {} bytes, corrupt or short",
            got.len()
        );
        s.write_all(&down2).await?;
        s.shutdown().await?;
        anyhow::Ok(())
    });
    let mut s = ktls_offload::connect(
        kit::client_config(&c.pki, Some((version, cipher))),
        kit::localhost(),
        tcp(port).await?,
        &c.opts(),
    )
    .await?;
    c.check_path(&s, "client")?;
    ensure!(
        s.info().version == version && s.info().cipher == cipher,
        "negotiated {} {}",
        s.info().version,
        s.info().cipher
    );
    s.write_all(&up).await?;
    s.shutdown().await?;
    let got = read_to_end_t(&mut s).await?;
    ensure!(
        got == down,
        "client received {} bytes, corrupt or short",
        got.len()
    );
    server.await??;
    Ok(format!(
        "{} {}; 1 MiB each way; {}",
        path_word(&s),
        s.info().suite,
        c.check_stat(&before, 2)?
    ))
}

/// Our client against `openssl s_server -WWW`: GET a 1 MiB file, receive the
/// body with `recv_to_file` (splice on kTLS), EOF on close_notify.
async fn vs_openssl_server(c: Arc<Ctx>, version: TlsVersion, cipher: Cipher) -> anyhow::Result<String> {
    let dir = c.work.join(format!("www-{}", kit::free_port()));
    std::fs::create_dir_all(&dir)?;
    let data = kit::test_data(MIB, 3);
    std::fs::write(dir.join("data.bin"), &data)?;
    let port = kit::free_port();
    let args = s_server_args(&c, port, (version, cipher), &["-WWW"]);
    let peer = Peer::spawn(&c.openssl, &args, &dir, Some("ACCEPT")).await?;
    let before = Stat::now();
    let mut s = ktls_offload::connect(
        kit::client_config(&c.pki, Some((version, cipher))),
        kit::localhost(),
        tcp(port).await?,
        &c.opts(),
    )
    .await?;
    c.check_path(&s, "client")?;
    s.write_all(b"GET /data.bin HTTP/1.0\r\n\r\n").await?;
    // Read the response head in small pieces; what follows it in the last
    // piece is body and goes to the file first.
    let head = read_until(&mut s, b"\r\n\r\n", T).await?;
    let split = head.windows(4).position(|w| w == b"\r\n\r\n").expect("found") + 4;
    ensure!(
        head.starts_with(b"HTTP/1.0 200"),
        "bad response: {:?}",
        String::from_utf8_lossy(&head[..split])
    );
    let out_path = dir.join("received.bin");
    let file = std::fs::File::create(&out_path)?;
    use std::os::unix::fs::FileExt;
    file.write_all_at(&head[split..], 0)?;
    let already = (head.len() - split) as u64;
    let n = tokio::time::timeout(T, s.recv_to_file(&file, already, u64::MAX))
        .await
        .map_err(|_| anyhow!("recv_to_file timed out"))??;
    ensure!(
        already + n == data.len() as u64,
        "received {} bytes, want {}",
        already + n,
        data.len()
    );
    ensure!(std::fs::read(&out_path)? == data, "file content differs");
    let stat = c.check_stat(&before, 1)?;
    // -WWW keeps running after the one connection; no need to wait.
    let _ = peer.finish(Duration::from_millis(200)).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "{} {}; 1 MiB via recv_to_file; {stat}",
        path_word(&s),
        s.info().suite
    ))
}

/// Our server against `openssl s_client -quiet`: read a line from it, send
/// a 1 MiB file with `send_file` (sendfile on kTLS), close_notify.
async fn vs_openssl_client(c: Arc<Ctx>, version: TlsVersion, cipher: Cipher) -> anyhow::Result<String> {
    let (l, port) = listener().await?;
    let data = kit::test_data(MIB, 4);
    let file_path = c.work.join(format!("send-{port}.bin"));
    std::fs::write(&file_path, &data)?;
    let mut args: Vec<String> = ["s_client", "-quiet", "-connect"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(format!("127.0.0.1:{port}"));
    args.extend([
        "-servername".into(),
        "localhost".into(),
        "-CAfile".into(),
        c.pki.ca_pem.display().to_string(),
    ]);
    args.extend([
        "-verify_return_error".into(),
        "-verify_hostname".into(),
        "localhost".into(),
    ]);
    args.extend(kit::openssl_args(version, cipher));
    let before = Stat::now();
    let mut peer = Peer::spawn(&c.openssl, &args, &c.work, None).await?;
    let (t, _) = tokio::time::timeout(T, l.accept())
        .await
        .map_err(|_| anyhow!("s_client never connected: {}", peer.stderr_text()))??;
    let mut s = ktls_offload::accept(
        kit::server_config(&c.pki, Some((version, cipher)), false),
        t,
        &c.opts(),
    )
    .await?;
    c.check_path(&s, "server")?;
    peer.send_stdin(b"hello from s_client\n").await?;
    read_until(&mut s, b"hello from s_client\n", T).await?;
    let file = std::fs::File::open(&file_path)?;
    let sent = tokio::time::timeout(T, s.send_file(&file, 0, data.len() as u64))
        .await
        .map_err(|_| anyhow!("send_file timed out"))??;
    ensure!(sent == data.len() as u64, "send_file sent {sent}");
    s.shutdown().await?;
    let ok = peer.wait_stdout(&data[data.len() - 64..], T).await;
    let stat = c.check_stat(&before, 1)?;
    let (_, out, err) = peer.finish(Duration::from_secs(10)).await?;
    ensure!(
        ok && out == data,
        "s_client printed {} bytes, want {} identical; stderr: {err}",
        out.len(),
        data.len()
    );
    let _ = std::fs::remove_file(&file_path);
    Ok(format!(
        "{} {}; 1 MiB via send_file; {stat}",
        path_word(&s),
        s.info().suite
    ))
}

/// A minimal HTTPS server on this crate serving one file with `send_file`;
/// curl downloads it.
async fn vs_curl(c: Arc<Ctx>, version: TlsVersion, cipher: Cipher) -> anyhow::Result<String> {
    let (l, port) = listener().await?;
    let data = kit::test_data(MIB, 5);
    let file_path = c.work.join(format!("curl-src-{port}.bin"));
    let out_path = c.work.join(format!("curl-out-{port}.bin"));
    std::fs::write(&file_path, &data)?;
    let mut args: Vec<String> = vec![
        "-sS".into(),
        "--fail".into(),
        "--cacert".into(),
        c.pki.ca_pem.display().to_string(),
    ];
    args.extend(kit::curl_args(version, cipher));
    args.extend([
        "-o".into(),
        out_path.display().to_string(),
        format!("https://localhost:{port}/file"),
    ]);
    args.extend(["--resolve".into(), format!("localhost:{port}:127.0.0.1")]);
    let before = Stat::now();
    let peer = Peer::spawn(&c.curl, &args, &c.work, None).await?;
    let (t, _) = tokio::time::timeout(T, l.accept())
        .await
        .map_err(|_| anyhow!("curl never connected: {}", peer.stderr_text()))??;
    let mut s = ktls_offload::accept(
        kit::server_config(&c.pki, Some((version, cipher)), false),
        t,
        &c.opts(),
    )
    .await?;
    c.check_path(&s, "server")?;
    let req = read_until(&mut s, b"\r\n\r\n", T).await?;
    ensure!(
        req.starts_with(b"GET /file HTTP/1.1\r\n"),
        "unexpected request {:?}",
        String::from_utf8_lossy(&req)
    );
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n", data.len());
    s.write_all(head.as_bytes()).await?;
    let file = std::fs::File::open(&file_path)?;
    s.send_file(&file, 0, data.len() as u64).await?;
    s.shutdown().await?;
    let (status, _, err) = peer.finish(T).await?;
    ensure!(status.success(), "curl failed ({status}): {err}");
    ensure!(std::fs::read(&out_path)? == data, "curl's file differs");
    let stat = c.check_stat(&before, 1)?;
    let _ = std::fs::remove_file(&file_path);
    let _ = std::fs::remove_file(&out_path);
    Ok(format!(
        "{} {}; curl got 1 MiB; {stat}",
        path_word(&s),
        s.info().suite
    ))
}

fn is_keyupdate_unsupported(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<KtlsError>())
            .is_some_and(|k| matches!(k, KtlsError::KeyUpdateUnsupported { .. }))
    })
}

/// openssl s_server sends KeyUpdate (`k`), then one requesting an update
/// back (`K`), in the middle of a conversation.
async fn keyupdate_from_server(c: Arc<Ctx>, cipher: Cipher) -> anyhow::Result<String> {
    let version = TlsVersion::Tls13;
    let port = kit::free_port();
    let args = s_server_args(&c, port, (version, cipher), &[]);
    let mut peer = Peer::spawn(&c.openssl, &args, &c.work, Some("ACCEPT")).await?;
    let before = Stat::now();
    let mut s = ktls_offload::connect(
        kit::client_config(&c.pki, Some((version, cipher))),
        kit::localhost(),
        tcp(port).await?,
        &c.opts(),
    )
    .await?;
    c.check_path(&s, "client")?;
    // Wait until s_server has the connection before typing into it.
    s.write_all(b"client-hello\n").await?;
    ensure!(
        peer.wait_stdout(b"client-hello", T).await,
        "s_server never got data: {}",
        peer.stderr_text()
    );
    peer.send_stdin(b"before\n").await?;
    read_until(&mut s, b"before\n", T).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    peer.send_stdin(b"k\n").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    peer.send_stdin(b"after\n").await?;
    let r = read_until(&mut s, b"after\n", T).await;
    if c.kernel() && !c.rekey() {
        let e = r
            .err()
            .ok_or_else(|| anyhow!("read after KeyUpdate succeeded on a kernel without rekey"))?;
        ensure!(is_keyupdate_unsupported(&e), "wrong error after KeyUpdate: {e:#}");
        // The stream stays failed: no garbage on a second read either.
        let again = s.read(&mut [0u8; 64]).await;
        ensure!(again.is_err(), "second read after failure returned {again:?}");
        let (_, _, _) = peer.finish(Duration::from_secs(10)).await?;
        return Ok(format!(
            "kernel without rekey: connection failed cleanly: {e:#}; {}",
            c.check_stat(&before, 1)?
        ));
    }
    r?;
    peer.send_stdin(b"K\n").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    peer.send_stdin(b"after-K\n").await?;
    read_until(&mut s, b"after-K\n", T).await?;
    s.write_all(b"client-after-K\n").await?;
    ensure!(
        peer.wait_stdout(b"client-after-K", T).await,
        "s_server did not get data sent after our KeyUpdate reply: {}",
        peer.stderr_text()
    );
    // openssl prints the handshake result of each key update it performs:
    // proof that a KeyUpdate really went out on every path.
    let done = peer.stdout_text().matches("SSL_do_handshake -> 1").count();
    ensure!(
        done >= 2,
        "s_server performed {done} key updates, want 2: {}",
        peer.stdout_text()
    );
    let st = s.stats();
    if c.kernel() {
        ensure!(st.rx_key_updates == 2 && st.tx_key_updates == 1, "stats {st:?}");
        let d = before.delta();
        ensure!(
            d.get("TlsRxRekeyOk").copied().unwrap_or(0) >= 2
                && d.get("TlsTxRekeyOk").copied().unwrap_or(0) >= 1,
            "kernel rekey counters {d:?}"
        );
    }
    s.shutdown().await?;
    let _ = peer.finish(Duration::from_secs(10)).await;
    Ok(format!(
        "{}: rekeyed RX twice, answered update_requested; {}",
        path_word(&s),
        c.check_stat(&before, 1)?
    ))
}

/// openssl s_client sends KeyUpdate to our server.
async fn keyupdate_from_client(c: Arc<Ctx>, cipher: Cipher) -> anyhow::Result<String> {
    let version = TlsVersion::Tls13;
    let (l, port) = listener().await?;
    let mut args: Vec<String> = vec!["s_client".into(), "-connect".into(), format!("127.0.0.1:{port}")];
    args.extend([
        "-servername".into(),
        "localhost".into(),
        "-CAfile".into(),
        c.pki.ca_pem.display().to_string(),
    ]);
    args.extend(kit::openssl_args(version, cipher));
    let before = Stat::now();
    let mut peer = Peer::spawn(&c.openssl, &args, &c.work, None).await?;
    let (t, _) = tokio::time::timeout(T, l.accept())
        .await
        .map_err(|_| anyhow!("s_client never connected"))??;
    let mut s = ktls_offload::accept(
        kit::server_config(&c.pki, Some((version, cipher)), false),
        t,
        &c.opts(),
    )
    .await?;
    c.check_path(&s, "server")?;
    peer.send_stdin(b"before\n").await?;
    read_until(&mut s, b"before\n", T).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    peer.send_stdin(b"k\n").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    peer.send_stdin(b"after\n").await?;
    let r = read_until(&mut s, b"after\n", T).await;
    if c.kernel() && !c.rekey() {
        let e = r
            .err()
            .ok_or_else(|| anyhow!("read after KeyUpdate succeeded on a kernel without rekey"))?;
        ensure!(is_keyupdate_unsupported(&e), "wrong error after KeyUpdate: {e:#}");
        let _ = peer.finish(Duration::from_secs(10)).await;
        return Ok(format!(
            "kernel without rekey: connection failed cleanly: {e:#}; {}",
            c.check_stat(&before, 1)?
        ));
    }
    r?;
    peer.send_stdin(b"K\n").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    peer.send_stdin(b"after-K\n").await?;
    read_until(&mut s, b"after-K\n", T).await?;
    s.write_all(b"server-after-K\n").await?;
    ensure!(
        peer.wait_stdout(b"server-after-K", T).await,
        "s_client did not get data sent after our KeyUpdate reply"
    );
    let out = format!("{}{}", peer.stdout_text(), peer.stderr_text());
    let done = out
        .matches("KEYUPDATE")
        .count()
        .max(out.matches("SSL_do_handshake -> 1").count());
    ensure!(done >= 2, "s_client performed {done} key updates, want 2: {out}");
    if c.kernel() {
        let st = s.stats();
        ensure!(st.rx_key_updates == 2 && st.tx_key_updates == 1, "stats {st:?}");
        let d = before.delta();
        ensure!(
            d.get("TlsRxRekeyOk").copied().unwrap_or(0) >= 2
                && d.get("TlsTxRekeyOk").copied().unwrap_or(0) >= 1,
            "kernel rekey counters {d:?}"
        );
    }
    s.shutdown().await?;
    let _ = peer.finish(Duration::from_secs(10)).await;
    Ok(format!(
        "{}: rekeyed on the client's KeyUpdates; {}",
        path_word(&s),
        c.check_stat(&before, 1)?
    ))
}

/// With a tiny record limit, our client sends KeyUpdates of its own while
/// streaming 2 MiB to openssl s_server, which must still decrypt it all.
async fn record_limit(c: Arc<Ctx>, cipher: Cipher) -> anyhow::Result<String> {
    let version = TlsVersion::Tls13;
    let port = kit::free_port();
    let args = s_server_args(&c, port, (version, cipher), &["-quiet"]);
    let peer = Peer::spawn(&c.openssl, &args, &c.work, None).await?;
    // -quiet hides ACCEPT: wait for the port instead.
    let mut t = None;
    for _ in 0..300 {
        if let Ok(x) = TcpStream::connect(("127.0.0.1", port)).await {
            t = Some(x);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = t.ok_or_else(|| anyhow!("s_server did not listen"))?;
    let before = Stat::now();
    let opts = Options {
        key_update_after_records: Some(8),
        ..c.opts()
    };
    let mut s = ktls_offload::connect(
        kit::client_config(&c.pki, Some((version, cipher))),
        kit::localhost(),
        t,
        &opts,
    )
    .await?;
    c.check_path(&s, "client")?;
    // Printable data, so s_server's stdout is exactly what we sent.
    let data: Vec<u8> = kit::test_data(2 * MIB, 6).iter().map(|b| b'a' + b % 26).collect();
    for chunk in data.chunks(16 * 1024) {
        s.write_all(chunk).await?;
    }
    // s_server prints what it read only when the socket wakes it again, so
    // the last record may sit in its buffer: follow the data with filler.
    s.write_all(&[b'\n'; 32 * 1024]).await?;
    let tail = data[data.len() - 64..].to_vec();
    let got_all = peer.wait_stdout(&tail, T).await;
    let st = s.stats();
    s.shutdown().await?;
    let (_, out, err) = peer.finish(Duration::from_secs(10)).await?;
    ensure!(
        got_all && out.windows(data.len()).any(|w| w == data.as_slice()),
        "s_server printed {} bytes; stderr {err}",
        out.len()
    );
    if c.rekey() {
        ensure!(
            st.tx_key_updates >= 10,
            "only {} KeyUpdates sent for 128 records at limit 8",
            st.tx_key_updates
        );
        let d = before.delta();
        ensure!(
            d.get("TlsTxRekeyOk").copied().unwrap_or(0) >= 10,
            "kernel TlsTxRekeyOk {d:?}"
        );
    } else if c.kernel() {
        ensure!(
            st.tx_key_updates == 0,
            "KeyUpdate sent on a kernel that cannot rekey"
        );
    }
    Ok(format!(
        "{}: {} KeyUpdates sent, peer decrypted 2 MiB; {}",
        path_word(&s),
        st.tx_key_updates,
        c.check_stat(&before, 1)?
    ))
}

/// A userspace rustls client writes right after its Finished; our server's
/// hand-off must not lose those bytes.
async fn handoff_keeps_data(c: Arc<Ctx>) -> anyhow::Result<String> {
    let mut report = Vec::new();
    for version in VERSIONS {
        let (l, port) = listener().await?;
        let scfg = kit::server_config(&c.pki, Some((version, Cipher::Aes128Gcm)), false);
        let c2 = c.clone();
        let server = tokio::spawn(async move {
            let (t, _) = l.accept().await?;
            let mut s = ktls_offload::accept(scfg, t, &c2.opts()).await?;
            c2.check_path(&s, "server")?;
            let got = read_to_end_t(&mut s).await?;
            anyhow::Ok((got, path_word(&s)))
        });
        let ccfg = kit::client_config(&c.pki, Some((version, Cipher::Aes128Gcm)));
        let mut cl = tokio_rustls::TlsConnector::from(ccfg)
            .connect(kit::localhost(), tcp(port).await?)
            .await?;
        let msg = kit::test_data(100_000, 7);
        cl.write_all(&msg).await?;
        cl.shutdown().await?;
        let (got, path) = server.await??;
        ensure!(got == msg, "server got {} of {} bytes", got.len(), msg.len());
        report.push(format!("{version} {path}"));
    }
    Ok(format!("no bytes lost: {}", report.join(", ")))
}

/// TLS 1.3 tickets received on the kTLS path go to rustls' store, and the
/// next connection resumes.
async fn resumption(c: Arc<Ctx>) -> anyhow::Result<String> {
    let (l, port) = listener().await?;
    let scfg = kit::server_config(&c.pki, Some((TlsVersion::Tls13, Cipher::Aes128Gcm)), false);
    let c2 = c.clone();
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let (t, _) = l.accept().await?;
            let mut s = ktls_offload::accept(scfg.clone(), t, &c2.opts()).await?;
            s.write_all(b"hi").await?;
            s.shutdown().await?;
            let _ = read_to_end_t(&mut s).await;
        }
        anyhow::Ok(())
    });
    let ccfg = kit::client_config(&c.pki, Some((TlsVersion::Tls13, Cipher::Aes128Gcm)));
    let mut s1 = ktls_offload::connect(ccfg.clone(), kit::localhost(), tcp(port).await?, &c.opts()).await?;
    c.check_path(&s1, "client")?;
    ensure!(!s1.info().resumed, "first connection claims resumption");
    ensure!(read_to_end_t(&mut s1).await? == b"hi", "first connection data");
    let tickets = s1.stats().tickets;
    if c.kernel() {
        ensure!(
            tickets >= 1,
            "no NewSessionTicket reached rustls on the kTLS path"
        );
    }
    s1.shutdown().await?;
    let mut s2 = ktls_offload::connect(ccfg, kit::localhost(), tcp(port).await?, &c.opts()).await?;
    ensure!(s2.info().resumed, "second connection did not resume");
    ensure!(read_to_end_t(&mut s2).await? == b"hi", "second connection data");
    s2.shutdown().await?;
    server.await??;
    Ok(format!(
        "{}: {tickets} tickets taken from kTLS control records, second handshake resumed",
        path_word(&s2)
    ))
}

/// TLS 1.3: the server demands a client certificate the client lacks; the
/// client's handshake finishes first, so the fatal alert arrives after the
/// hand-off, as a control record.
async fn fatal_alert(c: Arc<Ctx>) -> anyhow::Result<String> {
    let fds = kit::open_fds();
    let (l, port) = listener().await?;
    let scfg = kit::server_config(&c.pki, Some((TlsVersion::Tls13, Cipher::Aes128Gcm)), true);
    let server = tokio::spawn(async move {
        let (t, _) = l.accept().await?;
        let r = ktls_offload::accept(
            scfg,
            t,
            &Options {
                mode: Mode::Userspace,
                ..Default::default()
            },
        )
        .await;
        ensure!(r.is_err(), "server accepted a client without a certificate");
        anyhow::Ok(())
    });
    let mut s = ktls_offload::connect(
        kit::client_config(&c.pki, Some((TlsVersion::Tls13, Cipher::Aes128Gcm))),
        kit::localhost(),
        tcp(port).await?,
        &c.opts(),
    )
    .await?;
    c.check_path(&s, "client")?;
    let r = tokio::time::timeout(T, s.read(&mut [0u8; 100]))
        .await
        .map_err(|_| anyhow!("hang after alert"))?;
    let e = r
        .err()
        .ok_or_else(|| anyhow!("read succeeded after a fatal alert"))?;
    let typed = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<KtlsError>())
        .is_some_and(|k| matches!(k, KtlsError::PeerAlert(a) if a.description == 116));
    ensure!(
        typed,
        "error is not KtlsError::PeerAlert(certificate_required): {e:?}"
    );
    let msg = e.to_string().to_lowercase().replace('_', "");
    ensure!(
        msg.contains("certificaterequired"),
        "error does not name the alert: {e}"
    );
    server.await??;
    drop(s);
    ensure!(
        kit::open_fds() <= fds,
        "file descriptors leaked: {} -> {}",
        fds,
        kit::open_fds()
    );
    Ok(format!("error: {e}"))
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Corrupt,
    Truncate,
    Garbage,
}

/// Where the fault is injected and how the side under test reads.
#[derive(Clone, Copy, Debug)]
enum Victim {
    /// Our client, reading with `read`.
    ClientRead,
    /// Our client, receiving with `recv_to_file` (splice on kTLS).
    ClientSplice,
    /// Our server, reading with `read`.
    Server,
}

/// A proxy changes the first bytes after the hand-off in one direction; the
/// side under test must fail cleanly, name the cause and release its socket.
async fn injected_fault(c: Arc<Ctx>, fault: Fault, victim: Victim) -> anyhow::Result<String> {
    let fds = kit::open_fds();
    let (sl, sport) = listener().await?;
    let (pl, pport) = listener().await?;
    let armed = Arc::new(AtomicU8::new(0));
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let pin = (TlsVersion::Tls13, Cipher::Aes128Gcm);
    let to_server = matches!(victim, Victim::Server);
    // The peer of the side under test runs userspace rustls and writes 32 KiB
    // once told to.
    let peer_opts = Options {
        mode: Mode::Userspace,
        ..Default::default()
    };
    let (server_opts, client_opts) = if to_server {
        (c.opts(), peer_opts.clone())
    } else {
        (peer_opts.clone(), c.opts())
    };
    let scfg = kit::server_config(&c.pki, Some(pin), false);
    let (res_tx, res_rx) = tokio::sync::oneshot::channel::<(anyhow::Result<u64>, &'static str)>();
    let c2 = c.clone();
    let server = tokio::spawn(async move {
        let (t, _) = sl.accept().await?;
        let mut s = ktls_offload::accept(scfg, t, &server_opts).await?;
        if to_server {
            c2.check_path(&s, "server")?;
            let mut all = Vec::new();
            let r = match tokio::time::timeout(T, s.read_to_end(&mut all)).await {
                Err(_) => Err(anyhow!("server hung on a bad record")),
                Ok(Ok(n)) => Ok(n as u64),
                Ok(Err(e)) => Err(anyhow::Error::from(e)),
            };
            let _ = res_tx.send((r, path_word(&s)));
        } else {
            let _ = go_rx.await;
            let _ = s.write_all(&kit::test_data(32 * 1024, 8)).await;
            let _ = s.flush().await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        anyhow::Ok(())
    });
    let armed2 = armed.clone();
    let proxy = tokio::spawn(async move {
        let (mut a, _) = pl.accept().await?;
        let mut b = TcpStream::connect(("127.0.0.1", sport)).await?;
        let (ar, aw) = a.split();
        let (br, bw) = b.split();
        // The faulty direction: server→client, or client→server.
        let (mut from, mut to, mut from2, mut to2) = if to_server {
            (ar, bw, br, aw)
        } else {
            (br, aw, ar, bw)
        };
        let clean = async { tokio::io::copy(&mut from2, &mut to2).await };
        let faulty = async {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = from.read(&mut buf).await?;
                if n == 0 {
                    return anyhow::Ok(());
                }
                if armed2.load(Ordering::SeqCst) == 1 {
                    armed2.store(2, Ordering::SeqCst);
                    match fault {
                        Fault::Corrupt => {
                            buf[n - 1] ^= 0x5a;
                            to.write_all(&buf[..n]).await?;
                        }
                        Fault::Truncate => {
                            to.write_all(&buf[..n.min(40)]).await?;
                            to.shutdown().await?;
                            return Ok(());
                        }
                        Fault::Garbage => {
                            to.write_all(b"\x17\x03\x03\x00\x20this is not a valid TLS record!!")
                                .await?;
                            to.write_all(&buf[..n]).await?;
                        }
                    }
                } else {
                    to.write_all(&buf[..n]).await?;
                }
            }
        };
        tokio::select! { _ = clean => {}, r = faulty => { r?; } }
        anyhow::Ok(())
    });
    let mut s = ktls_offload::connect(
        kit::client_config(&c.pki, Some(pin)),
        kit::localhost(),
        tcp(pport).await?,
        &client_opts,
    )
    .await?;
    // Let the server's tickets pass untouched, then arm the fault.
    tokio::time::sleep(Duration::from_millis(300)).await;
    armed.store(1, Ordering::SeqCst);
    let (r, path) = if to_server {
        let _ = s.write_all(&kit::test_data(32 * 1024, 9)).await;
        let _ = s.flush().await;
        tokio::time::timeout(T, res_rx)
            .await
            .map_err(|_| anyhow!("no verdict from the server"))??
    } else {
        c.check_path(&s, "client")?;
        let _ = go_tx.send(());
        let r = match victim {
            Victim::ClientSplice => {
                let path = c.work.join(format!("fault-{pport}.bin"));
                let file = std::fs::File::create(&path)?;
                let r = tokio::time::timeout(T, s.recv_to_file(&file, 0, u64::MAX)).await;
                let _ = std::fs::remove_file(&path);
                r
            }
            _ => {
                let mut all = Vec::new();
                tokio::time::timeout(T, s.read_to_end(&mut all))
                    .await
                    .map(|r| r.map(|n| n as u64))
            }
        };
        let r = r
            .map_err(|_| anyhow!("client hung on a bad record"))?
            .map_err(anyhow::Error::from);
        (r, path_word(&s))
    };
    let e = match r {
        Ok(n) => bail!("{n} bytes and a clean EOF despite the fault"),
        Err(e) => e,
    };
    // The error must say what happened, on either path.
    let text = format!("{e:#}").to_lowercase();
    let named = match fault {
        Fault::Truncate => text.contains("close_notify") || text.contains("eof"),
        _ => text.contains("decrypt") || text.contains("bad_record_mac") || text.contains("authentication"),
    };
    ensure!(named, "the error does not name the cause: {e:#}");
    drop(s);
    let _ = server.await;
    let _ = proxy.await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    ensure!(
        kit::open_fds() <= fds,
        "file descriptors leaked: {} -> {}",
        fds,
        kit::open_fds()
    );
    Ok(format!("{path}: clean error: {e:#}"))
}

/// A TCP server that speaks something else.
async fn not_tls(c: Arc<Ctx>) -> anyhow::Result<String> {
    let fds = kit::open_fds();
    let (l, port) = listener().await?;
    let srv = tokio::spawn(async move {
        let (mut t, _) = l.accept().await?;
        t.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await?;
        let mut junk = vec![0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_secs(5), t.read(&mut junk)).await;
        anyhow::Ok(())
    });
    let r = tokio::time::timeout(
        T,
        ktls_offload::connect(
            kit::client_config(&c.pki, None),
            kit::localhost(),
            tcp(port).await?,
            &c.opts(),
        ),
    )
    .await
    .map_err(|_| anyhow!("hang"))?;
    let e = r
        .err()
        .ok_or_else(|| anyhow!("handshake with an SSH server succeeded"))?;
    let _ = srv.await;
    ensure!(kit::open_fds() <= fds, "file descriptors leaked");
    Ok(format!("clean error: {e}"))
}

/// A server that reads the ClientHello and hangs up.
async fn closes_mid_handshake(c: Arc<Ctx>) -> anyhow::Result<String> {
    let fds = kit::open_fds();
    let (l, port) = listener().await?;
    let srv = tokio::spawn(async move {
        let (mut t, _) = l.accept().await?;
        let mut hello = vec![0u8; 100];
        t.read_exact(&mut hello).await?;
        anyhow::Ok(())
    });
    let r = tokio::time::timeout(
        T,
        ktls_offload::connect(
            kit::client_config(&c.pki, None),
            kit::localhost(),
            tcp(port).await?,
            &c.opts(),
        ),
    )
    .await
    .map_err(|_| anyhow!("hang"))?;
    let e = r
        .err()
        .ok_or_else(|| anyhow!("handshake succeeded with a server that hung up"))?;
    srv.await?.context("server")?;
    ensure!(kit::open_fds() <= fds, "file descriptors leaked");
    Ok(format!("clean error: {e}"))
}

/// Runs the scenarios whose names contain `filter`; prints one line each and
/// a summary. Returns (passed, failed).
pub async fn run_all(ctx: Arc<Ctx>, filter: &str) -> (usize, usize) {
    let (mut pass, mut fail) = (0, 0);
    for s in scenarios().into_iter().filter(|s| s.name.contains(filter)) {
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(180), (s.run)(ctx.clone())).await;
        let secs = started.elapsed().as_secs_f32();
        match r {
            Ok(Ok(detail)) => {
                pass += 1;
                println!("ok   {:<52} {secs:5.1}s  {detail}", s.name);
            }
            Ok(Err(e)) => {
                fail += 1;
                println!("FAIL {:<52} {secs:5.1}s  {e:#}", s.name);
            }
            Err(_) => {
                fail += 1;
                println!("FAIL {:<52} timed out", s.name);
            }
        }
    }
    (pass, fail)
}

/// openssl s_server sends KeyUpdates while streaming a 2 MiB download that
/// our client receives with `recv_to_file` (splice on kTLS): the control
/// records interrupt the splice and must be handled in line.
async fn keyupdate_during_download(c: Arc<Ctx>) -> anyhow::Result<String> {
    let (version, cipher) = (TlsVersion::Tls13, Cipher::Aes128Gcm);
    let port = kit::free_port();
    let args = s_server_args(&c, port, (version, cipher), &[]);
    let mut peer = Peer::spawn(&c.openssl, &args, &c.work, Some("ACCEPT")).await?;
    let before = Stat::now();
    let mut s = ktls_offload::connect(
        kit::client_config(&c.pki, Some((version, cipher))),
        kit::localhost(),
        tcp(port).await?,
        &c.opts(),
    )
    .await?;
    c.check_path(&s, "client")?;
    s.write_all(b"go\n").await?;
    ensure!(peer.wait_stdout(b"go", T).await, "s_server never got data");
    // Lines of digits only: no line can be mistaken for an s_server command.
    let part = |seed: u64| -> Vec<u8> {
        let mut v = Vec::with_capacity(MIB);
        for (i, b) in kit::test_data(MIB, seed).chunks(63).enumerate() {
            v.extend(b.iter().map(|x| b'0' + x % 10));
            v.push(if i % 2 == 0 { b'\n' } else { b'7' });
        }
        v.truncate(MIB - 1);
        v.push(b'\n');
        v
    };
    let (a, b) = (part(21), part(22));
    let end = b"99999-end-of-download\n".to_vec();
    let mut expected = a.clone();
    expected.extend_from_slice(&b);
    expected.extend_from_slice(&end);
    let path = c.work.join(format!("download-{port}.bin"));
    let file = std::fs::File::create(&path)?;
    let total = expected.len() as u64;
    let feeder = async {
        for chunk in a.chunks(64 * 1024) {
            peer.send_stdin(chunk).await?;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        peer.send_stdin(b"k\n").await?;
        tokio::time::sleep(Duration::from_millis(400)).await;
        for chunk in b.chunks(64 * 1024) {
            peer.send_stdin(chunk).await?;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        peer.send_stdin(b"K\n").await?;
        tokio::time::sleep(Duration::from_millis(400)).await;
        peer.send_stdin(&end).await?;
        anyhow::Ok(())
    };
    let (fed, got) = tokio::join!(feeder, tokio::time::timeout(T, s.recv_to_file(&file, 0, total)));
    let got = got.map_err(|_| anyhow!("recv_to_file timed out"))?;
    if c.kernel() && !c.rekey() {
        let e = anyhow::Error::from(
            got.err()
                .ok_or_else(|| anyhow!("download survived a KeyUpdate on a kernel without rekey"))?,
        );
        ensure!(is_keyupdate_unsupported(&e), "wrong error: {e:#}");
        let _ = peer.finish(Duration::from_secs(5)).await;
        return Ok(format!(
            "kernel without rekey: download failed cleanly mid-stream: {e:#}"
        ));
    }
    // (Without rekey our side closes at the KeyUpdate and s_server may be
    // gone, so the feed may fail there: it is checked only here.)
    fed?;
    let n = got?;
    ensure!(n == total, "received {n} of {total} bytes");
    ensure!(std::fs::read(&path)? == expected, "downloaded file differs");
    s.write_all(b"after-download\n").await?;
    ensure!(
        peer.wait_stdout(b"after-download", T).await,
        "s_server did not get data after our KeyUpdate reply"
    );
    let done = peer.stdout_text().matches("SSL_do_handshake -> 1").count();
    ensure!(done >= 2, "s_server performed {done} key updates, want 2");
    if c.kernel() {
        let st = s.stats();
        ensure!(st.rx_key_updates == 2 && st.tx_key_updates == 1, "stats {st:?}");
    }
    s.shutdown().await?;
    let _ = peer.finish(Duration::from_secs(5)).await;
    let _ = std::fs::remove_file(&path);
    Ok(format!(
        "{}: 2 MiB via recv_to_file across 2 KeyUpdates; {}",
        path_word(&s),
        c.check_stat(&before, 1)?
    ))
}

/// Drives a buffered rustls connection on a blocking socket until its
/// handshake is done, without sending what it queued last.
fn raw_handshake(
    conn: &mut rustls::Connection,
    sock: &mut std::net::TcpStream,
    server: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
    loop {
        // The side whose handshake ends on *receiving* keeps its last
        // flight (client Finished / server tickets or Finished) queued.
        if !conn.is_handshaking() {
            return Ok(());
        }
        let mut out = Vec::new();
        while conn.wants_write() {
            conn.write_tls(&mut out)?;
        }
        sock.write_all(&out)?;
        if !conn.is_handshaking() {
            return Ok(());
        }
        if conn.read_tls(sock)? == 0 {
            bail!("peer closed during the handshake (server={server})");
        }
        conn.process_new_packets()?;
    }
}

/// Sends everything the connection has queued in one write, so it reaches
/// the peer in the same TCP segment(s), right behind the handshake.
fn raw_flush(conn: &mut rustls::Connection, sock: &mut std::net::TcpStream) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out)?;
    }
    sock.write_all(&out)?;
    Ok(())
}

/// The peer's first application data travels in the same write as its last
/// handshake flight; the hand-off must not lose it. Covers both sides: a
/// client writing behind its Finished (TLS 1.3) and a server writing behind
/// its final flight (TLS 1.2 and 1.3).
async fn handoff_same_flight(c: Arc<Ctx>) -> anyhow::Result<String> {
    let mut report = Vec::new();
    // Our server, raw client.
    {
        let (l, port) = listener().await?;
        let scfg = kit::server_config(&c.pki, Some((TlsVersion::Tls13, Cipher::Aes128Gcm)), false);
        let c2 = c.clone();
        let server = tokio::spawn(async move {
            let (t, _) = l.accept().await?;
            let mut s = ktls_offload::accept(scfg, t, &c2.opts()).await?;
            c2.check_path(&s, "server")?;
            anyhow::Ok((read_to_end_t(&mut s).await?, path_word(&s)))
        });
        let ccfg = kit::client_config(&c.pki, Some((TlsVersion::Tls13, Cipher::Aes128Gcm)));
        let msg = kit::test_data(40_000, 31);
        let msg2 = msg.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut sock = std::net::TcpStream::connect(("127.0.0.1", port))?;
            let mut conn = rustls::Connection::from(rustls::ClientConnection::new(ccfg, kit::localhost())?);
            raw_handshake(&mut conn, &mut sock, false)?;
            use std::io::Write;
            conn.writer().write_all(&msg2)?;
            conn.send_close_notify();
            raw_flush(&mut conn, &mut sock)
        })
        .await??;
        let (got, path) = server.await??;
        ensure!(
            got == msg,
            "server got {} of {} bytes sent with the client Finished",
            got.len(),
            msg.len()
        );
        report.push(format!("client data with Finished (TLSv1.3) -> {path} server"));
    }
    // Our client, raw server.
    for version in VERSIONS {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = l.local_addr()?.port();
        let scfg = kit::server_config(&c.pki, Some((version, Cipher::Aes128Gcm)), false);
        let msg = kit::test_data(40_000, 32);
        let msg2 = msg.clone();
        let server = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let (mut sock, _) = l.accept()?;
            let mut conn = rustls::Connection::from(rustls::ServerConnection::new(scfg)?);
            raw_handshake(&mut conn, &mut sock, true)?;
            use std::io::Write;
            conn.writer().write_all(&msg2)?;
            conn.send_close_notify();
            raw_flush(&mut conn, &mut sock)?;
            std::thread::sleep(Duration::from_millis(300));
            Ok(())
        });
        let mut s = ktls_offload::connect(
            kit::client_config(&c.pki, Some((version, Cipher::Aes128Gcm))),
            kit::localhost(),
            tcp(port).await?,
            &c.opts(),
        )
        .await?;
        c.check_path(&s, "client")?;
        let got = read_to_end_t(&mut s).await?;
        server.await??;
        ensure!(
            got == msg,
            "client got {} of {} bytes sent with the server's final flight ({version})",
            got.len(),
            msg.len()
        );
        report.push(format!(
            "server data with its final flight ({version}) -> {} client",
            path_word(&s)
        ));
    }
    Ok(report.join("; "))
}

/// 0-RTT: a resuming client sends early data; our server must deliver it
/// first, then what the kernel decrypts.
async fn early_data(c: Arc<Ctx>) -> anyhow::Result<String> {
    let pin = (TlsVersion::Tls13, Cipher::Aes128Gcm);
    let mut scfg = (*kit::server_config(&c.pki, Some(pin), false)).clone();
    scfg.max_early_data_size = 16 * 1024;
    let scfg = Arc::new(scfg);
    let mut ccfg = (*kit::client_config(&c.pki, Some(pin))).clone();
    ccfg.enable_early_data = true;
    let ccfg = Arc::new(ccfg);
    let (l, port) = listener().await?;
    let c2 = c.clone();
    let server = tokio::spawn(async move {
        let mut got = Vec::new();
        for _ in 0..2 {
            let (t, _) = l.accept().await?;
            let mut s = ktls_offload::accept(scfg.clone(), t, &c2.opts()).await?;
            c2.check_path(&s, "server")?;
            s.write_all(b"hello").await?;
            let data = read_to_end_t(&mut s).await?;
            got.push(data);
        }
        anyhow::Ok(got)
    });
    let early = b"EARLY:0-RTT data sent before the handshake finished;".to_vec();
    let late = b"LATE:data after the handshake".to_vec();
    let (early2, late2) = (early.clone(), late.clone());
    let accepted = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
        use std::io::{Read, Write};
        let mut accepted = false;
        for round in 0..2 {
            let mut sock = std::net::TcpStream::connect(("127.0.0.1", port))?;
            let mut client = rustls::ClientConnection::new(ccfg.clone(), kit::localhost())?;
            if round == 1 {
                let mut ed = client
                    .early_data()
                    .ok_or_else(|| anyhow!("no ticket allows early data"))?;
                ed.write_all(&early2)?;
            }
            let mut conn = rustls::Connection::from(client);
            raw_handshake(&mut conn, &mut sock, false)?;
            if round == 1 {
                if let rustls::Connection::Client(cl) = &conn {
                    accepted = cl.is_early_data_accepted();
                }
            }
            conn.writer().write_all(&late2)?;
            raw_flush(&mut conn, &mut sock)?;
            // Read "hello" (and the tickets before it), then close.
            let mut buf = [0u8; 5];
            let mut have = 0;
            while have < 5 {
                match conn.reader().read(&mut buf[have..]) {
                    Ok(n) => have += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if conn.read_tls(&mut sock)? == 0 {
                            bail!("server closed early");
                        }
                        conn.process_new_packets()?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            conn.send_close_notify();
            raw_flush(&mut conn, &mut sock)?;
        }
        Ok(accepted)
    })
    .await??;
    let got = server.await??;
    ensure!(
        accepted,
        "the server did not accept 0-RTT data on the resumed connection"
    );
    let mut want = early.clone();
    want.extend_from_slice(&late);
    ensure!(
        got[1] == want,
        "server delivered {:?}",
        String::from_utf8_lossy(&got[1])
    );
    Ok(format!(
        "{}: early data delivered first, then the rest",
        if c.kernel() { "kernel" } else { "userspace" }
    ))
}

/// TLS 1.2 cannot rekey: at the record limit, writes fail instead of
/// running the keys past their safe use.
async fn record_limit_hard(c: Arc<Ctx>) -> anyhow::Result<String> {
    if !c.kernel() {
        return Ok("not applicable: rustls enforces its own limit on the userspace path".into());
    }
    let pin = (TlsVersion::Tls12, Cipher::Aes128Gcm);
    let (l, port) = listener().await?;
    let scfg = kit::server_config(&c.pki, Some(pin), false);
    let server = tokio::spawn(async move {
        let (t, _) = l.accept().await?;
        let mut s = ktls_offload::accept(
            scfg,
            t,
            &Options {
                mode: Mode::Userspace,
                ..Default::default()
            },
        )
        .await?;
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
        anyhow::Ok(sink.len())
    });
    let opts = Options {
        record_limit: Some(8),
        ..c.opts()
    };
    let mut s = ktls_offload::connect(
        kit::client_config(&c.pki, Some(pin)),
        kit::localhost(),
        tcp(port).await?,
        &opts,
    )
    .await?;
    let mut written = 0usize;
    let mut err = None;
    for chunk in kit::test_data(MIB, 33).chunks(16 * 1024) {
        match s.write_all(chunk).await {
            Ok(()) => written += chunk.len(),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let e = err.ok_or_else(|| anyhow!("wrote 1 MiB (64 records) past a limit of 8"))?;
    let typed = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<KtlsError>())
        .is_some_and(|k| matches!(k, KtlsError::RecordLimit(_)));
    ensure!(typed, "wrong error: {e}");
    ensure!(written <= 8 * 16 * 1024, "wrote {written} bytes before failing");
    drop(s);
    let _ = server.await;
    Ok(format!("writes stopped after {written} bytes: {e}"))
}
