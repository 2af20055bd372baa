//! Parameter parsing, refused versions and suites, time synchronisation,
//! host certificate selection, and what the built configurations allow.

mod common;

use std::sync::Arc;

use common::{raw_server, run, Spec};
use pki::{
    CipherSuiteParam, ClientPolicy, PkiSnapshot, PolicyError, ServerPolicy, Service, ServiceSet,
    TlsVersionParam, Usage, ValidationLevel,
};
use rustls::pki_types::UnixTime;

const NAME: &str = "sip.example.test";

#[test]
fn parameter_values_parse_case_insensitively_with_canonical_display() {
    assert_eq!(
        TlsVersionParam::parse("tlsv1_2").unwrap(),
        TlsVersionParam::Tlsv1_2
    );
    assert_eq!(
        TlsVersionParam::parse(" TLSV1_3 ").unwrap().to_string(),
        "TLSv1_3"
    );
    assert_eq!(CipherSuiteParam::parse("cs3").unwrap().to_string(), "CS3");
    for v in ValidationLevel::ALL {
        assert_eq!(ValidationLevel::parse(&v.to_string().to_uppercase()).unwrap(), v);
    }
    assert_eq!(
        "dnssrvresponse".parse::<ValidationLevel>().unwrap(),
        ValidationLevel::DnsSrvResponse
    );
    assert_eq!(ValidationLevel::default(), ValidationLevel::HostName);
    assert_eq!(TlsVersionParam::default(), TlsVersionParam::Tlsv1_2);
    assert_eq!(CipherSuiteParam::default(), CipherSuiteParam::Cs3);

    let e = ValidationLevel::parse("Strict").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid CertificateValidation \"Strict\": expected NoValidation|TrustedCertificate|DnsSrvResponse|HostName"
    );
    let e = TlsVersionParam::parse("TLSv2").unwrap_err();
    assert!(e.to_string().contains("expected TLSv1_2|TLSv1_3"), "{e}");
    assert!(matches!(
        CipherSuiteParam::parse("CS4"),
        Err(PolicyError::InvalidValue { .. })
    ));

    assert_eq!(Service::parse("cwmp").unwrap(), Service::Cwmp);
    assert_eq!(Usage::parse("tlsserver").unwrap().to_string(), "TlsServer");
    assert_eq!(ServiceSet::parse_list("Sip, web").unwrap().to_string(), "Sip,Web");
    assert_eq!(
        ServiceSet::all().to_string(),
        "Sip,Web,Eap,Conf,Fpu,File,Cert,Sbc,Cwmp,Nlm"
    );
}

#[test]
fn refused_versions_and_suites_explain_why_and_what_to_use() {
    for (v, rfc, what) in [
        ("SSLv3", "RFC 7568", "SSL 3.0"),
        ("tlsv1", "RFC 8996", "TLS 1.0"),
        ("TLSv1_1", "RFC 8996", "TLS 1.1"),
    ] {
        let e = TlsVersionParam::parse(v).unwrap_err();
        let t = e.to_string();
        assert!(matches!(e, PolicyError::TlsVersionRefused(_)), "{t}");
        assert!(t.contains(rfc) && t.contains(what), "{t}");
        assert!(t.contains("use TLSv1_2 (TLS 1.2 and up) or TLSv1_3"), "{t}");
        // The lenient parser knows the value; the configuration builders
        // refuse it the same way.
        let legacy = TlsVersionParam::parse_dgw(v).unwrap();
        let mut p = ClientPolicy::new(Service::Sip);
        p.min_version = legacy;
        p.validation = ValidationLevel::NoValidation;
        assert_eq!(pki::client_config(&p, &PkiSnapshot::new()).unwrap_err(), e);
    }
    assert_eq!(
        TlsVersionParam::parse("TLSv1").unwrap_err().to_string(),
        "TLS version TLSv1 refused: TLS 1.0 is deprecated by RFC 8996 and not implemented; \
         use TLSv1_2 (TLS 1.2 and up) or TLSv1_3"
    );
    for cs in ["CS1", "cs2"] {
        let e = CipherSuiteParam::parse(cs).unwrap_err();
        let t = e.to_string();
        assert!(matches!(e, PolicyError::CipherSuiteRefused(_)), "{t}");
        assert!(
            t.contains("CBC") && t.contains("3DES") && t.contains("static-RSA"),
            "{t}"
        );
        assert!(t.contains("use CS3"), "{t}");
        let mut p = ServerPolicy::new(Service::Web);
        p.cipher_suites = CipherSuiteParam::parse_dgw(cs).unwrap();
        assert_eq!(pki::server_config(&p, &PkiSnapshot::new()).unwrap_err(), e);
    }
    assert!(CipherSuiteParam::parse("CS1")
        .unwrap_err()
        .to_string()
        .contains("RC4"));
}

