//! `dgw hostd`: reads its parameters from confd, runs the SNTP client, the
//! time zone, the LEDs and the network watcher, and serves their D-Bus
//! interfaces. Parameter changes apply live (confd's `Changed` signal).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::StreamExt;
use leds::{LedClass, RoleMap};
use timesync::{ConfigSource, SntpConfig, TimeStatus};

use crate::leds_iface::{self, Leds};
use crate::network_iface::{self, NetworkFacts};
use crate::time_iface::{self, Time};

/// How hostd reaches the hardware.
#[derive(Clone, Debug)]
pub struct Options {
    /// LED class directory: `/sys/class/leds`, or a simulated tree.
    pub leds_root: PathBuf,
    /// Set the real system clock (needs CAP_SYS_TIME); otherwise a
    /// simulated clock (workstations, tests).
    pub system_clock: bool,
    /// Where the time zone is installed as a TZif file (the image:
    /// `/etc/localtime`); None leaves the system's zone alone.
    pub localtime: Option<PathBuf>,
    /// Certificate stores (the 802.1X client certificate and CAs).
    pub cert_store: PathBuf,
    /// Runtime directory for the key and certificate files wpa_supplicant
    /// reads (tmpfs; the image: /run/dgw/dot1x).
    pub dot1x_runtime_dir: PathBuf,
    /// The file the DHCP client hook writes the DHCP NTP servers (option
    /// 42) to, one per line (the image: `/run/dgw/dhcp/ntp-servers`).
    pub dhcp_ntp_file: Option<PathBuf>,
}

/// Reads the DHCP-provided NTP servers: one `host[:port]` per line (or
/// separated by spaces, as dhclient's `$new_ntp_servers` is), at most four,
/// bounded in size; anything unparsable is skipped.
pub fn read_dhcp_servers(path: &std::path::Path) -> Vec<String> {
    use std::io::Read;
    let mut text = String::new();
    if std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_string(&mut text))
        .is_err()
    {
        return Vec::new();
    }
    text.split_whitespace()
        .filter(|s| timesync::parse_host_port(s).is_ok())
        .take(4)
        .map(str::to_string)
        .collect()
}

type Get<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The SNTP configuration from the Hoc parameters.
pub fn sntp_config(get: Get<'_>, static_servers: Vec<String>) -> SntpConfig {
    let minutes = |n: &str, d: u64| get(n).and_then(|v| v.parse::<u64>().ok()).unwrap_or(d);
    SntpConfig {
        source: get("Hoc.SntpConfigSource")
            .and_then(|v| ConfigSource::parse(&v))
            .unwrap_or(ConfigSource::Automatic),
        static_servers,
        period: Duration::from_secs(60 * minutes("Hoc.SntpSynchronizationPeriod", 1440)),
        period_on_error: Duration::from_secs(60 * minutes("Hoc.SntpSynchronizationPeriodOnError", 60)),
        ..SntpConfig::default()
    }
}

struct ConfigView {
    values: std::collections::BTreeMap<String, String>,
}

impl ConfigView {
    async fn load(cfg: &confd::Config1Proxy<'_>) -> zbus::Result<ConfigView> {
        let mut values = std::collections::BTreeMap::new();
        for prefix in ["Hoc.", "Eth.", "Cert."] {
            for (name, value, ..) in cfg.list(prefix).await? {
                values.insert(name, value);
            }
        }
        Ok(ConfigView { values })
    }
    fn get(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }
    /// The links with an `Eth.Ieee8021X[Link]` row.
    fn dot1x_links(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .values
            .keys()
            .filter_map(|k| {
                k.strip_prefix("Eth.Ieee8021X[")?
                    .split_once("].")
                    .map(|(l, _)| l.to_string())
            })
            .collect();
        v.dedup();
        v
    }

    /// `Hoc.StaticSntpServers[N].HostName` in priority order.
    fn static_servers(&self) -> Vec<String> {
        let mut rows: Vec<(u32, String)> = self
            .values
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix("Hoc.StaticSntpServers[")?;
                let (n, col) = rest.split_once("].")?;
                if col != "HostName" || v.is_empty() {
                    return None;
                }
                Some((n.parse().ok()?, v.clone()))
            })
            .collect();
        rows.sort();
        rows.into_iter().map(|(_, v)| v).collect()
    }
}

