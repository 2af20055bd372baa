//! Envelopes in the styles real ACSes and CPEs write (GenieACS: compact, `soap-env` prefixes,
//! cwmp-1-0; OpenACS: `SOAP-ENV`, pretty-printed, arrays without `arrayType`; CPEs: other
//! prefixes, CRLF, untyped values; default namespaces; comments and CDATA) decode to the
//! expected messages, and each re-encodes to an equal envelope.

mod common;

use common::sample;
use cwmp::*;

#[test]
fn every_sample_parses_and_round_trips() {
    let samples = common::samples();
    assert!(samples.len() >= 10);
    for (name, bytes) in samples {
        let env = Envelope::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = Envelope::parse(env.to_xml().as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again, env, "{name}");
    }
}

#[test]
fn genieacs_inform_response() {
    let env = sample("genieacs_inform_response.xml");
    assert_eq!(env.version, CwmpVersion::V1_0);
    assert_eq!(env.id.as_deref(), Some("1748412345678"));
    assert_eq!(env.hold_requests, None);
    assert_eq!(env.body, Body::InformResponse { max_envelopes: 1 });
    assert_eq!(env.body.kind(), MessageKind::Response);
    // A reply goes out in the ACS's namespace.
    let reply = env.reply(Body::TransferCompleteResponse).to_xml();
    assert!(reply.contains("xmlns:cwmp=\"urn:dslforum-org:cwmp-1-0\""));
    assert!(reply.contains("<cwmp:ID soap-env:mustUnderstand=\"1\">1748412345678</cwmp:ID>"));
}

#[test]
fn genieacs_get_parameter_values() {
    let env = sample("genieacs_gpv.xml");
    assert_eq!(
        env.body,
        Body::GetParameterValues(vec![
            "Device.DeviceInfo.SoftwareVersion".into(),
            "Device.ManagementServer.PeriodicInformInterval".into(),
            "Device.Services.VoiceService.1.".into(),
        ])
    );
    assert_eq!(env.body.kind(), MessageKind::Request);
}

#[test]
fn genieacs_set_parameter_values() {
    let env = sample("genieacs_spv.xml");
    let Body::SetParameterValues {
        parameters,
        parameter_key,
    } = &env.body
    else {
        panic!("{env:?}")
    };
    assert_eq!(parameter_key, "genieacs-7");
    assert_eq!(parameters.len(), 4);
    assert_eq!(
        parameters[0],
        ParameterValue::new(
            "Device.ManagementServer.PeriodicInformInterval",
            "300",
            ValueType::UnsignedInt
        )
    );
    assert_eq!(parameters[1].value_type, Some(ValueType::Boolean));
    assert_eq!(parameters[2].value, "p&ss<word>");
    // The password is hidden from Debug, the other values are not.
    let debug = format!("{env:?}");
    assert!(!debug.contains("p&ss"), "{debug}");
    assert!(
        debug.contains("<redacted>") && debug.contains("pool.ntp.org"),
        "{debug}"
    );
}

#[test]
fn genieacs_download() {
    let env = sample("genieacs_download.xml");
    let Body::Download(d) = &env.body else {
        panic!("{env:?}")
    };
    assert_eq!(d.file_type, "1 Firmware Upgrade Image");
    assert_eq!(d.url, "http://acs.example.net:7567/dgw-2026.11.bin");
    assert_eq!((d.file_size, d.delay_seconds), (33_554_432, 0));
    assert_eq!(d.password, "");
    assert_eq!(d.target_file_name, "dgw-2026.11.bin");
}

#[test]
fn genieacs_get_parameter_names() {
    let env = sample("genieacs_gpn.xml");
    assert_eq!(
        env.body,
        Body::GetParameterNames {
            parameter_path: "Device.".into(),
            next_level: true
        }
    );
}

