//! The changing RPCs: SetParameterValues, SetParameterAttributes, AddObject, DeleteObject.
//!
//! Each checks everything against the snapshot first and returns a [`Plan`] (or the new
//! [`State`]) without changing anything; the configuration part is dry-run through the same
//! script code confd uses, so what the daemon applies has already passed every schema rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cwmp::{
    DateTime, Fault, FaultCode, Notification, ParameterValue, SetParameterAttributesStruct,
    SetParameterValuesFault, Status,
};
use params::config::validate;
use params::schema::{self, Access, Column, Kind, Table};

use super::tree::{cell_name, Conv, Leaf, Node, Source};
use super::{
    fault, shown, AddedObject, Attribute, Change, DataModel, Plan, State, MAX_PARAMETER_KEY,
    MAX_PROVISIONING_CODE, VENDOR_ROOT,
};

/// What one accepted SetParameterValues entry does.
enum Op {
    /// Assign a scalar.
    Scalar {
        name: String,
        value: String,
        secret: bool,
    },
    /// Assign a cell of an existing row (follows the row if it is renamed).
    Cell {
        table: &'static Table,
        key: String,
        column: &'static Column,
        value: String,
    },
    /// Rename a row.
    Rename {
        table: &'static Table,
        key: String,
        new_key: String,
    },
    /// `Device.Time.NTPServer<n>`: "" deletes the row, anything else sets its host.
    NtpServer {
        n: u64,
        value: String,
    },
    ProvisioningCode(String),
    PeriodicInformTime(Option<DateTime>),
}

fn param_fault(name: &str, code: FaultCode, detail: impl std::fmt::Display) -> SetParameterValuesFault {
    SetParameterValuesFault {
        // The schema's ParameterName is at most 256 characters; the codec refuses longer
        // names, but a direct caller could pass one.
        parameter_name: name.chars().take(super::MAX_NAME).collect(),
        code,
        string: format!("{}: {detail}", code.description()),
    }
}

fn check_key(parameter_key: &str) -> Result<(), Fault> {
    if parameter_key.chars().count() > MAX_PARAMETER_KEY {
        return Err(fault(
            FaultCode::INVALID_ARGUMENTS,
            format!("ParameterKey longer than {MAX_PARAMETER_KEY} characters"),
        ));
    }
    Ok(())
}

/// Checks a value against a schema kind; for passwords the message says what is allowed
/// without any detail drawn from the value.
fn schema_value(kind: &Kind, value: &str, secret: bool) -> Result<String, String> {
    validate(kind, value).map_err(|m| {
        if secret {
            format!("allowed: {}", kind.describe())
        } else {
            m
        }
    })
}

/// The operation for one entry, or why it is refused (code, detail).
fn entry(leaf: &Leaf, pv: &ParameterValue) -> Result<Option<Op>, (FaultCode, String)> {
    if !leaf.writable {
        return Err((
            FaultCode::NON_WRITABLE_PARAMETER,
            "the parameter is read-only".into(),
        ));
    }
    if let Some(t) = pv.value_type {
        if t != leaf.ty {
            return Err((
                FaultCode::INVALID_PARAMETER_TYPE,
                format!("the parameter is {}, not {}", leaf.ty.qname(), t.qname()),
            ));
        }
    }
    if !leaf.ty.is_valid(&pv.value) {
        return Err((
            FaultCode::INVALID_PARAMETER_VALUE,
            format!("not a valid {}", leaf.ty.qname()),
        ));
    }
    let bad = |m: String| (FaultCode::INVALID_PARAMETER_VALUE, m);
    let trimmed = pv.value.trim_matches([' ', '\t', '\r', '\n']);
    Ok(Some(match &leaf.source {
        Source::Param(p, conv) => {
            let v = match conv {
                Conv::Plain => pv.value.as_str(),
                Conv::EnableBool if matches!(trimmed, "true" | "1") => "Enable",
                Conv::EnableBool => "Disable",
            };
            let secret = p.access == Access::Secret;
            Op::Scalar {
                name: p.full_name(),
                value: schema_value(&p.kind, v, secret).map_err(bad)?,
                secret,
            }
        }
        Source::Cell(table, key, column) => Op::Cell {
            table,
            key: key.clone(),
            column,
            value: schema_value(&column.kind, &pv.value, column.access == Access::Secret).map_err(bad)?,
        },
        Source::Key(table, key) => {
            let new_key = validate(&table.key.1, &pv.value).map_err(bad)?;
            if &new_key == key {
                return Ok(None);
            }
            Op::Rename {
                table,
                key: key.clone(),
                new_key,
            }
        }
        Source::NtpServer(n) => {
            let value = if pv.value.is_empty() {
                String::new()
            } else {
                let kind = schema::table("Hoc.StaticSntpServers")
                    .and_then(|t| t.column("HostName"))
                    .map(|c| &c.kind);
                match kind {
                    Some(k) => validate(k, &pv.value).map_err(bad)?,
                    None => return Err((FaultCode::INTERNAL_ERROR, "no SNTP server table".into())),
                }
            };
            Op::NtpServer { n: *n, value }
        }
        Source::ProvisioningCode => {
            if pv.value.chars().count() > MAX_PROVISIONING_CODE || pv.value.chars().any(char::is_control) {
                return Err(bad(format!(
                    "at most {MAX_PROVISIONING_CODE} printable characters"
                )));
            }
            Op::ProvisioningCode(pv.value.clone())
        }
        Source::PeriodicInformTime => {
            // is_valid above checked the lexical form, so parse succeeds.
            let t = DateTime::parse(trimmed).ok_or_else(|| bad("not a date-time".into()))?;
            Op::PeriodicInformTime((!t.is_unknown()).then_some(t))
        }
        _ => {
            return Err((
                FaultCode::NON_WRITABLE_PARAMETER,
                "the parameter is read-only".into(),
            ))
        }
    }))
}

