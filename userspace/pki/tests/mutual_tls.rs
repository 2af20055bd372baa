//! Mutual TLS over loopback: a server requiring client certificates
//! (SIP's InteropTlsClientAuthenticationEnable) validates them at the
//! TrustedCertificate level against the Others store.

mod common;

use common::{run, Issued, Spec};
use pki::{ClientPolicy, PkiSnapshot, ServerPolicy, Service, ServiceSet, Usage, ValidationLevel};

const NAME: &str = "sip.example.test";

struct World {
    root: Issued,
    server_leaf: Issued,
    client_ca: Issued,
}

fn world() -> World {
    let root = Spec::ca("Server Root").self_signed();
    let server_leaf = Spec::leaf(NAME, &[NAME]).signed_by(&root);
    let client_ca = Spec::ca("Client CA").self_signed();
    World {
        root,
        server_leaf,
        client_ca,
    }
}

/// The server side: its TlsServer certificate, and the client CA trusted.
fn server(w: &World, require: bool) -> std::sync::Arc<rustls::ServerConfig> {
    let mut pki = PkiSnapshot::new();
    pki.add_host_pem(
        "server.pem",
        Usage::TlsServer,
        ServiceSet::all(),
        w.server_leaf.host_pem(&[]).as_bytes(),
    )
    .unwrap();
    pki.add_others_pem(w.client_ca.pem().as_bytes()).unwrap();
    let mut p = ServerPolicy::new(Service::Sip);
    p.require_client_cert = require;
    p.clock_synchronised = true;
    pki::server_config(&p, &pki).unwrap()
}

/// The client side: the server root trusted, and `own` as a TlsClient
/// host certificate associated to `services`.
fn client(w: &World, own: Option<(&Issued, ServiceSet)>) -> std::sync::Arc<rustls::ClientConfig> {
    let mut pki = PkiSnapshot::new();
    pki.add_others_pem(w.root.pem().as_bytes()).unwrap();
    if let Some((cert, services)) = own {
        pki.add_host_pem(
            "client.pem",
            Usage::TlsClient,
            services,
            cert.host_pem(&[]).as_bytes(),
        )
        .unwrap();
    }
    let mut p = ClientPolicy::new(Service::Sip);
    p.validation = ValidationLevel::HostName;
    p.host_name = Some(NAME.to_string());
    p.clock_synchronised = true;
    pki::client_config(&p, &pki).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_from_trusted_ca_is_accepted() {
    let w = world();
    let cert = Spec::client("gw-0001").signed_by(&w.client_ca);
    let out = run(
        client(&w, Some((&cert, ServiceSet::all()))),
        server(&w, true),
        NAME,
    )
    .await;
    assert!(out.both_ok(), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_without_certificate_is_refused() {
    let w = world();
    let out = run(client(&w, None), server(&w, true), NAME).await;
    assert!(out.server.is_err() && out.client.is_err(), "{out:?}");
    let e = out.server.unwrap_err().to_lowercase();
    assert!(e.contains("no certificates"), "{e}");
    // The same client is fine when the server does not ask.
    let out = run(client(&w, None), server(&w, false), NAME).await;
    assert!(out.both_ok(), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_from_untrusted_ca_is_refused() {
    let w = world();
    let rogue = Spec::ca("Rogue Client CA").self_signed();
    let cert = Spec::client("intruder").signed_by(&rogue);
    let out = run(
        client(&w, Some((&cert, ServiceSet::all()))),
        server(&w, true),
        NAME,
    )
    .await;
    assert!(out.server.is_err() && out.client.is_err(), "{out:?}");
    let e = out.server.unwrap_err().to_lowercase();
    assert!(e.contains("unknownissuer"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_client_certificate_is_refused() {
    let w = world();
    let cert = Spec::client("old-gw")
        .valid((2019, 1, 1), (2020, 1, 1))
        .signed_by(&w.client_ca);
    let out = run(
        client(&w, Some((&cert, ServiceSet::all()))),
        server(&w, true),
        NAME,
    )
    .await;
    assert!(out.server.is_err(), "{out:?}");
    assert!(out.server.unwrap_err().to_lowercase().contains("expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_not_associated_to_the_service_is_not_sent() {
    let w = world();
    let cert = Spec::client("gw-0002").signed_by(&w.client_ca);
    let web_only = ServiceSet::none().with(Service::Web, true);
    let out = run(client(&w, Some((&cert, web_only))), server(&w, true), NAME).await;
    assert!(out.server.is_err(), "{out:?}");
    assert!(out.server.unwrap_err().to_lowercase().contains("no certificates"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_cas_never_authenticate_clients() {
    // A client certificate from a CA that is only in the system bundle is
    // refused even with TrustSystemCas on.
    let w = world();
    let tmp = common::TempDir::new("mtls-system");
    let public_ca = Spec::ca("Public CA").self_signed();
    let bundle = tmp.path().join("bundle.crt");
    std::fs::write(&bundle, public_ca.pem()).unwrap();
    let store = pki::CertStore::open(tmp.path().join("certs")).unwrap();
    store
        .import_host(
            "server.pem",
            Usage::TlsServer,
            w.server_leaf.host_pem(&[]).as_bytes(),
        )
        .unwrap();
    store
        .import_others("client-ca.pem", w.client_ca.pem().as_bytes())
        .unwrap();
    let pki = store.snapshot(true, Some(&bundle)).unwrap();
    assert!(pki.problems().is_empty(), "{:?}", pki.problems());
    assert_eq!(pki.server_roots().len(), 2);
    assert_eq!(pki.client_roots().len(), 1);
    let mut p = ServerPolicy::new(Service::Sip);
    p.require_client_cert = true;
    p.clock_synchronised = true;
    let server = pki::server_config(&p, &pki).unwrap();
    let cert = Spec::client("public-client").signed_by(&public_ca);
    let out = run(client(&w, Some((&cert, ServiceSet::all()))), server, NAME).await;
    assert!(out.server.is_err(), "{out:?}");
}
