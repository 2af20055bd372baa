//! Tests of the data model: every RPC with good and bad arguments and the exact fault codes.

use std::collections::BTreeSet;

use cwmp::{Notification, ParameterValue, SetParameterAttributesStruct, Status, ValueType};
use params::Config;

use super::*;

const V: &str = VENDOR_ROOT;

fn runtime() -> Runtime {
    let mut status = BTreeMap::new();
    status.insert("Hoc.ClockSynchronized".to_string(), "Yes".to_string());
    status.insert(
        "SipEp.GatewayStatus".to_string(),
        "Gateway=default State=Ready".to_string(),
    );
    Runtime {
        device: DeviceInfo {
            manufacturer: "dgw project".into(),
            manufacturer_oui: "00256D".into(),
            model_name: "DGW-4104".into(),
            description: "Secure VoIP gateway".into(),
            product_class: "DGW".into(),
            serial_number: "SN0001".into(),
            hardware_version: "rev-b".into(),
            software_version: "1.2.3".into(),
        },
        up_time: 42,
        now: Some(1_700_000_000),
        connection_request_url: "http://192.0.2.10:7547/cr".into(),
        status,
        certificates: vec![Certificate {
            id: "others:site-ca#1".into(),
            serial_number: "01AB".into(),
            issuer: "CN=Site CA".into(),
            subject: "CN=Site CA".into(),
            subject_alt: vec!["DNS:ca.example.net".into()],
            not_before: 1_600_000_000,
            not_after: 1_900_000_000,
            signature_algorithm: "ecdsa-with-SHA256".into(),
            last_modif: None,
        }],
    }
}

/// A configuration, its runtime and a reconciled state.
struct Unit {
    config: Config,
    runtime: Runtime,
    state: State,
}

impl Unit {
    fn new() -> Unit {
        Unit::with(Config::factory())
    }
    fn with(config: Config) -> Unit {
        let runtime = runtime();
        let mut state = State::default();
        state.reconcile(&config, &runtime);
        Unit {
            config,
            runtime,
            state,
        }
    }
    fn model(&self) -> DataModel<'_> {
        DataModel::new(&self.config, &self.runtime, &self.state)
    }
    /// What the daemon does with a plan: apply through the script, adopt the state, reconcile.
    fn apply(&mut self, plan: &Plan) {
        let applied = plan.apply(&self.config).unwrap_or_else(|e| panic!("{e:?}"));
        self.config = applied.config;
        self.state = plan.state.clone();
        self.state.reconcile(&self.config, &self.runtime);
    }
    fn get(&self, name: &str) -> String {
        let v = self.model().get_parameter_values(&[name.into()]).unwrap();
        assert_eq!(v.len(), 1, "{name}");
        v[0].value.clone()
    }
    fn set(&mut self, items: &[(&str, &str, Option<ValueType>)]) -> Result<Plan, Fault> {
        let list: Vec<ParameterValue> = items
            .iter()
            .map(|(n, v, t)| ParameterValue {
                name: n.to_string(),
                value: v.to_string(),
                value_type: *t,
            })
            .collect();
        self.model().set_parameter_values(&list, "k")
    }
}

fn s(t: ValueType) -> Option<ValueType> {
    Some(t)
}

fn code(f: &Fault) -> u32 {
    f.code.get()
}

fn names(infos: &[cwmp::ParameterInfo]) -> Vec<&str> {
    infos.iter().map(|i| i.name.as_str()).collect()
}

// --- the model's shape

#[test]
fn every_schema_parameter_and_mapping_is_in_the_model_once() {
    let u = Unit::new();
    let m = u.model();
    let all = m.get_parameter_names("", false).unwrap();
    let unique: BTreeSet<&str> = all.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(unique.len(), all.len(), "duplicate paths");
    for i in &all {
        assert!(i.name.chars().count() <= MAX_NAME, "{}", i.name);
        assert!(i.name.starts_with("Device."), "{}", i.name);
    }
    for p in params::schema::PARAMS {
        let vendor = format!("{V}{}.{}", p.service, p.name);
        assert!(m.is_parameter(&vendor), "{vendor}");
        if let Some(t) = p.tr181 {
            assert!(m.is_parameter(t), "{t} (tr181 of {})", p.full_name());
        }
    }
    for t in params::schema::TABLES {
        let obj = format!("{V}{}.{}.", t.service, t.name);
        let info = all
            .iter()
            .find(|i| i.name == obj)
            .unwrap_or_else(|| panic!("{obj}"));
        assert!(info.writable, "{obj} accepts AddObject");
    }
    // The factory's default SIP gateway row is instance 1 with its key as a parameter.
    assert_eq!(
        u.get(&format!("{V}SipEp.TransportConfig.1.GatewayName")),
        "default"
    );
    assert_eq!(u.get(&format!("{V}SipEp.TransportConfigNumberOfEntries")), "1");
}