/// What an op assigns, for spotting the same thing set twice under two names (a TR-181
/// alias and its vendor name).
fn target(op: &Op) -> String {
    match op {
        Op::Scalar { name, .. } => name.to_ascii_lowercase(),
        Op::Cell {
            table, key, column, ..
        } => cell_name(table, key, column.name).to_ascii_lowercase(),
        Op::Rename { table, key, .. } => format!("rename {}", cell_name(table, key, table.key.0)),
        Op::NtpServer { n, .. } => format!("hoc.staticsntpservers[{n}].hostname"),
        Op::ProvisioningCode(_) => "state provisioning code".into(),
        Op::PeriodicInformTime(_) => "state periodic inform time".into(),
    }
}

/// Changes with the request entries each comes from.
type Changes = Vec<(Change, Vec<usize>)>;

/// Dry-runs `changes` on the snapshot: the restart-required services, or the errors with the
/// request entries they concern (a rule between parameters concerns every entry).
fn dry_run(m: &DataModel<'_>, changes: &Changes) -> Result<BTreeSet<String>, Vec<(Vec<usize>, String)>> {
    if changes.is_empty() {
        return Ok(BTreeSet::new());
    }
    let script: String = changes.iter().map(|(c, _)| c.script_line() + "\n").collect();
    match params::script::apply(m.config, &script) {
        Ok(applied) => Ok(applied.changes.restart_required),
        Err(errors) => {
            let all: Vec<usize> = {
                let s: BTreeSet<usize> = changes.iter().flat_map(|(_, o)| o.iter().copied()).collect();
                s.into_iter().collect()
            };
            Err(errors
                .into_iter()
                .map(|e| {
                    let origins = e
                        .line
                        .checked_sub(1)
                        .and_then(|i| changes.get(i))
                        .map_or_else(|| all.clone(), |(_, o)| o.clone());
                    (origins, e.message)
                })
                .collect())
        }
    }
}

