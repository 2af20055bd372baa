//! # confd
//!
//! The configuration service. It owns the parameter store and is the only
//! writer; everything else (the `dgw ctl` CLI, the web UI, the TR-069 agent,
//! other services) reads and changes configuration through it, over the
//! system D-Bus:
//!
//! - bus name `net.dgw.Config`, object `/net/dgw/Config`, interface
//!   `net.dgw.Config1`;
//! - methods `Get(s) → s`, `GetMany(as) → a{ss}`, `List(s prefix) →
//!   a(sssssss)` (name, value, default, allowed, access, apply, description),
//!   `Set(a(ss)) → as` (all or nothing; returns the services now
//!   restart-required), `ApplyScript(s script, b dry_run) → (a(sss) changes,
//!   as restart_required, as commands)`, `Export() → s` (no secrets),
//!   `ExportWithSecrets() → s`, `FactoryReset()`, `SetStatus(a(ss))` (services
//!   report read-only status values), `ClearRestartRequired(s service)`;
//! - signal `Changed(a(sss))`: (name, old, new), secrets masked;
//! - property `RestartRequired` (as).
//!
//! Who may call what is the D-Bus policy's job (`dbus/net.dgw.Config.conf`):
//! root and the `dgwadmin` group may change, others may only read.
//!
//! [`ConfigService`] holds the logic without D-Bus, so it is tested directly.
#![deny(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use params::{script, Config, Store};
use zbus::object_server::SignalEmitter;

/// Bus name confd owns.
pub const BUS_NAME: &str = "net.dgw.Config";
/// Object path.
pub const OBJECT_PATH: &str = "/net/dgw/Config";
/// Interface name.
pub const INTERFACE: &str = "net.dgw.Config1";

/// Errors returned to D-Bus callers, with their D-Bus names
/// (`net.dgw.Config1.Error.Invalid`, ...).
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "net.dgw.Config1.Error")]
pub enum ConfError {
    /// A zbus failure.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// Bad names or values; the message lists every problem.
    Invalid(String),
    /// The store could not be written; nothing changed.
    Storage(String),
}

/// One listed value: (name, value, default, allowed, access, apply, doc).
pub type ListEntry = (String, String, String, String, String, String, String);

/// Result of a script: (changes as (name, old, new), restart-required, commands).
pub type ScriptOutcome = (Vec<(String, String, String)>, Vec<String>, Vec<String>);

/// The configuration service without its D-Bus skin.
pub struct ConfigService {
    /// Program run with a service name to restart it
    /// (`Scm.RestartRequiredServices`); None: report only.
    restart_command: Option<Vec<String>>,
    store: Store,
    _lock: params::store::StoreLock,
    cfg: Mutex<Config>,
    status: Mutex<BTreeMap<String, String>>,
    restart_required: Mutex<BTreeSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a half-changed config
    // (changes are swapped in whole), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ConfigService {
    /// Loads the store (logging any migration warnings).
    pub fn open(store: Store) -> Result<ConfigService, params::StoreError> {
        let lock = store.lock()?;
        let (cfg, warnings) = store.load()?;
        for w in warnings {
            log::warn!("configuration: {w}");
        }
        Ok(ConfigService {
            restart_command: None,
            store,
            _lock: lock,
            cfg: Mutex::new(cfg),
            status: Mutex::new(BTreeMap::new()),
            restart_required: Mutex::new(BTreeSet::new()),
        })
    }

    /// A copy of the current configuration.
    pub fn snapshot(&self) -> Config {
        lock(&self.cfg).clone()
    }

    /// Reads one value; status parameters come from what services reported.
    pub fn get(&self, name: &str) -> Result<String, ConfError> {
        let t = params::config::resolve(name).map_err(|e| ConfError::Invalid(e.to_string()))?;
        if let params::Target::Scalar(p) = &t {
            if p.access == params::schema::Access::ReadOnly && p.name == "NeedRestartInfo" {
                let needs = lock(&self.restart_required).iter().any(|s| s == p.service);
                return Ok(if needs { "Yes" } else { "No" }.to_string());
            }
            if p.access == params::schema::Access::ReadOnly {
                return Ok(lock(&self.status)
                    .get(&p.full_name())
                    .cloned()
                    .unwrap_or_else(|| p.default.to_string()));
            }
        }
        lock(&self.cfg)
            .get(name)
            .map_err(|e| ConfError::Invalid(e.to_string()))
    }