#[test]
fn get_parameter_names_levels_and_faults() {
    let u = Unit::new();
    let m = u.model();
    let root = m.get_parameter_names("", true).unwrap();
    assert_eq!(names(&root), vec!["Device."]);
    let top = m.get_parameter_names("Device.", true).unwrap();
    assert_eq!(
        names(&top),
        vec![
            "Device.RootDataModelVersion",
            "Device.DeviceInfo.",
            "Device.ManagementServer.",
            "Device.Time.",
            "Device.Security.",
            V,
        ]
    );
    let ms = m.get_parameter_names("Device.ManagementServer.", false).unwrap();
    assert_eq!(ms[0].name, "Device.ManagementServer.");
    assert!(!ms[0].writable);
    let url = ms
        .iter()
        .find(|i| i.name == "Device.ManagementServer.URL")
        .unwrap();
    assert!(url.writable);
    let key = ms
        .iter()
        .find(|i| i.name == "Device.ManagementServer.ParameterKey")
        .unwrap();
    assert!(!key.writable);
    // One parameter by name.
    let one = m.get_parameter_names("Device.DeviceInfo.UpTime", false).unwrap();
    assert_eq!(names(&one), vec!["Device.DeviceInfo.UpTime"]);
    // NextLevel on a parameter is invalid arguments.
    assert_eq!(
        code(
            &m.get_parameter_names("Device.DeviceInfo.UpTime", true)
                .unwrap_err()
        ),
        9003
    );
    // Next level of a service lists its tables and instances' parents only.
    let sip = m.get_parameter_names(&format!("{V}SipEp."), true).unwrap();
    assert!(names(&sip).contains(&format!("{V}SipEp.Registration.").as_str()));
    assert!(names(&sip).contains(&format!("{V}SipEp.TransportTlsVersion").as_str()));
    assert!(!names(&sip).iter().any(|n| n.contains("TransportConfig.1.")));
    let tc = m
        .get_parameter_names(&format!("{V}SipEp.TransportConfig."), true)
        .unwrap();
    assert_eq!(names(&tc), vec![format!("{V}SipEp.TransportConfig.1.").as_str()]);
    assert!(tc[0].writable, "an instance accepts DeleteObject");
    let certs = m
        .get_parameter_names("Device.Security.Certificate.", true)
        .unwrap();
    assert_eq!(names(&certs), vec!["Device.Security.Certificate.1."]);
    assert!(!certs[0].writable);
    // Eth.Eap.CertificateValidation nests as an object.
    assert!(m.is_parameter(&format!("{V}Eth.Eap.CertificateValidation")));
    for bad in [
        "Device.DeviceInfo",
        "Device.Nope.",
        "device.",
        "Device..",
        "Device.DeviceInfo.UpTime.",
        &format!("{V}SipEp.TransportConfig.2."),
        &format!("{V}SipEp.TransportConfig.01."),
        &format!("{V}SipEp.TransportConfig.{{i}}."),
        "Device.\u{0}",
        &"Device.X".repeat(60),
    ] {
        assert_eq!(
            code(&m.get_parameter_names(bad, false).unwrap_err()),
            9005,
            "{bad:?}"
        );
    }
}

#[test]
fn get_parameter_values_expands_partial_paths_with_types() {
    let u = Unit::new();
    let m = u.model();
    let v = m.get_parameter_values(&["Device.DeviceInfo.".into()]).unwrap();
    let get = |n: &str| v.iter().find(|p| p.name == n).unwrap_or_else(|| panic!("{n}"));
    assert_eq!(get("Device.DeviceInfo.SoftwareVersion").value, "1.2.3");
    assert_eq!(get("Device.DeviceInfo.UpTime").value, "42");
    assert_eq!(
        get("Device.DeviceInfo.UpTime").value_type,
        Some(ValueType::UnsignedInt)
    );
    assert_eq!(v.len(), 10);
    assert_eq!(u.get("Device.ManagementServer.PeriodicInformEnable"), "true");
    assert_eq!(
        u.get("Device.ManagementServer.ConnectionRequestURL"),
        "http://192.0.2.10:7547/cr"
    );
    assert_eq!(
        u.get("Device.ManagementServer.PeriodicInformTime"),
        "0001-01-01T00:00:00Z"
    );
    assert_eq!(u.get("Device.Time.Status"), "Synchronized");
    // 1_700_000_000 is 2023-11-14T22:13:20Z; the factory zone is EST5EDT (EST then).
    assert_eq!(u.get("Device.Time.CurrentLocalTime"), "2023-11-14T17:13:20-05:00");
    assert_eq!(u.get("Device.Time.NTPServer1"), "");
    assert_eq!(
        u.get("Device.Security.Certificate.1.NotAfter"),
        "2030-03-17T17:46:40Z"
    );
    assert_eq!(u.get("Device.Security.CertificateNumberOfEntries"), "1");
    assert_eq!(
        u.get(&format!("{V}SipEp.GatewayStatus")),
        "Gateway=default State=Ready"
    );
    assert_eq!(u.get(&format!("{V}Cwmp.PeriodicInformEnable")), "Enable");
    let types: Vec<_> = m
        .get_parameter_values(&["Device.ManagementServer.PeriodicInformEnable".into()])
        .unwrap();
    assert_eq!(types[0].value_type, Some(ValueType::Boolean));
    // The whole tree, by "" and by "Device.".
    let all = m.get_parameter_values(&["".into()]).unwrap();
    assert_eq!(all, m.get_parameter_values(&["Device.".into()]).unwrap());
    assert!(all.len() > 80, "{}", all.len());
    // One unknown name faults the whole request.
    let e = m
        .get_parameter_values(&["Device.DeviceInfo.UpTime".into(), "Device.DeviceInfo.Nope".into()])
        .unwrap_err();
    assert_eq!(code(&e), 9005);
    assert!(e.string.contains("Device.DeviceInfo.Nope"), "{}", e.string);
    // Far too much asked for: 9004, not a huge answer.
    let many = vec!["Device.".to_string(); 100];
    assert_eq!(code(&m.get_parameter_values(&many).unwrap_err()), 9004);
}

