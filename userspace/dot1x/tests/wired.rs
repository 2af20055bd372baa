//! Wired 802.1X with the real components: hostapd (wired driver, internal
//! EAP server) and wpa_supplicant (driven by this crate over a private
//! D-Bus) in two network namespaces joined by a veth pair.
//!
//! Needs root, hostapd, wpa_supplicant and dbus-daemon; prints SKIP and
//! passes otherwise. `DOT1X_KEEP_LAB=1` keeps each lab's directory (logs,
//! configuration) for a look afterwards.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use dot1x::{Applied, CertificateValidation, Config, Dot1x, Status};
use pki::{CertStore, Usage};
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

mod common;
use common::{ca, client, server, wait_status, Authenticator, Issued, Lab, IDENTITY, SUPP_IF};

/// An authentication normally takes about two seconds here.
const AUTH_TIMEOUT: Duration = Duration::from_secs(30);
/// After a failure, hostapd holds the port (802.1X quiet period) and drops
/// the station when our next EAPOL-Start arrives; wpa_supplicant sends the
/// one after that 30 s later (its startPeriod), which is answered.
const AFTER_FAILURE_TIMEOUT: Duration = Duration::from_secs(75);

macro_rules! skip_unless_lab {
    () => {
        if let Some(why) = common::skip_reason() {
            eprintln!("SKIP: {why}");
            return;
        }
    };
}

/// Fails the test with the lab's logs.
macro_rules! check {
    ($lab:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => panic!("{e}\n{}", $lab.logs()),
        }
    };
}

fn config(validation: CertificateValidation) -> Config {
    Config {
        enabled: true,
        identity: IDENTITY.to_string(),
        validation,
        clock_synchronised: true,
        ..Config::default()
    }
}

fn store(lab: &Lab) -> CertStore {
    CertStore::open(lab.dir.join("certs")).expect("store")
}

fn import_client(store: &CertStore, name: &str, cert: &Issued, issuer: &Issued) {
    store
        .import_host(name, Usage::TlsClient, cert.host_pem(issuer).as_bytes())
        .expect("import host certificate");
}

/// Our network as wpa_supplicant has it (`network={}` fields, strings
/// quoted), or `None` when there is none.
async fn network(conn: &zbus::Connection) -> Option<HashMap<String, OwnedValue>> {
    let get = |path: OwnedObjectPath, iface: &'static str, prop: &'static str| {
        let conn = conn.clone();
        async move {
            let reply = conn
                .call_method(
                    Some("fi.w1.wpa_supplicant1"),
                    path,
                    Some("org.freedesktop.DBus.Properties"),
                    "Get",
                    &(iface, prop),
                )
                .await
                .ok()?;
            reply.body().deserialize::<OwnedValue>().ok()
        }
    };
    let reply = conn
        .call_method(
            Some("fi.w1.wpa_supplicant1"),
            "/fi/w1/wpa_supplicant1",
            Some("fi.w1.wpa_supplicant1"),
            "GetInterface",
            &(SUPP_IF,),
        )
        .await
        .ok()?;
    let iface: OwnedObjectPath = reply.body().deserialize().ok()?;
    let nets: Vec<OwnedObjectPath> = get(iface, "fi.w1.wpa_supplicant1.Interface", "Networks")
        .await?
        .try_into()
        .ok()?;
    let net = nets.into_iter().next()?;
    get(net, "fi.w1.wpa_supplicant1.Network", "Properties")
        .await?
        .try_into()
        .ok()
}

fn field(net: &HashMap<String, OwnedValue>, key: &str) -> Option<String> {
    let s: &str = net.get(key)?.downcast_ref().ok()?;
    Some(s.trim_matches('"').to_string())
}

fn runtime(lab: &Lab) -> std::path::PathBuf {
    lab.dir.join("run")
}