pub(super) fn set_parameter_values(
    m: &DataModel<'_>,
    list: &[ParameterValue],
    parameter_key: &str,
) -> Result<Plan, Fault> {
    check_key(parameter_key)?;
    let mut faults = Vec::new();
    let mut ops: Vec<(usize, Op)> = Vec::new();
    let mut targets: HashMap<String, usize> = HashMap::new();
    for (i, pv) in list.iter().enumerate() {
        let leaf = match m.tree.get(&pv.name) {
            Some(Node::Leaf(l)) if pv.name.chars().count() <= super::MAX_NAME => l,
            _ => {
                faults.push(param_fault(
                    &pv.name,
                    FaultCode::INVALID_PARAMETER_NAME,
                    format!("no parameter {:?}", shown(&pv.name)),
                ));
                continue;
            }
        };
        match entry(leaf, pv) {
            Ok(Some(op)) => {
                if let Some(&first) = targets.get(&target(&op)) {
                    faults.push(param_fault(
                        &pv.name,
                        FaultCode::INVALID_ARGUMENTS,
                        format!("sets the same value as {}", list[first].name),
                    ));
                    continue;
                }
                targets.insert(target(&op), i);
                ops.push((i, op));
            }
            Ok(None) => {}
            Err((code, detail)) => faults.push(param_fault(&pv.name, code, detail)),
        }
    }

    // Renames: the new key must not be used by a row that stays, nor by another rename.
    let mut renames: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
    for (i, op) in &ops {
        if let Op::Rename { table, key, .. } = op {
            renames.insert((table.full_name(), key.clone()), (String::new(), *i));
        }
    }
    let mut taken: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, op) in &ops {
        let Op::Rename { table, new_key, .. } = op else {
            continue;
        };
        let t = table.full_name();
        let stays = m
            .config
            .rows(&t)
            .unwrap_or_default()
            .into_iter()
            .any(|k| k.eq_ignore_ascii_case(new_key) && !renames.contains_key(&(t.clone(), k.clone())));
        if stays || !taken.insert((t.clone(), new_key.to_ascii_lowercase())) {
            faults.push(param_fault(
                &list[*i].name,
                FaultCode::INVALID_PARAMETER_VALUE,
                format!("row key {new_key:?} is already used in {t}"),
            ));
        }
    }
    if !faults.is_empty() {
        return Err(Fault {
            set_parameter_values_faults: faults,
            ..fault(FaultCode::INVALID_ARGUMENTS, "no parameter was set")
        });
    }
    for (i, op) in &ops {
        if let Op::Rename { table, key, new_key } = op {
            renames.insert((table.full_name(), key.clone()), (new_key.clone(), *i));
        }
    }

    // Deletions first (renamed rows' old keys, cleared NTP servers), then assignments, so a
    // rename never needs a spare row and swaps work.
    let mut deletes: Changes = Vec::new();
    let mut sets: Changes = Vec::new();
    let mut state = m.state.clone();
    for ((t, key), (_, i)) in &renames {
        deletes.push((
            Change::DeleteRow {
                row: format!("{t}[{key}]"),
            },
            vec![*i],
        ));
    }
    for (i, op) in &ops {
        match op {
            Op::Scalar { name, value, secret } => sets.push((
                Change::Set {
                    name: name.clone(),
                    value: value.clone(),
                    secret: *secret,
                },
                vec![*i],
            )),
            Op::Cell {
                table,
                key,
                column,
                value,
            } if !renames.contains_key(&(table.full_name(), key.clone())) => sets.push((
                Change::Set {
                    name: cell_name(table, key, column.name),
                    value: value.clone(),
                    secret: column.access == Access::Secret,
                },
                vec![*i],
            )),
            Op::Cell { .. } => {} // written with its renamed row below
            Op::Rename { table, key, new_key } => {
                for c in table.columns {
                    let from_request = ops.iter().find_map(|(j, o)| match o {
                        Op::Cell {
                            table: t2,
                            key: k2,
                            column,
                            value,
                        } if t2.full_name() == table.full_name() && k2 == key && column.name == c.name => {
                            Some((*j, value.clone()))
                        }
                        _ => None,
                    });
                    let (origins, value) = match from_request {
                        Some((j, v)) => (vec![*i, j], v),
                        None => (
                            vec![*i],
                            m.config
                                .get_secret(&cell_name(table, key, c.name))
                                .unwrap_or_else(|_| c.default.to_string()),
                        ),
                    };
                    sets.push((
                        Change::Set {
                            name: cell_name(table, new_key, c.name),
                            value,
                            secret: c.access == Access::Secret,
                        },
                        origins,
                    ));
                }
            }
            Op::NtpServer { n, value } if value.is_empty() => {
                let exists = m
                    .config
                    .rows("Hoc.StaticSntpServers")
                    .unwrap_or_default()
                    .contains(&n.to_string());
                if exists {
                    deletes.push((
                        Change::DeleteRow {
                            row: format!("Hoc.StaticSntpServers[{n}]"),
                        },
                        vec![*i],
                    ));
                }
            }
            Op::NtpServer { n, value } => sets.push((
                Change::Set {
                    name: format!("Hoc.StaticSntpServers[{n}].HostName"),
                    value: value.clone(),
                    secret: false,
                },
                vec![*i],
            )),
            Op::ProvisioningCode(v) => state.provisioning_code = v.clone(),
            Op::PeriodicInformTime(t) => state.periodic_inform_time = t.clone(),
        }
    }
    let mut moves: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for ((t, key), (new_key, _)) in &renames {
        moves
            .entry(t.clone())
            .or_default()
            .push((key.clone(), new_key.clone()));
    }
    for (t, pairs) in &moves {
        state.instances.rename(t, pairs);
    }
    deletes.extend(sets);
    let changes = deletes;
    let restart_required = dry_run(m, &changes).map_err(|errors| {
        let mut per_param: BTreeMap<usize, String> = BTreeMap::new();
        for (origins, message) in errors {
            for i in origins {
                per_param.entry(i).or_insert_with(|| message.clone());
            }
        }
        Fault {
            set_parameter_values_faults: per_param
                .into_iter()
                .map(|(i, msg)| param_fault(&list[i].name, FaultCode::INVALID_PARAMETER_VALUE, msg))
                .collect(),
            ..fault(FaultCode::INVALID_ARGUMENTS, "no parameter was set")
        }
    })?;
    state.parameter_key = parameter_key.to_string();
    Ok(Plan {
        changes: changes.into_iter().map(|(c, _)| c).collect(),
        status: if restart_required.is_empty() {
            Status::Applied
        } else {
            Status::Pending
        },
        restart_required,
        state,
    })
}

