//! `dgw cwmpd`: the TR-069 agent (Cwmp).
//!
//! Reads `Cwmp.*` from confd, finds the ACS (`Cwmp.AcsStaticUrl`, or the
//! URL the DHCP client's hook wrote from option 43), builds TLS from the
//! Cwmp policy (waiting for the clock when HostName validation needs it),
//! and runs the agent: sessions, the parameter RPCs applied through confd
//! all or nothing, the connection-request server, value changes from
//! confd's `Changed` signal, Reboot and FactoryReset through the system.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use cwmpd::agent::{self, AgentConfig, AgentEvent, Executor, Trigger};
use cwmpd::datamodel::{DeviceInfo, Runtime, State};
use cwmpd::events::PendingTransfer;
use cwmpd::rpc::{ConfigSink, LocalRpc};
use cwmpd::session::AcsTarget;
use params::Config;
use pki::Service;
use tokio::sync::{broadcast, mpsc};

use crate::confsource::Source;

#[derive(Args)]
pub struct CwmpdArgs {
    /// Bus where confd serves the configuration (`system`, `session`, or an address).
    #[arg(long, default_value = "system")]
    bus: String,
    /// Certificate stores (trusted CAs for the ACS).
    #[arg(long, default_value = crate::cert::DEFAULT_CERT_STORE)]
    cert_store: PathBuf,
    /// The agent's state (events owed to the ACS, instance numbers, ...).
    #[arg(long, default_value = "/var/lib/dgw/cwmp")]
    state_dir: PathBuf,
    /// The ACS URL from DHCP option 43, written by the DHCP client's hook
    /// (used when Cwmp.AcsUrlConfigSource is Dhcp).
    #[arg(long, default_value = "/run/dgw/dhcp/acs-url")]
    dhcp_acs_file: PathBuf,
    /// Marks that the agent ran since boot (on a tmpfs): its absence means
    /// this start is a boot (`1 BOOT`), not a service restart.
    #[arg(long, default_value = "/run/dgw/cwmpd.started")]
    boot_marker: PathBuf,
    /// Command run for the ACS's Reboot (after the session).
    #[arg(long, default_value = "systemctl reboot")]
    reboot_command: String,
    /// Address of the connection-request server.
    #[arg(long, default_value = "0.0.0.0")]
    listen: IpAddr,
    /// The unit's serial number (default: from /etc/machine-id).
    #[arg(long)]
    serial_number: Option<String>,
    /// Where downloaded firmware images wait for the installer.
    #[arg(long, default_value = "/var/lib/dgw/firmware")]
    firmware_dir: PathBuf,
    /// kTLS toward the ACS: auto, userspace or kernel.
    #[arg(long, default_value = "auto")]
    ktls: String,
}

pub fn run(a: CwmpdArgs) -> i32 {
    crate::logger::init();
    crate::block_on_command("dgw cwmpd", serve(a))
}

/// confd's ApplyScript, called from the (synchronous) RPC code on the
/// multi-threaded runtime.
struct ConfdSink {
    proxy: confd::Config1Proxy<'static>,
    /// When the ACS last changed the configuration: its own changes must not
    /// come back to it as value changes (TR-069 §3.2.1).
    last_apply: Arc<Mutex<Option<Instant>>>,
}

impl ConfigSink for ConfdSink {
    fn apply(&mut self, script: &str) -> Result<(), String> {
        let proxy = self.proxy.clone();
        let r = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(proxy.apply_script(script, false))
        });
        *self.last_apply.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        r.map(|_| ()).map_err(|e| e.to_string())
    }
}

struct SystemExecutor {
    reboot_command: String,
    source: Arc<Source>,
    /// Downloads and uploads: TLS from the Cwmp policy, the installer.
    transfers: cwmpd::transfer::TransferContext,
    /// The data model's state (ParameterKey, attributes, instance numbers):
    /// gone after a factory reset (TR-181: the ParameterKey is then empty).
    datamodel_state: PathBuf,
}

