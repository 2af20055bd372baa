//! Hostile and broken input gives the right typed error and fault code, never a panic.

mod common;

use cwmp::*;

const HEAD: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:dslforum-org:cwmp-1-2" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body>"#;
const TAIL: &str = "</s:Body></s:Envelope>";

/// An envelope around `body`.
fn wrap(body: &str) -> Vec<u8> {
    format!("{HEAD}{body}{TAIL}").into_bytes()
}

fn err(input: &[u8]) -> SoapError {
    match Envelope::parse(input) {
        Ok(env) => panic!("accepted: {env:?}"),
        Err(e) => e,
    }
}

fn codes(e: &SoapError) -> (u32, u32) {
    (e.fault_code(Role::Cpe).get(), e.fault_code(Role::Acs).get())
}

/// A SetParameterValues with one parameter.
fn spv(name: &str, value_attrs: &str, value: &str) -> Vec<u8> {
    wrap(&format!(
        "<c:SetParameterValues><ParameterList><ParameterValueStruct><Name>{name}</Name>\
         <Value{value_attrs}>{value}</Value></ParameterValueStruct></ParameterList>\
         <ParameterKey></ParameterKey></c:SetParameterValues>"
    ))
}

#[test]
fn malformed_xml() {
    for bad in [
        &b""[..],
        b"   ",
        b"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>",
        b"<a></b>",
        b"<a x=1/>",
        b"<a x=\"1\" x=\"2\"/>",
        b"<u:a/>",
        b"<a>&foo;</a>",
        b"<a>&#0;</a>",
        b"<a>\x01</a>",
        b"<a/><b/>",
        b"<a/>trailing",
        b"text<a/>",
        b"<a><![CDATA[x</a>",
        b"<a><!-- x </a>",
    ] {
        let e = err(bad);
        assert!(
            matches!(e, SoapError::Malformed { .. }),
            "{:?}: {e:?}",
            String::from_utf8_lossy(bad)
        );
        assert_eq!(codes(&e), (9003, 8003));
    }
}

#[test]
fn not_a_soap_1_1_envelope() {
    let soap12 = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#;
    let unqualified = b"<Envelope><Body/></Envelope>";
    let other_root = br#"<s:Body xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>"#;
    for bad in [&soap12[..], unqualified, other_root] {
        let e = err(bad);
        assert_eq!(e, SoapError::NotSoapEnvelope);
        assert_eq!(codes(&e), (9003, 8003));
    }
}

#[test]
fn unknown_methods() {
    for (body, name) in [
        ("<c:GetQueuedTransfers/>", "GetQueuedTransfers"),
        (
            "<c:X_DGW_Frobnicate><A>1</A></c:X_DGW_Frobnicate>",
            "X_DGW_Frobnicate",
        ),
        (
            r#"<d:Reboot xmlns:d="urn:dslforum-org:cwmp-2-0"><CommandKey/></d:Reboot>"#,
            "Reboot",
        ),
        ("<Reboot><CommandKey/></Reboot>", "Reboot"),
    ] {
        let e = err(&wrap(body));
        assert_eq!(e, SoapError::UnknownMethod { name: name.into() });
        assert_eq!(codes(&e), (9000, 8000));
        let fault = e.to_fault(Role::Cpe);
        assert_eq!(fault.code, FaultCode::METHOD_NOT_SUPPORTED);
        assert_eq!(fault.string, "Method not supported");
        assert!(Envelope::new(Body::Fault(fault))
            .to_xml()
            .contains("<faultcode>Server</faultcode>"));
    }
}

#[test]
fn huge_envelope() {
    let pad = "x".repeat(MAX_ENVELOPE);
    let e = err(&wrap(&format!(
        "<c:Reboot><CommandKey>{pad}</CommandKey></c:Reboot>"
    )));
    assert!(matches!(e, SoapError::TooLarge { .. }), "{e:?}");
    assert_eq!(codes(&e), (9004, 8004));
    // Just under the limit is read (and refused for what it says, not for its size).
    let almost = wrap(&format!(
        "<c:Reboot><!--{}--><CommandKey/></c:Reboot>",
        "x".repeat(MAX_ENVELOPE - 400)
    ));
    assert!(almost.len() <= MAX_ENVELOPE);
    assert!(Envelope::parse(&almost).is_ok());
}