    /// Lists values under a prefix.
    pub fn list(&self, prefix: &str) -> Vec<ListEntry> {
        let cfg = lock(&self.cfg);
        let status = lock(&self.status);
        cfg.list(prefix)
            .into_iter()
            .map(|e| {
                let value = match (&e.value, e.access) {
                    (_, params::schema::Access::ReadOnly) => {
                        status.get(&e.name).cloned().unwrap_or(e.default.clone())
                    }
                    (Some(v), _) => v.clone(),
                    (None, _) => {
                        if e.secret_set {
                            "********".into()
                        } else {
                            String::new()
                        }
                    }
                };
                let access = match e.access {
                    params::schema::Access::ReadWrite => "read-write",
                    params::schema::Access::ReadOnly => "read-only",
                    params::schema::Access::Secret => "secret",
                };
                let apply = if e.apply == params::schema::Apply::Restart {
                    "restart"
                } else {
                    "live"
                };
                (
                    e.name,
                    value,
                    e.default,
                    e.allowed,
                    access.into(),
                    apply.into(),
                    e.doc.into(),
                )
            })
            .collect()
    }

    /// Commits `new` if it can be saved; the in-memory configuration changes
    /// only after the store holds it.
    fn commit(
        &self,
        cfg: &mut Config,
        new: Config,
        changes: &params::ChangeSet,
    ) -> Result<Vec<String>, ConfError> {
        self.store
            .save(&new)
            .map_err(|e| ConfError::Storage(format!("saving {}: {e}", self.store.path().display())))?;
        *cfg = new;
        let mut rr = lock(&self.restart_required);
        rr.extend(changes.restart_required.iter().cloned());
        Ok(rr.iter().cloned().collect())
    }

