//! `dgw cwmpd` as it runs on the unit: configured through confd on a
//! private bus, talking to the project's test ACS with digest
//! authentication: bootstrap, GetParameterValues answered from confd,
//! SetParameterValues applied through confd, an active notification set by
//! the ACS and a later local change opening a VALUE CHANGE session, and a
//! Reboot run through the reboot command after the session. Every envelope
//! is validated against the Broadband Forum schema.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use acs::{Acs, AcsOptions, HttpAuth};
use common::{can_run, policy, scratch, start_bus, start_confd, text, Kill, DGW};
use cwmp::{Body, EventCode, Notification, SetParameterAttributesStruct};

fn ctl(addr: &str, args: &[&str]) -> std::process::Output {
    Command::new(DGW)
        .args(["ctl", "--bus", addr])
        .args(args)
        .output()
        .unwrap()
}

/// `dgw cwmpd` on the test's bus with its state, boot marker and
/// certificate store under `dir`, the connection-request server on
/// loopback, and `extra` options; its stderr goes to `dir/cwmpd.log`.
fn spawn_cwmpd(dir: &std::path::Path, addr: &str, serial: &str, extra: &[&str]) -> Kill {
    let child = Command::new(DGW)
        .args([
            "cwmpd",
            "--bus",
            addr,
            "--serial-number",
            serial,
            "--listen",
            "127.0.0.1",
        ])
        .args(["--state-dir", dir.join("cwmp").to_str().unwrap()])
        .args(["--boot-marker", dir.join("run/started").to_str().unwrap()])
        .args(["--cert-store", dir.join("certs").to_str().unwrap()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("cwmpd.log")).unwrap())
        .spawn()
        .unwrap();
    Kill(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cwmpd_through_confd_against_the_test_acs() {
    if !can_run() {
        return;
    }
    let dir = scratch("cwmpd");
    let (_bus, addr) = start_bus(&dir, &policy("../confd/dbus/net.dgw.Config.conf"));
    let _confd = start_confd(&dir, &addr, &[]);
    let acs = Acs::start(AcsOptions {
        auth: HttpAuth::digest("cpe-1", "acs-secret"),
        ..AcsOptions::default()
    })
    .await;
    let cr_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = ctl(
        &addr,
        &[
            "set",
            "Cwmp.Enable=Enable",
            "Cwmp.AcsUrlConfigSource=Static",
            &format!("Cwmp.AcsStaticUrl={}", acs.url()),
            "Cwmp.AcsUsername=cpe-1",
            "Cwmp.AcsPassword=acs-secret",
            &format!("Cwmp.ListeningPort={cr_port}"),
            "Cwmp.ConnectionRequestUsername=acs-cr",
            "Cwmp.ConnectionRequestPassword=cr-secret",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let interval = "Device.ManagementServer.PeriodicInformInterval";
    acs.push_requests([
        Body::GetParameterValues(vec![interval.into()]),
        Body::SetParameterValues {
            parameters: vec![cwmp::ParameterValue {
                name: interval.into(),
                value: "1200".into(),
                value_type: Some(cwmp::ValueType::UnsignedInt),
            }],
            parameter_key: "k-1".into(),
        },
        Body::SetParameterAttributes(vec![SetParameterAttributesStruct {
            name: "Device.Time.LocalTimeZone".into(),
            notification_change: true,
            notification: Notification::Active,
            access_list_change: false,
            access_list: vec![],
        }]),
        // A configuration file: applied through confd after the session.
        Body::Download(cwmp::Download {
            command_key: "cfg-1".into(),
            file_type: "3 Vendor Configuration File".into(),
            url: acs.add_file("site.cfg", "SipEp.DefaultRegistrationExpiration=1800\n"),
            username: String::new(),
            password: String::new(),
            file_size: 0,
            target_file_name: String::new(),
            delay_seconds: 0,
            success_url: String::new(),
            failure_url: String::new(),
        }),
        // Refused in the session: ftp is not a transfer protocol here.
        Body::Download(cwmp::Download {
            command_key: "ftp-1".into(),
            file_type: "3 Vendor Configuration File".into(),
            url: "ftp://127.0.0.1/site.cfg".into(),
            username: String::new(),
            password: String::new(),
            file_size: 0,
            target_file_name: String::new(),
            delay_seconds: 0,
            success_url: String::new(),
            failure_url: String::new(),
        }),
    ]);
    let log = dir.join("cwmpd.log");
    let rebooted = dir.join("rebooted");
    let reboot_cmd = format!("touch {}", rebooted.display());
    let _cwmpd = spawn_cwmpd(&dir, &addr, "UNIT-7", &["--reboot-command", &reboot_cmd]);
    let cwmpd_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let t = Duration::from_secs(20);

    // Boot of a factory unit.
    let s = acs
        .try_next_session(t)
        .await
        .unwrap_or_else(|| panic!("no session\n{}", cwmpd_log()));
    assert!(
        s.has_event(&EventCode::Bootstrap) && s.has_event(&EventCode::Boot),
        "{:?}",
        s.inform.events
    );
    assert_eq!(s.inform.device_id.serial_number, "UNIT-7");
    s.assert_valid();
    s.assert_no_violations();
    let bodies: Vec<&Body> = s.responses.iter().map(|(_, e)| &e.body).collect();
    assert!(
        matches!(bodies[0], Body::GetParameterValuesResponse(v) if v[0].value == "86400"),
        "{:?}",
        bodies[0]
    );
    assert!(
        matches!(bodies[1], Body::SetParameterValuesResponse(_)),
        "{:?}",
        bodies[1]
    );
    assert!(
        matches!(bodies[2], Body::SetParameterAttributesResponse),
        "{:?}",
        bodies[2]
    );
    // The ACS's change is in confd.
    let o = ctl(&addr, &["get", "Cwmp.PeriodicInformInterval"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("=1200"),
        "{}",
        text(&o)
    );

    assert!(matches!(bodies[3], Body::DownloadResponse(_)), "{:?}", bodies[3]);
    assert!(
        matches!(bodies[4], Body::Fault(f) if f.code == cwmp::FaultCode::UNSUPPORTED_PROTOCOL),
        "{:?}",
        bodies[4]
    );
    // The Download's outcome in its own session.
    let s = acs
        .try_next_session(t)
        .await
        .unwrap_or_else(|| panic!("no TransferComplete session\n{}", cwmpd_log()));
    let tc = s.transfer_completes();
    assert_eq!(tc.len(), 1, "{:?}", s.inform.events);
    assert_eq!((tc[0].command_key.as_str(), tc[0].fault.code), ("cfg-1", 0));
    let o = ctl(&addr, &["get", "SipEp.DefaultRegistrationExpiration"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("=1800"),
        "{}",
        text(&o)
    );
    // The ACS will ask for the configuration in the next session.
    acs.push_request(Body::Upload(cwmp::Upload {
        command_key: "up-1".into(),
        file_type: "1 Vendor Configuration File".into(),
        url: acs.upload_url("config"),
        username: String::new(),
        password: String::new(),
        delay_seconds: 0,
    }));

    // A connection request to the URL the Inform reported: wrong
    // credentials refused, right ones open a session.
    let cr_url = s
        .inform_value("Device.ManagementServer.ConnectionRequestURL")
        .expect("ConnectionRequestURL in the Inform")
        .to_string();
    assert!(
        cr_url.starts_with(&format!("http://127.0.0.1:{cr_port}/")),
        "{cr_url}"
    );
    assert_eq!(
        acs.connection_request(&cr_url, "acs-cr", "wrong").await.unwrap(),
        401
    );
    assert!(acs.try_next_session(Duration::from_secs(2)).await.is_none());
    assert_eq!(
        acs.connection_request(&cr_url, "acs-cr", "cr-secret")
            .await
            .unwrap(),
        200
    );
    let s = acs
        .try_next_session(t)
        .await
        .unwrap_or_else(|| panic!("no connection-request session\n{}", cwmpd_log()));
    assert_eq!(
        s.inform
            .events
            .iter()
            .map(|e| e.code.as_str())
            .collect::<Vec<_>>(),
        ["6 CONNECTION REQUEST"]
    );
    s.assert_valid();
    let up = acs
        .wait_upload("config", t)
        .await
        .expect("the configuration uploaded");
    let body = String::from_utf8_lossy(&up.body).to_string();
    assert!(
        body.contains("SipEp.DefaultRegistrationExpiration=1800"),
        "{body}"
    );
    assert!(
        !body.contains("acs-secret") && !body.contains("cr-secret"),
        "no secrets in the upload"
    );
    let s = acs
        .try_next_session(t)
        .await
        .unwrap_or_else(|| panic!("no Upload TransferComplete\n{}", cwmpd_log()));
    assert_eq!(s.transfer_completes()[0].command_key, "up-1");
    assert_eq!(s.transfer_completes()[0].fault.code, 0);

    // A local change to the parameter the ACS watches: a VALUE CHANGE
    // session carrying its new value.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let o = ctl(&addr, &["set", "Hoc.StaticTimeZone=CET-1CEST,M3.5.0,M10.5.0/3"]);
    assert!(o.status.success(), "{}", text(&o));
    acs.push_request(Body::Reboot {
        command_key: "rb-1".into(),
    });
    let s = acs
        .try_next_session(t)
        .await
        .unwrap_or_else(|| panic!("no value-change session\n{}", cwmpd_log()));
    assert!(s.has_event(&EventCode::ValueChange), "{:?}", s.inform.events);
    assert_eq!(
        s.inform_value("Device.Time.LocalTimeZone"),
        Some("CET-1CEST,M3.5.0,M10.5.0/3"),
        "{:?}",
        s.inform.parameters
    );
    s.assert_valid();
    // The Reboot ran after the session, through the configured command.
    let deadline = std::time::Instant::now() + t;
    while !rebooted.exists() {
        assert!(std::time::Instant::now() < deadline, "no reboot\n{}", cwmpd_log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let l = cwmpd_log();
    assert!(!l.contains("acs-secret"), "the ACS password is never logged");
    acs.assert_all_valid();
}

/// Zero touch: the recipe `recipes/tr069-zero-touch.cfg` through confd,
/// no ACS URL configured; the agent waits until the DHCP client's hook
/// writes the URL from option 43, then bootstraps with the ACS (over HTTPS,
/// the ACS's certificate checked against the host name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_touch_from_dhcp_option_43() {
    if !can_run() {
        return;
    }
    let dir = scratch("cwmpd-zt");
    let (_bus, addr) = start_bus(&dir, &policy("../confd/dbus/net.dgw.Config.conf"));
    let _confd = start_confd(&dir, &addr, &[]);
    let pki = acs::TestPki::generate().unwrap();
    let acs = Acs::start(AcsOptions::https(pki.identity(acs::CertKind::Valid).unwrap())).await;
    let recipe = concat!(env!("CARGO_MANIFEST_DIR"), "/../../recipes/tr069-zero-touch.cfg");
    let o = ctl(&addr, &["apply", recipe]);
    assert!(o.status.success(), "{}", text(&o));
    // The ACS's CA, as an operator imports it; the clock as hostd reports it.
    let certs = dir.join("certs");
    let ca = dir.join("acs-ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let o = Command::new(DGW)
        .args([
            "cert",
            "--store",
            certs.to_str().unwrap(),
            "import-ca",
            "acs-ca",
            ca.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = Command::new("busctl")
        .args([
            "--address",
            &addr,
            "call",
            "net.dgw.Config",
            "/net/dgw/Config",
            "net.dgw.Config1",
            "SetStatus",
        ])
        .args(["a(ss)", "1", "Hoc.ClockSynchronized", "Yes"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let acs_file = dir.join("dhcp/acs-url");
    let log = dir.join("cwmpd.log");
    acs.push_request(Body::GetParameterValues(vec![
        "Device.Security.Certificate.".into()
    ]));
    let _cwmpd = spawn_cwmpd(
        &dir,
        &addr,
        "ZT-1",
        &["--dhcp-acs-file", acs_file.to_str().unwrap()],
    );
    // No URL yet: nothing happens.
    assert!(acs.try_next_session(Duration::from_secs(3)).await.is_none());
    // DHCP answers with option 43 (sub-option 1 = the ACS URL); the hook
    // writes it. The URL names the ACS by "localhost", which its
    // certificate carries.
    let url = acs.url().replace("127.0.0.1", "localhost");
    let mut opt = vec![1u8, url.len() as u8];
    opt.extend_from_slice(url.as_bytes());
    let hex: Vec<String> = opt.iter().map(|b| format!("{b:02x}")).collect();
    let hook = concat!(env!("CARGO_MANIFEST_DIR"), "/../cwmpd/dhcp/dhclient-exit-hook");
    let st = Command::new("sh")
        .args(["-c", &format!(". {hook}")])
        .env("reason", "BOUND")
        .env("new_vendor_encapsulated_options", hex.join(":"))
        .env("DGW_ACS_FILE", &acs_file)
        .status()
        .unwrap();
    assert!(st.success());
    let s = acs
        .try_next_session(Duration::from_secs(20))
        .await
        .unwrap_or_else(|| {
            panic!(
                "no session\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
    assert!(s.has_event(&EventCode::Bootstrap), "{:?}", s.inform.events);
    assert_eq!(s.inform.device_id.serial_number, "ZT-1");
    // The imported CA is in the TR-181 certificate table.
    match &s.responses[0].1.body {
        Body::GetParameterValuesResponse(v) => {
            let subject = v
                .iter()
                .find(|p| p.name.ends_with(".Subject"))
                .expect("a certificate");
            let issuer = v
                .iter()
                .find(|p| p.name.ends_with(".Issuer"))
                .expect("its issuer");
            assert!(
                !subject.value.is_empty() && subject.value == issuer.value,
                "{v:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    s.assert_valid();
    acs.assert_all_valid();
}

/// FactoryReset from the ACS: answered in the session, then confd's
/// configuration returns to factory, the agent's state is gone (the next
/// contact bootstraps again) and the unit reboots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn factory_reset_from_the_acs() {
    if !can_run() {
        return;
    }
    let dir = scratch("cwmpd-fr");
    let (_bus, addr) = start_bus(&dir, &policy("../confd/dbus/net.dgw.Config.conf"));
    let _confd = start_confd(&dir, &addr, &[]);
    let acs = Acs::start(AcsOptions::default()).await;
    let cr_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = ctl(
        &addr,
        &[
            "set",
            "Cwmp.Enable=Enable",
            "Cwmp.AcsUrlConfigSource=Static",
            &format!("Cwmp.AcsStaticUrl={}", acs.url()),
            &format!("Cwmp.ListeningPort={cr_port}"),
            "Hoc.StaticTimeZone=UTC0",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    acs.push_request(Body::FactoryReset);
    let rebooted = dir.join("rebooted");
    let state_dir = dir.join("cwmp");
    let log = dir.join("cwmpd.log");
    let reboot_cmd = format!("touch {}", rebooted.display());
    let _cwmpd = spawn_cwmpd(&dir, &addr, "FR-1", &["--reboot-command", &reboot_cmd]);
    let s = acs
        .try_next_session(Duration::from_secs(20))
        .await
        .expect("session");
    assert!(
        matches!(s.responses[0].1.body, Body::FactoryResetResponse),
        "{:?}",
        s.responses
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !rebooted.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no reboot after the factory reset\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for (name, factory) in [("Cwmp.Enable", "Disable"), ("Hoc.StaticTimeZone", "EST5EDT4")] {
        let o = ctl(&addr, &["get", name]);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(&format!("={factory}")),
            "{name}: {}",
            text(&o)
        );
    }
    assert!(
        !state_dir.join("events.json").exists(),
        "the agent's state is gone"
    );
}