#[test]
fn local_time_follows_the_zone_and_the_clock() {
    assert_eq!(tree::local_time(None, "UTC0"), "0001-01-01T00:00:00Z");
    assert_eq!(tree::local_time(Some(0), "UTC0"), "1970-01-01T00:00:00Z");
    assert_eq!(
        tree::local_time(Some(0), "<+0530>-5:30"),
        "1970-01-01T05:30:00+05:30"
    );
    assert_eq!(
        tree::local_time(Some(1_720_000_000), "CET-1CEST,M3.5.0,M10.5.0/3"),
        "2024-07-03T11:46:40+02:00"
    );
    // A zone beyond what xsd:dateTime can carry is shown in UTC.
    assert_eq!(tree::local_time(Some(0), "XX-20"), "1970-01-01T00:00:00Z");
    let mut u = Unit::new();
    u.runtime.now = None;
    assert_eq!(u.get("Device.Time.CurrentLocalTime"), "0001-01-01T00:00:00Z");
}

// --- secrets

#[test]
fn secrets_read_as_empty_and_stay_out_of_debug() {
    let mut cfg = Config::factory();
    cfg.set_many(&[
        ("Cwmp.AcsPassword".into(), "hunter2-acs".into()),
        (
            "SipEp.Registration[alice].AuthPassword".into(),
            "hunter2-sip".into(),
        ),
    ])
    .unwrap();
    let u = Unit::with(cfg);
    let m = u.model();
    let all = m.get_parameter_values(&["".into()]).unwrap();
    for name in [
        "Device.ManagementServer.Password".to_string(),
        format!("{V}Cwmp.AcsPassword"),
        format!("{V}SipEp.Registration.1.AuthPassword"),
    ] {
        let p = all
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert_eq!(p.value, "", "{name}");
    }
    assert!(all.iter().all(|p| !p.value.contains("hunter2")));
    assert!(m
        .inform_parameters(&["Device.ManagementServer.Password".into()])
        .iter()
        .all(|p| p.value.is_empty() || !p.value.contains("hunter2")));
    assert!(!format!("{m:?}").contains("hunter2"));
    // A plan carrying a password (set directly, and copied by a rename) hides it in Debug.
    let plan = m
        .set_parameter_values(
            &[
                ParameterValue::new(
                    "Device.ManagementServer.Password",
                    "s3cret-new",
                    ValueType::String,
                ),
                ParameterValue::new(
                    format!("{V}SipEp.Registration.1.UserName"),
                    "bob",
                    ValueType::String,
                ),
            ],
            "k",
        )
        .unwrap();
    assert!(plan.script().contains("s3cret-new") && plan.script().contains("hunter2-sip"));
    let debug = format!("{plan:?}");
    assert!(
        !debug.contains("s3cret-new") && !debug.contains("hunter2"),
        "{debug}"
    );
    // Fault strings for a bad password do not quote it.
    let e = m
        .set_parameter_values(
            &[ParameterValue::new(
                "Device.ManagementServer.Password",
                "x".repeat(200),
                ValueType::String,
            )],
            "k",
        )
        .unwrap_err();
    assert!(!e.set_parameter_values_faults[0].string.contains("xxxx"), "{e:?}");
}

// --- SetParameterValues

#[test]
fn set_parameter_values_plans_an_atomic_change_with_status() {
    let mut u = Unit::new();
    let plan = u
        .set(&[
            (
                "Device.ManagementServer.PeriodicInformInterval",
                "3600",
                s(ValueType::UnsignedInt),
            ),
            (
                "Device.ManagementServer.PeriodicInformEnable",
                "0",
                s(ValueType::Boolean),
            ),
            ("Device.Time.LocalTimeZone", "CET-1CEST,M3.5.0,M10.5.0/3", None),
            (
                "Device.DeviceInfo.ProvisioningCode",
                "site-7",
                s(ValueType::String),
            ),
            (
                "Device.ManagementServer.PeriodicInformTime",
                "2025-01-01T03:00:00Z",
                s(ValueType::DateTime),
            ),
        ])
        .unwrap();
    assert_eq!(plan.status, Status::Applied, "all live");
    assert!(plan.restart_required.is_empty());
    assert_eq!(plan.state.parameter_key, "k");
    assert_eq!(plan.state.provisioning_code, "site-7");
    u.apply(&plan);
    assert_eq!(u.config.get("Cwmp.PeriodicInformInterval").unwrap(), "3600");
    assert_eq!(u.config.get("Cwmp.PeriodicInformEnable").unwrap(), "Disable");
    assert_eq!(u.get("Device.ManagementServer.PeriodicInformEnable"), "false");
    assert_eq!(u.get("Device.ManagementServer.ParameterKey"), "k");
    assert_eq!(
        u.get("Device.ManagementServer.PeriodicInformTime"),
        "2025-01-01T03:00:00Z"
    );
    assert_eq!(u.get("Device.DeviceInfo.ProvisioningCode"), "site-7");
    // A restart parameter gives status 1 and names its service.
    let plan = u
        .set(&[(
            "Device.ManagementServer.URL",
            "https://acs.example.net/cwmp",
            s(ValueType::String),
        )])
        .unwrap();
    assert_eq!(plan.status, Status::Pending);
    assert_eq!(plan.restart_required.iter().collect::<Vec<_>>(), vec!["Cwmp"]);
    // Setting a value it already has changes nothing that needs a restart.
    u.apply(&plan);
    let again = u
        .set(&[(
            "Device.ManagementServer.URL",
            "https://acs.example.net/cwmp",
            None,
        )])
        .unwrap();
    assert_eq!(again.status, Status::Applied);
    // An empty list only moves the ParameterKey.
    let empty = u.model().set_parameter_values(&[], "only-key").unwrap();
    assert!(empty.changes.is_empty() && empty.script().is_empty());
    assert_eq!(empty.state.parameter_key, "only-key");
}

