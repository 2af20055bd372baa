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
    ]);
    let log = dir.join("cwmpd.log");
    let rebooted = dir.join("rebooted");
    let child = Command::new(DGW)
        .args(["cwmpd", "--bus", &addr, "--serial-number", "UNIT-7"])
        .args(["--state-dir", dir.join("cwmp").to_str().unwrap()])
        .args(["--boot-marker", dir.join("run/started").to_str().unwrap()])
        .args(["--cert-store", dir.join("certs").to_str().unwrap()])
        .args(["--listen", "127.0.0.1"])
        .args(["--reboot-command", &format!("touch {}", rebooted.display())])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _cwmpd = Kill(child);
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