/// TrustedAndValid with a good certificate: Authenticated. Among three
/// TlsClient certificates (valid until 2060, valid until 2070, valid from
/// 2080 only) the one valid now that expires last is used; the key file is
/// 0600; applying again changes nothing; a restarted wpa_supplicant is
/// configured again without an apply; stop removes the network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_and_valid_authenticates_with_the_right_certificate() {
    skip_unless_lab!();
    let root = ca("Lab Root CA");
    let srv = server("radius.lab", &root);
    let mut lab = Lab::start(
        "ok",
        &Authenticator {
            client_ca: &root,
            server: &srv,
            server_ca: &root,
        },
    )
    .expect("lab");
    let conn = check!(lab, lab.connect().await);
    let store = store(&lab);
    store
        .import_others("lab-root", root.pem().as_bytes())
        .expect("import CA");
    import_client(&store, "gw-2060", &client("gw1-2060", &root, (2060, 1, 1)), &root);
    import_client(&store, "gw-2070", &client("gw1-2070", &root, (2070, 1, 1)), &root);
    let future = common::leaf(
        "gw1-future",
        &root,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        (2080, 1, 1),
        (2095, 1, 1),
    );
    import_client(&store, "gw-future", &future, &root);

    let dot1x = Dot1x::start(&conn, SUPP_IF, runtime(&lab)).await.expect("start");
    let mut status = dot1x.status();
    let cfg = config(CertificateValidation::TrustedAndValid);
    let t0 = std::time::Instant::now();
    assert_eq!(
        check!(lab, dot1x.apply(&cfg, &store).await),
        Applied::Reconfigured
    );
    check!(
        lab,
        wait_status(&mut status, AUTH_TIMEOUT, |s| *s == Status::Authenticated).await
    );
    eprintln!("authenticated in {:?}", t0.elapsed());
    assert_eq!(lab.client_subjects(), vec!["/CN=gw1-2070".to_string()]);

    let net = network(&conn).await.expect("our network");
    assert_eq!(field(&net, "identity").as_deref(), Some(IDENTITY));
    assert_eq!(field(&net, "id_str").as_deref(), Some(dot1x::NETWORK_TAG));
    assert_eq!(field(&net, "key_mgmt").as_deref(), Some("IEEE8021X"));
    let ca_file = field(&net, "ca_cert").expect("a CA file with TrustedAndValid");
    assert!(std::fs::read_to_string(&ca_file)
        .unwrap_or_default()
        .contains(root.pem().lines().nth(1).unwrap_or("?")));
    let key = field(&net, "private_key").expect("key file");
    assert!(Path::new(&key).starts_with(runtime(&lab)));
    assert_eq!(
        std::fs::metadata(&key).map(|m| m.mode() & 0o777).ok(),
        Some(0o600)
    );

    // Nothing changed: nothing is touched, no new authentication.
    let before = lab.successes();
    assert_eq!(check!(lab, dot1x.apply(&cfg, &store).await), Applied::Unchanged);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(lab.successes(), before);
    assert_eq!(dot1x.current(), Status::Authenticated);

    // wpa_supplicant dies and comes back: the controller notices, and
    // configures the new one by itself.
    check!(lab, lab.restart_wpa_supplicant());
    let down = check!(
        lab,
        wait_status(&mut status, AUTH_TIMEOUT, |s| matches!(s, Status::Failed(_))).await
    );
    eprintln!("{down}");
    check!(
        lab,
        wait_status(&mut status, AUTH_TIMEOUT, |s| *s == Status::Authenticated).await
    );
    assert_eq!(lab.successes(), before + 1);

    check!(lab, dot1x.stop().await);
    assert!(network(&conn).await.is_none(), "stop leaves no network");
    assert!(!Path::new(&key).exists(), "stop removes the key copy");
}

/// The server's certificate comes from a CA we do not trust: Failed with
/// TrustedAndValid, Authenticated with NoValidation (no CA file given).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_server_fails_unless_no_validation() {
    skip_unless_lab!();
    let root = ca("Lab Root CA");
    let rogue = ca("Rogue CA");
    let srv = server("radius.rogue", &rogue);
    let mut lab = Lab::start(
        "rogue",
        &Authenticator {
            client_ca: &root,
            server: &srv,
            server_ca: &rogue,
        },
    )
    .expect("lab");
    let conn = check!(lab, lab.connect().await);
    let store = store(&lab);
    store
        .import_others("lab-root", root.pem().as_bytes())
        .expect("import CA");
    import_client(&store, "gw", &client("gw1", &root, (2070, 1, 1)), &root);
    let dot1x = Dot1x::start(&conn, SUPP_IF, runtime(&lab)).await.expect("start");
    let mut status = dot1x.status();

    check!(
        lab,
        dot1x
            .apply(&config(CertificateValidation::TrustedAndValid), &store)
            .await
    );
    let failed = check!(
        lab,
        wait_status(&mut status, AUTH_TIMEOUT, |s| matches!(s, Status::Failed(_))).await
    );
    eprintln!("{failed}");
    let reason = failed.reason().unwrap_or_default();
    assert!(
        reason.contains("server's certificate is not trusted") && reason.contains("radius.rogue"),
        "{reason}"
    );
    assert_eq!(lab.successes(), 0);

    assert_eq!(
        check!(
            lab,
            dot1x
                .apply(&config(CertificateValidation::NoValidation), &store)
                .await
        ),
        Applied::Reconfigured
    );
    check!(
        lab,
        wait_status(&mut status, AFTER_FAILURE_TIMEOUT, |s| *s
            == Status::Authenticated)
        .await
    );
    let net = network(&conn).await.expect("our network");
    assert_eq!(field(&net, "ca_cert"), None, "NoValidation gives no CA");
    assert_eq!(lab.successes(), 1);
}

