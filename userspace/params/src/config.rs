//! A configuration: values for the schema's parameters and tables, changed
//! only through all-or-nothing transactions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::schema::{self, Access, Apply, Column, Kind, Param, Table};

/// An error about one parameter: its name and what is wrong or allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter (or table cell) as written, or canonical when known.
    pub name: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for ParamError {}

fn err(name: impl Into<String>, message: impl Into<String>) -> ParamError {
    ParamError {
        name: name.into(),
        message: message.into(),
    }
}

/// What a name refers to.
#[derive(Clone, Debug)]
pub enum Target {
    /// A scalar parameter.
    Scalar(&'static Param),
    /// One cell: `Service.Table[Key].Column`.
    Cell {
        /// The table.
        table: &'static Table,
        /// Canonical key.
        key: String,
        /// The column.
        column: &'static Column,
    },
    /// A whole row: `Service.Table[Key]`.
    Row {
        /// The table.
        table: &'static Table,
        /// Canonical key.
        key: String,
    },
}

impl Target {
    /// The canonical name.
    pub fn name(&self) -> String {
        match self {
            Target::Scalar(p) => p.full_name(),
            Target::Cell { table, key, column } => {
                format!("{}[{key}].{}", table.full_name(), column.name)
            }
            Target::Row { table, key } => format!("{}[{key}]", table.full_name()),
        }
    }
    /// The service owning it.
    pub fn service(&self) -> &'static str {
        match self {
            Target::Scalar(p) => p.service,
            Target::Cell { table, .. } | Target::Row { table, .. } => table.service,
        }
    }
    fn access(&self) -> Access {
        match self {
            Target::Scalar(p) => p.access,
            Target::Cell { column, .. } => column.access,
            Target::Row { .. } => Access::ReadWrite,
        }
    }
    /// Whether a change applies live or needs a restart.
    pub fn apply(&self) -> Apply {
        match self {
            Target::Scalar(p) => p.apply,
            Target::Cell { table, .. } | Target::Row { table, .. } => table.apply,
        }
    }
}

/// Checks `value` against `kind`; returns the canonical spelling.
pub fn validate(kind: &Kind, value: &str) -> Result<String, String> {
    match kind {
        Kind::Enum { values, refused } => {
            let v = value.trim();
            if let Some(c) = values.iter().find(|c| c.eq_ignore_ascii_case(v)) {
                return Ok((*c).to_string());
            }
            if let Some((_, why)) = refused.iter().find(|(r, _)| r.eq_ignore_ascii_case(v)) {
                return Err(format!("{v:?} is refused: {why}"));
            }
            Err(format!("{v:?} is not allowed; allowed: {}", values.join(" | ")))
        }
        Kind::UInt { min, max } => match value.trim().parse::<u64>() {
            Ok(n) if (*min..=*max).contains(&n) => Ok(n.to_string()),
            Ok(n) => Err(format!("{n} is out of range {min}..{max}")),
            Err(_) => Err(format!("{value:?} is not a whole number; allowed: {min}..{max}")),
        },
        Kind::Text { max_len, check, what } => {
            if value.len() > *max_len {
                return Err(format!(
                    "{} characters, more than the {max_len} allowed",
                    value.len()
                ));
            }
            if value.chars().any(char::is_control) {
                return Err("control characters are not allowed".into());
            }
            if let Some(check) = check {
                check(value).map_err(|e| format!("{e} (expected {what})"))?;
            }
            Ok(value.to_string())
        }
    }
}