impl Executor for SystemExecutor {
    fn reboot(&self) {
        log::warn!(target: "cwmpd", "rebooting at the ACS's request: {}", self.reboot_command);
        let mut parts = self.reboot_command.split_whitespace();
        if let Some(cmd) = parts.next() {
            if let Err(e) = std::process::Command::new(cmd).args(parts).status() {
                log::error!(target: "cwmpd", "reboot command failed: {e}");
            }
        }
    }

    fn factory_reset(&self) {
        log::warn!(target: "cwmpd", "factory reset at the ACS's request");
        let _ = std::fs::remove_file(&self.datamodel_state);
        if let Source::Confd(p, _) = &*self.source {
            let p = p.clone();
            let r =
                tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(p.factory_reset()));
            if let Err(e) = r {
                log::error!(target: "cwmpd", "factory reset through confd failed: {e}");
            }
        }
        self.reboot();
    }

    async fn download(&self, request: cwmp::Download) -> PendingTransfer {
        cwmpd::transfer::download(&request, &self.transfers).await
    }

    async fn upload(&self, request: cwmp::Upload) -> PendingTransfer {
        cwmpd::transfer::upload(&request, &self.transfers).await
    }
}

/// What transfers install and upload on the unit: configuration scripts
/// through confd (all or nothing), firmware images into the installer's
/// directory (the A/B installer takes them from there), the configuration
/// export without secrets, and the services' log from the journal.
struct UnitInstaller {
    proxy: Option<confd::Config1Proxy<'static>>,
    firmware: cwmpd::transfer::FileInstaller,
}

impl cwmpd::transfer::Installer for UnitInstaller {
    fn install_firmware(&self, image: &Path) -> Result<(), cwmpd::transfer::TransferError> {
        self.firmware.install_firmware(image)
    }

    fn apply_configuration(&self, script: &str) -> Result<(), cwmpd::transfer::TransferError> {
        use cwmpd::transfer::TransferError;
        let Some(p) = &self.proxy else {
            return Err(TransferError::new(cwmp::FaultCode::INTERNAL_ERROR, "no confd"));
        };
        // Called on the blocking pool: block on the D-Bus call here.
        tokio::runtime::Handle::current()
            .block_on(p.apply_script(script, false))
            .map(|_| ())
            .map_err(|e| {
                // confd's error names lines and parameters, never values.
                TransferError::new(
                    cwmp::FaultCode::FILE_CORRUPTED,
                    format!("configuration refused: {e}"),
                )
            })
    }