/// hostapd does not trust our client certificate: Failed, with the TLS
/// alert it sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_untrusted_by_the_authenticator_fails() {
    skip_unless_lab!();
    let root = ca("Lab Root CA");
    let other = ca("Other CA");
    let srv = server("radius.lab", &root);
    let mut lab = Lab::start(
        "client",
        &Authenticator {
            client_ca: &root,
            server: &srv,
            server_ca: &root,
        },
    )
    .expect("lab");
    let conn = check!(lab, lab.connect().await);
    let store = store(&lab);
    store
        .import_others("lab-root", root.pem().as_bytes())
        .expect("import CA");
    import_client(&store, "gw", &client("gw1", &other, (2070, 1, 1)), &other);
    let dot1x = Dot1x::start(&conn, SUPP_IF, runtime(&lab)).await.expect("start");
    let mut status = dot1x.status();
    check!(
        lab,
        dot1x
            .apply(&config(CertificateValidation::TrustedAndValid), &store)
            .await
    );
    let failed = check!(
        lab,
        wait_status(&mut status, AUTH_TIMEOUT, |s| matches!(s, Status::Failed(_))).await
    );
    eprintln!("{failed}");
    let reason = failed.reason().unwrap_or_default();
    assert!(
        reason.contains("authentication server aborted the TLS handshake") || reason.contains("rejected us"),
        "{reason}"
    );
    assert_eq!(lab.successes(), 0);
}

/// No attempt before the clock is synchronised (TrustedAndValid), none
/// without a certificate, none when disabled; each leaves wpa_supplicant
/// without our network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_for_time_sync_and_a_certificate() {
    skip_unless_lab!();
    let root = ca("Lab Root CA");
    let srv = server("radius.lab", &root);
    let mut lab = Lab::start(
        "clock",
        &Authenticator {
            client_ca: &root,
            server: &srv,
            server_ca: &root,
        },
    )
    .expect("lab");
    let conn = check!(lab, lab.connect().await);
    let store = store(&lab);
    store
        .import_others("lab-root", root.pem().as_bytes())
        .expect("import CA");
    let dot1x = Dot1x::start(&conn, SUPP_IF, runtime(&lab)).await.expect("start");
    assert_eq!(dot1x.current(), Status::Disabled);
    let mut cfg = config(CertificateValidation::TrustedAndValid);

    cfg.clock_synchronised = false;
    check!(lab, dot1x.apply(&cfg, &store).await);
    assert_eq!(dot1x.current(), Status::WaitingForTimeSync);
    assert!(network(&conn).await.is_none());

    cfg.clock_synchronised = true;
    check!(lab, dot1x.apply(&cfg, &store).await);
    assert_eq!(dot1x.current(), Status::NoCertificate);
    assert!(network(&conn).await.is_none());

    // A certificate for another service does not count.
    let web = client("gw1-web", &root, (2070, 1, 1));
    store
        .import_host("web", Usage::TlsClient, web.host_pem(&root).as_bytes())
        .expect("import");
    store
        .set_host_services("web", pki::ServiceSet::all().with(pki::Service::Eap, false))
        .expect("association");
    check!(lab, dot1x.apply(&cfg, &store).await);
    assert_eq!(dot1x.current(), Status::NoCertificate);

    import_client(&store, "gw", &client("gw1", &root, (2070, 1, 1)), &root);
    let mut status = dot1x.status();
    assert_eq!(
        check!(lab, dot1x.apply(&cfg, &store).await),
        Applied::Reconfigured
    );
    check!(
        lab,
        wait_status(&mut status, AUTH_TIMEOUT, |s| *s == Status::Authenticated).await
    );
    assert_eq!(lab.client_subjects(), vec!["/CN=gw1".to_string()]);

    // The clock is lost again (or 802.1X disabled): the network goes.
    cfg.clock_synchronised = false;
    assert_eq!(
        check!(lab, dot1x.apply(&cfg, &store).await),
        Applied::Reconfigured
    );
    assert_eq!(dot1x.current(), Status::WaitingForTimeSync);
    assert!(network(&conn).await.is_none());
    cfg.enabled = false;
    check!(lab, dot1x.apply(&cfg, &store).await);
    assert_eq!(dot1x.current(), Status::Disabled);
    assert!(network(&conn).await.is_none());
    let leftovers = std::fs::read_dir(runtime(&lab).join(SUPP_IF))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "no key copy stays while disabled");
}

