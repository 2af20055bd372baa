//! The parameter schema (params crate) and the TLS policy (this crate) must
//! agree: every service's TLS parameters exist, their factory values build
//! the secure policy, every value the schema accepts parses here, and every
//! value the schema refuses is refused here too.

use params::schema::{self, Kind};
use params::Config;
use pki::settings::{self, service_params};
use pki::{CipherSuiteParam, Service, TlsVersionParam, ValidationLevel};

const SERVICES: [Service; 6] = [
    Service::Sip,
    Service::Cwmp,
    Service::Web,
    Service::Cert,
    Service::File,
    Service::Conf,
];

fn enum_values(name: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    let p = schema::param(name).unwrap_or_else(|| panic!("{name} is not in the schema"));
    match p.kind {
        Kind::Enum { values, refused } => (values.to_vec(), refused.iter().map(|(v, _)| *v).collect()),
        _ => panic!("{name} is not an enumeration"),
    }
}

#[test]
fn schema_and_policy_agree() {
    for s in SERVICES {
        let sp = service_params(s).unwrap();
        let (ok, refused) = enum_values(sp.version);
        for v in ok {
            TlsVersionParam::parse(v)
                .unwrap_or_else(|e| panic!("{}: schema accepts {v}, policy refuses: {e}", sp.version));
        }
        for v in refused {
            assert!(
                TlsVersionParam::parse(v).is_err(),
                "{}: schema refuses {v}, policy accepts",
                sp.version
            );
        }
        let (ok, refused) = enum_values(sp.cipher_suites);
        for v in ok {
            CipherSuiteParam::parse(v).unwrap();
        }
        for v in refused {
            assert!(CipherSuiteParam::parse(v).is_err());
        }
        if let Some(name) = sp.validation {
            for v in enum_values(name).0 {
                ValidationLevel::parse(v).unwrap();
            }
        }
    }
}

#[test]
fn factory_configuration_gives_the_secure_policy() {
    let mut cfg = Config::factory();
    let get = |c: &Config, n: &str| c.get(n).ok();
    for s in SERVICES {
        let p = settings::client_policy(s, &|n| get(&cfg, n)).unwrap();
        assert_eq!(p.min_version, TlsVersionParam::Tlsv1_2, "{s:?}");
        assert_eq!(p.cipher_suites, CipherSuiteParam::Cs3);
        assert_eq!(p.validation, ValidationLevel::HostName);
        assert!(!p.clock_synchronised, "factory clock is not synchronised");
    }
    let sp = settings::server_policy(Service::Sip, &|n| get(&cfg, n)).unwrap();
    assert!(!sp.require_client_cert);
    assert!(!settings::trust_system_cas(&|n| get(&cfg, n)));
    cfg.set_many(&[
        ("SipEp.TransportTlsVersion".into(), "TLSv1_3".into()),
        (
            "SipEp.InteropTlsCertificateValidation".into(),
            "TrustedCertificate".into(),
        ),
        (
            "SipEp.InteropTlsClientAuthenticationEnable".into(),
            "Enable".into(),
        ),
        ("Cert.TrustSystemCas".into(), "Enable".into()),
    ])
    .unwrap();
    let p = settings::client_policy(Service::Sip, &|n| get(&cfg, n)).unwrap();
    assert_eq!(p.min_version, TlsVersionParam::Tlsv1_3);
    assert_eq!(p.validation, ValidationLevel::TrustedCertificate);
    assert!(
        settings::server_policy(Service::Sip, &|n| get(&cfg, n))
            .unwrap()
            .require_client_cert
    );
    assert!(settings::trust_system_cas(&|n| get(&cfg, n)));
    // Status from the time service: the clock gate opens.
    let synced = |n: &str| {
        if n == settings::CLOCK_SYNCHRONIZED {
            Some("Yes".to_string())
        } else {
            get(&cfg, n)
        }
    };
    assert!(
        settings::client_policy(Service::Sip, &synced)
            .unwrap()
            .clock_synchronised
    );
    // A service without TLS parameters, and a missing value, are errors.
    assert!(settings::client_policy(Service::Eap, &|n| get(&cfg, n)).is_err());
    assert!(settings::client_policy(Service::Sip, &|_| None)
        .unwrap_err()
        .to_string()
        .contains("SipEp.TransportTlsVersion"));
}
