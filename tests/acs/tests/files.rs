//! Download and Upload through the ACS's file server, with TransferComplete, over HTTP and HTTPS,
//! and the TLS identities a CPE's certificate validation is tested with.

mod common;

use std::time::Duration;

use acs::{Acs, AcsOptions, CertKind, FileBody, HttpAuth, TestPki};
use common::*;
use cwmp::*;

const WAIT: Duration = Duration::from_secs(10);

fn download(key: &str, file_type: &str, url: &str, size: u64, user: &str, password: &str) -> Body {
    Body::Download(Download {
        command_key: key.into(),
        file_type: file_type.into(),
        url: url.into(),
        username: user.into(),
        password: password.into(),
        file_size: size as u32,
        target_file_name: String::new(),
        delay_seconds: 0,
        success_url: String::new(),
        failure_url: String::new(),
    })
}

fn transfer_complete(key: &str) -> Body {
    Body::TransferComplete(TransferComplete {
        command_key: key.into(),
        fault: TransferFault::success(),
        start_time: DateTime::from_unix(1_700_000_000).unwrap(),
        complete_time: DateTime::from_unix(1_700_000_001).unwrap(),
    })
}

/// The whole Download flow as a CPE runs it: the session with the Download (answered
/// pending), the transfer after the session, then a session with TransferComplete.
#[tokio::test]
async fn download_config_and_firmware_over_https() {
    let pki = TestPki::generate().unwrap();
    let acs = Acs::start(AcsOptions::https(pki.identity(CertKind::Valid).unwrap())).await;
    let tls = client_config(pki.roots());
    let config = b"<dgw-config version=\"1\"/>\n".to_vec();
    let config_url = acs.add_file("dgw.conf", config.clone());
    let fw_len = 3 * 1024 * 1024 + 17;
    let fw_url = acs.add_file_with(
        "fw.bin",
        FileBody::Pattern(fw_len),
        HttpAuth::digest("fw", "fwpass"),
    );
    assert!(fw_url.starts_with("https://127.0.0.1:") && fw_url.ends_with("/files/fw.bin"));
    acs.push_request(download(
        "cfg",
        "3 Vendor Configuration File",
        &config_url,
        0,
        "",
        "",
    ));
    acs.push_request(download(
        "fw",
        "1 Firmware Upgrade Image",
        &fw_url,
        fw_len,
        "fw",
        "fwpass",
    ));

    let mut cpe = FakeCpe::new(&acs.url());
    cpe.tls = Some(tls.clone());
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert_eq!(run.error, None);
    let mut downloads = Vec::new();
    for r in &run.requests {
        let Body::Download(d) = &r.body else {
            panic!("{r:?}")
        };
        downloads.push(d.clone());
    }
    assert_eq!(downloads.len(), 2);

    // The transfers.
    let got = fetch(&downloads[0].url, Some(&tls), None).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.body, config);
    let denied = fetch(&downloads[1].url, Some(&tls), None).await;
    assert_eq!(denied.status(), 401);
    let got = fetch(
        &downloads[1].url,
        Some(&tls),
        Some(creds(&downloads[1].username, &downloads[1].password)),
    )
    .await;
    assert_eq!(got.status(), 200);
    assert_eq!(
        got.head.headers().get("content-length"),
        Some(fw_len.to_string().as_str())
    );
    assert_eq!(got.body.len() as u64, fw_len);
    assert!(
        got.body == acs::pattern(0, fw_len as usize),
        "firmware content differs"
    );

    // The TransferComplete session (one per transfer, as a CPE may do).
    for key in ["cfg", "fw"] {
        let events = vec![
            event(EventCode::TransferComplete),
            Event {
                code: EventCode::MDownload,
                command_key: key.into(),
            },
        ];
        let run = cpe
            .session(events, vec![transfer_complete(key)], default_answer)
            .await;
        assert_eq!(run.error, None);
        let s = acs.wait_inform_with(&EventCode::TransferComplete, WAIT).await;
        assert_eq!(s.transfer_completes()[0].command_key, key);
        s.assert_no_violations();
    }
    let first = acs.next_session(WAIT).await;
    assert!(matches!(
        first.rpc_responses()[1].1.body,
        Body::DownloadResponse(_)
    ));
    acs.assert_all_valid();
    let gets: Vec<u16> = acs
        .http_log()
        .iter()
        .filter(|h| h.method == "GET")
        .map(|h| h.status)
        .collect();
    assert_eq!(gets, [200, 401, 401, 200]);
}