pub(super) fn set_parameter_attributes(
    m: &DataModel<'_>,
    list: &[SetParameterAttributesStruct],
) -> Result<State, Fault> {
    let mut state = m.state.clone();
    for s in list {
        let (leaves, partial) = match m.node(&s.name)? {
            Node::Leaf(l) => (vec![l], false),
            Node::Object { .. } => (m.leaves(&s.name)?, true),
        };
        if s.access_list_change && s.access_list.iter().any(|a| a != "Subscriber") {
            return Err(fault(
                FaultCode::INVALID_ARGUMENTS,
                "the only access list entry is Subscriber",
            ));
        }
        let n = s.notification;
        if s.notification_change && n.number() > 2 {
            return Err(fault(
                FaultCode::NOTIFICATION_REJECTED,
                "lightweight notifications are not supported",
            ));
        }
        for l in leaves {
            let default = Attribute {
                notification: l.notify.default_notification(),
                subscriber: false,
            };
            let mut a = state.attributes.get(&l.path).unwrap_or(default);
            if s.notification_change {
                let allowed = match l.notify {
                    super::ActiveNotify::CanDeny => n != Notification::Active,
                    super::ActiveNotify::ForceEnabled => n == Notification::Active,
                    _ => true,
                };
                if allowed {
                    a.notification = n;
                } else if !partial {
                    return Err(fault(
                        FaultCode::NOTIFICATION_REJECTED,
                        format!("{} does not accept notification {}", l.path, n.number()),
                    ));
                }
                // Under a partial path, parameters that refuse keep their notification.
            }
            if s.access_list_change {
                a.subscriber = !s.access_list.is_empty();
            }
            state.attributes.set(&l.path, a, default);
        }
    }
    Ok(state)
}

/// The vendor table an object path names (`...SipEp.Registration.`), and the rest of the path.
fn vendor_table(path: &str) -> Option<(&'static Table, &str)> {
    let rest = path.strip_prefix(VENDOR_ROOT)?;
    schema::TABLES.iter().find_map(|t| {
        let r = rest.strip_prefix(t.service)?.strip_prefix('.')?;
        let r = r.strip_prefix(t.name)?.strip_prefix('.')?;
        Some((t, r))
    })
}

/// The value of a new row's cell: the column default, except that `Enable` starts off (a
/// half-configured row must not act) and a registration names the first SIP gateway, so the
/// row passes the rule that its gateway exists.
fn new_cell(m: &DataModel<'_>, table: &Table, c: &Column) -> String {
    if c.name == "Enable" && validate(&c.kind, "Disable").is_ok() {
        return "Disable".into();
    }
    if table.full_name() == "SipEp.Registration" && c.name == "GatewayName" {
        if let Some(first) = m
            .config
            .rows("SipEp.TransportConfig")
            .unwrap_or_default()
            .into_iter()
            .next()
        {
            return first;
        }
    }
    c.default.to_string()
}

