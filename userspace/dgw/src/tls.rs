//! `dgw tls probe` and `dgw tls connect`.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use clap::Subcommand;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where Debian and Yocto images keep the system's trusted roots.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Subcommand)]
pub enum TlsCommand {
    /// Show what the running kernel offers for TLS offload (kTLS), and its
    /// /proc/net/tls_stat counters.
    Probe {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Open a TLS connection like `openssl s_client`: print the version,
    /// suite, peer certificates, validation result and data path (kTLS or
    /// userspace) on stderr; then send stdin and print what arrives on stdout.
    Connect {
        /// HOST:PORT ([v6]:PORT for IPv6 literals).
        target: String,
        /// Trust these CA certificates (PEM; repeatable). Default: the
        /// system bundle.
        #[arg(long = "ca", value_name = "FILE")]
        ca: Vec<PathBuf>,
        /// Name to validate and send in SNI (default: HOST).
        #[arg(long, value_name = "NAME")]
        servername: Option<String>,
        /// Append TLS secrets to FILE in NSS key log format (for Wireshark).
        /// The file holds session keys: it is created with mode 0600; delete
        /// it after use.
        #[arg(long, value_name = "FILE")]
        keylog: Option<PathBuf>,
        /// Continue even if certificate validation fails (the result is still
        /// printed). For diagnostics only.
        #[arg(long)]
        insecure: bool,
        /// Offer only TLS 1.2.
        #[arg(long, conflicts_with = "tls13")]
        tls12: bool,
        /// Offer only TLS 1.3.
        #[arg(long)]
        tls13: bool,
        /// Stay in userspace rustls even where kTLS is available.
        #[arg(long)]
        userspace: bool,
        /// Seconds allowed for TCP connect and handshake.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
}

pub fn run(cmd: TlsCommand) -> i32 {
    match cmd {
        TlsCommand::Probe { json } => {
            probe(json);
            0
        }
        TlsCommand::Connect { .. } => crate::block_on_command("dgw tls connect", async {
            connect(cmd).await.map_err(|e| format!("{e:#}"))
        }),
    }
}

fn probe(json: bool) {
    let k = ktls_offload::probe_fresh();
    let stat = ktls_offload::tls_stat();
    if json {
        let ciphers: Vec<_> = k
            .ciphers
            .iter()
            .map(|c| {
                serde_json::json!({
                    "version": c.version.to_string(), "cipher": c.cipher.to_string(), "tx": c.tx, "rx": c.rx
                })
            })
            .collect();
        let v = serde_json::json!({
            "kernel": k.kernel_release,
            "ulp": k.ulp,
            "ulp_error": k.ulp_error,
            "ciphers": ciphers,
            "tls13_rekey": k.tls13_rekey,
            "tls_stat": stat.map(|s| s.into_iter().map(|(k, v)| (k, serde_json::Value::from(v))).collect::<serde_json::Map<_, _>>()),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    println!("{k}");
    match stat {
        Some(s) => {
            println!("/proc/net/tls_stat:");
            for (name, v) in s {
                println!("  {name:<24} {v}");
            }
        }
        None => {
            println!("/proc/net/tls_stat: absent (no kTLS in this kernel, or the tls module is not loaded)")
        }
    }
}

/// Splits HOST:PORT, accepting [v6]:PORT.
fn split_target(t: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = if let Some(rest) = t.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| anyhow!("{t}: expected [IPv6]:PORT"))?;
        (h, p)
    } else {
        t.rsplit_once(':')
            .ok_or_else(|| anyhow!("{t}: expected HOST:PORT"))?
    };
    if host.is_empty() {
        bail!("{t}: empty host");
    }
    let port: u16 = port.parse().map_err(|_| anyhow!("{t}: port must be 1-65535"))?;
    if port == 0 {
        bail!("{t}: port must be 1-65535");
    }
    Ok((host.to_string(), port))
}

async fn connect(cmd: TlsCommand) -> anyhow::Result<()> {
    let TlsCommand::Connect {
        target,
        ca,
        servername,
        keylog,
        insecure,
        tls12,
        tls13,
        userspace,
        timeout,
    } = cmd
    else {
        unreachable!("called for connect only")
    };
    let (host, port) = split_target(&target)?;
    let name = servername.unwrap_or_else(|| host.clone());
    let server_name = ServerName::try_from(name.clone())
        .map_err(|_| anyhow!("{name}: not a valid DNS name or IP address"))?;
    let ca_files = if ca.is_empty() {
        if !std::path::Path::new(SYSTEM_CA_BUNDLE).exists() {
            bail!("no --ca given and no system bundle at {SYSTEM_CA_BUNDLE}");
        }
        vec![PathBuf::from(SYSTEM_CA_BUNDLE)]
    } else {
        ca
    };
    let roots = tlsdiag::roots_from_pem(&ca_files).map_err(|e| anyhow!(e))?;
    let verifier = tlsdiag::RecordingVerifier::new(Arc::new(roots), insecure).map_err(|e| anyhow!(e))?;
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12 {
        &[&rustls::version::TLS12]
    } else if tls13 {
        &[&rustls::version::TLS13]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .context("TLS versions")?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
    config.enable_secret_extraction = true;
    if let Some(path) = &keylog {
        config.key_log = Arc::new(
            tlsdiag::KeyLogFile::create(path).with_context(|| format!("key log {}", path.display()))?,
        );
        eprintln!(
            "WARNING: writing session keys to {} (NSS key log); delete it after use",
            path.display()
        );
    }
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {host}"))?
        .next()
        .ok_or_else(|| anyhow!("{host}: no address"))?;
    let limit = Duration::from_secs(timeout);
    // Probe first (its test sockets move the counters), then snapshot, so
    // the deltas printed at the end are this connection's alone.
    let _ = ktls_offload::probe();
    let stat_before = ktls_offload::tls_stat();
    let tcp = tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow!("TCP connect to {addr} timed out after {timeout}s"))?
        .with_context(|| format!("TCP connect to {addr}"))?;
    let opts = ktls_offload::Options {
        mode: if userspace {
            ktls_offload::Mode::Userspace
        } else {
            ktls_offload::Mode::Auto
        },
        ..Default::default()
    };
    let hs = tokio::time::timeout(
        limit,
        ktls_offload::connect(Arc::new(config), server_name, tcp, &opts),
    )
    .await
    .map_err(|_| anyhow!("TLS handshake with {addr} timed out after {timeout}s"));
    let validation = verifier.verdict();
    let stream = match hs? {
        Ok(s) => s,
        Err(e) => {
            if let tlsdiag::Verdict::Invalid(why) = validation {
                bail!("certificate validation failed for {name}: {why}");
            }
            return Err(anyhow!(e).context(format!("TLS handshake with {addr}")));
        }
    };
    let info = stream.info().clone();
    eprintln!("connected:   {addr} (SNI {name})");
    eprintln!("protocol:    {}", info.version);
    eprintln!("cipher:      {}", info.suite);
    eprintln!("resumed:     {}", if info.resumed { "yes" } else { "no" });
    eprintln!("data path:   {}", info.path);
    eprintln!(
        "kTLS:        {}",
        if stream.is_kernel() {
            "engaged (kernel encrypts and decrypts)"
        } else {
            "not engaged"
        }
    );
    for (i, der) in info.peer_certificates.iter().enumerate() {
        eprintln!("certificate {i}:");
        match tlsdiag::CertSummary::from_der(der) {
            Ok(s) => eprintln!("{s}"),
            Err(e) => eprintln!("  (unparsable: {e})"),
        }
    }
    match &validation {
        tlsdiag::Verdict::Valid => {
            eprintln!("validation:  OK (chain to a trusted CA, name {name} matches, in validity)")
        }
        tlsdiag::Verdict::Invalid(why) => {
            eprintln!("validation:  FAILED: {why} (continuing: --insecure)")
        }
        tlsdiag::Verdict::NotChecked => eprintln!("validation:  not performed (resumed session)"),
    }
    eprintln!("---");
    let (mut rd, mut wr) = tokio::io::split(stream);
    // What arrives goes to stdout until close_notify (or an error).
    let mut reader = tokio::spawn(async move {
        let mut out = tokio::io::stdout();
        let mut buf = vec![0u8; 16 * 1024];
        let mut total = 0u64;
        loop {
            let n = rd.read(&mut buf).await.context("reading from the peer")?;
            if n == 0 {
                return anyhow::Ok(total);
            }
            total += n as u64;
            out.write_all(&buf[..n]).await?;
            out.flush().await?;
        }
    });
    // stdin goes to the peer; at its end we send close_notify and keep
    // reading until the peer closes too.
    let writer = async move {
        let mut stdin = tokio::io::stdin();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = stdin.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            wr.write_all(&buf[..n]).await?;
        }
        wr.shutdown().await?;
        anyhow::Ok(())
    };
    let total = tokio::select! {
        r = &mut reader => r??,
        w = writer => {
            w.context("sending to the peer")?;
            reader.await??
        }
    };
    eprintln!("---");
    eprintln!("peer closed the connection (close_notify) after {total} bytes");
    print_counters(stat_before);
    Ok(())
}

/// Prints how the kernel's kTLS counters moved during the connection.
fn print_counters(before: Option<Vec<(String, u64)>>) {
    let (Some(before), Some(after)) = (before, ktls_offload::tls_stat()) else {
        return;
    };
    let moved: Vec<String> = after
        .iter()
        .filter_map(|(k, v)| {
            let b = before.iter().find(|(n, _)| n == k).map(|(_, b)| *b).unwrap_or(0);
            (*v > b).then(|| format!("{k} +{}", v - b))
        })
        .collect();
    eprintln!(
        "kernel TLS counters for this connection: {}",
        if moved.is_empty() {
            "none".into()
        } else {
            moved.join(", ")
        }
    );
}

#[cfg(test)]
mod tests {
    use super::split_target;

    #[test]
    fn targets() {
        assert_eq!(
            split_target("example.net:5061").unwrap(),
            ("example.net".into(), 5061)
        );
        assert_eq!(split_target("[::1]:443").unwrap(), ("::1".into(), 443));
        assert!(split_target("example.net").is_err());
        assert!(split_target(":443").is_err());
        assert!(split_target("h:0").is_err());
        assert!(split_target("h:70000").is_err());
        assert!(split_target("[::1]443").is_err());
    }
}