#[test]
fn openacs_set_parameter_attributes() {
    let env = sample("openacs_spa.xml");
    assert_eq!(env.id.as_deref(), Some("openacs-17"));
    let Body::SetParameterAttributes(list) = &env.body else {
        panic!("{env:?}")
    };
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0],
        SetParameterAttributesStruct {
            name: "Device.DeviceInfo.SoftwareVersion".into(),
            notification_change: true,
            notification: Notification::Active,
            access_list_change: false,
            access_list: vec![],
        }
    );
    assert_eq!(list[1].access_list, ["Subscriber"]);
    assert!(list[1].access_list_change && !list[1].notification_change);
}

#[test]
fn openacs_fault() {
    let env = sample("openacs_fault.xml");
    let Body::Fault(f) = &env.body else {
        panic!("{env:?}")
    };
    assert_eq!(f.code, FaultCode::ACS_RETRY_REQUEST);
    assert_eq!(f.string, "Retry request");
    assert_eq!(env.body.kind(), MessageKind::Fault);
    assert_eq!(env.version, CwmpVersion::V1_0);
}

#[test]
fn default_namespaces() {
    let env = sample("default_ns_add_object.xml");
    assert_eq!(env.version, CwmpVersion::V1_1);
    assert_eq!(env.id, None);
    assert_eq!(
        env.body,
        Body::AddObject {
            object_name: "Device.Services.VoiceService.1.VoiceProfile.".into(),
            parameter_key: String::new()
        }
    );
}

#[test]
fn cpe_inform_with_other_prefixes_and_crlf() {
    let env = sample("cpe_inform_crlf.xml");
    assert_eq!(env.version, CwmpVersion::V1_1);
    let Body::Inform(i) = &env.body else {
        panic!("{env:?}")
    };
    assert_eq!(i.device_id.oui, "0090F8");
    assert_eq!(i.device_id.serial_number, "0090F8123456");
    assert_eq!(
        i.events,
        [
            Event {
                code: EventCode::Boot,
                command_key: String::new()
            },
            Event {
                code: EventCode::MReboot,
                command_key: "reboot-42".into()
            },
        ]
    );
    assert_eq!(i.current_time.as_str(), "2026-11-27T07:10:36.123+01:00");
    assert_eq!(
        i.current_time.to_unix(),
        DateTime::parse("2026-11-27T06:10:36Z").unwrap().to_unix()
    );
    assert_eq!(i.retry_count, 2);
    assert_eq!(i.parameters[0].value_type, Some(ValueType::String));
    assert_eq!(i.parameters[2].value_type, None);
    assert_eq!(i.parameters[2].value, "");
}

#[test]
fn cpe_set_parameter_values_fault() {
    let env = sample("cpe_spv_fault.xml");
    let Body::Fault(f) = &env.body else {
        panic!("{env:?}")
    };
    assert_eq!(f.code, FaultCode::INVALID_ARGUMENTS);
    assert_eq!(f.set_parameter_values_faults.len(), 2);
    assert_eq!(
        f.set_parameter_values_faults[0].code,
        FaultCode::INVALID_PARAMETER_VALUE
    );
    assert_eq!(
        f.set_parameter_values_faults[1].code,
        FaultCode::NON_WRITABLE_PARAMETER
    );
    assert_eq!(f.set_parameter_values_faults[1].string, "");
    // Client/Server follows from the code.
    assert!(env.to_xml().contains("<faultcode>Client</faultcode>"));
}

#[test]
fn hold_requests_and_unknown_optional_header() {
    let env = sample("hold_requests_tc_response.xml");
    assert_eq!(env.id.as_deref(), Some("tc-1"));
    assert_eq!(env.hold_requests, Some(true));
    assert_eq!(env.body, Body::TransferCompleteResponse);
}

#[test]
fn comments_cdata_and_whitespace() {
    let env = sample("cdata_comments_gpv_response.xml");
    let Body::GetParameterValuesResponse(list) = &env.body else {
        panic!("{env:?}")
    };
    assert_eq!(list[0].name, "Device.DeviceInfo.Description");
    assert_eq!(list[0].value, "<b>DGW</b> & co");
    // Numbers may have white space around them; the text is kept as sent.
    assert_eq!(list[1].value, " 86400 ");
    assert_eq!(list[1].value_type, Some(ValueType::UnsignedInt));
    assert_eq!(list[2].value_type, Some(ValueType::SoapEncBase64));
}