    fn upload_source(&self, file_type: &str) -> Result<Vec<u8>, cwmpd::transfer::TransferError> {
        use cwmpd::transfer::TransferError;
        let fail = |w: String| TransferError::new(cwmp::FaultCode::UPLOAD_FAILURE, w);
        if file_type.starts_with("1 Vendor Configuration File") {
            let Some(p) = &self.proxy else {
                return Err(fail("no confd".into()));
            };
            return tokio::runtime::Handle::current()
                .block_on(p.export())
                .map(String::into_bytes)
                .map_err(|e| fail(e.to_string()));
        }
        if file_type.starts_with("2 Vendor Log File") {
            let out = std::process::Command::new("journalctl")
                .args(["--no-pager", "-o", "short-iso", "-n", "5000", "-u", "dgw-*"])
                .output()
                .map_err(|e| fail(format!("journalctl: {e}")))?;
            return Ok(out.stdout);
        }
        Err(fail(format!("file type {file_type:?} is not uploaded")))
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn serial(a: &CwmpdArgs) -> String {
    if let Some(s) = &a.serial_number {
        return s.clone();
    }
    std::fs::read_to_string("/etc/machine-id")
        .ok()
        .map(|m| m.trim().chars().take(12).collect::<String>().to_uppercase())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "UNKNOWN".into())
}

/// The ACS URL the configuration points at, or why there is none yet.
fn acs_url(cfg: &Config, dhcp_file: &Path) -> Result<String, String> {
    let get = |n: &str| cfg.get(n).unwrap_or_default();
    if get("Cwmp.AcsUrlConfigSource").eq_ignore_ascii_case("Static") {
        let u = get("Cwmp.AcsStaticUrl");
        return if u.is_empty() {
            Err("Cwmp.AcsStaticUrl is empty".into())
        } else {
            Ok(u)
        };
    }
    // DHCP option 43, sub-option 1, as the dhclient hook wrote it.
    let text = std::fs::read_to_string(dhcp_file)
        .map_err(|_| format!("no ACS URL from DHCP yet ({})", dhcp_file.display()))?;
    let u = text.lines().next().unwrap_or_default().trim().to_string();
    if params::check::http_url(&u).is_err() || u.is_empty() {
        return Err(format!("{}: not an http(s) URL", dhcp_file.display()));
    }
    Ok(u)
}

/// The unit's certificates for `Device.Security.Certificate.` (the Host
/// store's and the trusted CAs), read from the stores.
fn certificates(store: &Path) -> Vec<cwmpd::datamodel::Certificate> {
    let Ok(s) = pki::CertStore::open(store) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for h in s.list_host().unwrap_or_default() {
        out.push(cwmpd::datamodel::Certificate {
            id: format!("host/{}", h.file_name),
            serial_number: String::new(),
            issuer: h.issued_by,
            subject: h.issued_to,
            subject_alt: h.subject_alt_names,
            not_before: h.not_before,
            not_after: h.not_after,
            signature_algorithm: String::new(),
            last_modif: None,
        });
    }
    for o in s.list_others().unwrap_or_default() {
        out.push(cwmpd::datamodel::Certificate {
            id: format!("ca/{}#{}", o.file_name, o.position),
            serial_number: String::new(),
            issuer: o.issued_by,
            subject: o.issued_to,
            subject_alt: Vec::new(),
            not_before: o.not_before,
            not_after: o.not_after,
            signature_algorithm: String::new(),
            last_modif: None,
        });
    }
    out
}

async fn runtime(source: &Source, cfg: &Config, serial: &str, cr_url: &str) -> Runtime {
    let mut status = std::collections::BTreeMap::new();
    for p in params::schema::PARAMS {
        if p.access == params::schema::Access::ReadOnly {
            let name = p.full_name();
            if let Some(v) = source.status(&name).await {
                status.insert(name, v);
            }
        }
    }
    let _ = cfg;
    Runtime {
        device: DeviceInfo {
            manufacturer: "dgw".into(),
            manufacturer_oui: "000000".into(),
            model_name: "dgw".into(),
            description: "dgw secure VoIP gateway".into(),
            product_class: "DGW".into(),
            serial_number: serial.into(),
            hardware_version: std::env::consts::ARCH.into(),
            software_version: env!("CARGO_PKG_VERSION").into(),
        },
        up_time: std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|u| u.split('.').next().and_then(|s| s.parse().ok()))
            .unwrap_or(0),
        now: Some(now_unix()),
        connection_request_url: cr_url.into(),
        status,
        certificates: certificates(Path::new(&CERT_STORE.get().cloned().unwrap_or_default())),
    }
}

/// The certificate store, for the runtime facts (set once at start).
static CERT_STORE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

