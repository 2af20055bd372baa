//! `dgw sipd`: the SIP service (SipEp).
//!
//! Reads the SipEp parameters from confd (or, offline, from a store),
//! builds the TLS configurations from the certificate stores and the TLS
//! policy, waits for the clock when validation needs it (the DGW's
//! "Waiting for time synchronization"), runs [`sipd::Sipd`], and reports
//! its status tables back to confd. SIGTERM unregisters and stops.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use params::Config;
use pki::Service;
use sipd::{GatewayState, SipConfig, Sipd, SipdOptions, Status, Transport};

use crate::confsource::Source;

#[derive(Args)]
pub struct SipdArgs {
    /// Bus where confd serves the configuration: `system` (default),
    /// `session`, or a D-Bus address.
    #[arg(long, default_value = "system")]
    bus: String,
    /// Read the configuration from this store instead of confd (no D-Bus;
    /// status is then only logged).
    #[arg(long)]
    store: Option<PathBuf>,
    /// Certificate stores (host certificates and trusted CAs).
    #[arg(long, default_value = crate::cert::DEFAULT_CERT_STORE)]
    cert_store: PathBuf,
    /// Address to listen on and connect from.
    #[arg(long, default_value = "0.0.0.0")]
    bind: std::net::IpAddr,
    /// Data path after the handshake: auto (kTLS where the kernel can),
    /// userspace, or kernel (kTLS or fail).
    #[arg(long, default_value = "auto")]
    ktls: String,
    /// Treat the clock as synchronised without asking confd (offline
    /// diagnostics with --store only).
    #[arg(long, requires = "store")]
    assume_clock_synchronized: bool,
}

/// Reports sipd's status to confd, and its TLS connections to hostd's
/// Ready LED (steady when all are up; hostd may not run on a workstation,
/// which is not an error for SIP).
async fn publish(source: &Source, status: &Status) {
    source.set_status(&status.as_params(), "sipd").await;
    let Some(conn) = source.connection() else {
        return;
    };
    let rows = status.connections();
    let up = rows
        .iter()
        .filter(|r| r.state == sipd::ConnectionState::Up)
        .count() as u32;
    let r = conn
        .call_method(
            Some("net.dgw.Host"),
            "/net/dgw/Host/Leds",
            Some("net.dgw.Leds1"),
            "ReportTlsConnections",
            &("SipEp", rows.len() as u32, up),
        )
        .await;
    if let Err(e) = r {
        log::debug!(target: "sipd", "reporting TLS connections to hostd: {e}");
    }
}

pub fn run(a: SipdArgs) -> i32 {
    crate::logger::init();
    crate::block_on_command("dgw sipd", serve(a))
}

fn ktls_mode(s: &str) -> Result<ktls_offload::Mode, String> {
    Ok(match s {
        "auto" => ktls_offload::Mode::Auto,
        "userspace" => ktls_offload::Mode::Userspace,
        "kernel" => ktls_offload::Mode::Kernel,
        o => return Err(format!("--ktls {o:?}: expected auto, userspace or kernel")),
    })
}

/// What stops the TLS set-up.
enum TlsSetup {
    Ready(SipdOptions),
    WaitForClock,
    Invalid(String),
}

fn tls_setup(cfg: &Config, a: &SipdArgs, clock: bool) -> TlsSetup {
    let mut opts = SipdOptions {
        bind: a.bind,
        ..SipdOptions::default()
    };
    match ktls_mode(&a.ktls) {
        Ok(m) => opts.ktls.mode = m,
        Err(e) => return TlsSetup::Invalid(e),
    }
    let get = |n: &str| -> Option<String> {
        if n == pki::settings::CLOCK_SYNCHRONIZED && clock {
            return Some("Yes".into());
        }
        cfg.get(n).ok()
    };
    let store = match pki::CertStore::open(&a.cert_store) {
        Ok(s) => s,
        Err(e) => return TlsSetup::Invalid(format!("certificate store {}: {e}", a.cert_store.display())),
    };
    let bundle = pki::settings::system_ca_bundle();
    let snap = match store.snapshot(pki::settings::trust_system_cas(&get), bundle.as_deref()) {
        Ok(s) => s,
        Err(e) => return TlsSetup::Invalid(format!("certificate store: {e}")),
    };
    for p in snap.problems() {
        log::warn!(target: "sipd", "certificate store: {p}");
    }
    let client = pki::settings::client_policy(Service::Sip, &get).and_then(|p| pki::client_config(&p, &snap));
    match client {
        Ok(c) => opts.tls_client = Some(c),
        Err(pki::PolicyError::WaitingForTimeSync) => return TlsSetup::WaitForClock,
        Err(e) => return TlsSetup::Invalid(e.to_string()),
    }
    let server = pki::settings::server_policy(Service::Sip, &get).and_then(|p| pki::server_config(&p, &snap));
    match server {
        Ok(s) => opts.tls_server = Some(s),
        Err(pki::PolicyError::NoHostCertificate { .. }) => {}
        Err(pki::PolicyError::WaitingForTimeSync) => return TlsSetup::WaitForClock,
        Err(e) => return TlsSetup::Invalid(e.to_string()),
    }
    TlsSetup::Ready(opts)
}

