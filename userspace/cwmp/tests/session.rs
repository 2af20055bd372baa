//! The CPE session flow of TR-069 3.7.1, driven by bytes only.

mod common;

use cwmp::session::{CpeSession, SessionError, Step};
use cwmp::*;

fn inform() -> Inform {
    let Body::Inform(i) = common::every_message().remove(0).body else {
        unreachable!()
    };
    i
}

fn transfer_complete() -> Body {
    Body::TransferComplete(TransferComplete {
        command_key: "fw".into(),
        fault: TransferFault::success(),
        start_time: DateTime::unknown(),
        complete_time: DateTime::unknown(),
    })
}

/// What the ACS sends, in the cwmp-1-0 namespace GenieACS uses.
fn acs(id: &str, body: Body) -> Vec<u8> {
    Envelope {
        version: CwmpVersion::V1_0,
        id: Some(id.into()),
        hold_requests: None,
        body,
    }
    .to_xml()
    .into_bytes()
}

fn sent(step: Step) -> String {
    match step {
        Step::Send(s) => s,
        other => panic!("expected a POST, got {other:?}"),
    }
}

#[test]
fn full_session() {
    let mut s = CpeSession::new(inform());
    s.queue_request(transfer_complete());
    s.queue_request(Body::GetRpcMethods);

    let post = s.start();
    let env = Envelope::parse(post.as_bytes()).unwrap();
    assert!(matches!(env.body, Body::Inform(_)));
    assert_eq!(env.version, CwmpVersion::V1_2);

    // InformResponse in cwmp-1-0: the CPE follows the ACS's namespace from then on.
    let post = sent(
        s.on_http_response(&acs("1", Body::InformResponse { max_envelopes: 1 }))
            .unwrap(),
    );
    let env = Envelope::parse(post.as_bytes()).unwrap();
    assert!(matches!(env.body, Body::TransferComplete(_)));
    assert_eq!(env.version, CwmpVersion::V1_0);

    let post = sent(
        s.on_http_response(&acs("2", Body::TransferCompleteResponse))
            .unwrap(),
    );
    assert_eq!(
        Envelope::parse(post.as_bytes()).unwrap().body,
        Body::GetRpcMethods
    );

    // The ACS refuses GetRPCMethods: remembered, and the session goes on.
    let refused = acs("3", Body::Fault(Fault::new(FaultCode::ACS_RETRY_REQUEST)));
    assert_eq!(sent(s.on_http_response(&refused).unwrap()), "", "the empty POST");
    let failed = s.take_failed_requests();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, Body::GetRpcMethods);

    // ACS requests until its empty response.
    let gpv = Body::GetParameterValues(vec!["Device.DeviceInfo.UpTime".into()]);
    let Step::Request(req) = s.on_http_response(&acs("acs-7", gpv.clone())).unwrap() else {
        panic!()
    };
    assert_eq!(req.body, gpv);
    let answer = Body::GetParameterValuesResponse(vec![ParameterValue::new(
        "Device.DeviceInfo.UpTime",
        "42",
        ValueType::UnsignedInt,
    )]);
    let post = s.respond(answer.clone()).unwrap();
    let env = Envelope::parse(post.as_bytes()).unwrap();
    assert_eq!(
        env.id.as_deref(),
        Some("acs-7"),
        "the response echoes the request's ID"
    );
    assert_eq!(env.version, CwmpVersion::V1_0);
    assert_eq!(env.body, answer);
    assert_eq!(s.respond(Body::RebootResponse), Err(SessionError::OutOfTurn));

    // An unknown method is answered with 9000 without the caller.
    let unknown = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:dslforum-org:cwmp-1-0"><s:Body><c:GetQueuedTransfers/></s:Body></s:Envelope>"#;
    let post = sent(s.on_http_response(unknown).unwrap());
    let Body::Fault(f) = Envelope::parse(post.as_bytes()).unwrap().body else {
        panic!("{post}")
    };
    assert_eq!(f.code, FaultCode::METHOD_NOT_SUPPORTED);

    // Garbage gets 9003.
    let post = sent(s.on_http_response(b"<nonsense").unwrap());
    let Body::Fault(f) = Envelope::parse(post.as_bytes()).unwrap().body else {
        panic!("{post}")
    };
    assert_eq!(f.code, FaultCode::INVALID_ARGUMENTS);

    let Step::Request(_) = s
        .on_http_response(&acs(
            "acs-8",
            Body::Reboot {
                command_key: "r".into(),
            },
        ))
        .unwrap()
    else {
        panic!()
    };
    s.respond(Body::RebootResponse).unwrap();
    assert_eq!(s.on_http_response(b"").unwrap(), Step::Done);
    assert!(s.is_done());
    assert_eq!(s.on_http_response(b""), Err(SessionError::OutOfTurn));
}

#[test]
fn inform_refused_or_unanswered() {
    let mut s = CpeSession::new(inform());
    s.start();
    let fault = Fault::new(FaultCode::ACS_RETRY_REQUEST);
    assert_eq!(
        s.on_http_response(&acs("1", Body::Fault(fault.clone()))),
        Err(SessionError::InformFault(fault))
    );
    assert!(s.is_done());

    let mut s = CpeSession::new(inform());
    s.start();
    assert_eq!(
        s.on_http_response(b""),
        Err(SessionError::Unexpected {
            expected: "InformResponse",
            got: "empty"
        })
    );

    let mut s = CpeSession::new(inform());
    s.start();
    assert!(matches!(
        s.on_http_response(b"<x/>"),
        Err(SessionError::Soap(SoapError::NotSoapEnvelope))
    ));

    let mut s = CpeSession::new(inform());
    s.start();
    let wrong = acs(
        "1",
        Body::Reboot {
            command_key: String::new(),
        },
    );
    assert_eq!(
        s.on_http_response(&wrong),
        Err(SessionError::Unexpected {
            expected: "InformResponse",
            got: "Reboot"
        })
    );
}

#[test]
fn wrong_response_to_a_cpe_request() {
    let mut s = CpeSession::new(inform());
    s.queue_request(transfer_complete());
    s.start();
    sent(
        s.on_http_response(&acs("1", Body::InformResponse { max_envelopes: 1 }))
            .unwrap(),
    );
    assert_eq!(
        s.on_http_response(&acs("2", Body::GetRpcMethodsResponse(vec!["Inform".into()]))),
        Err(SessionError::Unexpected {
            expected: "TransferCompleteResponse",
            got: "GetRPCMethodsResponse"
        })
    );
}