/// Runs hostd until the process is stopped.
pub async fn serve(
    builder: zbus::connection::Builder<'_>,
    opts: Options,
) -> Result<(), Box<dyn std::error::Error>> {
    let conn = builder.name(crate::BUS_NAME)?.build().await?;
    let cfg = confd::Config1Proxy::new(&conn).await?;
    let view = ConfigView::load(&cfg)
        .await
        .map_err(|e| format!("reading the configuration from confd: {e}"))?;

    // LEDs.
    let class = if opts.leds_root == std::path::Path::new("/sys/class/leds") {
        LedClass::sysfs()
    } else {
        LedClass::simulated(&opts.leds_root)
    };
    let roles: RoleMap = view
        .get("Hoc.LedRoles")
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| {
            log::warn!("Hoc.LedRoles: {e}; no LED roles");
            RoleMap::default()
        });
    conn.object_server()
        .at(leds_iface::PATH, Leds::new(&class, roles))
        .await?;

    // Network facts.
    let mut came_up = None;
    match NetworkFacts::start(conn.clone()).await {
        Ok(n) => {
            came_up = n.subscribe_up();
            conn.object_server().at(network_iface::PATH, n).await?;
        }
        Err(e) => log::warn!("network facts unavailable: {e}"),
    }

    // Time and time zone.
    let time = Time::default();
    conn.object_server().at(time_iface::PATH, time.clone()).await?;
    crate::zone::apply(
        &time,
        &view.get("Hoc.StaticTimeZone").unwrap_or_default(),
        opts.localtime.as_deref(),
    );
    let mut first = sntp_config(&|n| view.get(n), view.static_servers());
    if let Some(f) = &opts.dhcp_ntp_file {
        first.dhcp_servers = read_dhcp_servers(f);
    }
    let (cfg_tx, cfg_rx) = tokio::sync::watch::channel(first);
    let cfg_tx = Arc::new(cfg_tx);
    // DHCP option 42, handed over by the DHCP client's hook in a file.
    if let Some(f) = opts.dhcp_ntp_file.clone() {
        let cfg_tx = cfg_tx.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let servers = read_dhcp_servers(&f);
                cfg_tx.send_if_modified(|c| {
                    let changed = c.dhcp_servers != servers;
                    c.dhcp_servers = servers.clone();
                    changed
                });
            }
        });
    }
    let (status_tx, mut status_rx) = tokio::sync::watch::channel(TimeStatus::default());
    if opts.system_clock {
        tokio::spawn(timesync::run(cfg_rx, timesync::SystemClock, status_tx));
    } else {
        tokio::spawn(timesync::run(
            cfg_rx,
            timesync::SimulatedClock::new(timesync::Offset::ZERO),
            status_tx,
        ));
    }
    // 802.1X per link.
    let dot1x = crate::dot1x_iface::Ieee8021x::new(
        conn.clone(),
        opts.dot1x_runtime_dir.clone(),
        opts.cert_store.clone(),
    );
    conn.object_server()
        .at(crate::dot1x_iface::PATH, dot1x.clone())
        .await?;
    let synced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    dot1x
        .apply(crate::dot1x_iface::link_configs(
            &|n| view.get(n),
            &view.dot1x_links(),
            false,
        ))
        .await;
    // A cable plugged back: authenticate that link again.
    if let Some(mut rx) = came_up {
        let dot1x = dot1x.clone();
        let cfg = cfg.clone();
        let synced = synced.clone();
        tokio::spawn(async move {
            while let Ok(link) = rx.recv().await {
                if dot1x.restart_link(&link).await {
                    if let Ok(view) = ConfigView::load(&cfg).await {
                        let c = crate::dot1x_iface::link_configs(
                            &|n| view.get(n),
                            &view.dot1x_links(),
                            synced.load(std::sync::atomic::Ordering::SeqCst),
                        );
                        dot1x.apply(c).await;
                    }
                }
            }
        });
    }
    // SNTP status → Time1 properties, its signal, and confd's status values.
    {
        let conn = conn.clone();
        let cfg = cfg.clone();
        let time = time.clone();
        let dot1x = dot1x.clone();
        let synced = synced.clone();
        tokio::spawn(async move {
            let mut last = (false, String::new());
            while status_rx.changed().await.is_ok() {
                let st = status_rx.borrow_and_update().clone();
                let source = st.current_source.clone().unwrap_or_default();
                {
                    let mut t = time.state.lock().unwrap_or_else(|p| p.into_inner());
                    t.synchronized = st.synchronised;
                    t.source = source.clone();
                    t.last_offset = st.last_offset.map(|o| o.as_secs_f64()).unwrap_or(0.0);
                    t.last_error = st
                        .last_error
                        .as_ref()
                        .map(|e| format!("{e:?}"))
                        .unwrap_or_default();
                }
                let now = (st.synchronised, source.clone());
                if now != last {
                    if now.0 != last.0 {
                        // 802.1X with TrustedAndValid waits for the clock.
                        synced.store(st.synchronised, std::sync::atomic::Ordering::SeqCst);
                        if let Ok(view) = ConfigView::load(&cfg).await {
                            let c = crate::dot1x_iface::link_configs(
                                &|n| view.get(n),
                                &view.dot1x_links(),
                                st.synchronised,
                            );
                            dot1x.apply(c).await;
                        }
                    }
                    last = now;
                    let yes = if st.synchronised { "Yes" } else { "No" };
                    if let Err(e) = cfg
                        .set_status(&[("Hoc.ClockSynchronized", yes), ("Hoc.SntpCurrentSource", &source)])
                        .await
                    {
                        log::warn!("reporting the clock state to confd: {e}");
                    }
                    if let Ok(iface) = conn.object_server().interface::<_, Time>(time_iface::PATH).await {
                        let _ =
                            Time::synchronization_changed(iface.signal_emitter(), st.synchronised, source)
                                .await;
                        let _ = iface
                            .get()
                            .await
                            .synchronized_changed(iface.signal_emitter())
                            .await;
                    }
                }
            }
        });
    }
    // Live configuration changes.
    {
        let cfg2 = cfg.clone();
        let time = time.clone();
        let localtime = opts.localtime.clone();
        let mut changed = cfg.receive_changed().await?;
        let dot1x = dot1x.clone();
        let synced = synced.clone();
        tokio::spawn(async move {
            // Certificates live outside the parameters: re-applying every
            // minute catches an imported or expired one (cheap when nothing
            // changed).
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                let relevant = tokio::select! {
                    sig = changed.next() => {
                        let Some(sig) = sig else { break };
                        let Ok(args) = sig.args() else { continue };
                        args.changes.iter().any(|(n, ..)| n.starts_with("Hoc.") || n.starts_with("Eth.") || n.starts_with("Cert."))
                    }
                    _ = tick.tick() => true,
                };
                if !relevant {
                    continue;
                }
                let Ok(view) = ConfigView::load(&cfg2).await else {
                    continue;
                };
                let c = crate::dot1x_iface::link_configs(
                    &|n| view.get(n),
                    &view.dot1x_links(),
                    synced.load(std::sync::atomic::Ordering::SeqCst),
                );
                dot1x.apply(c).await;
                let new = sntp_config(&|n| view.get(n), view.static_servers());
                cfg_tx.send_modify(|c| {
                    let dhcp = std::mem::take(&mut c.dhcp_servers);
                    *c = SntpConfig {
                        dhcp_servers: dhcp,
                        ..new
                    };
                });
                crate::zone::apply(
                    &time,
                    &view.get("Hoc.StaticTimeZone").unwrap_or_default(),
                    localtime.as_deref(),
                );
            }
        });
    }
    // Local time for Hoc.SystemTime, refreshed every few seconds.
    {
        let cfg = cfg.clone();
        let time = time.clone();
        tokio::spawn(async move {
            loop {
                let now = crate::zone::refresh_local_time(&time);
                let _ = cfg.set_status(&[("Hoc.SystemTime", now.as_str())]).await;
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
        });
    }
    confd::sd_notify("READY=1\nSTATUS=serving net.dgw.Host");
    log::info!("hostd: serving {}", crate::BUS_NAME);
    std::future::pending::<()>().await;
    Ok(())
}