/// Changing the certificate or the identity re-authenticates: a newer
/// certificate hostapd does not trust makes it fail, a newer trusted one
/// makes it succeed again (and is the one hostapd sees), an identity
/// hostapd does not know fails, the right one succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthenticates_when_the_certificate_or_identity_changes() {
    skip_unless_lab!();
    let root = ca("Lab Root CA");
    let other = ca("Other CA");
    let srv = server("radius.lab", &root);
    let mut lab = Lab::start(
        "reauth",
        &Authenticator {
            client_ca: &root,
            server: &srv,
            server_ca: &root,
        },
    )
    .expect("lab");
    let conn = check!(lab, lab.connect().await);
    let store = store(&lab);
    store
        .import_others("lab-root", root.pem().as_bytes())
        .expect("import CA");
    import_client(&store, "a", &client("gw1-a", &root, (2060, 1, 1)), &root);
    let dot1x = Dot1x::start(&conn, SUPP_IF, runtime(&lab)).await.expect("start");
    let mut status = dot1x.status();
    let mut cfg = config(CertificateValidation::TrustedAndValid);
    check!(lab, dot1x.apply(&cfg, &store).await);
    check!(
        lab,
        wait_status(&mut status, AUTH_TIMEOUT, |s| *s == Status::Authenticated).await
    );
    assert_eq!(lab.successes(), 1);

    // A newer certificate (expires later) from a CA hostapd does not trust.
    import_client(&store, "b", &client("gw1-b", &other, (2065, 1, 1)), &other);
    assert_eq!(
        check!(lab, dot1x.apply(&cfg, &store).await),
        Applied::Reconfigured
    );
    check!(
        lab,
        wait_status(&mut status, AUTH_TIMEOUT, |s| matches!(s, Status::Failed(_))).await
    );

    // An even newer one hostapd trusts.
    import_client(&store, "c", &client("gw1-c", &root, (2070, 1, 1)), &root);
    assert_eq!(
        check!(lab, dot1x.apply(&cfg, &store).await),
        Applied::Reconfigured
    );
    check!(
        lab,
        wait_status(&mut status, AFTER_FAILURE_TIMEOUT, |s| *s
            == Status::Authenticated)
        .await
    );
    assert_eq!(lab.successes(), 2);
    assert_eq!(lab.client_subjects(), vec!["/CN=gw1-a", "/CN=gw1-b", "/CN=gw1-c"]);

    // Parameters: an identity hostapd does not know, then the right one.
    cfg.identity = "somebody-else".to_string();
    check!(lab, dot1x.apply(&cfg, &store).await);
    let failed = check!(
        lab,
        wait_status(&mut status, AUTH_TIMEOUT, |s| matches!(s, Status::Failed(_))).await
    );
    let reason = failed.reason().unwrap_or_default();
    assert!(reason.contains("identity"), "{reason}");
    cfg.identity = IDENTITY.to_string();
    check!(lab, dot1x.apply(&cfg, &store).await);
    check!(
        lab,
        wait_status(&mut status, AFTER_FAILURE_TIMEOUT, |s| *s
            == Status::Authenticated)
        .await
    );
    assert_eq!(lab.successes(), 3);
    // Only the current generation of files is left.
    let files = std::fs::read_dir(runtime(&lab).join(SUPP_IF))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(files, 3, "CA, chain and key of the current configuration");
}