/// Resolves a name (case-insensitive) to what it refers to.
pub fn resolve(name: &str) -> Result<Target, ParamError> {
    let n = name.trim();
    if let Some(open) = n.find('[') {
        let table_name = &n[..open];
        let table = schema::table(table_name).ok_or_else(|| err(n, format!("no table {table_name:?}")))?;
        let close = n[open..]
            .find(']')
            .map(|i| open + i)
            .ok_or_else(|| err(n, "missing ']'"))?;
        let raw_key = &n[open + 1..close];
        let key =
            validate(&table.key.1, raw_key).map_err(|e| err(n, format!("row key {} {e}", table.key.0)))?;
        let rest = &n[close + 1..];
        if rest.is_empty() {
            return Ok(Target::Row { table, key });
        }
        let col_name = rest
            .strip_prefix('.')
            .ok_or_else(|| err(n, "expected .Column after ]"))?;
        let column = table.column(col_name).ok_or_else(|| {
            let cols: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            err(n, format!("no column {col_name:?}; columns: {}", cols.join(", ")))
        })?;
        return Ok(Target::Cell { table, key, column });
    }
    if let Some(p) = schema::param(n) {
        return Ok(Target::Scalar(p));
    }
    let svc = n.split('.').next().unwrap_or("");
    if schema::table(n).is_some() {
        return Err(err(n, "is a table: name a cell as Table[Key].Column"));
    }
    if schema::service(svc).is_none() {
        let all: Vec<&str> = schema::SERVICES.iter().map(|(s, _)| *s).collect();
        return Err(err(
            n,
            format!("unknown service {svc:?}; services: {}", all.join(", ")),
        ));
    }
    Err(err(n, "unknown parameter (see `dgw ctl list`)"))
}

type Rows = BTreeMap<String, BTreeMap<String, String>>;

/// Values for every parameter and table. Scalars not set explicitly have
/// their default; tables are stored whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) scalars: BTreeMap<String, String>,
    pub(crate) tables: BTreeMap<String, Rows>,
}

/// One listed value.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Canonical name.
    pub name: String,
    /// The value; `None` for secrets.
    pub value: Option<String>,
    /// Whether a secret has a value (secrets only).
    pub secret_set: bool,
    /// Factory default.
    pub default: String,
    /// Allowed values.
    pub allowed: String,
    /// Access.
    pub access: Access,
    /// Restart needed on change.
    pub apply: Apply,
    /// Description.
    pub doc: &'static str,
}

/// What a committed transaction changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// (name, old, new) for each changed value; secrets show as "********".
    pub changed: Vec<(String, String, String)>,
    /// Services that must restart for the changes to apply.
    pub restart_required: BTreeSet<String>,
}

fn new_row(table: &Table) -> BTreeMap<String, String> {
    table
        .columns
        .iter()
        .map(|c| (c.name.to_string(), c.default.to_string()))
        .collect()
}

impl Default for Config {
    fn default() -> Self {
        Self::factory()
    }
}

impl Config {
    /// The factory configuration.
    pub fn factory() -> Config {
        let mut tables = BTreeMap::new();
        for t in schema::TABLES {
            let rows: Rows = t
                .default_rows
                .iter()
                .map(|k| (k.to_string(), new_row(t)))
                .collect();
            tables.insert(t.full_name(), rows);
        }
        Config {
            scalars: BTreeMap::new(),
            tables,
        }
    }