/// A free key for a new row: `new-<instance>` for names, the lowest free number for numeric
/// keys.
fn placeholder(table: &Table, instance: u32, rows: &[String]) -> Option<String> {
    let free = |k: &str| !rows.iter().any(|r| r.eq_ignore_ascii_case(k));
    if let Kind::UInt { min, max } = table.key.1 {
        // At most max_rows keys are used, so a free one is among the first max_rows + 1.
        return (min..=max)
            .take(table.max_rows + 1)
            .map(|v| v.to_string())
            .find(|k| free(k));
    }
    (0..100)
        .map(|s| {
            if s == 0 {
                format!("new-{instance}")
            } else {
                format!("new-{instance}-{s}")
            }
        })
        .find(|k| validate(&table.key.1, k).as_deref() == Ok(k.as_str()) && free(k))
}

pub(super) fn add_object(
    m: &DataModel<'_>,
    object_name: &str,
    parameter_key: &str,
) -> Result<AddedObject, Fault> {
    check_key(parameter_key)?;
    let not_table = || {
        fault(
            FaultCode::INVALID_PARAMETER_NAME,
            format!("{:?} is not a table that accepts AddObject", shown(object_name)),
        )
    };
    let Some((table, "")) = vendor_table(object_name) else {
        return Err(not_table());
    };
    if !matches!(m.tree.get(object_name), Some(Node::Object { writable: true, .. })) {
        return Err(not_table());
    }
    let t = table.full_name();
    let rows = m.config.rows(&t).unwrap_or_default();
    let full = || {
        fault(
            FaultCode::RESOURCES_EXCEEDED,
            format!("{t} already has its maximum of {} rows", table.max_rows),
        )
    };
    if rows.len() >= table.max_rows {
        return Err(full());
    }
    let number = m.state.instances.next_number(&t).ok_or_else(full)?;
    let key = placeholder(table, number, &rows).ok_or_else(full)?;
    let changes: Vec<(Change, Vec<usize>)> = table
        .columns
        .iter()
        .filter(|c| c.access != Access::Secret)
        .map(|c| {
            (
                Change::Set {
                    name: cell_name(table, &key, c.name),
                    value: new_cell(m, table, c),
                    secret: false,
                },
                Vec::new(),
            )
        })
        .collect();
    let restart_required = dry_run(m, &changes).map_err(|errors| {
        let why: Vec<String> = errors.into_iter().map(|(_, e)| e).collect();
        fault(FaultCode::REQUEST_DENIED, why.join("; "))
    })?;
    let mut state = m.state.clone();
    let instance_number = state.instances.allocate(&t, &key).ok_or_else(full)?;
    state.parameter_key = parameter_key.to_string();
    Ok(AddedObject {
        instance_number,
        key,
        plan: Plan {
            changes: changes.into_iter().map(|(c, _)| c).collect(),
            status: if restart_required.is_empty() {
                Status::Applied
            } else {
                Status::Pending
            },
            restart_required,
            state,
        },
    })
}

pub(super) fn delete_object(
    m: &DataModel<'_>,
    object_name: &str,
    parameter_key: &str,
) -> Result<Plan, Fault> {
    check_key(parameter_key)?;
    let not_instance = || {
        fault(
            FaultCode::INVALID_PARAMETER_NAME,
            format!(
                "{:?} is not an object instance that can be deleted",
                shown(object_name)
            ),
        )
    };
    let Some((table, rest)) = vendor_table(object_name) else {
        return Err(not_instance());
    };
    let number: u32 = rest
        .strip_suffix('.')
        .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(not_instance)?;
    if !matches!(m.tree.get(object_name), Some(Node::Object { writable: true, .. })) {
        return Err(not_instance());
    }
    let t = table.full_name();
    let key = m
        .state
        .instances
        .key(&t, number)
        .ok_or_else(not_instance)?
        .to_string();
    let changes = vec![(
        Change::DeleteRow {
            row: format!("{t}[{key}]"),
        },
        Vec::new(),
    )];
    let restart_required = dry_run(m, &changes).map_err(|errors| {
        let why: Vec<String> = errors.into_iter().map(|(_, e)| e).collect();
        fault(FaultCode::REQUEST_DENIED, why.join("; "))
    })?;
    let mut state = m.state.clone();
    state.instances.remove(&t, &key);
    state.attributes.retain(|p| !p.starts_with(object_name));
    state.parameter_key = parameter_key.to_string();
    Ok(Plan {
        changes: changes.into_iter().map(|(c, _)| c).collect(),
        status: if restart_required.is_empty() {
            Status::Applied
        } else {
            Status::Pending
        },
        restart_required,
        state,
    })
}