#[test]
fn set_parameter_values_lists_every_bad_parameter_and_changes_nothing() {
    let u = Unit::new();
    let before = (u.config.clone(), u.state.clone());
    let list = vec![
        ParameterValue::new(
            "Device.ManagementServer.PeriodicInformInterval",
            "600",
            ValueType::UnsignedInt,
        ),
        ParameterValue::new("Device.ManagementServer.Nope", "1", ValueType::String),
        ParameterValue::new("Device.DeviceInfo.UpTime", "1", ValueType::UnsignedInt),
        ParameterValue::new("Device.ManagementServer.ParameterKey", "x", ValueType::String),
        ParameterValue::new(
            "Device.ManagementServer.PeriodicInformEnable",
            "true",
            ValueType::String,
        ),
        ParameterValue::new(
            format!("{V}SipEp.TransportTlsVersion"),
            "TLSv1",
            ValueType::String,
        ),
        ParameterValue::new(
            "Device.ManagementServer.PeriodicInformInterval",
            "5",
            ValueType::UnsignedInt,
        ),
        ParameterValue {
            name: "Device.ManagementServer.PeriodicInformInterval".into(),
            value: "abc".into(),
            value_type: None,
        },
        ParameterValue::new("Device.DeviceInfo.", "x", ValueType::String),
    ];
    let e = u.model().set_parameter_values(&list, "k").unwrap_err();
    assert_eq!(code(&e), 9003);
    let got: Vec<(&str, u32)> = e
        .set_parameter_values_faults
        .iter()
        .map(|f| (f.parameter_name.as_str(), f.code.get()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Device.ManagementServer.Nope", 9005),
            ("Device.DeviceInfo.UpTime", 9008),
            ("Device.ManagementServer.ParameterKey", 9008),
            ("Device.ManagementServer.PeriodicInformEnable", 9006),
            (&*format!("{V}SipEp.TransportTlsVersion"), 9007),
            ("Device.ManagementServer.PeriodicInformInterval", 9007),
            ("Device.ManagementServer.PeriodicInformInterval", 9007),
            ("Device.DeviceInfo.", 9005),
        ]
    );
    assert!(
        e.set_parameter_values_faults[4].string.contains("RFC 8996"),
        "{e:?}"
    );
    assert!(
        e.set_parameter_values_faults[5]
            .string
            .contains("out of range 30..604800"),
        "{e:?}"
    );
    // The model is a pure function: nothing moved.
    assert_eq!((u.config.clone(), u.state.clone()), before);
}

#[test]
fn set_parameter_values_checks_rules_between_parameters_and_duplicates() {
    let mut u = Unit::new();
    let udp = format!("{V}SipEp.TransportConfig.1.UdpEnable");
    let tls = format!("{V}SipEp.TransportConfig.1.TlsEnable");
    let e = u.set(&[(&udp, "Enable", None)]).unwrap_err();
    assert_eq!(code(&e), 9003);
    assert_eq!(e.set_parameter_values_faults[0].code.get(), 9007);
    assert!(
        e.set_parameter_values_faults[0]
            .string
            .contains("TLS excludes UDP"),
        "{e:?}"
    );
    let plan = u.set(&[(&udp, "Enable", None), (&tls, "Disable", None)]).unwrap();
    assert_eq!(
        plan.status,
        Status::Pending,
        "TransportConfig needs a SipEp restart"
    );
    u.apply(&plan);
    assert_eq!(u.get(&udp), "Enable");
    // The TR-181 name and its vendor alias are the same parameter: twice is 9003.
    let e = u
        .set(&[
            ("Device.ManagementServer.Username", "a", None),
            (&format!("{V}Cwmp.AcsUsername"), "b", None),
        ])
        .unwrap_err();
    assert_eq!(e.set_parameter_values_faults.len(), 1);
    assert_eq!(e.set_parameter_values_faults[0].code.get(), 9003);
    // ParameterKey beyond 32 characters.
    let e = u.model().set_parameter_values(&[], &"k".repeat(33)).unwrap_err();
    assert_eq!(code(&e), 9003);
}