#[tokio::test]
async fn upload_over_http() {
    let acs = Acs::start(AcsOptions::default()).await;
    acs.set_upload_auth(HttpAuth::digest("up", "uppass"));
    let url = acs.upload_url("config-1.xml");
    acs.push_request(Body::Upload(Upload {
        command_key: "up1".into(),
        file_type: "1 Vendor Configuration File".into(),
        url: url.clone(),
        username: "up".into(),
        password: "uppass".into(),
        delay_seconds: 0,
    }));
    let cpe = FakeCpe::new(&acs.url());
    let run = cpe
        .session(vec![event(EventCode::Periodic)], vec![], default_answer)
        .await;
    assert_eq!(run.error, None);
    let Body::Upload(up) = &run.requests[0].body else {
        panic!()
    };

    let content = b"<config>uploaded</config>".to_vec();
    let mut put = RawClient::connect(&up.url, None)
        .await
        .with_credentials(creds(&up.username, &up.password));
    let r = put.send("PUT", &content, &[("Content-Type", "text/xml")]).await;
    assert_eq!(r.status(), 200);
    let record = acs
        .wait_upload("config-1.xml", WAIT)
        .await
        .expect("upload recorded");
    assert_eq!(record.body, content);
    assert_eq!(record.method, "PUT");
    assert_eq!(record.header("authorization"), Some("Digest <redacted>"));
    // Wrong credentials are refused and nothing is stored.
    let mut bad = RawClient::connect(&url, None)
        .await
        .with_credentials(creds("up", "nope"));
    assert_eq!(bad.send("PUT", b"x", &[]).await.status(), 401);
    assert_eq!(acs.uploads().len(), 1);

    let events = vec![
        event(EventCode::TransferComplete),
        Event {
            code: EventCode::MUpload,
            command_key: "up1".into(),
        },
    ];
    let run = cpe
        .session(events, vec![transfer_complete("up1")], default_answer)
        .await;
    assert_eq!(run.error, None);
    let s = acs.wait_inform_with(&EventCode::MUpload, WAIT).await;
    assert_eq!(s.transfer_completes()[0].command_key, "up1");
    acs.assert_all_valid();
}

#[tokio::test]
async fn file_server_basics() {
    let acs = Acs::start(AcsOptions::default()).await;
    let url = acs.add_file_with("b.bin", FileBody::Pattern(1000), HttpAuth::basic("u", "p"));
    assert_eq!(fetch(&acs.file_url("missing"), None, None).await.status(), 404);
    assert_eq!(fetch(&url, None, None).await.status(), 401);
    let ok = fetch(&url, None, Some(creds("u", "p"))).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.body, acs::pattern(0, 1000));
    // HEAD gives the length without the body.
    let mut c = RawClient::connect(&acs.add_file("h", vec![7u8; 42]), None).await;
    let head = c.send("HEAD", b"", &[]).await;
    assert_eq!(head.status(), 200);
    assert_eq!(head.head.headers().get("content-length"), Some("42"));
    assert!(head.body.is_empty());
    // The same connection goes on (keep-alive) after HEAD.
    assert_eq!(c.send("GET", b"", &[]).await.body, vec![7u8; 42]);
    acs.remove_file("h");
    assert_eq!(fetch(&acs.file_url("h"), None, None).await.status(), 404);
    // The pattern does not repeat at power-of-two strides.
    let p = acs::pattern(0, 1 << 17);
    assert_ne!(p[..4096], p[65536..65536 + 4096]);
}

/// The identities a CPE's validation levels are tested against: each broken one fails a
/// client that checks the chain and host name, and the ACS records the failed handshake.
#[tokio::test]
async fn tls_identities() {
    let pki = TestPki::generate().unwrap();
    let tls = client_config(pki.roots());
    for kind in [
        CertKind::Valid,
        CertKind::WrongHost,
        CertKind::Expired,
        CertKind::SelfSigned,
    ] {
        let acs = Acs::start(AcsOptions::https(pki.identity(kind).unwrap())).await;
        let url = httpwire::Url::parse(&acs.url()).unwrap();
        let result = tokio::time::timeout(STEP, connect(&url, Some(&tls)))
            .await
            .unwrap();
        match kind {
            CertKind::Valid => {
                assert!(result.is_ok(), "{:?}", result.err());
                assert!(acs.tls_failures().is_empty());
            }
            _ => {
                let err = result.err().unwrap_or_else(|| panic!("{kind:?} accepted"));
                let expected = match kind {
                    CertKind::WrongHost => "NotValidForName",
                    CertKind::Expired => "Expired",
                    _ => "UnknownIssuer",
                };
                assert!(format!("{err:?}").contains(expected), "{kind:?}: {err:?}");
                // The server sees the client's alert.
                for _ in 0..100 {
                    if !acs.tls_failures().is_empty() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                assert_eq!(acs.tls_failures().len(), 1, "{kind:?}");
            }
        }
    }
    assert!(pki.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
}
