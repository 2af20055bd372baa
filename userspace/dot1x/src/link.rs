//! The controller of one link: a task that owns everything on the
//! wpa_supplicant side (the interface, our network, the signal
//! subscriptions) and keeps the link's [`Status`].
//!
//! Signals are told apart by their sender's serial numbers: a D-Bus
//! connection numbers its messages in sending order, so every signal
//! wpa_supplicant sent before its answer to our `SelectNetwork` has a
//! smaller serial and describes the previous configuration. Those are
//! dropped; the `State` read right after gives the starting point (the
//! signals queued meanwhile are applied after it, which the status mapping
//! tolerates: it does not depend on the order of State changes).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use pki::CertStore;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use zbus::message::Type;
use zbus::names::{BusName, OwnedUniqueName, WellKnownName};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};
use zbus::{Connection, MatchRule, Message, MessageStream};

use crate::config::{self, Config, EapolVersion, Plan};
use crate::error::Error;
use crate::files::{check_ifname, RuntimeDir, Written};
use crate::status::{Status, Tracker};
use crate::wpa::{self, InterfaceProxy};

/// The `id_str` of the networks we add, so that ours are recognised (and
/// removed) after a restart of the daemon.
pub const NETWORK_TAG: &str = "dgw-dot1x";

/// Retries after a failed configuration start this far apart...
const RETRY_MIN: Duration = Duration::from_secs(2);
/// ...and double up to this.
const RETRY_MAX: Duration = Duration::from_secs(60);

/// What [`Dot1x::apply`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Nothing changed since the last apply: nothing was touched, and the
    /// authentication in place goes on.
    Unchanged,
    /// wpa_supplicant was reconfigured (a new network, which means a new
    /// authentication), or the network was removed.
    Reconfigured,
}

/// 802.1X on one link, driven through wpa_supplicant.
///
/// Dropping it stops the controller but leaves wpa_supplicant as it is, so
/// that the port stays authorised while the daemon restarts; the next
/// [`Dot1x::start`] replaces the network. [`Dot1x::stop`] removes it.
#[derive(Debug)]
pub struct Dot1x {
    ifname: String,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<Status>,
}

enum Command {
    Apply(Plan, oneshot::Sender<Result<Applied, Error>>),
    Stop(oneshot::Sender<Result<(), Error>>),
}

impl Dot1x {
    /// Starts the controller of link `ifname` on `conn` (the system bus, or
    /// wherever wpa_supplicant is). The files for wpa_supplicant go to
    /// `<runtime_dir>/<ifname>/`, which is emptied first. Must be called
    /// from a tokio runtime. The status is [`Status::Disabled`] until the
    /// first [`Dot1x::apply`].
    pub async fn start(
        conn: &Connection,
        ifname: &str,
        runtime_dir: impl AsRef<Path>,
    ) -> Result<Dot1x, Error> {
        check_ifname(ifname)?;
        let runtime_dir = runtime_dir.as_ref();
        if runtime_dir.to_str().is_none() {
            // wpa_supplicant takes file names as D-Bus strings (UTF-8).
            return Err(Error::InvalidValue {
                what: "runtime directory",
                value: runtime_dir.to_string_lossy().into_owned(),
                expected: "a UTF-8 path",
            });
        }
        let files = RuntimeDir::open(runtime_dir, ifname)?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let owner_rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender("org.freedesktop.DBus")
            .and_then(|b| b.interface("org.freedesktop.DBus"))
            .and_then(|b| b.member("NameOwnerChanged"))
            .and_then(|b| b.arg(0, wpa::SERVICE))
            .map_err(Error::dbus("subscribing"))?
            .build();
        let removed_rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender(wpa::SERVICE)
            .and_then(|b| b.path(wpa::ROOT_PATH))
            .and_then(|b| b.interface(wpa::SERVICE))
            .and_then(|b| b.member("InterfaceRemoved"))
            .map_err(Error::dbus("subscribing"))?
            .build();
        let global = Pump::start(conn, vec![owner_rule, removed_rule], 0, &events_tx).await?;
        let (status_tx, status_rx) = watch::channel(Status::Disabled);
        let (cmd_tx, cmd_rx) = mpsc::channel(4);
        let actor = Actor {
            conn: conn.clone(),
            ifname: ifname.to_string(),
            files,
            status: status_tx,
            events: events_tx,
            _global: global,
            link: None,
            wanted: None,
            in_place: false,
            tracker: None,
            retry: None,
            backoff: RETRY_MIN,
            last_tag: 0,
        };
        tokio::spawn(actor.run(cmd_rx, events_rx));
        Ok(Dot1x {
            ifname: ifname.to_string(),
            commands: cmd_tx,
            status: status_rx,
        })
    }

