//! Answers built from the data model are valid CWMP: each envelope passes the codec's own
//! checks (values match their `xsi:type`, lengths) and the Broadband Forum's cwmp-1-2 schema
//! (xmllint through tests/cwmp-schema/validate), and reads back equal.

use std::path::{Path, PathBuf};
use std::process::Command;

use cwmp::{Body, DateTime, DeviceId, Envelope, Event, EventCode, Inform, ParameterValue, ValueType};
use cwmpd::datamodel::{Certificate, DataModel, DeviceInfo, Runtime, State, VENDOR_ROOT};

/// Runs tests/cwmp-schema/validate: whether every file is valid, and its report. A missing
/// xmllint fails the test (it does not skip it), saying what to install.
fn validate(files: &[PathBuf]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cwmp-schema/validate");
    let out = Command::new(&script)
        .args(files)
        .output()
        .expect("run tests/cwmp-schema/validate");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(2) {
        panic!(
            "xmllint is needed to check CWMP messages against the schema: install libxml2-utils \
             (apt-get install libxml2-utils, or run scripts/install-deps)\n{report}"
        );
    }
    (out.status.success(), report)
}

fn runtime() -> Runtime {
    Runtime {
        device: DeviceInfo {
            manufacturer: "dgw <project> & \"friends\"".into(),
            manufacturer_oui: "00256D".into(),
            model_name: "DGW-4104".into(),
            description: "Secure VoIP gateway".into(),
            product_class: "DGW".into(),
            serial_number: "SN\u{e9}0001".into(),
            hardware_version: "rev-b".into(),
            software_version: "1.2.3".into(),
        },
        up_time: 4_000_000_000,
        now: Some(1_700_000_000),
        connection_request_url: "http://[2001:db8::1]:7547/cr".into(),
        status: [(
            "SipEp.RegistrationStatus".to_string(),
            "User=alice State=Registered".to_string(),
        )]
        .into_iter()
        .collect(),
        certificates: vec![Certificate {
            id: "host:sip-client".into(),
            serial_number: "7F".into(),
            issuer: "CN=Site CA,O=Example".into(),
            subject: "CN=gw.example.net".into(),
            subject_alt: vec!["DNS:gw.example.net".into(), "IP:192.0.2.1".into()],
            not_before: 0,
            not_after: 2_000_000_000,
            signature_algorithm: "ecdsa-with-SHA256".into(),
            last_modif: Some(1_650_000_000),
        }],
    }
}

#[test]
fn answers_from_the_model_are_schema_valid() {
    let mut config = params::Config::factory();
    config
        .set_many(&[
            ("SipEp.Registration[alice].AuthPassword".into(), "pw".into()),
            (
                "SipEp.Registration[bob].AuthUserName".into(),
                "b <&> \"o\" 'b'".into(),
            ),
            (
                "Hoc.StaticSntpServers[1].HostName".into(),
                "ntp.example.net".into(),
            ),
            (
                "Cwmp.AcsStaticUrl".into(),
                "https://acs.example.net/cwmp?x=1&y=2".into(),
            ),
        ])
        .unwrap();
    let rt = runtime();
    let mut state = State::default();
    state.reconcile(&config, &rt);
    state.parameter_key = "key-1".into();
    let m = DataModel::new(&config, &rt, &state);

    let values = m.get_parameter_values(&["".into()]).unwrap();
    let names = m.get_parameter_names("", false).unwrap();
    let attrs = m.get_parameter_attributes(&["Device.".into()]).unwrap();
    let fault = m
        .set_parameter_values(
            &[
                ParameterValue::new("Device.Nope", "1", ValueType::String),
                ParameterValue::new("Device.DeviceInfo.UpTime", "1", ValueType::UnsignedInt),
                ParameterValue::new(
                    format!("{VENDOR_ROOT}Web.ServerPort"),
                    "0",
                    ValueType::UnsignedInt,
                ),
            ],
            "k",
        )
        .unwrap_err();
    let added = m
        .add_object(&format!("{VENDOR_ROOT}SipEp.Registration."), "k")
        .unwrap();
    let inform = Inform {
        device_id: DeviceId {
            manufacturer: rt.device.manufacturer.clone(),
            oui: rt.device.manufacturer_oui.clone(),
            product_class: rt.device.product_class.clone(),
            serial_number: rt.device.serial_number.clone(),
        },
        events: vec![Event {
            code: EventCode::ValueChange,
            command_key: String::new(),
        }],
        max_envelopes: 1,
        current_time: DateTime::from_unix(1_700_000_000).unwrap(),
        retry_count: 0,
        parameters: m.inform_parameters(&[format!("{VENDOR_ROOT}SipEp.RegistrationStatus")]),
    };
    let envelopes = [
        Envelope::new(Body::GetParameterValuesResponse(values)),
        Envelope::new(Body::GetParameterNamesResponse(names)),
        Envelope::new(Body::GetParameterAttributesResponse(attrs)),
        Envelope::new(Body::Fault(fault)),
        Envelope::new(Body::AddObjectResponse {
            instance_number: added.instance_number,
            status: added.plan.status,
        }),
        Envelope::new(Body::SetParameterValuesResponse(added.plan.status)),
        Envelope::new(Body::Inform(inform)),
    ];
    let dir = std::env::temp_dir().join(format!("cwmpd-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut files = Vec::new();
    for (i, env) in envelopes.iter().enumerate() {
        env.validate()
            .unwrap_or_else(|e| panic!("{}: {e}", env.body.method_name()));
        let xml = env.to_xml();
        assert_eq!(Envelope::parse(xml.as_bytes()).as_ref(), Ok(env), "{xml}");
        let path = dir.join(format!("{i:02}-{}.xml", env.body.method_name()));
        std::fs::write(&path, xml).expect("write message");
        files.push(path);
    }
    let (valid, report) = validate(&files);
    assert!(valid, "schema validation failed:\n{report}");
    assert_eq!(report.matches("ok   ").count(), files.len(), "{report}");
    std::fs::remove_dir_all(&dir).ok();
}
