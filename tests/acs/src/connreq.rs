//! The ACS side of a Connection Request (TR-069 §3.2.2): an HTTP GET to the CPE's
//! ConnectionRequestURL, answering its digest challenge.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context as _};
use httpwire::{Client, Credentials, RequestHead, Scheme, Url};
use tokio::net::TcpStream;

/// Sends a Connection Request to `url` with `username`/`password` and returns the final HTTP
/// status: 200 or 204 when the CPE accepted it, 401 when it refused the credentials (after
/// the client answered one challenge), 503 when it is rate limiting.
///
/// Digest is answered (the strongest algorithm the CPE offers); Basic is never sent, since
/// TR-069 requires digest for Connection Requests and the URL is plain HTTP. The whole
/// exchange is bounded by `timeout`.
///
/// Only loopback addresses are contacted (`127.0.0.0/8`, `::1`, `localhost`): this is a test
/// tool and must never send traffic off the machine.
pub async fn connection_request(
    url: &str,
    username: &str,
    password: &str,
    timeout: Duration,
) -> anyhow::Result<u16> {
    let url = Url::parse(url).with_context(|| format!("ConnectionRequestURL {url:?}"))?;
    if url.scheme() != Scheme::Http {
        bail!(
            "a ConnectionRequestURL is http (TR-069 3.2.2), not {}",
            url.scheme().as_str()
        );
    }
    let ip = loopback(url.host())?;
    let run = async {
        let tcp = TcpStream::connect(SocketAddr::new(ip, url.port()))
            .await
            .context("connect to the ConnectionRequestURL")?;
        let mut client = Client::new(tcp);
        client.set_credentials(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        });
        let mut head = RequestHead::new("GET", url.target())?;
        head.headers_mut().append("Host", &url.host_header())?;
        let resp = client.send(&head, b"").await.context("Connection Request")?;
        anyhow::Ok(resp.status())
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| anyhow::anyhow!("Connection Request took over {timeout:?}"))?
}

/// The address of a loopback host, or an error for anything else.
fn loopback(host: &str) -> anyhow::Result<IpAddr> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .with_context(|| format!("host {host:?} is not an IP address or localhost"))?;
    if !ip.is_loopback() {
        bail!("refusing to contact {ip}: the test ACS only talks to loopback");
    }
    Ok(ip)
}
