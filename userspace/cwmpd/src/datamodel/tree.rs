//! The tree of objects and parameters for one snapshot (or, for the reference, with `{i}` in
//! place of instance numbers), and how each parameter's value is read.

use std::collections::HashMap;

use cwmp::{DateTime, ValueType};
use params::schema::{self, Access, Column, Kind, Param, Table};
use params::Config;

use super::{Certificate, Runtime, State, CERTIFICATE_TABLE, VENDOR_ROOT};

/// What TR-106 allows the CPE to do with active notification of a parameter (the
/// `activeNotify` attribute of the data model definition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveNotify {
    /// Off by default; the ACS may set any of off, passive, active.
    Normal,
    /// Off by default; the CPE refuses active notification (9009) because the value changes
    /// too often to start a session for each change (uptime, clocks).
    CanDeny,
    /// Active by default; the ACS may change it.
    ForceDefaultEnabled,
    /// Always active; the ACS cannot turn it off (9009).
    ForceEnabled,
}

impl ActiveNotify {
    /// The notification a parameter has until the ACS sets one.
    pub fn default_notification(self) -> cwmp::Notification {
        match self {
            ActiveNotify::ForceDefaultEnabled | ActiveNotify::ForceEnabled => cwmp::Notification::Active,
            _ => cwmp::Notification::Off,
        }
    }
}

/// A field of [`super::DeviceInfo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InfoField {
    Manufacturer,
    ManufacturerOui,
    ModelName,
    Description,
    ProductClass,
    SerialNumber,
    HardwareVersion,
    SoftwareVersion,
}

/// How a schema value is shown in a TR-181 parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conv {
    /// As stored.
    Plain,
    /// `Enable`/`Disable` as an `xsd:boolean`.
    EnableBool,
}

/// A field of a certificate (`Device.Security.Certificate.{i}.`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CertField {
    Enable,
    LastModif,
    SerialNumber,
    Issuer,
    NotBefore,
    NotAfter,
    Subject,
    SubjectAlt,
    SignatureAlgorithm,
}

/// Where a parameter's value comes from (and, for writable ones, goes to).
#[derive(Clone, Debug)]
pub(crate) enum Source {
    Const(&'static str),
    Info(InfoField),
    UpTime,
    ProvisioningCode,
    ParameterKey,
    PeriodicInformTime,
    ConnectionRequestUrl,
    /// A scalar of the schema.
    Param(&'static Param, Conv),
    /// Computed from the clock and `Hoc.StaticTimeZone`.
    CurrentLocalTime,
    /// From `Hoc.ClockSynchronized`.
    TimeStatus,
    /// `Hoc.StaticSntpServers[n].HostName`.
    NtpServer(u64),
    /// The key column of a row.
    Key(&'static Table, String),
    /// A cell of a row.
    Cell(&'static Table, String, &'static Column),
    RowCount(&'static Table),
    CertCount,
    Cert(usize, CertField),
}

/// A parameter.
#[derive(Clone, Debug)]
pub(crate) struct Leaf {
    pub path: String,
    pub ty: ValueType,
    pub writable: bool,
    /// Passwords: read as "" and masked in `Debug`.
    pub secret: bool,
    pub notify: ActiveNotify,
    pub source: Source,
    pub doc: &'static str,
}

/// An object or a parameter.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Object {
        path: String,
        /// Tables: AddObject allowed; instances: DeleteObject allowed.
        writable: bool,
        doc: &'static str,
    },
    Leaf(Leaf),
}

impl Node {
    pub fn path(&self) -> &str {
        match self {
            Node::Object { path, .. } => path,
            Node::Leaf(l) => &l.path,
        }
    }
}

/// Every node of the model, in tree order.
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    index: HashMap<String, usize>,
}

impl Tree {
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.index.get(path).map(|&i| &self.nodes[i])
    }

    /// The node `path` and everything below it (`path` ends with a dot).
    pub fn subtree<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes.iter().filter(move |n| n.path().starts_with(path))
    }
}