async fn serve(a: CwmpdArgs) -> Result<(), String> {
    let _ = CERT_STORE.set(a.cert_store.clone());
    let source = Arc::new(Source::open(&a.bus, None).await?);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    let mut cfg = source.load().await?;
    if !cfg
        .get("Cwmp.Enable")
        .unwrap_or_default()
        .eq_ignore_ascii_case("Enable")
    {
        log::info!(target: "cwmpd", "Cwmp.Enable is Disable: the agent does not run");
        confd::sd_notify("READY=1\nSTATUS=disabled (Cwmp.Enable)");
        let _ = term.recv().await;
        return Ok(());
    }
    confd::sd_notify("READY=1\nSTATUS=looking for the ACS");
    // The ACS URL and its TLS: wait for what is missing.
    let (url, tls) = loop {
        let found = acs_url(&cfg, &a.dhcp_acs_file).and_then(|u| {
            let parsed = httpwire::Url::parse(&u).map_err(|e| format!("ACS URL {u}: {e}"))?;
            Ok((u, parsed))
        });
        match found {
            Ok((text, parsed)) => {
                if parsed.scheme() == httpwire::Scheme::Http {
                    log::warn!(target: "cwmpd", "the ACS URL {text} is plain HTTP: use https");
                    break (parsed, None);
                }
                match cwmp_tls(&source, &cfg, &a.cert_store).await {
                    Ok(c) => break (parsed, Some(c)),
                    Err(pki::PolicyError::WaitingForTimeSync) => {
                        confd::sd_notify("STATUS=waiting for time synchronization");
                    }
                    Err(e) => return Err(format!("TLS toward the ACS: {e}")),
                }
            }
            Err(why) => confd::sd_notify(&format!("STATUS={why}")),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = term.recv() => return Ok(()),
        }
        cfg = source.load().await?;
    };
    let mut ktls = ktls_offload::Options::default();
    ktls.mode = match a.ktls.as_str() {
        "userspace" => ktls_offload::Mode::Userspace,
        "kernel" => ktls_offload::Mode::Kernel,
        _ => ktls_offload::Mode::Auto,
    };
    std::fs::create_dir_all(&a.state_dir).map_err(|e| format!("{}: {e}", a.state_dir.display()))?;
    let boot = !a.boot_marker.exists();
    if let Some(dir) = a.boot_marker.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&a.boot_marker, b"");
    let serial = serial(&a);
    let port: u16 = cfg
        .get("Cwmp.ListeningPort")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(7547);
    // The connection-request path: a random secret made once and kept
    // (scanners of port 7547 get 404 before any authentication).
    let path_file = a.state_dir.join("connection-request-path");
    let cr_path = match std::fs::read_to_string(&path_file) {
        Ok(p) if p.trim().starts_with('/') => p.trim().to_string(),
        _ => {
            let p = cwmpd::connreq::random_path().map_err(|e| e.to_string())?;
            params::store::write_file_atomic(&path_file, p.as_bytes(), 0o600)
                .map_err(|e| format!("{}: {e}", path_file.display()))?;
            p
        }
    };
    let local_ip = local_ip_toward(&url).await.unwrap_or(a.listen);
    let cr_url = cwmpd::connreq::ConnectionRequestUrl::new(local_ip, port, &cr_path).to_string();
    let listener = tokio::net::TcpListener::bind((a.listen, port))
        .await
        .map_err(|e| format!("connection-request port {port}: {e}"))?;
    let (cr_tx, cr_rx) = tokio::sync::watch::channel(cr_config_of(&cfg, &cr_path));
    let (cr_trigger, mut cr_triggers) = mpsc::channel::<()>(1);
    tokio::spawn(cwmpd::connreq::serve(listener, cr_rx, cr_trigger));
    let rt = runtime(&source, &cfg, &serial, &cr_url).await;
    let state_path = a.state_dir.join("datamodel.json");
    let dm_state = State::load(&state_path).unwrap_or_else(|e| {
        log::error!(target: "cwmpd", "{e}; starting the data model state afresh");
        State::default()
    });
    // PeriodicInformTime as the ACS set it (applies from the next start).
    let periodic_reference = dm_state
        .periodic_inform_time
        .as_ref()
        .map(|t| t.to_unix())
        .filter(|t| *t > 0);
    let mut rpc = LocalRpc::new(cfg.clone(), rt, dm_state);
    rpc.state_path = Some(state_path);
    let last_apply = Arc::new(Mutex::new(None));
    if let Source::Confd(p, _) = &*source {
        rpc.sink = Some(Box::new(ConfdSink {
            proxy: p.clone(),
            last_apply: last_apply.clone(),
        }));
        let src = source.clone();
        let (serial2, cr2) = (serial.clone(), cr_url.clone());
        rpc.refresh = Some(Box::new(move || {
            let src = src.clone();
            let (serial2, cr2) = (serial2.clone(), cr2.clone());
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async move {
                    let cfg = src.load().await.ok()?;
                    let rt = runtime(&src, &cfg, &serial2, &cr2).await;
                    Some((cfg, rt))
                })
            })
        }));
    }
    let (tx, rx) = mpsc::channel(8);
    let (events, mut ev_rx) = broadcast::channel(64);
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            while cr_triggers.recv().await.is_some() {
                let _ = tx.send(Trigger::ConnectionRequest).await;
            }
        });
    }
    // Value changes: on confd's Changed signal, compare with the last
    // snapshot under the ACS's notification attributes (saved by the agent):
    // active ones open a session, all are reported in the next Inform. The
    // ACS's own changes only move the snapshot (TR-069 §3.2.1).
    if let Source::Confd(p, _) = &*source {
        let p = p.clone();
        let tx = tx.clone();
        let last_apply = last_apply.clone();
        let changed = rpc.changed.clone();
        let src = source.clone();
        let state_path = a.state_dir.join("datamodel.json");
        let (serial2, cr2) = (serial.clone(), cr_url.clone());
        let mut baseline = cfg.clone();
        let cr_path2 = cr_path.clone();
        let cr_tx = cr_tx.clone();
        tokio::spawn(async move {
            let Ok(mut signals) = p.receive_changed().await else {
                return;
            };
            use futures_util::StreamExt;
            while signals.next().await.is_some() {
                let Ok(now) = src.load().await else { continue };
                let own = last_apply
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(3));
                if !own {
                    let rt = runtime(&src, &now, &serial2, &cr2).await;
                    let st = State::load(&state_path).unwrap_or_default();
                    let vc = cwmpd::datamodel::DataModel::changed_notifying(
                        &cwmpd::datamodel::DataModel::new(&baseline, &rt, &st),
                        &cwmpd::datamodel::DataModel::new(&now, &rt, &st),
                    );
                    let active = !vc.active.is_empty();
                    {
                        let mut c = changed.lock().unwrap_or_else(|p| p.into_inner());
                        c.extend(vc.active);
                        c.extend(vc.passive);
                    }
                    if active {
                        let _ = tx.try_send(Trigger::ValueChange);
                    }
                }
                let _ = cr_tx.send(cr_config_of(&now, &cr_path2));
                baseline = now;
            }
        });
    }
    tokio::spawn(async move {
        while let Ok(e) = ev_rx.recv().await {
            match e {
                AgentEvent::SessionDone { events, requests } => {
                    log::info!(target: "cwmpd", "session done: events {events:?}, ACS requests {requests:?}")
                }
                AgentEvent::SessionFailed { error, retry_in } => {
                    log::warn!(target: "cwmpd", "session failed: {error}; retry in {retry_in:?}")
                }
                AgentEvent::Executed(d) => log::info!(target: "cwmpd", "executed {d:?}"),
            }
        }
    });
    let periodic = cfg
        .get("Cwmp.PeriodicInformEnable")
        .ok()
        .filter(|v| v.eq_ignore_ascii_case("Enable"))
        .and_then(|_| cfg.get("Cwmp.PeriodicInformInterval").ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let agent_cfg = AgentConfig {
        acs: AcsTarget {
            url,
            username: cfg.get_secret("Cwmp.AcsUsername").unwrap_or_default(),
            password: cfg.get_secret("Cwmp.AcsPassword").unwrap_or_default(),
            tls,
            ktls,
            timeout: cwmpd::session::EXCHANGE_TIMEOUT,
        },
        device: cwmp::DeviceId {
            manufacturer: "dgw".into(),
            oui: "000000".into(),
            product_class: "DGW".into(),
            serial_number: serial,
        },
        periodic,
        periodic_reference,
        retry: cwmpd::retry::RetryPolicy::default(),
        state_path: a.state_dir.join("events.json"),
        boot,
    };
    let transfer_tls = match &agent_cfg.acs.tls {
        Some(t) => Some(t.clone()),
        None => cwmp_tls(&source, &cfg, &a.cert_store).await.ok(),
    };
    let transfers = cwmpd::transfer::TransferContext {
        tls: transfer_tls,
        ktls: agent_cfg.acs.ktls.clone(),
        work_dir: a.state_dir.join("transfers"),
        max_size: cwmpd::agent::DEFAULT_MAX_DOWNLOAD,
        installer: Arc::new(UnitInstaller {
            proxy: match &*source {
                Source::Confd(p, _) => Some(p.clone()),
                Source::Store(_) => None,
            },
            firmware: cwmpd::transfer::FileInstaller::new(&a.firmware_dir),
        }),
        timeout: Duration::from_secs(600),
    };
    let exec = Arc::new(SystemExecutor {
        transfers,
        reboot_command: a.reboot_command.clone(),
        source: source.clone(),
        datamodel_state: a.state_dir.join("datamodel.json"),
    });
    confd::sd_notify(&format!("STATUS=agent running toward {}", agent_cfg.acs.url));
    let agent = tokio::spawn(agent::run(agent_cfg, rpc, exec, rx, events));
    let _ = term.recv().await;
    confd::sd_notify("STOPPING=1");
    let _ = tx.send(Trigger::Stop).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), agent).await;
    Ok(())
}