#[test]
fn deep_nesting() {
    // The envelope has 2 levels, so 30 more reach the limit and 31 exceed it.
    let nest = |n: usize| format!("{}{}", "<x:a xmlns:x=\"urn:x\">".repeat(n), "</x:a>".repeat(n));
    let e = err(format!("{HEAD}<c:Reboot>{}</c:Reboot>{TAIL}", nest(31)).as_bytes());
    assert_eq!(e, SoapError::TooDeep);
    assert_eq!(codes(&e), (9004, 8004));
    // At the limit the tree is built and the extra element is refused as unexpected.
    let e = err(format!("{HEAD}<c:Reboot>{}</c:Reboot>{TAIL}", nest(29)).as_bytes());
    assert!(matches!(e, SoapError::Unexpected { .. }), "{e:?}");
    // Very deep input is refused without recursion trouble.
    let e = err("<a>".repeat(100_000).as_bytes());
    assert!(
        matches!(e, SoapError::TooDeep | SoapError::TooLarge { .. }),
        "{e:?}"
    );
}

#[test]
fn too_many_list_items() {
    let names = |n: usize| {
        wrap(&format!(
            "<c:GetParameterValues><ParameterNames>{}</ParameterNames></c:GetParameterValues>",
            "<string>Device.A</string>".repeat(n)
        ))
    };
    let ok = Envelope::parse(&names(MAX_LIST)).expect("4096 names");
    assert!(matches!(&ok.body, Body::GetParameterValues(n) if n.len() == MAX_LIST));
    let e = err(&names(MAX_LIST + 1));
    assert_eq!(
        e,
        SoapError::TooManyItems {
            element: "ParameterNames".into()
        }
    );
    assert_eq!(codes(&e), (9004, 8004));
}

#[test]
fn dtds_and_entities_are_refused() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&lol2;</s:Body></s:Envelope>"#;
    let xxe = r#"<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&xxe;</s:Body></s:Envelope>"#;
    let plain = r#"<!DOCTYPE s:Envelope><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>"#;
    for bad in [laughs, xxe, plain] {
        let e = err(bad.as_bytes());
        assert_eq!(e, SoapError::Dtd);
        assert_eq!(codes(&e), (9003, 8003));
    }
    // An entity never declared is not expanded either.
    let e = err(&wrap("<c:Reboot><CommandKey>&xxe;</CommandKey></c:Reboot>"));
    assert!(matches!(e, SoapError::Malformed { .. }), "{e:?}");
}

#[test]
fn not_utf8() {
    let latin1 = wrap("<c:Reboot><CommandKey>caf\u{e9}</CommandKey></c:Reboot>")
        .iter()
        .flat_map(|&b| {
            if b == 0xc3 {
                None
            } else if b == 0xa9 {
                Some(0xe9)
            } else {
                Some(b)
            }
        })
        .collect::<Vec<u8>>();
    assert_eq!(err(&latin1), SoapError::NotUtf8);
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(
        String::from_utf8(wrap("<c:FactoryReset/>"))
            .unwrap()
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    assert_eq!(err(&utf16), SoapError::NotUtf8);
    let declared = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{}",
        String::from_utf8(wrap("<c:FactoryReset/>")).unwrap()
    );
    let e = err(declared.as_bytes());
    assert_eq!(e, SoapError::NotUtf8);
    assert_eq!(codes(&e), (9003, 8003));
    // A UTF-8 byte order mark is fine.
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend(wrap("<c:FactoryReset/>"));
    assert_eq!(Envelope::parse(&bom).unwrap().body, Body::FactoryReset);
}