fn trusted_snapshot() -> (PkiSnapshot, common::Issued) {
    let root = Spec::ca("Root").self_signed();
    let mut pki = PkiSnapshot::new();
    pki.add_others_pem(root.pem().as_bytes()).unwrap();
    (pki, root)
}

#[test]
fn validation_waits_for_time_sync() {
    let (pki, root) = trusted_snapshot();
    for level in ValidationLevel::ALL {
        let mut p = ClientPolicy::new(Service::Sip);
        p.validation = level;
        p.clock_synchronised = false;
        let r = pki::client_config(&p, &pki);
        if level == ValidationLevel::NoValidation {
            assert!(r.is_ok());
        } else {
            let e = r.unwrap_err();
            assert_eq!(e, PolicyError::WaitingForTimeSync, "{level}");
            assert!(e.to_string().starts_with("waiting for time synchronization"));
        }
        p.clock_synchronised = true;
        pki::client_config(&p, &pki).unwrap();
    }
    // Servers: only when they validate client certificates.
    let mut server_pki = pki.clone();
    let leaf = Spec::leaf(NAME, &[NAME]).signed_by(&root);
    server_pki
        .add_host_pem(
            "s",
            Usage::TlsServer,
            ServiceSet::all(),
            leaf.host_pem(&[]).as_bytes(),
        )
        .unwrap();
    let mut sp = ServerPolicy::new(Service::Sip);
    pki::server_config(&sp, &server_pki).unwrap();
    sp.require_client_cert = true;
    assert_eq!(
        pki::server_config(&sp, &server_pki).unwrap_err(),
        PolicyError::WaitingForTimeSync
    );
    sp.clock_synchronised = true;
    pki::server_config(&sp, &server_pki).unwrap();
}

#[test]
fn configuration_errors() {
    let (pki, _) = trusted_snapshot();
    let mut p = ClientPolicy::new(Service::Web);
    p.clock_synchronised = true;
    p.validation = ValidationLevel::DnsSrvResponse;
    let e = pki::client_config(&p, &pki).unwrap_err();
    assert!(matches!(e, PolicyError::LevelNotForService { .. }), "{e}");
    p.service = Service::Sip;
    pki::client_config(&p, &pki).unwrap();
    p.srv_names = vec!["bad name!".into()];
    assert!(matches!(
        pki::client_config(&p, &pki),
        Err(PolicyError::InvalidHostName { .. })
    ));
    p.srv_names = vec![];
    p.host_name = Some("".into());
    assert!(matches!(
        pki::client_config(&p, &pki),
        Err(PolicyError::InvalidHostName { .. })
    ));

    // Validation without any trusted CA cannot succeed: said up front.
    let mut p = ClientPolicy::new(Service::Cwmp);
    p.clock_synchronised = true;
    let e = pki::client_config(&p, &PkiSnapshot::new()).unwrap_err();
    assert!(e.to_string().contains("Cert.TrustSystemCas"), "{e}");

    // A server needs a TlsServer certificate associated to its service.
    let root = Spec::ca("R").self_signed();
    let leaf = Spec::leaf(NAME, &[NAME]).signed_by(&root);
    let mut server_pki = PkiSnapshot::new();
    server_pki
        .add_host_pem(
            "web",
            Usage::TlsServer,
            ServiceSet::none().with(Service::Web, true),
            leaf.host_pem(&[]).as_bytes(),
        )
        .unwrap();
    let mut sp = ServerPolicy::new(Service::Sip);
    sp.clock_synchronised = true;
    let e = pki::server_config(&sp, &server_pki).unwrap_err();
    assert_eq!(
        e,
        PolicyError::NoHostCertificate {
            service: Service::Sip
        }
    );
    assert!(e.to_string().contains("TlsServer"), "{e}");
    sp.service = Service::Web;
    let config = pki::server_config(&sp, &server_pki).unwrap();
    assert!(config.enable_secret_extraction);
    // Client certificates required but nothing to check them against.
    sp.require_client_cert = true;
    assert!(matches!(
        pki::server_config(&sp, &server_pki),
        Err(PolicyError::NoTrustedCa { .. })
    ));
}