/// The instance numbering: real rows, or one `{i}` per table for the reference.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Snapshot,
    Template,
}

struct Builder {
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
}

impl Builder {
    fn push(&mut self, node: Node) {
        let path = node.path().to_string();
        // A path defined twice would make lookups ambiguous; the first definition wins and a
        // test checks that the model has no duplicates.
        if !self.index.contains_key(&path) {
            self.index.insert(path, self.nodes.len());
            self.nodes.push(node);
        }
    }

    /// Creates the objects above `path` that do not exist yet (e.g. `...Eth.Eap.` for the
    /// schema parameter `Eth.Eap.CertificateValidation`).
    fn ancestors(&mut self, path: &str) {
        let body = path.strip_suffix('.').unwrap_or(path);
        for (i, _) in body.match_indices('.') {
            let p = &path[..=i];
            if !self.index.contains_key(p) {
                self.push(Node::Object {
                    path: p.to_string(),
                    writable: false,
                    doc: "",
                });
            }
        }
    }

    fn object(&mut self, path: String, writable: bool, doc: &'static str) {
        self.ancestors(&path);
        self.push(Node::Object { path, writable, doc });
    }

    fn leaf(&mut self, leaf: Leaf) {
        self.ancestors(&leaf.path);
        self.push(Node::Leaf(leaf));
    }
}

/// The xsi type of a schema kind.
pub(crate) fn kind_type(kind: &Kind) -> ValueType {
    match kind {
        Kind::Enum { .. } | Kind::Text { .. } => ValueType::String,
        Kind::UInt { max, .. } if *max <= u64::from(u32::MAX) => ValueType::UnsignedInt,
        Kind::UInt { .. } => ValueType::UnsignedLong,
    }
}

fn is_enable_disable(kind: &Kind) -> bool {
    matches!(kind, Kind::Enum { values, .. }
        if values.len() == 2 && values.contains(&"Enable") && values.contains(&"Disable"))
}

fn ro(path: impl Into<String>, ty: ValueType, source: Source, doc: &'static str) -> Leaf {
    Leaf {
        path: path.into(),
        ty,
        writable: false,
        secret: false,
        notify: ActiveNotify::Normal,
        source,
        doc,
    }
}

fn param_leaf(path: String, p: &'static Param, conv: Conv) -> Leaf {
    Leaf {
        path,
        ty: if conv == Conv::EnableBool {
            ValueType::Boolean
        } else {
            kind_type(&p.kind)
        },
        writable: p.access != Access::ReadOnly,
        secret: p.access == Access::Secret,
        // The clock text changes every few seconds: a session per change would flood the ACS.
        notify: if p.service == "Hoc" && p.name == "SystemTime" {
            ActiveNotify::CanDeny
        } else {
            ActiveNotify::Normal
        },
        source: Source::Param(p, conv),
        doc: p.doc,
    }
}

/// The schema parameter mapped to TR-181 `path`, as a leaf (booleans where TR-181 has them).
fn mapped(b: &mut Builder, used: &mut Vec<&'static str>, path: &'static str) {
    let Some(p) = schema::PARAMS.iter().find(|p| p.tr181 == Some(path)) else {
        return;
    };
    used.push(path);
    if path == "Device.Time.CurrentLocalTime" {
        // The schema's Hoc.SystemTime is display text; TR-181 wants a dateTime, computed here
        // from the same clock and zone.
        b.leaf(Leaf {
            notify: ActiveNotify::CanDeny,
            ..ro(path, ValueType::DateTime, Source::CurrentLocalTime, p.doc)
        });
        return;
    }
    let conv = if is_enable_disable(&p.kind) {
        Conv::EnableBool
    } else {
        Conv::Plain
    };
    b.leaf(param_leaf(path.to_string(), p, conv));
}