#[test]
fn missing_required_elements() {
    for (body, element) in [
        ("", "message in Body"),
        ("<c:Reboot/>", "CommandKey"),
        ("<c:GetParameterNames><ParameterPath>Device.</ParameterPath></c:GetParameterNames>", "NextLevel"),
        (
            "<c:Download><CommandKey/><FileType>1 Firmware Upgrade Image</FileType><Username/><Password/>\
             <FileSize>0</FileSize><TargetFileName/><DelaySeconds>0</DelaySeconds><SuccessURL/><FailureURL/></c:Download>",
            "URL",
        ),
        ("<c:Inform><Event/><MaxEnvelopes>1</MaxEnvelopes></c:Inform>", "DeviceId"),
        ("<s:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring></s:Fault>", "detail"),
        ("<s:Fault><faultcode>Client</faultcode><faultstring>x</faultstring><detail/></s:Fault>", "cwmp:Fault"),
        (
            "<s:Fault><faultcode>Client</faultcode><faultstring>x</faultstring><detail><c:Fault><FaultString/></c:Fault></detail></s:Fault>",
            "FaultCode",
        ),
        ("<c:SetParameterValues><ParameterList/></c:SetParameterValues>", "ParameterKey"),
        (
            "<c:SetParameterValues><ParameterList><ParameterValueStruct><Name>A</Name></ParameterValueStruct>\
             </ParameterList><ParameterKey/></c:SetParameterValues>",
            "Value",
        ),
    ] {
        let e = err(&wrap(body));
        assert_eq!(e, SoapError::Missing { element }, "{body}");
        assert_eq!(codes(&e), (9003, 8003));
    }
    let no_body =
        br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>"#;
    assert_eq!(err(no_body), SoapError::Missing { element: "Body" });
}

#[test]
fn unexpected_and_duplicate_elements() {
    let e = err(&wrap("<c:Reboot><CommandKey/><Extra/></c:Reboot>"));
    assert_eq!(
        e,
        SoapError::Unexpected {
            element: "Extra".into()
        }
    );
    assert_eq!(codes(&e), (9003, 8003));
    let e = err(&wrap("<c:Reboot><CommandKey/><CommandKey/></c:Reboot>"));
    assert_eq!(
        e,
        SoapError::Duplicate {
            element: "CommandKey"
        }
    );
    let e = err(&wrap("<c:FactoryReset/><c:Reboot><CommandKey/></c:Reboot>"));
    assert_eq!(
        e,
        SoapError::Unexpected {
            element: "Reboot".into()
        }
    );
    let e = err(&wrap("<c:Reboot>text<CommandKey/></c:Reboot>"));
    assert!(matches!(e, SoapError::Unexpected { .. }), "{e:?}");
    let e = err(&wrap("<c:Reboot><CommandKey><b/></CommandKey></c:Reboot>"));
    assert_eq!(e, SoapError::Unexpected { element: "b".into() });
    // Fields in a foreign namespace are not the schema's.
    let e = err(&wrap("<c:Reboot><xsd:CommandKey/></c:Reboot>"));
    assert_eq!(
        e,
        SoapError::Unexpected {
            element: "CommandKey".into()
        }
    );
}