    fn raw(&self, target: &Target) -> Option<String> {
        match target {
            Target::Scalar(p) => Some(
                self.scalars
                    .get(&p.full_name())
                    .cloned()
                    .unwrap_or_else(|| p.default.to_string()),
            ),
            Target::Cell { table, key, column } => {
                let rows = self.tables.get(&table.full_name())?;
                let row = rows.get(key).or_else(|| {
                    rows.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(key))
                        .map(|(_, r)| r)
                })?;
                row.get(column.name).cloned()
            }
            Target::Row { .. } => None,
        }
    }

    /// Reads a value. Secrets are write-only and give an error; a cell of a
    /// row that does not exist is an error naming the rows that do.
    pub fn get(&self, name: &str) -> Result<String, ParamError> {
        let t = resolve(name)?;
        if t.access() == Access::Secret {
            return Err(err(t.name(), "is a write-only secret"));
        }
        self.get_target(&t)
    }

    /// Reads a value including secrets (for an admin's export and for the
    /// services that use them). Never log what this returns for a secret.
    pub fn get_secret(&self, name: &str) -> Result<String, ParamError> {
        self.get_target(&resolve(name)?)
    }

    fn get_target(&self, t: &Target) -> Result<String, ParamError> {
        if let Target::Row { .. } = t {
            return Err(err(t.name(), "is a row: name a cell as Table[Key].Column"));
        }
        self.raw(t).ok_or_else(|| match t {
            Target::Cell { table, .. } => {
                let keys: Vec<&String> = self
                    .tables
                    .get(&table.full_name())
                    .map(|r| r.keys().collect())
                    .unwrap_or_default();
                err(
                    t.name(),
                    format!(
                        "no such row; rows: {}",
                        if keys.is_empty() {
                            "none".to_string()
                        } else {
                            keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                        }
                    ),
                )
            }
            _ => err(t.name(), "no value"),
        })
    }

    /// The keys of a table's rows.
    pub fn rows(&self, table: &str) -> Result<Vec<String>, ParamError> {
        let t = schema::table(table).ok_or_else(|| err(table, "no such table"))?;
        Ok(self
            .tables
            .get(&t.full_name())
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default())
    }

    /// Every value whose name starts with `prefix` (case-insensitive).
    pub fn list(&self, prefix: &str) -> Vec<Entry> {
        let pre = prefix.to_ascii_lowercase();
        let mut out = Vec::new();
        for p in schema::PARAMS {
            let name = p.full_name();
            if !name.to_ascii_lowercase().starts_with(&pre) {
                continue;
            }
            let raw = self.raw(&Target::Scalar(p)).unwrap_or_default();
            out.push(Entry {
                name,
                value: (p.access != Access::Secret).then(|| raw.clone()),
                secret_set: p.access == Access::Secret && !raw.is_empty(),
                default: p.default.to_string(),
                allowed: p.kind.describe(),
                access: p.access,
                apply: p.apply,
                doc: p.doc,
            });
        }
        for t in schema::TABLES {
            for (key, row) in self.tables.get(&t.full_name()).into_iter().flatten() {
                for c in t.columns {
                    let name = format!("{}[{key}].{}", t.full_name(), c.name);
                    if !name.to_ascii_lowercase().starts_with(&pre) {
                        continue;
                    }
                    let raw = row.get(c.name).cloned().unwrap_or_default();
                    out.push(Entry {
                        name,
                        value: (c.access != Access::Secret).then(|| raw.clone()),
                        secret_set: c.access == Access::Secret && !raw.is_empty(),
                        default: c.default.to_string(),
                        allowed: c.kind.describe(),
                        access: c.access,
                        apply: t.apply,
                        doc: c.doc,
                    });
                }
            }
        }
        out
    }

    /// Starts a transaction on a copy of this configuration.
    pub fn begin(&self) -> Txn {
        Txn {
            base: self.clone(),
            work: self.clone(),
            touched: Vec::new(),
        }
    }

    /// Sets several values at once: all or nothing. On error, every problem
    /// is reported and nothing changes.
    pub fn set_many(&mut self, items: &[(String, String)]) -> Result<ChangeSet, Vec<ParamError>> {
        let mut t = self.begin();
        let mut errors = Vec::new();
        for (n, v) in items {
            if let Err(e) = t.assign(n, v) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let (cfg, changes) = t.commit()?;
        *self = cfg;
        Ok(changes)
    }

    /// Rules that span parameters; each broken rule is one error.
    pub fn check_constraints(&self) -> Vec<ParamError> {
        let mut out = Vec::new();
        let get = |n: &str| self.get_secret(n).unwrap_or_default();
        let any_tls = self
            .tables
            .get("SipEp.TransportConfig")
            .into_iter()
            .flatten()
            .any(|(_, row)| row.get("TlsEnable").is_some_and(|v| v == "Enable"));
        for (key, row) in self.tables.get("SipEp.TransportConfig").into_iter().flatten() {
            let on = |c: &str| row.get(c).map(|v| v == "Enable").unwrap_or(false);
            // TLS is for the whole unit (the DGW does not mix TLS and
            // non-TLS links): one TLS row forbids UDP and TCP on every row,
            // so no row can quietly take SIP back to plaintext.
            if any_tls && (on("UdpEnable") || on("TcpEnable")) {
                out.push(err(
                    format!("SipEp.TransportConfig[{key}]"),
                    "TLS excludes UDP and TCP for the whole unit: with TlsEnable=Enable on any row, set UdpEnable=Disable and TcpEnable=Disable on every row (in the same script or set)",
                ));
            }
            if !on("TlsEnable") && !on("UdpEnable") && !on("TcpEnable") {
                out.push(err(
                    format!("SipEp.TransportConfig[{key}]"),
                    "enable at least one transport (TlsEnable, UdpEnable or TcpEnable)",
                ));
            }
        }
        let gateways: BTreeSet<&String> = self
            .tables
            .get("SipEp.TransportConfig")
            .map(|r| r.keys().collect())
            .unwrap_or_default();
        for (user, row) in self.tables.get("SipEp.Registration").into_iter().flatten() {
            if let Some(g) = row.get("GatewayName") {
                if !gateways.contains(g) {
                    out.push(err(
                        format!("SipEp.Registration[{user}].GatewayName"),
                        format!("gateway {g:?} has no SipEp.TransportConfig row"),
                    ));
                }
            }
        }
        if get("Cwmp.Enable") == "Enable"
            && get("Cwmp.AcsUrlConfigSource") == "Static"
            && get("Cwmp.AcsStaticUrl").is_empty()
        {
            out.push(err(
                "Cwmp.AcsStaticUrl",
                "must be set when Cwmp.AcsUrlConfigSource=Static and Cwmp.Enable=Enable",
            ));
        }
        out
    }
}