#[test]
fn ntp_servers_map_onto_the_sntp_table() {
    let mut u = Unit::new();
    let plan = u
        .set(&[("Device.Time.NTPServer2", "ntp.example.net", None)])
        .unwrap();
    u.apply(&plan);
    assert_eq!(
        u.config.get("Hoc.StaticSntpServers[2].HostName").unwrap(),
        "ntp.example.net"
    );
    assert_eq!(u.get("Device.Time.NTPServer2"), "ntp.example.net");
    assert_eq!(u.get(&format!("{V}Hoc.StaticSntpServers.1.Priority")), "2");
    let e = u
        .set(&[("Device.Time.NTPServer1", "bad host!", None)])
        .unwrap_err();
    assert_eq!(e.set_parameter_values_faults[0].code.get(), 9007);
    let plan = u.set(&[("Device.Time.NTPServer2", "", None)]).unwrap();
    assert_eq!(plan.script(), "Hoc.StaticSntpServers[2].Delete\n");
    u.apply(&plan);
    assert!(u.config.rows("Hoc.StaticSntpServers").unwrap().is_empty());
    // Clearing a server that is not there changes nothing.
    assert!(u
        .set(&[("Device.Time.NTPServer3", "", None)])
        .unwrap()
        .changes
        .is_empty());
}

// --- AddObject, renames, DeleteObject