#[test]
fn values_breaking_the_schema() {
    let download = |file_type: &str, key: &str| {
        wrap(&format!(
            "<c:Download><CommandKey>{key}</CommandKey><FileType>{file_type}</FileType><URL>http://x</URL><Username/><Password/>\
             <FileSize>0</FileSize><TargetFileName/><DelaySeconds>0</DelaySeconds><SuccessURL/><FailureURL/></c:Download>"
        ))
    };
    assert!(Envelope::parse(&download("1 Firmware Upgrade Image", "k")).is_ok());
    for (input, element) in [
        (wrap("<c:InformResponse><MaxEnvelopes>one</MaxEnvelopes></c:InformResponse>"), "MaxEnvelopes"),
        (wrap("<c:InformResponse><MaxEnvelopes>-1</MaxEnvelopes></c:InformResponse>"), "MaxEnvelopes"),
        (wrap("<c:InformResponse><MaxEnvelopes>4294967296</MaxEnvelopes></c:InformResponse>"), "MaxEnvelopes"),
        (wrap("<c:SetParameterValuesResponse><Status>2</Status></c:SetParameterValuesResponse>"), "Status"),
        (wrap("<c:GetParameterNames><ParameterPath/><NextLevel>yes</NextLevel></c:GetParameterNames>"), "NextLevel"),
        (wrap("<c:AddObject><ObjectName>Device.IP.Interface</ObjectName><ParameterKey/></c:AddObject>"), "ObjectName"),
        (wrap("<c:AddObjectResponse><InstanceNumber>0</InstanceNumber><Status>0</Status></c:AddObjectResponse>"), "InstanceNumber"),
        (download("Firmware", "k"), "FileType"),
        (download("0 Firmware", "k"), "FileType"),
        (download("1 Firmware", &"k".repeat(33)), "CommandKey"),
        (wrap("<c:GetParameterValues><ParameterNames/></c:GetParameterValues>"), "ParameterNames"),
        (wrap("<c:GetRPCMethodsResponse><MethodList/></c:GetRPCMethodsResponse>"), "MethodList"),
        (
            wrap("<c:TransferComplete><CommandKey/><FaultStruct><FaultCode>9013</FaultCode><FaultString/></FaultStruct>\
                  <StartTime>2026-01-01T00:00:00Z</StartTime><CompleteTime>2026-02-30T00:00:00Z</CompleteTime></c:TransferComplete>"),
            "CompleteTime",
        ),
        (
            wrap("<c:TransferComplete><CommandKey/><FaultStruct><FaultCode>9013</FaultCode><FaultString/></FaultStruct>\
                  <StartTime>2026-01-01T00:00:00Z</StartTime><CompleteTime>2026-01-30T00:00:00Z</CompleteTime></c:TransferComplete>"),
            "FaultCode",
        ),
        (
            wrap("<c:GetParameterAttributesResponse><ParameterList><ParameterAttributeStruct><Name>A</Name>\
                  <Notification>7</Notification><AccessList/></ParameterAttributeStruct></ParameterList></c:GetParameterAttributesResponse>"),
            "Notification",
        ),
        (
            wrap("<c:GetParameterAttributesResponse><ParameterList><ParameterAttributeStruct><Name>A</Name>\
                  <Notification>1</Notification><AccessList><string>Everyone</string></AccessList></ParameterAttributeStruct>\
                  </ParameterList></c:GetParameterAttributesResponse>"),
            "AccessList",
        ),
        (
            wrap("<s:Fault><faultcode>Client</faultcode><faultstring>x</faultstring><detail><c:Fault>\
                  <FaultCode>7000</FaultCode></c:Fault></detail></s:Fault>"),
            "FaultCode",
        ),
    ] {
        let e = err(&input);
        assert!(matches!(e, SoapError::InvalidValue { element: el, .. } if el == element), "{element}: {e:?}");
        assert_eq!(codes(&e), (9003, 8003));
    }
}

