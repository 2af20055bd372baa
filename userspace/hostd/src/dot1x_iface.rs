//! `net.dgw.Ieee8021x1`: wired 802.1X per link (`Eth.Ieee8021X[Link]`),
//! through the `dot1x` crate (wpa_supplicant over D-Bus).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Mutex;
use zbus::object_server::SignalEmitter;

/// Object path.
pub const PATH: &str = "/net/dgw/Host/Ieee8021x";

type Get<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The 802.1X settings of every configured link, from the parameters.
pub fn link_configs(
    get: Get<'_>,
    links: &[String],
    clock_synchronised: bool,
) -> Vec<(String, dot1x::Config)> {
    let validation = get("Eth.Eap.CertificateValidation")
        .and_then(|v| dot1x::CertificateValidation::parse(&v).ok())
        .unwrap_or(dot1x::CertificateValidation::TrustedAndValid);
    let eapol = get("Eth.Ieee8021XVersion")
        .and_then(|v| dot1x::EapolVersion::parse(&v).ok())
        .unwrap_or_default();
    links
        .iter()
        .map(|l| {
            let cell = |c: &str| get(&format!("Eth.Ieee8021X[{l}].{c}")).unwrap_or_default();
            let cfg = dot1x::Config {
                enabled: cell("Enable") == "Enable",
                identity: cell("UserName"),
                validation,
                eapol_version: eapol,
                clock_synchronised,
            };
            (l.clone(), cfg)
        })
        .collect()
}

/// The 802.1X service: one controller per configured link.
#[derive(Clone)]
pub struct Ieee8021x {
    conn: zbus::Connection,
    runtime_dir: PathBuf,
    cert_store: PathBuf,
    links: Arc<Mutex<BTreeMap<String, dot1x::Dot1x>>>,
}

impl Ieee8021x {
    /// A service using wpa_supplicant on `conn`'s bus, exporting keys under
    /// `runtime_dir` (tmpfs) and reading certificates from `cert_store`.
    pub fn new(conn: zbus::Connection, runtime_dir: PathBuf, cert_store: PathBuf) -> Ieee8021x {
        Ieee8021x {
            conn,
            runtime_dir,
            cert_store,
            links: Arc::default(),
        }
    }

    /// Applies the configuration of every link (idempotent: unchanged links
    /// cost nothing). Links no longer configured are stopped.
    pub async fn apply(&self, configs: Vec<(String, dot1x::Config)>) {
        let store = match pki::CertStore::open(&self.cert_store) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("802.1X: certificate store {}: {e}", self.cert_store.display());
                return;
            }
        };
        let mut links = self.links.lock().await;
        let wanted: Vec<String> = configs.iter().map(|(l, _)| l.clone()).collect();
        let gone: Vec<String> = links.keys().filter(|l| !wanted.contains(l)).cloned().collect();
        for l in gone {
            if let Some(d) = links.remove(&l) {
                let _ = d.stop().await;
            }
        }
        for (link, cfg) in configs {
            if !links.contains_key(&link) {
                match dot1x::Dot1x::start(&self.conn, &link, &self.runtime_dir).await {
                    Ok(d) => {
                        self.watch(&link, d.status());
                        links.insert(link.clone(), d);
                    }
                    Err(e) => {
                        log::warn!("802.1X on {link}: {e}");
                        continue;
                    }
                }
            }
            if let Some(d) = links.get(&link) {
                if let Err(e) = d.apply(&cfg, &store).await {
                    log::warn!("802.1X on {link}: {e}");
                }
            }
        }
    }

    /// Starts a fresh authentication on `link` (a cable was plugged back):
    /// wpa_supplicant's wired driver does not notice carrier changes, and
    /// many authenticators do not start EAP by themselves, so the old
    /// controller is stopped and the next [`Ieee8021x::apply`] makes a new
    /// one. Returns whether the link was configured.
    pub async fn restart_link(&self, link: &str) -> bool {
        let old = self.links.lock().await.remove(link);
        match old {
            Some(d) => {
                log::info!("802.1X on {link}: link came up, authenticating again");
                let _ = d.stop().await;
                true
            }
            None => false,
        }
    }

    /// Forwards a link's status changes as `StatusChanged` signals.
    fn watch(&self, link: &str, mut rx: tokio::sync::watch::Receiver<dot1x::Status>) {
        let conn = self.conn.clone();
        let link = link.to_string();
        let links = self.links.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let st = rx.borrow_and_update().clone();
                // Also for `dgw ctl get Eth.Ieee8021XStatus`.
                let summary: Vec<String> = links
                    .lock()
                    .await
                    .iter()
                    .map(|(l, d)| {
                        if *l == link {
                            format!("{l}={}", st.name())
                        } else {
                            format!("{l}={}", d.current().name())
                        }
                    })
                    .collect();
                if let Ok(cfg) = confd::Config1Proxy::new(&conn).await {
                    let _ = cfg
                        .set_status(&[("Eth.Ieee8021XStatus", summary.join(",").as_str())])
                        .await;
                }
                if let Ok(iface) = conn.object_server().interface::<_, Ieee8021x>(PATH).await {
                    let detail = st.reason().unwrap_or_default().to_string();
                    let _ = Ieee8021x::status_changed(
                        iface.signal_emitter(),
                        link.clone(),
                        st.name().into(),
                        detail,
                    )
                    .await;
                }
            }
        });
    }
}

// The interface macro generates undocumented helpers.
#[allow(missing_docs)]
mod object {
    use super::*;

    #[zbus::interface(name = "net.dgw.Ieee8021x1")]
    impl Ieee8021x {
        /// Every configured link: (link, state, detail).
        async fn status(&self) -> Vec<(String, String, String)> {
            self.links
                .lock()
                .await
                .iter()
                .map(|(l, d)| {
                    let st = d.current();
                    (
                        l.clone(),
                        st.name().to_string(),
                        st.reason().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        }

        /// A link's 802.1X state changed.
        #[zbus(signal)]
        pub async fn status_changed(
            emitter: &SignalEmitter<'_>,
            link: String,
            state: String,
            detail: String,
        ) -> zbus::Result<()>;
    }
}