#[test]
fn add_rename_delete_round_trip_with_persistent_numbers() {
    let dir = std::env::temp_dir().join(format!("cwmpd-dm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cwmp-state.json");
    let table = format!("{V}SipEp.Registration.");
    let mut u = Unit::new();

    let added = u.model().add_object(&table, "add-1").unwrap();
    assert_eq!((added.instance_number, added.key.as_str()), (1, "new-1"));
    assert_eq!(added.plan.status, Status::Applied);
    u.apply(&added.plan);
    assert_eq!(u.get("Device.ManagementServer.ParameterKey"), "add-1");
    assert_eq!(u.get(&format!("{table}1.UserName")), "new-1");
    assert_eq!(
        u.get(&format!("{table}1.Enable")),
        "Disable",
        "a new row starts disabled"
    );
    assert_eq!(u.get(&format!("{table}1.GatewayName")), "default");

    // The ACS names the user (and sets its password) in one SetParameterValues.
    let plan = u
        .set(&[
            (&format!("{table}1.UserName"), "alice", None),
            (&format!("{table}1.AuthPassword"), "pw", None),
            (&format!("{table}1.Enable"), "Enable", None),
        ])
        .unwrap();
    assert!(
        plan.script().starts_with("SipEp.Registration[new-1].Delete\n"),
        "{}",
        plan.script()
    );
    u.apply(&plan);
    assert_eq!(u.config.rows("SipEp.Registration").unwrap(), vec!["alice"]);
    assert_eq!(
        u.config
            .get_secret("SipEp.Registration[alice].AuthPassword")
            .unwrap(),
        "pw"
    );
    assert_eq!(
        u.get(&format!("{table}1.UserName")),
        "alice",
        "the number followed the row"
    );
    assert_eq!(u.get(&format!("{table}1.AuthPassword")), "");

    // Numbers survive a save and load, and are never reused.
    u.state.save(&path).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    u.state = State::load(&path).unwrap();
    let second = u.model().add_object(&table, "add-2").unwrap();
    assert_eq!(second.instance_number, 2);
    u.apply(&second.plan);
    let del = u.model().delete_object(&format!("{table}2."), "del-2").unwrap();
    assert_eq!(del.script(), "SipEp.Registration[new-2].Delete\n");
    u.apply(&del);
    u.state.save(&path).unwrap();
    u.state = State::load(&path).unwrap();
    assert_eq!(u.get("Device.ManagementServer.ParameterKey"), "del-2");
    let third = u.model().add_object(&table, "add-3").unwrap();
    assert_eq!((third.instance_number, third.key.as_str()), (3, "new-3"));
    u.apply(&third.plan);
    assert_eq!(
        code(&u.model().delete_object(&format!("{table}2."), "x").unwrap_err()),
        9005
    );
    assert_eq!(
        names(&u.model().get_parameter_names(&table, true).unwrap()),
        vec![format!("{table}1.").as_str(), format!("{table}3.").as_str()]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn renames_refuse_keys_in_use_and_allow_swaps() {
    let mut cfg = Config::factory();
    cfg.set_many(&[
        ("SipEp.Registration[alice].AuthUserName".into(), "a".into()),
        ("SipEp.Registration[bob].AuthUserName".into(), "b".into()),
    ])
    .unwrap();
    let mut u = Unit::with(cfg);
    let (k1, k2) = (
        format!("{V}SipEp.Registration.1.UserName"),
        format!("{V}SipEp.Registration.2.UserName"),
    );
    assert_eq!(
        (u.get(&k1), u.get(&k2)),
        ("alice".into(), "bob".into()),
        "sorted key order"
    );
    let e = u.set(&[(&k1, "bob", None)]).unwrap_err();
    assert_eq!(e.set_parameter_values_faults[0].code.get(), 9007);
    assert!(
        e.set_parameter_values_faults[0].string.contains("already used"),
        "{e:?}"
    );
    let e = u.set(&[(&k1, "carol", None), (&k2, "carol", None)]).unwrap_err();
    assert_eq!(e.set_parameter_values_faults.len(), 1);
    let e = u.set(&[(&k1, "not a name", None)]).unwrap_err();
    assert_eq!(e.set_parameter_values_faults[0].code.get(), 9007);
    let plan = u.set(&[(&k1, "bob", None), (&k2, "alice", None)]).unwrap();
    u.apply(&plan);
    assert_eq!((u.get(&k1), u.get(&k2)), ("bob".into(), "alice".into()));
    assert_eq!(u.config.get("SipEp.Registration[bob].AuthUserName").unwrap(), "a");
    // Same key: nothing to do.
    assert!(u.set(&[(&k1, "bob", None)]).unwrap().changes.is_empty());
}

#[test]
fn add_and_delete_object_faults() {
    let mut u = Unit::new();
    let m = u.model();
    for bad in [
        "Device.DeviceInfo.",
        "Device.Security.Certificate.",
        "Device.ManagementServer.URL",
        &format!("{V}SipEp."),
        &format!("{V}SipEp.Registration"),
        &format!("{V}SipEp.TransportConfig.1."),
        &format!("{V}SipEp.Nope."),
        "",
        "\u{7f}\u{0}",
    ] {
        assert_eq!(code(&m.add_object(bad, "k").unwrap_err()), 9005, "{bad:?}");
    }
    for bad in [
        "Device.Security.Certificate.1.",
        &format!("{V}SipEp.TransportConfig."),
        &format!("{V}SipEp.TransportConfig.1"),
        &format!("{V}SipEp.TransportConfig.01."),
        &format!("{V}SipEp.TransportConfig.99."),
        &format!("{V}SipEp.TransportConfig.1.Port"),
        &format!("{V}SipEp.TransportConfig.-1."),
        &format!("{V}SipEp.TransportConfig.4294967296."),
        "",
    ] {
        assert_eq!(code(&m.delete_object(bad, "k").unwrap_err()), 9005, "{bad:?}");
    }
    assert_eq!(
        code(
            &m.add_object(&format!("{V}SipEp.Registration."), &"k".repeat(40))
                .unwrap_err()
        ),
        9003
    );
    // Numeric keys take the lowest free priority, and a full table is 9004.
    let sntp = format!("{V}Hoc.StaticSntpServers.");
    for want in ["1", "2", "3", "4"] {
        let added = u.model().add_object(&sntp, "k").unwrap();
        assert_eq!(added.key, want);
        u.apply(&added.plan);
    }
    assert_eq!(code(&u.model().add_object(&sntp, "k").unwrap_err()), 9004);
    // A gateway that registrations use cannot go: 9001, saying why.
    let reg = u
        .model()
        .add_object(&format!("{V}SipEp.Registration."), "k")
        .unwrap();
    u.apply(&reg.plan);
    let e = u
        .model()
        .delete_object(&format!("{V}SipEp.TransportConfig.1."), "k")
        .unwrap_err();
    assert_eq!(code(&e), 9001);
    assert!(
        e.string.contains("has no SipEp.TransportConfig row"),
        "{}",
        e.string
    );
}

#[test]
fn reconcile_numbers_rows_made_elsewhere_and_never_reuses() {
    let mut cfg = Config::factory();
    cfg.set_many(&[
        ("SipEp.Registration[zed].Enable".into(), "Enable".into()),
        ("SipEp.Registration[amy].Enable".into(), "Enable".into()),
    ])
    .unwrap();
    let rt = runtime();
    let mut st = State::default();
    assert!(st.reconcile(&cfg, &rt));
    assert!(!st.reconcile(&cfg, &rt), "stable");
    assert_eq!(st.instances.number("SipEp.Registration", "amy"), Some(1));
    assert_eq!(st.instances.number("SipEp.Registration", "zed"), Some(2));
    assert_eq!(
        st.instances.number(CERTIFICATE_TABLE, "others:site-ca#1"),
        Some(1)
    );
    // Deleted behind the agent's back (dgw ctl), then re-created: a new number.
    let mut t = cfg.begin();
    t.delete_row("SipEp.Registration[amy]").unwrap();
    let (cfg2, _) = t.commit().unwrap();
    st.attributes.set(
        &format!("{V}SipEp.Registration.1.Enable"),
        Attribute {
            notification: Notification::Active,
            subscriber: false,
        },
        Attribute {
            notification: Notification::Off,
            subscriber: false,
        },
    );
    assert!(st.reconcile(&cfg2, &rt));
    assert_eq!(
        st.attributes.iter().count(),
        0,
        "attributes of a vanished row are dropped"
    );
    assert!(st.reconcile(&cfg, &rt));
    assert_eq!(st.instances.number("SipEp.Registration", "amy"), Some(3));
    assert_eq!(st.instances.key("SipEp.Registration", 2), Some("zed"));
}

// --- attributes and notifications

fn attr(name: &str, n: Notification) -> SetParameterAttributesStruct {
    SetParameterAttributesStruct {
        name: name.into(),
        notification_change: true,
        notification: n,
        access_list_change: false,
        access_list: Vec::new(),
    }
}

#[test]
fn parameter_attributes_with_their_rules() {
    let mut u = Unit::new();
    let tls = format!("{V}SipEp.TransportTlsVersion");
    let get = |u: &Unit, n: &str| u.model().get_parameter_attributes(&[n.into()]).unwrap()[0].notification;
    assert_eq!(get(&u, &tls), Notification::Off);
    assert_eq!(
        get(&u, "Device.ManagementServer.ConnectionRequestURL"),
        Notification::Active
    );
    assert_eq!(get(&u, "Device.DeviceInfo.SoftwareVersion"), Notification::Active);
    u.state = u
        .model()
        .set_parameter_attributes(&[attr(&tls, Notification::Active)])
        .unwrap();
    assert_eq!(get(&u, &tls), Notification::Active);
    // Refusals are 9009 and leave everything as it was (the whole request).
    for (name, n) in [
        ("Device.DeviceInfo.UpTime", Notification::Active),
        ("Device.Time.CurrentLocalTime", Notification::Active),
        ("Device.ManagementServer.ParameterKey", Notification::Active),
        ("Device.DeviceInfo.SoftwareVersion", Notification::Off),
        ("Device.DeviceInfo.ProvisioningCode", Notification::Passive),
        (tls.as_str(), Notification::ActiveLightweight),
    ] {
        let e = u
            .model()
            .set_parameter_attributes(&[attr(&tls, Notification::Off), attr(name, n)])
            .unwrap_err();
        assert_eq!(code(&e), 9009, "{name} {n:?}");
    }
    assert_eq!(get(&u, &tls), Notification::Active);
    let e = u
        .model()
        .set_parameter_attributes(&[attr("Device.Nope", Notification::Off)])
        .unwrap_err();
    assert_eq!(code(&e), 9005);
    // ConnectionRequestURL is only active by default.
    u.state = u
        .model()
        .set_parameter_attributes(&[attr(
            "Device.ManagementServer.ConnectionRequestURL",
            Notification::Passive,
        )])
        .unwrap();
    assert_eq!(
        get(&u, "Device.ManagementServer.ConnectionRequestURL"),
        Notification::Passive
    );
    // A partial path changes what accepts it and leaves the rest.
    u.state = u
        .model()
        .set_parameter_attributes(&[attr("Device.DeviceInfo.", Notification::Active)])
        .unwrap();
    let a = u
        .model()
        .get_parameter_attributes(&["Device.DeviceInfo.".into()])
        .unwrap();
    for p in &a {
        let want = if p.name.ends_with("UpTime") {
            Notification::Off
        } else {
            Notification::Active
        };
        assert_eq!(p.notification, want, "{}", p.name);
    }
    // Access list: Subscriber round-trips, anything else is 9003.
    let mut s = attr(&tls, Notification::Passive);
    s.access_list_change = true;
    s.access_list = vec!["Subscriber".into()];
    u.state = u.model().set_parameter_attributes(&[s.clone()]).unwrap();
    let a = &u
        .model()
        .get_parameter_attributes(std::slice::from_ref(&tls))
        .unwrap()[0];
    assert_eq!(
        (a.notification, a.access_list.clone()),
        (Notification::Passive, vec!["Subscriber".into()])
    );
    s.access_list = vec!["Everyone".into()];
    assert_eq!(code(&u.model().set_parameter_attributes(&[s]).unwrap_err()), 9003);
    // Attributes persist through the state file.
    let json = u.state.to_json();
    assert_eq!(State::from_json(&json).unwrap(), u.state);
}

#[test]
fn value_changes_are_sorted_into_active_and_passive() {
    let mut u = Unit::new();
    let tls = format!("{V}SipEp.TransportTlsVersion");
    let pw = "Device.ManagementServer.Password";
    u.state = u
        .model()
        .set_parameter_attributes(&[
            attr(&tls, Notification::Active),
            attr(
                "Device.ManagementServer.PeriodicInformInterval",
                Notification::Passive,
            ),
            attr(pw, Notification::Passive),
            attr("Device.DeviceInfo.UpTime", Notification::Passive),
        ])
        .unwrap();
    let old = u.config.clone();
    let old_rt = u.runtime.clone();
    assert!(DataModel::changed_notifying(&u.model(), &u.model()).is_empty());
    let mut new = old.clone();
    new.set_many(&[
        ("SipEp.TransportTlsVersion".into(), "TLSv1_3".into()),
        ("Cwmp.PeriodicInformInterval".into(), "600".into()),
        ("Cwmp.AcsPassword".into(), "changed".into()),
        ("Web.ServerPort".into(), "8080".into()),
    ])
    .unwrap();
    let mut rt = old_rt.clone();
    rt.up_time += 10;
    rt.connection_request_url = "http://192.0.2.99:7547/cr".into();
    let changes = DataModel::changed_notifying(
        &DataModel::new(&old, &old_rt, &u.state),
        &DataModel::new(&new, &rt, &u.state),
    );
    assert_eq!(
        changes.active,
        vec!["Device.ManagementServer.ConnectionRequestURL".to_string(), tls]
    );
    assert_eq!(
        changes.passive,
        vec![
            "Device.DeviceInfo.UpTime".to_string(),
            pw.to_string(),
            "Device.ManagementServer.PeriodicInformInterval".to_string(),
        ]
    );
    // The Inform carries forced parameters then the changes; the password reads as "".
    let inform = DataModel::new(&new, &rt, &u.state).inform_parameters(&changes.passive);
    let names: Vec<&str> = inform.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(&names[..6], forced_inform_parameters());
    assert_eq!(
        names.len(),
        9,
        "UpTime, Password and Interval after the 6 forced: {names:?}"
    );
    assert_eq!(inform.iter().find(|p| p.name == pw).unwrap().value, "");
}

#[test]
fn forced_inform_parameters_exist_with_values() {
    let mut u = Unit::new();
    u.state.parameter_key = "pk".into();
    let v = u.model().inform_parameters(&[]);
    assert_eq!(v.len(), forced_inform_parameters().len());
    assert_eq!(v[0].value, ROOT_DATA_MODEL_VERSION);
    assert_eq!(v[2].value, "1.2.3");
    assert_eq!(v[5].value, "pk");
}

// --- state file

#[test]
fn state_files_are_checked_on_load() {
    let dir = std::env::temp_dir().join(format!("cwmpd-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    assert_eq!(
        State::load(&path).unwrap(),
        State::default(),
        "missing file: initial state"
    );
    for bad in [
        "not json",
        "[]",
        "{}",
        r#"{"version": 2}"#,
        r#"{"version": 1, "parameter_key": "012345678901234567890123456789012"}"#,
        r#"{"version": 1, "instances": {"SipEp.Registration": {"last": 1, "rows": {"a": 2}}}}"#,
        r#"{"version": 1, "instances": {"SipEp.Registration": {"last": 2, "rows": {"a": 1, "b": 1}}}}"#,
        r#"{"version": 1, "attributes": {"Device.X": {"notification": 5}}}"#,
        r#"{"version": 1, "periodic_inform_time": "yesterday"}"#,
    ] {
        std::fs::write(&path, bad).unwrap();
        assert!(matches!(State::load(&path), Err(StateError::Format(_))), "{bad}");
    }
    std::fs::write(&path, vec![b' '; MAX_STATE_FILE as usize + 10]).unwrap();
    assert!(State::load(&path).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

// --- hostile input

/// Names and values from a deterministic random walk over real names, damaged in the ways a
/// broken or hostile ACS might: no operation may panic, and every plan that comes back must
/// apply cleanly through the configuration script.
#[test]
fn mutated_names_and_values_never_panic_and_plans_always_apply() {
    let mut u = Unit::new();
    let added = u
        .model()
        .add_object(&format!("{V}SipEp.Registration."), "k")
        .unwrap();
    u.apply(&added.plan);
    let all: Vec<String> = u
        .model()
        .get_parameter_names("", false)
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    let values = [
        "",
        "0",
        "1",
        "true",
        "false",
        "Enable",
        "disable",
        "TLSv1_3",
        "4294967296",
        "-1",
        "65535",
        "2025-01-01T00:00:00Z",
        "https://acs.example.net/",
        "a b",
        "\"q\\\"",
        "new-1",
        "alice",
        "\u{0}",
        "\u{7f}",
        "é",
        "x.example.net:5061",
    ];
    let junk = ['.', '{', '}', '\u{0}', 'é', ' ', '%', '\n', '1', 'X', '9'];
    let types = [
        None,
        Some(ValueType::String),
        Some(ValueType::UnsignedInt),
        Some(ValueType::Boolean),
        Some(ValueType::DateTime),
        Some(ValueType::Int),
        Some(ValueType::Base64Binary),
    ];
    let mut rng = mutation::Rng::new(0x7269_3069);
    let mut applied = 0;
    for round in 0..3000 {
        let mut name = all[rng.below(all.len())].clone();
        match rng.below(8) {
            0 => {
                let cut = rng.below(name.len() + 1);
                name = name.chars().take(cut).collect();
            }
            1 => {
                let at = rng.below(name.chars().count() + 1);
                let mut c: Vec<char> = name.chars().collect();
                c.insert(at, junk[rng.below(junk.len())]);
                name = c.into_iter().collect();
            }
            2 => name = name.repeat(1 + rng.below(6)),
            3 => name = name.to_ascii_lowercase(),
            _ => {}
        }
        let mut value = values[rng.below(values.len())].to_string();
        if rng.below(10) == 0 {
            value = value.repeat(1 + rng.below(300));
        }
        let pv = ParameterValue {
            name: name.clone(),
            value,
            value_type: types[rng.below(types.len())],
        };
        let m = u.model();
        let _ = m.get_parameter_names(&name, rng.below(2) == 0);
        let _ = m.get_parameter_values(std::slice::from_ref(&name));
        let _ = m.get_parameter_attributes(std::slice::from_ref(&name));
        let n = Notification::from_number(rng.below(7) as i64).unwrap_or(Notification::Off);
        let _ = m.set_parameter_attributes(&[attr(&name, n)]);
        let mut plans = Vec::new();
        plans.extend(m.set_parameter_values(&[pv], "k").ok());
        if rng.below(4) == 0 {
            plans.extend(m.add_object(&name, "k").ok().map(|a| a.plan));
            plans.extend(m.delete_object(&name, "k").ok());
        }
        drop(m);
        for plan in plans {
            let done = plan.apply(&u.config);
            assert!(done.is_ok(), "round {round}: {name:?}: {:?}", done.err());
            if round % 3 == 0 {
                u.apply(&plan);
                applied += 1;
            }
        }
    }
    assert!(applied > 20, "the loop exercised real changes ({applied})");
}