/// The numbered instances of a table that exist in `keys` (rows, or certificate ids): a
/// number left over from a row deleted behind the agent's back shows nothing.
fn instances<'a>(state: &'a State, mode: Mode, table: &str, keys: &[String]) -> Vec<(String, &'a str)> {
    match mode {
        Mode::Template => vec![("{i}".to_string(), "{i}")],
        Mode::Snapshot => state
            .instances
            .instances(table)
            .into_iter()
            .filter(|(_, k)| keys.iter().any(|x| x == k))
            .map(|(n, k)| (n.to_string(), k))
            .collect(),
    }
}

/// Builds the tree. In snapshot mode only rows that have an instance number appear (see
/// [`State::reconcile`]).
pub(crate) fn build(config: &Config, runtime: &Runtime, state: &State, mode: Mode) -> Tree {
    let mut b = Builder {
        nodes: Vec::new(),
        index: HashMap::new(),
    };
    let mut used = Vec::new();
    b.object("Device.".into(), false, "The root object (TR-181 Device:2).");
    b.leaf(ro(
        "Device.RootDataModelVersion",
        ValueType::String,
        Source::Const(super::ROOT_DATA_MODEL_VERSION),
        "The TR-181 version whose names this model uses (it implements a subset).",
    ));

    // --- DeviceInfo: identity the daemon supplies.
    b.object("Device.DeviceInfo.".into(), false, "Identity of the unit.");
    use InfoField::*;
    let info: [(&str, InfoField, &'static str); 6] = [
        ("Manufacturer", Manufacturer, "Manufacturer's name."),
        (
            "ManufacturerOUI",
            ManufacturerOui,
            "Manufacturer's IEEE OUI (six upper-case hex digits).",
        ),
        ("ModelName", ModelName, "Model name."),
        ("Description", Description, "Description of the unit."),
        (
            "ProductClass",
            ProductClass,
            "Product class (as in the Inform DeviceId).",
        ),
        ("SerialNumber", SerialNumber, "Serial number."),
    ];
    for (name, f, doc) in info {
        b.leaf(ro(
            format!("Device.DeviceInfo.{name}"),
            ValueType::String,
            Source::Info(f),
            doc,
        ));
    }
    b.leaf(ro(
        "Device.DeviceInfo.HardwareVersion",
        ValueType::String,
        Source::Info(HardwareVersion),
        "Hardware version (forced inform).",
    ));
    b.leaf(Leaf {
        notify: ActiveNotify::ForceEnabled,
        ..ro(
            "Device.DeviceInfo.SoftwareVersion",
            ValueType::String,
            Source::Info(SoftwareVersion),
            "Firmware version (forced inform, always active notification).",
        )
    });
    b.leaf(Leaf {
        writable: true,
        notify: ActiveNotify::ForceEnabled,
        ..ro(
            "Device.DeviceInfo.ProvisioningCode",
            ValueType::String,
            Source::ProvisioningCode,
            "Provisioning code set by the ACS, at most 64 characters (agent state; forced inform, always active notification).",
        )
    });
    b.leaf(Leaf {
        notify: ActiveNotify::CanDeny,
        ..ro(
            "Device.DeviceInfo.UpTime",
            ValueType::UnsignedInt,
            Source::UpTime,
            "Seconds since boot (active notification refused).",
        )
    });

    // --- ManagementServer: the Cwmp service's parameters under their TR-181 names, plus the
    // agent's own state.
    b.object(
        "Device.ManagementServer.".into(),
        false,
        "The CPE's association with the ACS.",
    );
    for path in [
        "Device.ManagementServer.URL",
        "Device.ManagementServer.Username",
        "Device.ManagementServer.Password",
        "Device.ManagementServer.PeriodicInformEnable",
        "Device.ManagementServer.PeriodicInformInterval",
    ] {
        mapped(&mut b, &mut used, path);
    }
    b.leaf(Leaf {
        writable: true,
        ..ro(
            "Device.ManagementServer.PeriodicInformTime",
            ValueType::DateTime,
            Source::PeriodicInformTime,
            "Reference time for periodic Informs; the unknown time 0001-01-01T00:00:00Z means any (agent state).",
        )
    });
    b.leaf(Leaf {
        notify: ActiveNotify::CanDeny,
        ..ro(
            "Device.ManagementServer.ParameterKey",
            ValueType::String,
            Source::ParameterKey,
            "ParameterKey of the last successful SetParameterValues, AddObject or DeleteObject (agent state; forced inform).",
        )
    });
    b.leaf(Leaf {
        notify: ActiveNotify::ForceDefaultEnabled,
        ..ro(
            "Device.ManagementServer.ConnectionRequestURL",
            ValueType::String,
            Source::ConnectionRequestUrl,
            "Where the ACS sends connection requests (from the daemon; forced inform, active notification by default).",
        )
    });
    for path in [
        "Device.ManagementServer.ConnectionRequestUsername",
        "Device.ManagementServer.ConnectionRequestPassword",
    ] {
        mapped(&mut b, &mut used, path);
    }

    // --- Time.
    b.object("Device.Time.".into(), false, "Time client and time zone.");
    b.leaf(ro(
        "Device.Time.Status",
        ValueType::String,
        Source::TimeStatus,
        "Synchronized or Unsynchronized, from Hoc.ClockSynchronized.",
    ));
    if let Some(t) = schema::table("Hoc.StaticSntpServers") {
        if let Kind::UInt { min, max } = t.key.1 {
            // TR-181 has NTPServer1..5; the DGW's table has priorities min..=max (1..4).
            for n in min..=max.min(5) {
                b.leaf(Leaf {
                    writable: true,
                    ..ro(
                        format!("Device.Time.NTPServer{n}"),
                        ValueType::String,
                        Source::NtpServer(n),
                        "SNTP server of this priority: Hoc.StaticSntpServers[n].HostName (setting \"\" deletes the row).",
                    )
                });
            }
        }
    }
    for path in ["Device.Time.CurrentLocalTime", "Device.Time.LocalTimeZone"] {
        mapped(&mut b, &mut used, path);
    }

    // --- Security: the certificates the daemon lists from the pki stores (read-only here;
    // they are managed with `dgw cert` and the Download RPC).
    b.object("Device.Security.".into(), false, "Certificates of the unit.");
    b.leaf(ro(
        "Device.Security.CertificateNumberOfEntries",
        ValueType::UnsignedInt,
        Source::CertCount,
        "Number of certificates.",
    ));
    b.object(
        "Device.Security.Certificate.".into(),
        false,
        "Host and trusted CA certificates (read-only).",
    );
    let ids: Vec<String> = runtime.certificates.iter().map(|c| c.id.clone()).collect();
    for (n, id) in instances(state, mode, CERTIFICATE_TABLE, &ids) {
        let idx = match mode {
            Mode::Template => Some(0),
            Mode::Snapshot => runtime.certificates.iter().position(|c| c.id == id),
        };
        let Some(idx) = idx else { continue };
        let base = format!("Device.Security.Certificate.{n}.");
        b.object(base.clone(), false, "");
        use CertField as C;
        let fields: [(&str, C, ValueType, &'static str); 9] = [
            (
                "Enable",
                C::Enable,
                ValueType::Boolean,
                "Always true: the unit uses the certificates it stores.",
            ),
            (
                "LastModif",
                C::LastModif,
                ValueType::DateTime,
                "When it was imported.",
            ),
            (
                "SerialNumber",
                C::SerialNumber,
                ValueType::String,
                "Serial number (hex).",
            ),
            (
                "Issuer",
                C::Issuer,
                ValueType::String,
                "Issuer's distinguished name.",
            ),
            (
                "NotBefore",
                C::NotBefore,
                ValueType::DateTime,
                "Start of validity.",
            ),
            ("NotAfter", C::NotAfter, ValueType::DateTime, "End of validity."),
            (
                "Subject",
                C::Subject,
                ValueType::String,
                "Subject's distinguished name.",
            ),
            (
                "SubjectAlt",
                C::SubjectAlt,
                ValueType::String,
                "Subject alternative names, comma-separated.",
            ),
            (
                "SignatureAlgorithm",
                C::SignatureAlgorithm,
                ValueType::String,
                "Signature algorithm.",
            ),
        ];
        for (name, f, ty, doc) in fields {
            b.leaf(ro(format!("{base}{name}"), ty, Source::Cert(idx, f), doc));
        }
    }

    // Schema parameters mapped to TR-181 names not placed above appear here, so a new
    // `tr181 = ...` in the schema shows up without touching this file.
    for p in schema::PARAMS {
        if let Some(path) = p.tr181 {
            if !used.contains(&path) {
                mapped(&mut b, &mut used, path);
            }
        }
    }

    // --- The vendor tree: every schema parameter and table.
    b.object(
        VENDOR_ROOT.to_string(),
        false,
        "Every DGW parameter of the configuration (docs/parameters.md), under its DGW name.",
    );
    for (svc, what) in schema::SERVICES {
        let base = format!("{VENDOR_ROOT}{svc}.");
        b.object(base.clone(), false, what);
        for p in schema::PARAMS.iter().filter(|p| p.service == *svc) {
            b.leaf(param_leaf(format!("{base}{}", p.name), p, Conv::Plain));
        }
        let tables: Vec<&'static Table> = schema::TABLES.iter().filter(|t| t.service == *svc).collect();
        // The counts first, so the service's own parameters come before its tables.
        for t in &tables {
            b.leaf(ro(
                format!("{base}{}NumberOfEntries", t.name),
                ValueType::UnsignedInt,
                Source::RowCount(t),
                "Number of rows.",
            ));
        }
        for t in tables {
            b.object(format!("{base}{}.", t.name), true, t.doc);
            let keys = config.rows(&t.full_name()).unwrap_or_default();
            for (n, key) in instances(state, mode, &t.full_name(), &keys) {
                let row = format!("{base}{}.{n}.", t.name);
                b.object(row.clone(), true, "");
                b.leaf(Leaf {
                    writable: true,
                    ..ro(
                        format!("{row}{}", t.key.0),
                        kind_type(&t.key.1),
                        Source::Key(t, key.to_string()),
                        "The row's key; setting it renames the row (the instance number stays).",
                    )
                });
                for c in t.columns {
                    b.leaf(Leaf {
                        writable: c.access != Access::ReadOnly,
                        secret: c.access == Access::Secret,
                        ..ro(
                            format!("{row}{}", c.name),
                            kind_type(&c.kind),
                            Source::Cell(t, key.to_string(), c),
                            c.doc,
                        )
                    });
                }
            }
        }
    }
    Tree {
        nodes: b.nodes,
        index: b.index,
    }
}

/// `Service.Table[Key].Column`.
pub(crate) fn cell_name(t: &Table, key: &str, column: &str) -> String {
    format!("{}[{key}].{column}", t.full_name())
}

fn date(unix: Option<i64>) -> String {
    unix.and_then(DateTime::from_unix)
        .map_or_else(|| DateTime::UNKNOWN.to_string(), |d| d.to_string())
}

/// Local time as an `xsd:dateTime` with the zone's offset; the unknown time when the clock
/// is not trusted.
pub(crate) fn local_time(now: Option<i64>, zone: &str) -> String {
    let Some(now) = now else {
        return DateTime::UNKNOWN.to_string();
    };
    let offset = tz::TimeZone::parse(zone)
        .map(|z| z.offset_at(now).utc_offset)
        .unwrap_or(0);
    // xsd:dateTime offsets are whole minutes within ±14:00; a zone outside that (POSIX allows
    // up to 24 h) is shown in UTC rather than as an invalid value.
    let minutes = offset / 60;
    let minutes = if minutes.abs() > 14 * 60 { 0 } else { minutes };
    let Some(local) = DateTime::from_unix(now.saturating_add(i64::from(minutes) * 60)) else {
        return DateTime::UNKNOWN.to_string();
    };
    if minutes == 0 {
        return local.to_string();
    }
    let s = local.as_str();
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("{}{sign}{:02}:{:02}", &s[..s.len() - 1], m / 60, m % 60)
}

/// The value of a parameter as stored, secrets included: for comparisons and for applying,
/// never for answers (see [`super::DataModel::get_parameter_values`]).
pub(crate) fn raw_value(leaf: &Leaf, config: &Config, runtime: &Runtime, state: &State) -> String {
    let info = &runtime.device;
    match &leaf.source {
        Source::Const(v) => v.to_string(),
        Source::Info(f) => match f {
            InfoField::Manufacturer => &info.manufacturer,
            InfoField::ManufacturerOui => &info.manufacturer_oui,
            InfoField::ModelName => &info.model_name,
            InfoField::Description => &info.description,
            InfoField::ProductClass => &info.product_class,
            InfoField::SerialNumber => &info.serial_number,
            InfoField::HardwareVersion => &info.hardware_version,
            InfoField::SoftwareVersion => &info.software_version,
        }
        .clone(),
        Source::UpTime => runtime.up_time.to_string(),
        Source::ProvisioningCode => state.provisioning_code.clone(),
        Source::ParameterKey => state.parameter_key.clone(),
        Source::PeriodicInformTime => state
            .periodic_inform_time
            .as_ref()
            .map_or_else(|| DateTime::UNKNOWN.to_string(), |t| t.to_string()),
        Source::ConnectionRequestUrl => runtime.connection_request_url.clone(),
        Source::Param(p, conv) => {
            let name = p.full_name();
            let v = if p.access == Access::ReadOnly {
                // Status values live in confd's status table, not in the configuration.
                runtime.status.get(&name).cloned()
            } else {
                None
            };
            let v = v.unwrap_or_else(|| config.get_secret(&name).unwrap_or_else(|_| p.default.to_string()));
            match conv {
                Conv::Plain => v,
                Conv::EnableBool => (v == "Enable").to_string(),
            }
        }
        Source::CurrentLocalTime => {
            let zone = config.get("Hoc.StaticTimeZone").unwrap_or_default();
            local_time(runtime.now, &zone)
        }
        Source::TimeStatus => {
            let synced = runtime
                .status
                .get("Hoc.ClockSynchronized")
                .is_some_and(|v| v == "Yes");
            if synced { "Synchronized" } else { "Unsynchronized" }.to_string()
        }
        Source::NtpServer(n) => config
            .get(&format!("Hoc.StaticSntpServers[{n}].HostName"))
            .unwrap_or_default(),
        Source::Key(_, key) => key.clone(),
        Source::Cell(t, key, c) => config.get_secret(&cell_name(t, key, c.name)).unwrap_or_default(),
        Source::RowCount(t) => config
            .rows(&t.full_name())
            .map(|r| {
                r.iter()
                    .filter(|k| state.instances.number(&t.full_name(), k).is_some())
                    .count()
            })
            .unwrap_or(0)
            .to_string(),
        Source::CertCount => runtime
            .certificates
            .iter()
            .filter(|c| state.instances.number(CERTIFICATE_TABLE, &c.id).is_some())
            .count()
            .to_string(),
        Source::Cert(i, f) => runtime
            .certificates
            .get(*i)
            .map_or_else(String::new, |c| cert_field(c, *f)),
    }
}

fn cert_field(c: &Certificate, f: CertField) -> String {
    match f {
        CertField::Enable => "true".into(),
        CertField::LastModif => date(c.last_modif),
        CertField::SerialNumber => c.serial_number.clone(),
        CertField::Issuer => c.issuer.clone(),
        CertField::NotBefore => date(Some(c.not_before)),
        CertField::NotAfter => date(Some(c.not_after)),
        CertField::Subject => c.subject.clone(),
        CertField::SubjectAlt => c.subject_alt.join(","),
        CertField::SignatureAlgorithm => c.signature_algorithm.clone(),
    }
}