#[test]
fn suites_and_versions() {
    let names = |v| {
        pki::cipher_suites(CipherSuiteParam::Cs3, v)
            .unwrap()
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect::<Vec<_>>()
    };
    let tls12 = names(TlsVersionParam::Tlsv1_2);
    assert_eq!(tls12.len(), 9, "{tls12:?}");
    assert!(tls12
        .iter()
        .all(|n| n.starts_with("TLS13_") || n.starts_with("TLS_ECDHE_")));
    assert!(tls12.iter().all(|n| n.contains("GCM") || n.contains("CHACHA20")));
    assert_eq!(names(TlsVersionParam::Tlsv1_3).len(), 3);
    assert_eq!(pki::protocol_versions(TlsVersionParam::Tlsv1_3).unwrap().len(), 1);
    assert_eq!(pki::protocol_versions(TlsVersionParam::Tlsv1_2).unwrap().len(), 2);

    let (pki, _) = trusted_snapshot();
    let mut p = ClientPolicy::new(Service::Sip);
    p.clock_synchronised = true;
    p.min_version = TlsVersionParam::Tlsv1_3;
    let c = pki::client_config(&p, &pki).unwrap();
    assert!(c.enable_secret_extraction);
    assert_eq!(c.crypto_provider().cipher_suites.len(), 3);
}

fn tls12_only_server(leaf: &common::Issued) -> Arc<rustls::ServerConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    // Only TLS 1.2 suites, CBC-free as rustls has none: an old-style peer.
    provider
        .cipher_suites
        .retain(|s| s.version() == &rustls::version::TLS12);
    let mut c = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der()], leaf.private_key())
        .unwrap();
    c.enable_secret_extraction = true;
    Arc::new(c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negotiated_versions() {
    let (pki, root) = trusted_snapshot();
    let leaf = Spec::leaf(NAME, &[NAME]).signed_by(&root);
    let client = |min| {
        let mut p = ClientPolicy::new(Service::Sip);
        p.clock_synchronised = true;
        p.min_version = min;
        pki::client_config(&p, &pki).unwrap()
    };
    // TLSv1_2 means 1.2 and up: a TLS 1.2-only server gets ECDHE + AEAD.
    let out = run(client(TlsVersionParam::Tlsv1_2), tls12_only_server(&leaf), NAME).await;
    let got = out.client.clone().unwrap();
    assert!(
        got.starts_with("TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM"),
        "{got}"
    );
    // TLSv1_3 refuses it.
    let out = run(client(TlsVersionParam::Tlsv1_3), tls12_only_server(&leaf), NAME).await;
    assert!(out.client.is_err(), "{out:?}");
    // Our server with TLSv1_3 against a TLSv1_2 client: 1.3.
    let mut server_pki = PkiSnapshot::new();
    server_pki
        .add_host_pem(
            "s",
            Usage::TlsServer,
            ServiceSet::all(),
            leaf.host_pem(&[]).as_bytes(),
        )
        .unwrap();
    let mut sp = ServerPolicy::new(Service::Sip);
    sp.min_version = TlsVersionParam::Tlsv1_3;
    let server = pki::server_config(&sp, &server_pki).unwrap();
    let out = run(client(TlsVersionParam::Tlsv1_2), server, NAME).await;
    assert!(out.client.unwrap().starts_with("TLSv1.3"));
    // And a plain server the same.
    let out = run(
        client(TlsVersionParam::Tlsv1_2),
        raw_server(vec![leaf.der()], leaf.private_key()),
        NAME,
    )
    .await;
    assert!(out.both_ok());
}

#[test]
fn host_certificate_selection() {
    let root = Spec::ca("R").self_signed();
    let expired = Spec::leaf("old", &["gw.example.test"])
        .valid((2019, 1, 1), (2020, 1, 1))
        .signed_by(&root);
    let current = Spec::leaf("current", &["gw.example.test"])
        .valid((2020, 1, 1), (2080, 1, 1))
        .signed_by(&root);
    let future = Spec::leaf("future", &["gw.example.test"])
        .valid((2085, 1, 1), (2090, 1, 1))
        .signed_by(&root);
    let mut pki = PkiSnapshot::new();
    for (name, c) in [
        ("a-old", &expired),
        ("b-current", &current),
        ("c-future", &future),
    ] {
        pki.add_host_pem(
            name,
            Usage::TlsServer,
            ServiceSet::all(),
            c.host_pem(&[]).as_bytes(),
        )
        .unwrap();
    }
    let pick = |now| {
        pki.host_certificate(Service::Web, Usage::TlsServer, now)
            .map(|h| h.info.file_name.clone())
    };
    // Synchronised: the valid one. Not synchronised: the latest expiry.
    assert_eq!(pick(Some(UnixTime::now())).as_deref(), Some("b-current"));
    assert_eq!(pick(None).as_deref(), Some("c-future"));
    assert_eq!(
        pki.host_certificate(Service::Web, Usage::TlsClient, None)
            .map(|h| &h.info.file_name),
        None
    );
}