/// The TLS client configuration of the Cwmp policy (toward the ACS and
/// its file servers).
async fn cwmp_tls(
    source: &Source,
    cfg: &Config,
    cert_store: &Path,
) -> Result<Arc<rustls::ClientConfig>, pki::PolicyError> {
    let clock = source.clock_synchronized().await;
    let get = |n: &str| -> Option<String> {
        if n == pki::settings::CLOCK_SYNCHRONIZED {
            return Some(if clock { "Yes" } else { "No" }.into());
        }
        cfg.get(n).ok()
    };
    let snap = pki::CertStore::open(cert_store)
        .and_then(|s| {
            s.snapshot(
                pki::settings::trust_system_cas(&get),
                pki::settings::system_ca_bundle().as_deref(),
            )
        })
        .map_err(|e| pki::PolicyError::Config(format!("certificate store: {e}")))?;
    pki::settings::client_policy(Service::Cwmp, &get).and_then(|p| pki::client_config(&p, &snap))
}

/// The connection-request server's settings from the configuration
/// (credentials change live).
fn cr_config_of(c: &Config, path: &str) -> cwmpd::connreq::ConnReqConfig {
    cwmpd::connreq::ConnReqConfig::new(
        &c.get_secret("Cwmp.ConnectionRequestUsername").unwrap_or_default(),
        &c.get_secret("Cwmp.ConnectionRequestPassword").unwrap_or_default(),
        path,
    )
}

/// The local address the unit uses toward the ACS (for the connection
/// request URL it reports).
async fn local_ip_toward(url: &httpwire::Url) -> Option<IpAddr> {
    let host = url
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addr = tokio::net::lookup_host((host.as_str(), url.port()))
        .await
        .ok()?
        .next()?;
    let sock = std::net::UdpSocket::bind(if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }).ok()?;
    sock.connect(addr).ok()?;
    sock.local_addr().ok().map(|a| a.ip())
}
