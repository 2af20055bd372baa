//! Shared set-up of the sipd interoperability tests: a test PKI, Kamailio
//! and sipd configured the way `dgw sipd` configures it (parameters through
//! a configuration script, TLS through the pki crate's policy).

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pki::{ClientPolicy, PkiSnapshot, ServerPolicy, Service, ServiceSet, Usage, ValidationLevel};
use sipd::{SipConfig, Sipd, SipdOptions, Status};
use siplab::{Kamailio, KamailioOptions, Pki};

/// The peers are installed (make test installs them); a test returns early
/// with a loud banner otherwise.
pub fn peers(test: &str) -> bool {
    siplab::check_available(test, siplab::available())
}

/// The SipEp configuration from script lines over the factory defaults.
pub fn config(script: &str) -> SipConfig {
    let applied = params::script::apply(&params::Config::factory(), script)
        .unwrap_or_else(|e| panic!("script: {e:?}\n{script}"));
    SipConfig::from_params(&applied.config).expect("SipEp configuration")
}

/// A configuration registering `users` (name, password) with the TLS
/// registrar at 127.0.0.1:`port` as `localhost`, listening on `listen`.
pub fn tls_config(registrar: &str, listen: u16, users: &[(&str, &str)], extra: &str) -> SipConfig {
    let mut s = format!(
        "SipEp.DefaultStaticRegistrarHost={registrar}\n\
         SipEp.TransportConfig[default].SecurePort={listen}\n\
         SipEp.TransportPersistentBasePort={}\n",
        siplab::free_port().max(1025)
    );
    for (u, p) in users {
        s.push_str(&format!("SipEp.Registration[{u}].AuthPassword=\"{p}\"\n"));
    }
    s.push_str(extra);
    config(&s)
}

/// The TLS options sipd gets from the pki crate: trusting `pki`'s CA,
/// validating at `level`, clock synchronised; with a TlsServer host
/// certificate for 127.0.0.1/localhost, requiring client certificates when
/// `client_auth`.
pub fn tls_options(pki: &Pki, level: ValidationLevel, client_auth: bool) -> SipdOptions {
    let mut snap = PkiSnapshot::new();
    snap.add_others_pem(&std::fs::read(&pki.ca_pem).unwrap()).unwrap();
    let (cert, key) = pki.server_cert("sipd", &["localhost", "127.0.0.1"]).unwrap();
    let mut pem = std::fs::read(&cert).unwrap();
    pem.extend(std::fs::read(&key).unwrap());
    snap.add_host_pem("sipd-server", Usage::TlsServer, ServiceSet::all(), &pem)
        .unwrap();
    let mut cp = ClientPolicy::new(Service::Sip);
    cp.validation = level;
    cp.clock_synchronised = true;
    let mut sp = ServerPolicy::new(Service::Sip);
    sp.clock_synchronised = true;
    sp.require_client_cert = client_auth;
    SipdOptions {
        bind: "127.0.0.1".parse().unwrap(),
        tls_client: Some(pki::client_config(&cp, &snap).unwrap()),
        tls_server: Some(pki::server_config(&sp, &snap).unwrap()),
        ..SipdOptions::default()
    }
}

/// Starts Kamailio with a server certificate for localhost/127.0.0.1.
pub fn kamailio(dir: &Path, pki: &Pki, edit: impl FnOnce(&mut KamailioOptions)) -> Kamailio {
    let (cert, key) = pki.server_cert("kamailio", &["localhost", "127.0.0.1"]).unwrap();
    let mut o = KamailioOptions::new(siplab::free_port(), &cert, &key);
    edit(&mut o);
    Kamailio::start(&dir.join("kam"), &o).expect("kamailio starts")
}

/// Waits until `pred` holds on the status, or panics after `secs` with
/// the status and `context` (e.g. the peer's log tail).
pub async fn wait_status(
    status: &Status,
    secs: u64,
    what: &str,
    pred: impl Fn(&Status) -> bool,
    context: impl Fn() -> String,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !pred(status) {
        if tokio::time::Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}\nregistrations: {:?}\nconnections: {:?}\n{}",
                status.registrations(),
                status.connections(),
                context()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `user` is registered.
pub fn registered(user: &'static str) -> impl Fn(&Status) -> bool {
    move |s: &Status| s.registration(user) == Some(sipd::RegistrationState::Registered)
}

/// Collects notifications as they come.
pub struct Notes(pub Arc<std::sync::Mutex<Vec<sipd::status::Notification>>>);

impl Notes {
    pub fn watch(status: &Status) -> Notes {
        let store = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut rx = status.subscribe();
        let s = store.clone();
        tokio::spawn(async move {
            while let Ok(ev) = rx.recv().await {
                if let sipd::Event::Notification(n) = ev {
                    s.lock().unwrap().push(n);
                }
            }
        });
        Notes(store)
    }

    pub fn with_id(&self, id: u16) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n.id == id)
            .map(|n| n.to_string())
            .collect()
    }

    pub fn all(&self) -> String {
        self.0.lock().unwrap().iter().map(|n| format!("{n}\n")).collect()
    }
}

/// Starts sipd.
pub async fn start(cfg: SipConfig, opts: SipdOptions) -> Sipd {
    Sipd::start(cfg, opts).await.expect("sipd starts")
}