async fn serve(a: SipdArgs) -> Result<(), String> {
    let source = Source::open(&a.bus, a.store.as_deref()).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    let mut cfg = source.load().await?;
    let sip = match SipConfig::from_params(&cfg) {
        Ok(s) => s,
        Err(e) => {
            // Stay up and say why: a restart after the fix picks it up.
            let status = Status::new("default");
            status.set_gateway(GatewayState::InvalidConfiguration(e.to_string()));
            status.notify(
                sipd::status::ids::GATEWAY_FAILED,
                sipd::status::Severity::Error,
                format!("SIP gateway cannot start: Invalid Configuration: {e}"),
            );
            publish(&source, &status).await;
            confd::sd_notify(&format!("READY=1\nSTATUS=Invalid Configuration: {e}"));
            let _ = term.recv().await;
            return Ok(());
        }
    };
    let status = Status::new(&sip.gateway);
    let mut opts = SipdOptions {
        bind: a.bind,
        ..SipdOptions::default()
    };
    opts.ktls.mode = ktls_mode(&a.ktls)?;
    if sip.transport == Transport::Tls {
        let mut announced = false;
        loop {
            let clock = a.assume_clock_synchronized || source.clock_synchronized().await;
            match tls_setup(&cfg, &a, clock) {
                TlsSetup::Ready(o) => {
                    opts = o;
                    break;
                }
                TlsSetup::Invalid(why) => {
                    status.set_gateway(GatewayState::InvalidConfiguration(why.clone()));
                    status.notify(
                        sipd::status::ids::GATEWAY_FAILED,
                        sipd::status::Severity::Error,
                        format!("SIP gateway {} cannot start: {why}", sip.gateway),
                    );
                    publish(&source, &status).await;
                    confd::sd_notify(&format!("READY=1\nSTATUS=Invalid Configuration: {why}"));
                    let _ = term.recv().await;
                    return Ok(());
                }
                TlsSetup::WaitForClock => {
                    if !announced {
                        announced = true;
                        status.set_gateway(GatewayState::WaitingForTimeSync);
                        status.notify(
                            sipd::status::ids::WAITING_FOR_TIME,
                            sipd::status::Severity::Warning,
                            format!(
                                "SIP gateway {} is waiting for time synchronization: the TLS port stays closed",
                                sip.gateway
                            ),
                        );
                        publish(&source, &status).await;
                        confd::sd_notify("READY=1\nSTATUS=Waiting for time synchronization");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = term.recv() => return Ok(()),
                    }
                    cfg = source.load().await?;
                }
            }
        }
    }
    let sipd = Sipd::start_with_status(sip, opts, status.clone())
        .await
        .map_err(|e| e.to_string());
    let sipd = match sipd {
        Ok(s) => s,
        Err(e) => {
            publish(&source, &status).await;
            return Err(e);
        }
    };
    // Status to confd, on every change (coalesced).
    let source = Arc::new(source);
    let publisher = {
        let source = source.clone();
        let status = status.clone();
        let mut events = status.subscribe();
        tokio::spawn(async move {
            publish(&source, &status).await;
            loop {
                match events.recv().await {
                    Ok(sipd::Event::StatusChanged)
                    | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        while events.try_recv().is_ok() {}
                        publish(&source, &status).await;
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        })
    };
    confd::sd_notify(&format!(
        "READY=1\nSTATUS=SIP gateway {} ready on port {}",
        sipd.config().gateway,
        sipd.listen_port()
    ));
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    confd::sd_notify("STOPPING=1");
    sipd.shutdown(Duration::from_secs(5)).await;
    publish(&source, &status).await;
    publisher.abort();
    Ok(())
}