    /// Applies the configuration: reads the certificate stores, decides
    /// (see the crate documentation), and reconfigures wpa_supplicant only
    /// if the outcome differs from what is in place. Cheap when nothing
    /// changed (a few small files are read and hashed), so it can be called
    /// on every parameter or certificate change, and periodically, which
    /// also moves to another certificate when the one in use expires and
    /// retries after errors.
    ///
    /// An error means wpa_supplicant could not be configured; the status
    /// says why, and the controller retries by itself (and when
    /// wpa_supplicant appears on the bus).
    pub async fn apply(&self, config: &Config, store: &CertStore) -> Result<Applied, Error> {
        let plan = config::plan(config, store, SystemTime::now())?;
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Apply(plan, tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// The status, to watch for changes (`changed().await`).
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// The current status.
    pub fn current(&self) -> Status {
        self.status.borrow().clone()
    }

    /// The link.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Removes our network from wpa_supplicant (the port is no longer
    /// authenticated) and our files, and ends the controller.
    pub async fn stop(self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Stop(tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }
}

/// A message from one of our subscriptions. `tag` says which: 0 for the
/// global one, then one per interface subscription.
enum Event {
    Message { tag: u64, msg: Message },
    Closed { tag: u64 },
}

/// A task moving messages from subscriptions to the controller. zbus stops
/// reading the connection when a subscription's queue is full, which would
/// block our own method calls while the controller waits for them; this
/// task keeps the queues empty. Aborted when dropped.
struct Pump(JoinHandle<()>);

impl Pump {
    async fn start(
        conn: &Connection,
        rules: Vec<MatchRule<'static>>,
        tag: u64,
        events: &mpsc::UnboundedSender<Event>,
    ) -> Result<Pump, Error> {
        let mut streams = Vec::with_capacity(rules.len());
        for rule in rules {
            streams.push(
                MessageStream::for_match_rule(rule, conn, None)
                    .await
                    .map_err(Error::dbus("subscribing to signals"))?,
            );
        }
        let events = events.clone();
        Ok(Pump(tokio::spawn(async move {
            let mut all = futures_util::stream::select_all(streams);
            while let Some(item) = all.next().await {
                match item {
                    Ok(msg) => {
                        if events.send(Event::Message { tag, msg }).is_err() {
                            return;
                        }
                    }
                    Err(e) => log::debug!("dot1x: unreadable message: {e}"),
                }
            }
            let _ = events.send(Event::Closed { tag });
        })))
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the last apply asked for, without the private key.
#[derive(Debug)]
enum Wanted {
    Off {
        fingerprint: [u8; 32],
        status: Status,
    },
    On {
        fingerprint: [u8; 32],
        written: Written,
        identity: String,
        eapol_version: EapolVersion,
        host_file_name: String,
    },
}

impl Wanted {
    fn fingerprint(&self) -> [u8; 32] {
        match self {
            Wanted::Off { fingerprint, .. } | Wanted::On { fingerprint, .. } => *fingerprint,
        }
    }
}

/// Our interface in one wpa_supplicant process.
struct Link {
    owner: OwnedUniqueName,
    path: OwnedObjectPath,
    iface: InterfaceProxy<'static>,
    tag: u64,
    _pump: Pump,
    network: Option<OwnedObjectPath>,
    /// Signals with this serial or lower are about an older configuration.
    cutoff: u32,
}

struct Actor {
    conn: Connection,
    ifname: String,
    files: RuntimeDir,
    status: watch::Sender<Status>,
    events: mpsc::UnboundedSender<Event>,
    _global: Pump,
    link: Option<Link>,
    wanted: Option<Wanted>,
    /// `wanted` is what wpa_supplicant has.
    in_place: bool,
    /// Follows our network once selected.
    tracker: Option<Tracker>,
    retry: Option<Instant>,
    backoff: Duration,
    last_tag: u64,
}

impl Actor {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: mpsc::UnboundedReceiver<Event>,
    ) {
        loop {
            let wake = self.next_wakeup();
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Apply(plan, reply)) => {
                        let r = self.apply(plan).await;
                        let _ = reply.send(r);
                    }
                    Some(Command::Stop(reply)) => {
                        let r = self.stop().await;
                        let _ = reply.send(r);
                        break;
                    }
                    None => break,
                },
                Some(ev) = events.recv() => self.on_event(ev),
                () = sleep_until(wake), if wake.is_some() => self.on_wakeup().await,
            }
        }
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let deadline = self
            .tracker
            .as_ref()
            .and_then(Tracker::deadline)
            .map(Instant::from_std);
        match (deadline, self.retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    async fn on_wakeup(&mut self) {
        let now = Instant::now();
        if let Some(t) = self.tracker.as_mut() {
            t.on_time(now.into_std());
            let s = t.status().clone();
            self.publish(s);
        }
        if self.retry.is_some_and(|r| r <= now) {
            self.retry = None;
            if let Err(e) = self.enforce().await {
                log::warn!("dot1x {}: retry failed: {e}", self.ifname);
            }
        }
    }

    fn publish(&self, status: Status) {
        let ifname = &self.ifname;
        self.status.send_if_modified(|s| {
            if *s == status {
                return false;
            }
            log::info!("dot1x {ifname}: {status}");
            *s = status;
            true
        });
    }

    async fn apply(&mut self, plan: Plan) -> Result<Applied, Error> {
        let fingerprint = plan.fingerprint();
        let pending = self.wanted.as_ref().map(Wanted::fingerprint) == Some(fingerprint);
        if pending && self.in_place {
            return Ok(Applied::Unchanged);
        }
        match plan {
            Plan::Off(status) => {
                self.wanted = Some(Wanted::Off { fingerprint, status });
            }
            // The same plan not yet in place (a retry) reuses its files.
            Plan::On(_) if pending => {}
            Plan::On(m) => {
                let written = match self.files.write(&m) {
                    Ok(w) => w,
                    Err(e) => {
                        self.publish(Status::Failed(format!("cannot write the files: {e}")));
                        return Err(e);
                    }
                };
                self.wanted = Some(Wanted::On {
                    fingerprint,
                    written,
                    identity: m.identity.clone(),
                    eapol_version: m.eapol_version,
                    host_file_name: m.host_file_name.clone(),
                });
            }
        }
        self.in_place = false;
        self.enforce().await.map(|()| Applied::Reconfigured)
    }

    async fn stop(&mut self) -> Result<(), Error> {
        self.wanted = Some(Wanted::Off {
            fingerprint: [0; 32],
            status: Status::Disabled,
        });
        self.retry = None;
        let r = self.enforce().await;
        self.retry = None;
        self.files.remove_except(None);
        r
    }

    /// Makes wpa_supplicant match `wanted`.
    async fn enforce(&mut self) -> Result<(), Error> {
        let result = match &self.wanted {
            None => return Ok(()),
            Some(Wanted::Off { status, .. }) => {
                let status = status.clone();
                self.tracker = None;
                self.publish(status);
                self.files.remove_except(None);
                self.remove_network().await
            }
            Some(Wanted::On { .. }) => self.configure().await,
        };
        match result {
            Ok(()) => {
                self.in_place = true;
                self.retry = None;
                self.backoff = RETRY_MIN;
                if let Some(Wanted::On { written, .. }) = &self.wanted {
                    self.files.remove_except(Some(written));
                }
                Ok(())
            }
            Err(e) => {
                if matches!(self.wanted, Some(Wanted::On { .. })) {
                    self.tracker = None;
                    self.publish(Status::Failed(e.to_string()));
                }
                self.retry = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(RETRY_MAX);
                Err(e)
            }
        }
    }

    async fn remove_network(&mut self) -> Result<(), Error> {
        let Some(link) = self.find_link(false).await? else {
            return Ok(());
        };
        if let Some(old) = link.network.take() {
            remove_network(&link.iface, &old).await?;
        }
        Ok(())
    }

    async fn configure(&mut self) -> Result<(), Error> {
        let Some(Wanted::On {
            written,
            identity,
            eapol_version,
            host_file_name,
            ..
        }) = &self.wanted
        else {
            return Ok(());
        };
        let (written, identity, eapol_version, host) = (
            written.clone(),
            identity.clone(),
            *eapol_version,
            host_file_name.clone(),
        );
        // The status stays as it is until the new network is selected: a
        // retry while wpa_supplicant is away must not flap between Failed
        // and Authenticating.
        self.tracker = None;
        let conn = self.conn.clone();
        let ifname = self.ifname.clone();
        let link = self
            .find_link(true)
            .await?
            .ok_or_else(|| Error::Unexpected("no interface".to_string()))?;
        let iface = &link.iface;
        // Wired drivers cannot scan: ap_scan=0 makes wpa_supplicant
        // "associate" with the port directly.
        if iface.ap_scan().await.map_err(Error::dbus("reading ApScan"))? != 0 {
            iface
                .set_ap_scan(0)
                .await
                .map_err(Error::dbus("setting ApScan"))?;
        }
        if iface
            .eapol_version()
            .await
            .map_err(Error::dbus("reading EapolVersion"))?
            != eapol_version.wpa_value()
        {
            iface
                .set_eapol_version(eapol_version.wpa_value())
                .await
                .map_err(Error::dbus("setting EapolVersion"))?;
        }
        if let Some(old) = link.network.take() {
            remove_network(iface, &old).await?;
        }
        let net = iface
            .add_network(network_args(&identity, &written))
            .await
            .map_err(Error::dbus("adding the network"))?;
        link.network = Some(net.clone());
        link.cutoff = select_network(&conn, link, &net).await?;
        iface.eap_logon().await.map_err(Error::dbus("EAPLogon"))?;
        let state = iface.state().await.map_err(Error::dbus("reading State"))?;
        log::info!(
            "dot1x {ifname}: network configured (identity {identity:?}, host certificate \
             {host}, {}), state {state}",
            if written.ca.is_some() {
                "server validated against the Others store"
            } else {
                "server NOT validated"
            }
        );
        let mut tracker = Tracker::new();
        tracker.restart(&state, Instant::now().into_std());
        let status = tracker.status().clone();
        self.tracker = Some(tracker);
        self.publish(status);
        Ok(())
    }

    /// Our interface in the running wpa_supplicant: found, or created if
    /// `create`. The first time in a given wpa_supplicant, the networks an
    /// earlier run of ours left are removed.
    async fn find_link(&mut self, create: bool) -> Result<Option<&mut Link>, Error> {
        if self.link.is_some() {
            return Ok(self.link.as_mut());
        }
        let dbus = zbus::fdo::DBusProxy::new(&self.conn)
            .await
            .map_err(Error::dbus("connecting to the bus"))?;
        let name = BusName::from(WellKnownName::from_static_str_unchecked(wpa::SERVICE));
        let owner = match dbus.get_name_owner(name.clone()).await {
            Ok(o) => o,
            Err(zbus::fdo::Error::NameHasNoOwner(_)) if !create => return Ok(None),
            Err(zbus::fdo::Error::NameHasNoOwner(_)) => {
                // Distributions make wpa_supplicant D-Bus activatable; on
                // a bus without activation this fails with ServiceUnknown,
                // reported as "not running".
                let well_known = WellKnownName::from_static_str_unchecked(wpa::SERVICE);
                dbus.start_service_by_name(well_known, 0)
                    .await
                    .map_err(|e| Error::dbus("starting wpa_supplicant")(e.into()))?;
                dbus.get_name_owner(name)
                    .await
                    .map_err(|e| Error::dbus("looking for wpa_supplicant")(e.into()))?
            }
            Err(e) => return Err(Error::dbus("looking for wpa_supplicant")(e.into())),
        };
        let root = wpa::supplicant(&self.conn)
            .await
            .map_err(Error::dbus("connecting to wpa_supplicant"))?;
        let path = match root.get_interface(&self.ifname).await {
            Ok(path) => {
                let iface = wpa::interface(&self.conn, &path)
                    .await
                    .map_err(Error::dbus("connecting to the interface"))?;
                let driver = iface.driver().await.map_err(Error::dbus("reading Driver"))?;
                if create && driver != "wired" {
                    // We own 802.1X on this link; an interface made with a
                    // wireless driver cannot do it.
                    log::warn!(
                        "dot1x {}: wpa_supplicant has the interface with driver {driver:?}; \
                         recreating it with the wired driver",
                        self.ifname
                    );
                    root.remove_interface(&path)
                        .await
                        .map_err(Error::dbus("removing the interface"))?;
                    self.create_interface(&root).await?
                } else {
                    path
                }
            }
            Err(e) if wpa::is_error(&e, wpa::INTERFACE_UNKNOWN) => {
                if !create {
                    return Ok(None);
                }
                self.create_interface(&root).await?
            }
            Err(e) => return Err(Error::dbus("looking up the interface")(e)),
        };
        self.last_tag += 1;
        let tag = self.last_tag;
        // Subscribe before changing anything, so that no signal about our
        // changes can be missed.
        let rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender(wpa::SERVICE)
            .and_then(|b| b.path(path.clone()))
            .map_err(Error::dbus("subscribing"))?
            .build();
        let pump = Pump::start(&self.conn, vec![rule], tag, &self.events).await?;
        let iface = wpa::interface(&self.conn, &path)
            .await
            .map_err(Error::dbus("connecting to the interface"))?;
        remove_ours(&self.conn, &iface).await?;
        Ok(Some(self.link.insert(Link {
            owner,
            path,
            iface,
            tag,
            _pump: pump,
            network: None,
            cutoff: 0,
        })))
    }

    async fn create_interface(&self, root: &wpa::SupplicantProxy<'static>) -> Result<OwnedObjectPath, Error> {
        let args = HashMap::from([
            ("Ifname", Value::from(self.ifname.as_str())),
            ("Driver", Value::from("wired")),
        ]);
        let path = root
            .create_interface(args)
            .await
            .map_err(Error::dbus("creating the interface"))?;
        log::info!("dot1x {}: wpa_supplicant interface created", self.ifname);
        Ok(path)
    }

    /// wpa_supplicant went away, or lost the interface.
    fn link_lost(&mut self, reason: &str) {
        self.link = None;
        if matches!(self.wanted, Some(Wanted::On { .. })) {
            self.in_place = false;
            self.tracker = None;
            self.publish(Status::Failed(reason.to_string()));
            self.retry = Some(Instant::now() + self.backoff);
        }
    }

    fn on_event(&mut self, ev: Event) {
        let (tag, msg) = match ev {
            Event::Message { tag, msg } => (tag, msg),
            Event::Closed { tag } => {
                if tag == 0 {
                    log::error!("dot1x {}: the D-Bus connection is closed", self.ifname);
                    self.link_lost("the D-Bus connection is closed");
                    self.retry = None;
                }
                return;
            }
        };
        let header = msg.header();
        let member = header.member().map(|m| m.as_str()).unwrap_or_default();
        let interface = header.interface().map(|i| i.as_str()).unwrap_or_default();
        let sender = header.sender().map(|s| s.as_str());
        // Only the bus itself speaks for name owners.
        if tag == 0 && member == "NameOwnerChanged" && sender == Some("org.freedesktop.DBus") {
            if let Ok((_, _, new)) = msg.body().deserialize::<(String, String, String)>() {
                self.on_owner_changed(&new);
            }
            return;
        }
        let Some(link) = self.link.as_ref() else {
            return;
        };
        if sender != Some(link.owner.as_str()) {
            return;
        }
        if tag == 0 {
            if member == "InterfaceRemoved" {
                if let Ok(path) = msg.body().deserialize::<OwnedObjectPath>() {
                    if path == link.path {
                        self.link_lost("wpa_supplicant removed the interface (link gone?)");
                    }
                }
            }
            return;
        }
        if tag != link.tag || msg.primary_header().serial_num().get() <= link.cutoff {
            return;
        }
        match (interface, member) {
            ("org.freedesktop.DBus.Properties", "PropertiesChanged") => {
                let Ok((iface, changed, _)) = msg
                    .body()
                    .deserialize::<(String, HashMap<String, OwnedValue>, Vec<String>)>()
                else {
                    return;
                };
                if iface != wpa::IFACE_INTERFACE {
                    return;
                }
                if let Some(state) = changed.get("State").and_then(|v| <&str>::try_from(v).ok()) {
                    log::debug!("dot1x {}: state {state}", self.ifname);
                    if let Some(t) = self.tracker.as_mut() {
                        t.on_state(state, Instant::now().into_std());
                    }
                }
            }
            (wpa::IFACE_INTERFACE, "EAP") => {
                let Ok((status, parameter)) = msg.body().deserialize::<(String, String)>() else {
                    return;
                };
                log::debug!("dot1x {}: EAP {status} {parameter}", self.ifname);
                if let Some(t) = self.tracker.as_mut() {
                    t.on_eap(&status, &parameter);
                }
            }
            (wpa::IFACE_INTERFACE, "Certification") => {
                let Ok(cert) = msg.body().deserialize::<HashMap<String, OwnedValue>>() else {
                    return;
                };
                let depth = cert.get("depth").and_then(|v| u32::try_from(v).ok());
                let subject = cert.get("subject").and_then(|v| <&str>::try_from(v).ok());
                if let (Some(depth), Some(subject)) = (depth, subject) {
                    log::debug!(
                        "dot1x {}: server certificate depth {depth}: {subject}",
                        self.ifname
                    );
                    if let Some(t) = self.tracker.as_mut() {
                        t.on_certificate(depth, subject);
                    }
                }
            }
            (wpa::IFACE_INTERFACE, "NetworkRemoved") => {
                if let Ok(path) = msg.body().deserialize::<OwnedObjectPath>() {
                    if link.network.as_ref() == Some(&path) {
                        // Someone else removed it (wpa_cli...): put it back.
                        log::warn!("dot1x {}: our network was removed; restoring", self.ifname);
                        if let Some(l) = self.link.as_mut() {
                            l.network = None;
                        }
                        self.link_lost("the network was removed from wpa_supplicant");
                        return;
                    }
                }
            }
            _ => {}
        }
        if let Some(t) = self.tracker.as_ref() {
            let s = t.status().clone();
            self.publish(s);
        }
    }

    fn on_owner_changed(&mut self, new_owner: &str) {
        if self.link.as_ref().is_some_and(|l| l.owner.as_str() == new_owner) {
            return;
        }
        if new_owner.is_empty() {
            log::warn!("dot1x {}: wpa_supplicant left the bus", self.ifname);
            // Its return is signalled; the retries link_lost schedules
            // are a safety net.
            self.link_lost("wpa_supplicant is not running (no owner of fi.w1.wpa_supplicant1)");
        } else {
            log::info!("dot1x {}: wpa_supplicant is on the bus", self.ifname);
            self.link = None;
            if matches!(self.wanted, Some(Wanted::On { .. })) {
                self.in_place = false;
                self.backoff = RETRY_MIN;
                self.retry = Some(Instant::now());
            }
        }
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// The `network={}` fields of a wired EAP-TLS network.
fn network_args<'a>(identity: &'a str, w: &'a Written) -> HashMap<&'static str, Value<'a>> {
    // Paths are UTF-8: `Dot1x::start` checked the runtime directory.
    let path = |p: &Path| Value::from(p.to_string_lossy().into_owned());
    let mut args = HashMap::from([
        ("key_mgmt", Value::from("IEEE8021X")),
        ("eap", Value::from("TLS")),
        ("identity", Value::from(identity)),
        ("client_cert", path(&w.client)),
        ("private_key", path(&w.key)),
        // Plain 802.1X on a wired port: no dynamic WEP keys to wait for.
        ("eapol_flags", Value::from(0u32)),
        ("id_str", Value::from(NETWORK_TAG)),
        // RFC 8996: TLS 1.0 and 1.1 are deprecated; the rest of the gateway
        // refuses them too.
        (
            "phase1",
            Value::from("tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1"),
        ),
    ]);
    if let Some(ca) = &w.ca {
        args.insert("ca_cert", path(ca));
    }
    args
}

async fn remove_network(iface: &InterfaceProxy<'static>, path: &OwnedObjectPath) -> Result<(), Error> {
    match iface.remove_network(path).await {
        Ok(()) => Ok(()),
        // Already gone: that is what we wanted.
        Err(e) if wpa::is_error(&e, wpa::NETWORK_UNKNOWN) => Ok(()),
        Err(e) => Err(Error::dbus("removing the network")(e)),
    }
}

/// Removes the networks tagged as ours.
async fn remove_ours(conn: &Connection, iface: &InterfaceProxy<'static>) -> Result<(), Error> {
    let networks = iface
        .networks()
        .await
        .map_err(Error::dbus("listing the networks"))?;
    for path in networks {
        let net = wpa::network(conn, &path)
            .await
            .map_err(Error::dbus("reading a network"))?;
        let props = match net.properties().await {
            Ok(p) => p,
            // Removed meanwhile.
            Err(e) => {
                log::debug!("dot1x: network {}: {e}", path.as_str());
                continue;
            }
        };
        if props.get("id_str").and_then(wpa::unquoted).as_deref() == Some(NETWORK_TAG) {
            log::info!("dot1x: removing network {} left by an earlier run", path.as_str());
            remove_network(iface, &path).await?;
        }
    }
    Ok(())
}

/// Selects `net` with a raw call, for the serial number of the answer and
/// its sender (see the module documentation): returns that serial.
///
/// The EAP exchange cannot start before the answer: wpa_supplicant handles
/// one event at a time, and answers before it reads the authenticator's
/// first frame. It can end before our next call, though (an unknown
/// identity is refused within a millisecond on a veth pair), so the cut is
/// made here and not at a later call.
async fn select_network(conn: &Connection, link: &Link, net: &OwnedObjectPath) -> Result<u32, Error> {
    let reply = conn
        .call_method(
            Some(wpa::SERVICE),
            &link.path,
            Some(wpa::IFACE_INTERFACE),
            "SelectNetwork",
            &(net,),
        )
        .await
        .map_err(Error::dbus("selecting the network"))?;
    if reply.header().sender().map(|s| s.as_str()) != Some(link.owner.as_str()) {
        return Err(Error::Unexpected(
            "wpa_supplicant was restarted during the configuration".to_string(),
        ));
    }
    Ok(reply.primary_header().serial_num().get())
}