/// An all-or-nothing change under construction.
pub struct Txn {
    base: Config,
    work: Config,
    touched: Vec<Target>,
}

impl Txn {
    /// Assigns a value; checked now, applied only by [`Txn::commit`].
    pub fn assign(&mut self, name: &str, value: &str) -> Result<(), ParamError> {
        let t = resolve(name)?;
        if t.access() == Access::ReadOnly {
            return Err(err(t.name(), "is a read-only status value"));
        }
        match &t {
            Target::Scalar(p) => {
                let v = validate(&p.kind, value).map_err(|m| err(t.name(), m))?;
                // Only values that differ from the default are kept, so two
                // configurations that mean the same compare equal (and an
                // export, which lists differences, gives them back exactly).
                if v == p.default {
                    self.work.scalars.remove(&p.full_name());
                } else {
                    self.work.scalars.insert(p.full_name(), v);
                }
            }
            Target::Cell { table, key, column } => {
                let v = validate(&column.kind, value).map_err(|m| err(t.name(), m))?;
                let rows = self.work.tables.entry(table.full_name()).or_default();
                // Row keys are names too: case-insensitive, so `[Default]`
                // is the `default` row, not a second one.
                let key = &rows
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(key))
                    .cloned()
                    .unwrap_or_else(|| key.clone());
                if !rows.contains_key(key) {
                    if rows.len() >= table.max_rows {
                        return Err(err(
                            t.name(),
                            format!(
                                "{} already has its maximum of {} rows",
                                table.full_name(),
                                table.max_rows
                            ),
                        ));
                    }
                    rows.insert(key.clone(), new_row(table));
                }
                rows.get_mut(key)
                    .expect("inserted above")
                    .insert(column.name.to_string(), v);
            }
            Target::Row { .. } => {
                return Err(err(
                    t.name(),
                    "is a row: assign a cell as Table[Key].Column=Value",
                ))
            }
        }
        self.touched.push(t);
        Ok(())
    }

    /// Deletes a row.
    pub fn delete_row(&mut self, name: &str) -> Result<(), ParamError> {
        let t = resolve(name)?;
        let Target::Row { table, key } = &t else {
            return Err(err(
                t.name(),
                "Delete applies to a row: Service.Table[Key].Delete",
            ));
        };
        let rows = self.work.tables.entry(table.full_name()).or_default();
        let key = &rows
            .keys()
            .find(|k| k.eq_ignore_ascii_case(key))
            .cloned()
            .unwrap_or_else(|| key.clone());
        if rows.remove(key).is_none() {
            return Err(err(t.name(), "no such row"));
        }
        self.touched.push(t);
        Ok(())
    }

    /// Resets everything to factory defaults (as part of this transaction).
    pub fn factory_reset(&mut self) {
        self.work = Config::factory();
        self.touched.push(Target::Row {
            table: &schema::TABLES[0],
            key: String::new(),
        });
    }

    /// Checks the cross-parameter rules and returns the new configuration
    /// and what changed, or every broken rule.
    pub fn commit(self) -> Result<(Config, ChangeSet), Vec<ParamError>> {
        let errors = self.work.check_constraints();
        if !errors.is_empty() {
            return Err(errors);
        }
        let changes = diff(&self.base, &self.work);
        Ok((self.work, changes))
    }
}

