//! Messages and helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cwmp::*;

fn time(s: &str) -> DateTime {
    DateTime::parse(s).expect("test date-time")
}

/// One envelope of every message type, with awkward content (escapes, non-ASCII, `\r`, empty
/// strings, maximum lengths) where the schema allows it.
pub fn every_message() -> Vec<Envelope> {
    let inform = Inform {
        device_id: DeviceId {
            manufacturer: "dgw & <Co> \"Ltd\"".into(),
            oui: "00256D".into(),
            product_class: "DGW-4104".into(),
            serial_number: "SN\u{e9}0001".into(),
        },
        events: vec![
            Event {
                code: EventCode::Bootstrap,
                command_key: String::new(),
            },
            Event {
                code: EventCode::Boot,
                command_key: String::new(),
            },
            Event {
                code: EventCode::MDownload,
                command_key: "fw-2026".into(),
            },
            Event {
                code: EventCode::Other("X 00256D FirmwareActivated".into()),
                command_key: String::new(),
            },
        ],
        max_envelopes: 1,
        current_time: time("2026-11-27T06:10:36+01:00"),
        retry_count: 0,
        parameters: vec![
            ParameterValue::new("Device.RootDataModelVersion", "2.19", ValueType::String),
            ParameterValue::new("Device.DeviceInfo.UpTime", "4242", ValueType::UnsignedInt),
            ParameterValue::new(
                "Device.ManagementServer.ConnectionRequestURL",
                "http://10.0.0.2:7547/a?b&c",
                ValueType::String,
            ),
            ParameterValue::new("Device.X_DGW_Offset", "-5", ValueType::Int),
            ParameterValue::new(
                "Device.X_DGW_Bytes",
                "18446744073709551615",
                ValueType::UnsignedLong,
            ),
            ParameterValue::new("Device.X_DGW_Delta", "-9223372036854775808", ValueType::Long),
            ParameterValue::new("Device.X_DGW_Enabled", "true", ValueType::Boolean),
            ParameterValue::new("Device.X_DGW_Since", "0001-01-01T00:00:00Z", ValueType::DateTime),
            ParameterValue::new("Device.X_DGW_Blob", "aGVsbG8gd29ybGQ=", ValueType::Base64Binary),
            ParameterValue::new("Device.X_DGW_Blob2", "AAEC", ValueType::SoapEncBase64),
            ParameterValue::new("Device.X_DGW_Hex", "00ff7A", ValueType::HexBinary),
            ParameterValue::new(
                "Device.X_DGW_Text",
                "line1\r\nline2\ttab ]]> <x/> &amp;",
                ValueType::String,
            ),
            ParameterValue {
                name: "Device.X_DGW_Untyped".into(),
                value: " spaced ".into(),
                value_type: None,
            },
        ],
    };
    let names = vec![
        "Device.DeviceInfo.".to_string(),
        "Device.ManagementServer.PeriodicInformInterval".into(),
    ];
    let t0 = time("2026-11-27T06:00:00Z");
    let t1 = time("2026-11-27T06:01:30.25Z");
    let bodies = vec![
        Body::Inform(inform),
        Body::InformResponse { max_envelopes: 1 },
        Body::TransferComplete(TransferComplete {
            command_key: "fw-2026".into(),
            fault: TransferFault::success(),
            start_time: t0.clone(),
            complete_time: t1.clone(),
        }),
        Body::TransferComplete(TransferComplete {
            command_key: String::new(),
            fault: TransferFault {
                code: 9019,
                string: "signature does not verify".into(),
            },
            start_time: DateTime::unknown(),
            complete_time: DateTime::unknown(),
        }),
        Body::TransferCompleteResponse,
        Body::GetRpcMethods,
        Body::GetRpcMethodsResponse(
            [
                "GetRPCMethods",
                "GetParameterNames",
                "GetParameterValues",
                "SetParameterValues",
                "Reboot",
            ]
            .map(String::from)
            .to_vec(),
        ),
        Body::GetParameterNames {
            parameter_path: "Device.".into(),
            next_level: true,
        },
        Body::GetParameterNames {
            parameter_path: String::new(),
            next_level: false,
        },
        Body::GetParameterNamesResponse(vec![
            ParameterInfo {
                name: "Device.DeviceInfo.".into(),
                writable: false,
            },
            ParameterInfo {
                name: "Device.ManagementServer.URL".into(),
                writable: true,
            },
        ]),
        Body::GetParameterNamesResponse(vec![]),
        Body::GetParameterValues(names.clone()),
        Body::GetParameterValuesResponse(vec![
            ParameterValue::new(
                "Device.ManagementServer.PeriodicInformInterval",
                "3600",
                ValueType::UnsignedInt,
            ),
            ParameterValue::new("Device.ManagementServer.Password", "", ValueType::String),
        ]),
        Body::GetParameterValuesResponse(vec![]),
        Body::SetParameterValues {
            parameters: vec![
                ParameterValue::new(
                    "Device.ManagementServer.PeriodicInformInterval",
                    "300",
                    ValueType::UnsignedInt,
                ),
                ParameterValue::new("Device.ManagementServer.Password", "s3cr&t<", ValueType::String),
            ],
            parameter_key: "k".repeat(32),
        },
        Body::SetParameterValuesResponse(Status::Applied),
        Body::SetParameterValuesResponse(Status::Pending),
        Body::GetParameterAttributes(names),
        Body::GetParameterAttributesResponse(vec![
            ParameterAttribute {
                name: "Device.DeviceInfo.SoftwareVersion".into(),
                notification: Notification::Active,
                access_list: vec![],
            },
            ParameterAttribute {
                name: "Device.ManagementServer.URL".into(),
                notification: Notification::PassiveActiveLightweight,
                access_list: vec!["Subscriber".into()],
            },
        ]),
        Body::SetParameterAttributes(vec![SetParameterAttributesStruct {
            name: "Device.DeviceInfo.SoftwareVersion".into(),
            notification_change: true,
            notification: Notification::Passive,
            access_list_change: false,
            access_list: vec![],
        }]),
        Body::SetParameterAttributesResponse,
        Body::AddObject {
            object_name: "Device.IP.Interface.".into(),
            parameter_key: String::new(),
        },
        Body::AddObjectResponse {
            instance_number: 3,
            status: Status::Applied,
        },
        Body::DeleteObject {
            object_name: "Device.IP.Interface.3.".into(),
            parameter_key: "del".into(),
        },
        Body::DeleteObjectResponse(Status::Pending),
        Body::Download(Download {
            command_key: "fw-2026".into(),
            file_type: "1 Firmware Upgrade Image".into(),
            url: "https://files.example.net/dgw/2026.11.bin".into(),
            username: "cpe".into(),
            password: "hunter2".into(),
            file_size: 33_554_432,
            target_file_name: String::new(),
            delay_seconds: 0,
            success_url: String::new(),
            failure_url: String::new(),
        }),
        Body::Download(Download {
            command_key: String::new(),
            file_type: "X 00256D DGW Profile".into(),
            url: format!("http://h/{}", "p".repeat(247)),
            username: String::new(),
            password: String::new(),
            file_size: 0,
            target_file_name: "profile.xml".into(),
            delay_seconds: 30,
            success_url: "http://ok".into(),
            failure_url: "http://ko".into(),
        }),
        Body::DownloadResponse(TransferResponse {
            status: Status::Pending,
            start_time: DateTime::unknown(),
            complete_time: DateTime::unknown(),
        }),
        Body::Upload(Upload {
            command_key: "log".into(),
            file_type: "2 Vendor Log File".into(),
            url: "https://files.example.net/up".into(),
            username: "u".into(),
            password: "p@ss".into(),
            delay_seconds: 5,
        }),
        Body::Upload(Upload {
            command_key: String::new(),
            file_type: "3 Vendor Configuration File 2".into(),
            url: "ftp://files.example.net/cfg".into(),
            username: String::new(),
            password: String::new(),
            delay_seconds: 0,
        }),
        Body::UploadResponse(TransferResponse {
            status: Status::Applied,
            start_time: t0,
            complete_time: t1,
        }),
        Body::Reboot {
            command_key: "reboot-1".into(),
        },
        Body::RebootResponse,
        Body::FactoryReset,
        Body::FactoryResetResponse,
        Body::ScheduleInform {
            delay_seconds: 60,
            command_key: "si".into(),
        },
        Body::ScheduleInformResponse,
        Body::Fault(Fault::new(FaultCode::METHOD_NOT_SUPPORTED)),
        Body::Fault(Fault::new(FaultCode::ACS_RETRY_REQUEST)),
        Body::Fault(Fault {
            code: FaultCode::INVALID_ARGUMENTS,
            string: "Invalid arguments".into(),
            set_parameter_values_faults: vec![
                SetParameterValuesFault {
                    parameter_name: "Device.ManagementServer.PeriodicInformInterval".into(),
                    code: FaultCode::INVALID_PARAMETER_VALUE,
                    string: "out of range".into(),
                },
                SetParameterValuesFault {
                    parameter_name: "Device.DeviceInfo.SerialNumber".into(),
                    code: FaultCode::NON_WRITABLE_PARAMETER,
                    string: String::new(),
                },
            ],
        }),
        Body::Fault(Fault {
            code: FaultCode::new(9850).unwrap(),
            string: String::new(),
            set_parameter_values_faults: vec![],
        }),
    ];
    let mut out = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let mut env = Envelope::new(body);
        // Vary the headers: none, an ID, an ID and HoldRequests.
        match i % 3 {
            0 => {}
            1 => env.id = Some(format!("id-{i} <&>")),
            _ => {
                env.id = Some(i.to_string());
                env.hold_requests = Some(i % 2 == 0);
            }
        }
        out.push(env);
    }
    out
}

/// The crate's directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample envelopes in tests/samples, by file name.
pub fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = crate_dir().join("tests/samples");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/samples")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| (file_name(&p), std::fs::read(&p).expect("sample")))
        .collect();
    out.sort();
    out
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

/// The sample with this file name, parsed.
pub fn sample(name: &str) -> Envelope {
    let bytes = std::fs::read(crate_dir().join("tests/samples").join(name)).expect("sample file");
    Envelope::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}