    /// Sets values atomically and saves; returns restart-required services.
    pub fn set(&self, values: &[(String, String)]) -> Result<(params::ChangeSet, Vec<String>), ConfError> {
        let mut cfg = lock(&self.cfg);
        let mut new = cfg.clone();
        let changes = new.set_many(values).map_err(|errs| {
            ConfError::Invalid(
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        let rr = self.commit(&mut cfg, new, &changes)?;
        Ok((changes, rr))
    }

    /// Applies a script atomically (or only checks it, with `dry_run`).
    pub fn apply_script(
        &self,
        text: &str,
        dry_run: bool,
    ) -> Result<(params::ChangeSet, Vec<String>, Vec<String>), ConfError> {
        let mut cfg = lock(&self.cfg);
        let applied = script::apply(&cfg, text).map_err(|errs| {
            ConfError::Invalid(
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        let commands: Vec<String> = applied.commands.iter().map(|c| c.to_string()).collect();
        if dry_run {
            let rr = applied.changes.restart_required.iter().cloned().collect();
            return Ok((applied.changes, rr, commands));
        }
        let rr = self.commit(&mut cfg, applied.config, &applied.changes)?;
        Ok((applied.changes, rr, commands))
    }

    /// Exports as a script.
    pub fn export(&self, with_secrets: bool) -> String {
        script::export(&lock(&self.cfg), with_secrets)
    }

    /// Factory reset: saves the factory configuration.
    pub fn factory_reset(&self) -> Result<params::ChangeSet, ConfError> {
        let mut cfg = lock(&self.cfg);
        let new = Config::factory();
        let changes = params::config::diff(&cfg, &new);
        self.commit(&mut cfg, new, &changes)?;
        Ok(changes)
    }

    /// Records status values reported by a service (read-only parameters).
    pub fn set_status(&self, values: &[(String, String)]) -> Result<(), ConfError> {
        let mut errs = Vec::new();
        let mut ok = Vec::new();
        for (n, v) in values {
            match params::config::resolve(n) {
                Ok(params::Target::Scalar(p)) if p.access == params::schema::Access::ReadOnly => {
                    match params::config::validate(&p.kind, v) {
                        Ok(v) => ok.push((p.full_name(), v)),
                        Err(e) => errs.push(format!("{n}: {e}")),
                    }
                }
                _ => errs.push(format!("{n}: not a status parameter")),
            }
        }
        if !errs.is_empty() {
            return Err(ConfError::Invalid(errs.join("\n")));
        }
        lock(&self.status).extend(ok);
        Ok(())
    }

    /// Sets the command that restarts a service (its name is appended),
    /// e.g. `["/usr/libexec/dgw/restart-service"]`, which on the image runs
    /// `systemctl try-restart dgw-<service>`.
    pub fn with_restart_command(mut self, cmd: Vec<String>) -> ConfigService {
        self.restart_command = (!cmd.is_empty()).then_some(cmd);
        self
    }

    /// Runs the commands a script asked for after it applied. Today that is
    /// `Scm.RestartRequiredServices`: each restart-required service is
    /// restarted with the restart command and, if that succeeded, cleared.
    /// Returns what happened, one line per service.
    pub fn run_commands(&self, commands: &[String]) -> Vec<String> {
        let mut report = Vec::new();
        if !commands.iter().any(|c| c == "Scm.RestartRequiredServices") {
            return report;
        }
        let Some(cmd) = &self.restart_command else {
            report.push("no restart command configured: restart the services yourself".into());
            return report;
        };
        for svc in self.restart_required() {
            let ok = std::process::Command::new(&cmd[0])
                .args(&cmd[1..])
                .arg(&svc)
                .stdin(std::process::Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                self.clear_restart_required(&svc);
                report.push(format!("restarted {svc}"));
            } else {
                report.push(format!("restarting {svc} failed; it stays restart-required"));
            }
        }
        report
    }

    /// Services waiting for a restart.
    pub fn restart_required(&self) -> Vec<String> {
        lock(&self.restart_required).iter().cloned().collect()
    }

    /// A service restarted: it no longer needs one.
    pub fn clear_restart_required(&self, service: &str) {
        lock(&self.restart_required).retain(|s| !s.eq_ignore_ascii_case(service));
    }
}

pub use object::DbusConfig;

// The interface macro generates undocumented helper methods
// (`restart_required_changed`, ...), hence the module-wide allow.
#[allow(missing_docs)]
mod object {
    use super::*;

    /// The D-Bus object.
    pub struct DbusConfig {
        svc: std::sync::Arc<ConfigService>,
    }

    impl DbusConfig {
        /// Wraps a service.
        pub fn new(svc: std::sync::Arc<ConfigService>) -> DbusConfig {
            DbusConfig { svc }
        }
    }

    fn triples(cs: &params::ChangeSet) -> Vec<(String, String, String)> {
        cs.changed.clone()
    }

    #[zbus::interface(name = "net.dgw.Config1")]
    impl DbusConfig {
        /// Reads one value.
        async fn get(&self, name: String) -> Result<String, ConfError> {
            self.svc.get(&name)
        }

        /// Reads several values.
        async fn get_many(&self, names: Vec<String>) -> Result<BTreeMap<String, String>, ConfError> {
            names
                .iter()
                .map(|n| self.svc.get(n).map(|v| (n.clone(), v)))
                .collect()
        }

        /// Lists values whose names start with `prefix`.
        async fn list(&self, prefix: String) -> Vec<ListEntry> {
            self.svc.list(&prefix)
        }

        /// Sets values, all or nothing.
        async fn set(
            &self,
            values: Vec<(String, String)>,
            #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        ) -> Result<Vec<String>, ConfError> {
            let (changes, rr) = self.svc.set(&values)?;
            if !changes.changed.is_empty() {
                let _ = Self::changed(&emitter, triples(&changes)).await;
                let _ = self.restart_required_changed(&emitter).await;
            }
            Ok(rr)
        }

        /// Applies a configuration script, all or nothing.
        async fn apply_script(
            &self,
            script: String,
            dry_run: bool,
            #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        ) -> Result<ScriptOutcome, ConfError> {
            let (changes, rr, mut commands) = self.svc.apply_script(&script, dry_run)?;
            if !dry_run {
                if !changes.changed.is_empty() {
                    let _ = Self::changed(&emitter, triples(&changes)).await;
                }
                // Commands run after the change is saved; their outcome is
                // reported after each command's name.
                let done = self.svc.run_commands(&commands);
                commands.extend(done);
                let _ = self.restart_required_changed(&emitter).await;
            }
            let rr = if dry_run { rr } else { self.svc.restart_required() };
            Ok((triples(&changes), rr, commands))
        }

        /// Exports the configuration as a script, without secrets.
        async fn export(&self) -> String {
            self.svc.export(false)
        }

        /// Exports with secrets (admins only, by policy).
        async fn export_with_secrets(&self) -> String {
            self.svc.export(true)
        }

        /// Returns every parameter to its factory default.
        async fn factory_reset(
            &self,
            #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        ) -> Result<(), ConfError> {
            let changes = self.svc.factory_reset()?;
            let _ = Self::changed(&emitter, triples(&changes)).await;
            let _ = self.restart_required_changed(&emitter).await;
            Ok(())
        }

        /// A service reports read-only status values.
        async fn set_status(&self, values: Vec<(String, String)>) -> Result<(), ConfError> {
            self.svc.set_status(&values)
        }

        /// A service restarted and applied its configuration.
        async fn clear_restart_required(
            &self,
            service: String,
            #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        ) -> zbus::fdo::Result<()> {
            self.svc.clear_restart_required(&service);
            let _ = self.restart_required_changed(&emitter).await;
            Ok(())
        }

        /// Services that need a restart for changes to apply.
        #[zbus(property)]
        async fn restart_required(&self) -> Vec<String> {
            self.svc.restart_required()
        }

        /// Values changed: (name, old, new), secrets masked.
        #[zbus(signal)]
        async fn changed(
            emitter: &SignalEmitter<'_>,
            changes: Vec<(String, String, String)>,
        ) -> zbus::Result<()>;
    }
}

pub use client::{ChangedStream, Config1Proxy};

// The proxy macro generates undocumented signal-argument structs.
#[allow(missing_docs)]
mod client {
    use super::*;

    /// Client side, used by `dgw ctl` and other services.
    #[zbus::proxy(
        interface = "net.dgw.Config1",
        default_service = "net.dgw.Config",
        default_path = "/net/dgw/Config"
    )]
    pub trait Config1 {
        /// See [`DbusConfig`].
        fn get(&self, name: &str) -> zbus::Result<String>;
        /// See [`DbusConfig`].
        fn get_many(&self, names: &[&str]) -> zbus::Result<BTreeMap<String, String>>;
        /// See [`DbusConfig`].
        fn list(&self, prefix: &str) -> zbus::Result<Vec<ListEntry>>;
        /// See [`DbusConfig`].
        fn set(&self, values: &[(&str, &str)]) -> zbus::Result<Vec<String>>;
        /// See [`DbusConfig`].
        fn apply_script(&self, script: &str, dry_run: bool) -> zbus::Result<ScriptOutcome>;
        /// See [`DbusConfig`].
        fn export(&self) -> zbus::Result<String>;
        /// See [`DbusConfig`].
        fn export_with_secrets(&self) -> zbus::Result<String>;
        /// See [`DbusConfig`].
        fn factory_reset(&self) -> zbus::Result<()>;
        /// See [`DbusConfig`].
        fn set_status(&self, values: &[(&str, &str)]) -> zbus::Result<()>;
        /// See [`DbusConfig`].
        fn clear_restart_required(&self, service: &str) -> zbus::Result<()>;
        /// See [`DbusConfig`].
        #[zbus(property)]
        fn restart_required(&self) -> zbus::Result<Vec<String>>;
        /// Values changed: (name, old, new), secrets masked.
        #[zbus(signal)]
        fn changed(&self, changes: Vec<(String, String, String)>) -> zbus::Result<()>;
    }
}

/// Tells systemd the service is ready (`Type=notify`), if started by it.
pub fn sd_notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sock = match std::os::unix::net::UnixDatagram::unbound() {
        Ok(s) => s,
        Err(e) => {
            log::warn!("sd_notify: {e}");
            return;
        }
    };
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    let r = if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)
            .and_then(|a| sock.send_to_addr(state.as_bytes(), &a))
    } else {
        sock.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = r {
        log::warn!("sd_notify: {e}");
    }
}

/// Runs confd on a bus connection builder until the process is stopped.
pub async fn serve(
    store: Store,
    builder: zbus::connection::Builder<'_>,
    restart_command: Vec<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let svc = std::sync::Arc::new(ConfigService::open(store)?.with_restart_command(restart_command));
    let _conn = builder
        .name(BUS_NAME)?
        .serve_at(OBJECT_PATH, DbusConfig::new(svc))?
        .build()
        .await?;
    sd_notify("READY=1\nSTATUS=serving net.dgw.Config");
    log::info!("confd: serving {BUS_NAME} at {OBJECT_PATH}");
    std::future::pending::<()>().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_sets_persists_and_reports_restart() {
        let dir = std::env::temp_dir().join(format!("confd-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let svc = ConfigService::open(Store::open(&dir).unwrap()).unwrap();
        let (_, rr) = svc.set(&[("Web.ServerPort".into(), "8080".into())]).unwrap();
        assert_eq!(rr, vec!["Web"]);
        assert!(matches!(
            svc.set(&[("Web.ServerPort".into(), "x".into())]),
            Err(ConfError::Invalid(_))
        ));
        // A second writer on the same store is refused while the first runs.
        let busy = ConfigService::open(Store::open(&dir).unwrap());
        assert!(busy.is_err(), "two writers on one store");
        drop(svc);
        let svc = ConfigService::open(Store::open(&dir).unwrap()).unwrap();
        let again = &svc;
        assert_eq!(again.get("web.serverport").unwrap(), "8080");
        svc.set_status(&[("Hoc.ClockSynchronized".into(), "Yes".into())])
            .unwrap();
        assert_eq!(svc.get("Hoc.ClockSynchronized").unwrap(), "Yes");
        assert!(svc.set_status(&[("Web.ServerPort".into(), "1".into())]).is_err());
        svc.clear_restart_required("web");
        assert!(svc.restart_required().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