#[test]
fn xsi_type_prefixes_resolve_where_they_are_declared() {
    let local = spv(
        "Device.A",
        r#" xmlns:t="http://www.w3.org/2001/XMLSchema" xsi:type="t:int""#,
        "5",
    );
    let Body::SetParameterValues { parameters, .. } = Envelope::parse(&local).unwrap().body else {
        panic!()
    };
    assert_eq!(parameters[0].value_type, Some(ValueType::Int));
    // An undeclared prefix is an error, not a guess.
    let e = err(&spv("Device.A", r#" xsi:type="t:int""#, "5"));
    assert!(matches!(e, SoapError::Malformed { .. }), "{e:?}");
}

#[test]
fn parameter_faults() {
    let e = err(&spv("Device.A", r#" xsi:type="xsd:float""#, "1.5"));
    assert_eq!(
        e,
        SoapError::InvalidParameterType {
            name: "Device.A".into()
        }
    );
    assert_eq!(codes(&e), (9006, 8003));
    // A type QName whose prefix resolves to another namespace is no XML Schema type.
    let e = err(&spv("Device.A", r#" xsi:type="xsi:string""#, "x"));
    assert_eq!(
        e,
        SoapError::InvalidParameterType {
            name: "Device.A".into()
        }
    );
    for (ty, value) in [
        ("xsd:unsignedInt", "-1"),
        ("xsd:int", "12abc"),
        ("xsd:boolean", "TRUE"),
        ("xsd:dateTime", "yesterday"),
        ("xsd:base64Binary", "abc"),
        ("xsd:hexBinary", "0g"),
    ] {
        let e = err(&spv("Device.Password", &format!(r#" xsi:type="{ty}""#), value));
        assert_eq!(
            e,
            SoapError::InvalidParameterValue {
                name: "Device.Password".into()
            },
            "{ty}"
        );
        assert_eq!(codes(&e), (9007, 8003));
        // The error names the parameter but never shows the value.
        assert!(!e.to_string().contains(value), "{e}");
    }
    let long = format!("Device.{}", "A".repeat(250));
    let e = err(&spv(&long, "", "x"));
    assert!(matches!(e, SoapError::InvalidParameterName { .. }), "{e:?}");
    assert_eq!(codes(&e), (9005, 8003));
    assert!(e.to_string().len() < 120, "{e}");
    let e = err(&spv("Device.A", "", &"v".repeat(MAX_VALUE + 1)));
    assert_eq!(
        e,
        SoapError::InvalidParameterValue {
            name: "Device.A".into()
        }
    );
    assert!(Envelope::parse(&spv("Device.A", "", &"v".repeat(MAX_VALUE))).is_ok());
}

#[test]
fn headers() {
    let with_header = |header: &str| {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:dslforum-org:cwmp-1-2"><s:Header>{header}</s:Header><s:Body><c:FactoryReset/></s:Body></s:Envelope>"#
        )
        .into_bytes()
    };
    let e = err(&with_header(
        r#"<x:Auth xmlns:x="urn:x" s:mustUnderstand="1">t</x:Auth>"#,
    ));
    assert_eq!(
        e,
        SoapError::MustUnderstand {
            header: "Auth".into()
        }
    );
    assert_eq!(codes(&e), (9003, 8003));
    let ok = Envelope::parse(&with_header(
        r#"<x:Auth xmlns:x="urn:x" s:mustUnderstand="0">t</x:Auth><c:ID>7</c:ID>"#,
    ));
    assert_eq!(ok.unwrap().id.as_deref(), Some("7"));
    assert_eq!(
        err(&with_header("<c:ID>1</c:ID><c:ID>2</c:ID>")),
        SoapError::Duplicate { element: "ID" }
    );
    let e = err(&with_header(
        r#"<c:HoldRequests s:mustUnderstand="1">maybe</c:HoldRequests>"#,
    ));
    assert!(
        matches!(
            e,
            SoapError::InvalidValue {
                element: "HoldRequests",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn secrets_stay_out_of_debug() {
    for env in common::every_message() {
        let debug = format!("{env:?}");
        for secret in ["hunter2", "p@ss", "s3cr&t<"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}

#[test]
fn validate_catches_what_to_xml_cannot_write() {
    let mut env = Envelope::new(Body::Reboot {
        command_key: "k".repeat(33),
    });
    assert!(matches!(
        env.validate(),
        Err(SoapError::InvalidValue {
            element: "CommandKey",
            ..
        })
    ));
    env.body = Body::Inform(Inform {
        device_id: DeviceId {
            oui: "00256d".into(),
            ..DeviceId::default()
        },
        events: vec![],
        max_envelopes: 1,
        current_time: DateTime::unknown(),
        retry_count: 0,
        parameters: vec![],
    });
    assert!(matches!(
        env.validate(),
        Err(SoapError::InvalidValue { element: "OUI", .. })
    ));
    env.body = Body::GetParameterValuesResponse(vec![ParameterValue::new("A", "x", ValueType::Int)]);
    assert!(matches!(
        env.validate(),
        Err(SoapError::InvalidParameterValue { .. })
    ));
    let other = EventCode::Other("1 BOOT".into());
    assert!(!other.is_valid());
}