/// What differs between two configurations.
pub fn diff(old: &Config, new: &Config) -> ChangeSet {
    let mut cs = ChangeSet::default();
    let mask = |secret: bool, v: &str| {
        if secret && !v.is_empty() {
            "********".to_string()
        } else {
            v.to_string()
        }
    };
    for p in schema::PARAMS {
        let t = Target::Scalar(p);
        let (a, b) = (old.raw(&t).unwrap_or_default(), new.raw(&t).unwrap_or_default());
        if a != b {
            let s = p.access == Access::Secret;
            cs.changed.push((p.full_name(), mask(s, &a), mask(s, &b)));
            if p.apply == Apply::Restart {
                cs.restart_required.insert(p.service.to_string());
            }
        }
    }
    for t in schema::TABLES {
        let empty = Rows::new();
        let a = old.tables.get(&t.full_name()).unwrap_or(&empty);
        let b = new.tables.get(&t.full_name()).unwrap_or(&empty);
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for k in keys {
            for c in t.columns {
                let va = a.get(k).and_then(|r| r.get(c.name)).cloned();
                let vb = b.get(k).and_then(|r| r.get(c.name)).cloned();
                if va != vb {
                    let s = c.access == Access::Secret;
                    cs.changed.push((
                        format!("{}[{k}].{}", t.full_name(), c.name),
                        va.map(|v| mask(s, &v)).unwrap_or_else(|| "(no row)".into()),
                        vb.map(|v| mask(s, &v)).unwrap_or_else(|| "(deleted)".into()),
                    ));
                    if t.apply == Apply::Restart {
                        cs.restart_required.insert(t.service.to_string());
                    }
                }
            }
        }
    }
    cs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid_and_factory_passes_constraints() {
        for p in schema::PARAMS {
            assert_eq!(
                validate(&p.kind, p.default).as_deref(),
                Ok(p.default),
                "{}",
                p.full_name()
            );
            if let Some((d, _)) = p.dgw_default {
                assert_ne!(d, p.default, "{}: dgw_default equals ours", p.full_name());
            }
        }
        for t in schema::TABLES {
            for c in t.columns {
                assert_eq!(
                    validate(&c.kind, c.default).as_deref(),
                    Ok(c.default),
                    "{}.{}",
                    t.full_name(),
                    c.name
                );
            }
            for k in t.default_rows {
                assert_eq!(validate(&t.key.1, k).as_deref(), Ok(*k));
            }
        }
        assert_eq!(Config::factory().check_constraints(), vec![]);
    }

    #[test]
    fn names_are_case_insensitive_and_canonical() {
        let c = Config::factory();
        assert_eq!(c.get("sipep.transporttlsversion").unwrap(), "TLSv1_2");
        assert_eq!(
            resolve("HOC.staticsntpservers[2].hostname").unwrap().name(),
            "Hoc.StaticSntpServers[2].HostName"
        );
        let mut c2 = c.clone();
        c2.set_many(&[("SipEp.TransportTlsVersion".into(), "tlsv1_3".into())])
            .unwrap();
        assert_eq!(c2.get("SipEp.TransportTlsVersion").unwrap(), "TLSv1_3");
    }

    #[test]
    fn multi_set_is_atomic() {
        let mut c = Config::factory();
        let before = c.clone();
        let e = c
            .set_many(&[
                ("Web.ServerPort".into(), "8080".into()),
                ("SipEp.TransportTlsVersion".into(), "TLSv1".into()),
                ("Nope.Thing".into(), "1".into()),
            ])
            .unwrap_err();
        assert_eq!(c, before, "nothing changed");
        assert_eq!(e.len(), 2);
        assert!(e[0].to_string().contains("RFC 8996"), "{}", e[0]);
        assert!(e[1].to_string().contains("unknown service"), "{}", e[1]);
        let cs = c
            .set_many(&[
                ("Web.ServerPort".into(), "8080".into()),
                ("Hoc.SntpSynchronizationPeriod".into(), "60".into()),
            ])
            .unwrap();
        assert_eq!(cs.changed.len(), 2);
        assert_eq!(cs.restart_required.iter().collect::<Vec<_>>(), vec!["Web"]);
    }

    #[test]
    fn cross_parameter_rules_hold_across_a_set() {
        let mut c = Config::factory();
        let e = c
            .set_many(&[("SipEp.TransportConfig[default].UdpEnable".into(), "Enable".into())])
            .unwrap_err();
        assert!(e[0].message.contains("TLS excludes UDP"), "{e:?}");
        c.set_many(&[
            ("SipEp.TransportConfig[default].UdpEnable".into(), "Enable".into()),
            (
                "SipEp.TransportConfig[default].TlsEnable".into(),
                "Disable".into(),
            ),
        ])
        .unwrap();
        assert_eq!(
            c.get("SipEp.TransportConfig[default].UdpEnable").unwrap(),
            "Enable"
        );
    }

    #[test]
    fn one_tls_row_forbids_plaintext_on_every_row_and_keys_ignore_case() {
        let mut c = Config::factory();
        let e = c
            .set_many(&[
                (
                    "SipEp.TransportConfig[a-trunk].TlsEnable".into(),
                    "Disable".into(),
                ),
                ("SipEp.TransportConfig[a-trunk].UdpEnable".into(), "Enable".into()),
            ])
            .unwrap_err();
        assert!(e[0].message.contains("whole unit"), "{e:?}");
        c.set_many(&[("SipEp.TransportConfig[Default].SecurePort".into(), "5062".into())])
            .unwrap();
        assert_eq!(c.rows("SipEp.TransportConfig").unwrap(), vec!["default"]);
        assert_eq!(
            c.get("SipEp.TransportConfig[DEFAULT].SecurePort").unwrap(),
            "5062"
        );
    }

    #[test]
    fn setting_the_default_is_the_same_configuration() {
        let mut c = Config::factory();
        c.set_many(&[("Web.ServerPort".into(), "8080".into())]).unwrap();
        c.set_many(&[("Web.ServerPort".into(), "80".into())]).unwrap();
        assert_eq!(c, Config::factory(), "found by the config_script fuzzer");
    }

    #[test]
    fn secrets_are_write_only_and_masked() {
        let mut c = Config::factory();
        let cs = c
            .set_many(&[("Cwmp.AcsPassword".into(), "hunter2".into())])
            .unwrap();
        assert_eq!(cs.changed[0].2, "********");
        assert!(c.get("Cwmp.AcsPassword").is_err());
        assert_eq!(c.get_secret("Cwmp.AcsPassword").unwrap(), "hunter2");
        let e = c.list("Cwmp.AcsPassword");
        assert_eq!(e[0].value, None);
        assert!(e[0].secret_set);
    }

    #[test]
    fn rows_are_created_limited_and_deleted() {
        let mut c = Config::factory();
        for i in 1..=4 {
            c.set_many(&[(
                format!("Hoc.StaticSntpServers[{i}].HostName"),
                format!("ntp{i}.example.net"),
            )])
            .unwrap();
        }
        let e = c
            .set_many(&[("Hoc.StaticSntpServers[5].HostName".into(), "x.example".into())])
            .unwrap_err();
        assert!(e[0].message.contains("out of range"), "{e:?}");
        let mut t = c.begin();
        t.delete_row("Hoc.StaticSntpServers[2]").unwrap();
        let (c2, _) = t.commit().unwrap();
        assert_eq!(c2.rows("Hoc.StaticSntpServers").unwrap(), vec!["1", "3", "4"]);
        assert!(c2
            .get("Hoc.StaticSntpServers[2].HostName")
            .unwrap_err()
            .message
            .contains("rows: 1, 3, 4"));
    }

    #[test]
    fn read_only_status_cannot_be_set() {
        let mut c = Config::factory();
        let e = c
            .set_many(&[("Hoc.SystemTime".into(), "now".into())])
            .unwrap_err();
        assert!(e[0].message.contains("read-only"));
    }
}
