//! Real TLS over loopback: each validation level against certificates that
//! are good, expired, not yet valid, for another name, for an IP address,
//! from an untrusted CA, missing their intermediate, with the intermediate,
//! with the wrong EKU, self-signed. Once with rcgen certificates, once with
//! certificates made by the openssl command line.

mod common;

use std::sync::Arc;

use common::{cat, openssl, raw_server, run, Issued, Spec, TempDir};
use pki::{ClientPolicy, PkiSnapshot, Service, ServiceSet, Usage, ValidationLevel};
use rcgen::ExtendedKeyUsagePurpose;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

const NAME: &str = "sip.example.test";
const SRV_MATCH: &str = "other.example.test.";
const SRV_OTHER: &str = "elsewhere.example.test";

/// The columns of the matrix.
#[derive(Clone, Copy, Debug)]
enum Col {
    No,
    Trusted,
    SrvMatch,
    SrvNoMatch,
    Host,
}

const COLS: [Col; 5] = [Col::No, Col::Trusted, Col::SrvMatch, Col::SrvNoMatch, Col::Host];

fn policy(col: Col, host_name: &str) -> ClientPolicy {
    let mut p = ClientPolicy::new(Service::Sip);
    p.clock_synchronised = true;
    p.host_name = Some(host_name.to_string());
    p.validation = match col {
        Col::No => ValidationLevel::NoValidation,
        Col::Trusted => ValidationLevel::TrustedCertificate,
        Col::SrvMatch | Col::SrvNoMatch => ValidationLevel::DnsSrvResponse,
        Col::Host => ValidationLevel::HostName,
    };
    p.srv_names = match col {
        Col::SrvMatch => vec![SRV_MATCH.to_string()],
        Col::SrvNoMatch => vec![SRV_OTHER.to_string()],
        _ => vec![],
    };
    p
}

/// One row: a server, the name the client is configured with, the
/// expected verdicts per column (`Y`/`N`, in [`COLS`] order), and a word
/// the refusal must contain.
struct Row {
    case: &'static str,
    server: Arc<ServerConfig>,
    host_name: &'static str,
    expect: &'static str,
    refusal: &'static str,
}

fn row(
    case: &'static str,
    expect: &'static str,
    refusal: &'static str,
    host_name: &'static str,
    server: Arc<ServerConfig>,
) -> Row {
    Row {
        case,
        server,
        host_name,
        expect,
        refusal,
    }
}

async fn check(rows: Vec<Row>, pki: &PkiSnapshot) {
    let mut failures = Vec::new();
    for row in rows {
        for (i, col) in COLS.iter().enumerate() {
            let want = row.expect.as_bytes()[i] == b'Y';
            let config = pki::client_config(&policy(*col, row.host_name), pki).unwrap();
            let out = run(config, row.server.clone(), row.host_name).await;
            let got = out.client.is_ok();
            let line = format!("{:<22} {:<11?} want {:<5} got {:?}", row.case, col, want, out);
            eprintln!("{line}");
            if got != want {
                failures.push(line);
            } else if want && out.server.is_err() {
                failures.push(format!("{line} (server side failed)"));
            } else if let Err(e) = &out.client {
                if !e.to_lowercase().contains(row.refusal) {
                    failures.push(format!("{line} (refusal should mention {:?})", row.refusal));
                }
            }
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

fn server_of(leaf: &Issued, chain: &[&Issued]) -> Arc<ServerConfig> {
    let mut certs = vec![leaf.der()];
    certs.extend(chain.iter().map(|c| c.der()));
    raw_server(certs, leaf.private_key())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rcgen_matrix() {
    let root = Spec::ca("Matrix Root").self_signed();
    let inter = Spec::ca("Matrix Intermediate").signed_by(&root);
    let rogue = Spec::ca("Rogue Root").self_signed();
    let leaf = |sans: &[&str]| Spec::leaf(NAME, sans);

    let good = leaf(&[NAME]).signed_by(&root);
    let expired = leaf(&[NAME]).valid((2019, 1, 1), (2020, 1, 1)).signed_by(&root);
    let future = leaf(&[NAME]).valid((2089, 1, 1), (2090, 1, 1)).signed_by(&root);
    let other_name = leaf(&["other.example.test"]).signed_by(&root);
    let ip = leaf(&["127.0.0.1"]).signed_by(&root);
    let other_ip = leaf(&["127.0.0.2"]).signed_by(&root);
    let untrusted = leaf(&[NAME]).signed_by(&rogue);
    let via_inter = leaf(&[NAME]).signed_by(&inter);
    let client_only = leaf(&[NAME])
        .eku(vec![ExtendedKeyUsagePurpose::ClientAuth])
        .signed_by(&root);
    let self_signed = leaf(&[NAME]).self_signed();

    let mut pki = PkiSnapshot::new();
    pki.add_others_pem(root.pem().as_bytes()).unwrap();

    // Expected verdicts, in order: NoValidation, TrustedCertificate,
    // DnsSrvResponse with a matching SRV name, with another SRV name, HostName.
    #[rustfmt::skip]
    let rows = vec![
        row("valid", "YYYYY", "", NAME, server_of(&good, &[])),
        row("expired", "YNNNN", "expired", NAME, server_of(&expired, &[])),
        row("not yet valid", "YNNNN", "not valid yet", NAME, server_of(&future, &[])),
        row("wrong host name", "YYYNN", "not valid for name", NAME, server_of(&other_name, &[])),
        row("right IP SAN", "YYYYY", "", "127.0.0.1", server_of(&ip, &[])),
        row("wrong IP SAN", "YYNNN", "not valid for name", "127.0.0.1", server_of(&other_ip, &[])),
        row("untrusted CA", "YNNNN", "unknownissuer", NAME, server_of(&untrusted, &[])),
        row("missing intermediate", "YNNNN", "unknownissuer", NAME, server_of(&via_inter, &[])),
        row("intermediate sent", "YYYYY", "", NAME, server_of(&via_inter, &[&inter])),
        row("wrong EKU", "YNNNN", "extended key usage", NAME, server_of(&client_only, &[])),
        row("self-signed leaf", "YNNNN", "unknownissuer", NAME, server_of(&self_signed, &[])),
    ];
    check(rows, &pki).await;

    // Trusting the intermediate itself (the Others store holds roots and
    // intermediates) makes the leaf alone enough; trusting the self-signed
    // leaf pins it.
    let mut pki2 = PkiSnapshot::new();
    pki2.add_others_pem(inter.pem().as_bytes()).unwrap();
    pki2.add_others_pem(self_signed.pem().as_bytes()).unwrap();
    #[rustfmt::skip]
    let rows = vec![
        row("intermediate trusted", "YYYYY", "", NAME, server_of(&via_inter, &[])),
        row("self-signed pinned", "YYYYY", "", NAME, server_of(&self_signed, &[])),
        row("root not trusted", "YNNNN", "unknownissuer", NAME, server_of(&good, &[])),
    ];
    check(rows, &pki2).await;
}

/// The same verdicts with certificates made by OpenSSL 3 (RSA and ECDSA
/// keys, extensions from -addext and an extfile), served through our own
/// server_config where the Host store accepts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_matrix() {
    let tmp = TempDir::new("ossl-matrix");
    let d = tmp.path();
    let ca_ext = [
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ];
    // Root (RSA 2048, as in Media5's recipe) and an intermediate.
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "root.key",
        "-out",
        "root.pem",
        "-subj",
        "/CN=OpenSSL Root",
        "-days",
        "30",
    ];
    args.extend(ca_ext);
    openssl(d, &args);
    let mut args = vec![
        "req",
        "-x509",
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "inter.key",
        "-out",
        "inter.pem",
        "-subj",
        "/CN=OpenSSL Intermediate",
        "-days",
        "30",
    ];
    args.extend(ca_ext);
    openssl(d, &args);
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "rogue.key",
            "-out",
            "rogue.pem",
            "-subj",
            "/CN=Rogue",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
    );

    // Leaves: (file, issuer, key type, SAN, EKU).
    let leaves: [(&str, &str, &str, &str, &str); 8] = [
        ("good", "root", "rsa:2048", "DNS:sip.example.test", "serverAuth"),
        (
            "goodec",
            "root",
            "ec",
            "DNS:sip.example.test",
            "serverAuth,clientAuth",
        ),
        ("other", "root", "ec", "DNS:other.example.test", "serverAuth"),
        ("ip", "root", "ec", "IP:127.0.0.1", "serverAuth"),
        ("rogueleaf", "rogue", "ec", "DNS:sip.example.test", "serverAuth"),
        ("viainter", "inter", "ec", "DNS:sip.example.test", "serverAuth"),
        ("clientonly", "root", "ec", "DNS:sip.example.test", "clientAuth"),
        ("self", "", "ec", "DNS:sip.example.test", "serverAuth"),
    ];
    for (file, issuer, kt, san, eku) in leaves {
        let key = format!("{file}.key");
        let out = format!("{file}.pem");
        let san = format!("subjectAltName={san}");
        let eku = format!("extendedKeyUsage={eku}");
        let ca = format!("{issuer}.pem");
        let ca_key = format!("{issuer}.key");
        let mut args = vec!["req", "-x509", "-newkey", kt];
        if kt == "ec" {
            args.extend(["-pkeyopt", "ec_paramgen_curve:P-256"]);
        }
        if !issuer.is_empty() {
            args.extend(["-CA", &ca, "-CAkey", &ca_key]);
        }
        args.extend([
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &out,
            "-subj",
            "/CN=sip.example.test",
            "-days",
            "30",
            "-addext",
            &san,
            "-addext",
            &eku,
            "-addext",
            "basicConstraints=CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature,keyEncipherment",
        ]);
        openssl(d, &args);
    }
    // Expired and not-yet-valid leaves need explicit dates: `openssl ca`.
    std::fs::create_dir_all(d.join("db")).unwrap();
    std::fs::write(d.join("db/index.txt"), "").unwrap();
    std::fs::write(d.join("db/serial"), "1000\n").unwrap();
    std::fs::write(
        d.join("ca.cnf"),
        "[ca]\ndefault_ca = x\n[x]\ndatabase = db/index.txt\nnew_certs_dir = db\nserial = db/serial\n\
         default_md = sha256\npolicy = p\ncopy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\n",
    )
    .unwrap();
    for (file, start, end) in [
        ("expired", "20200101000000Z", "20200201000000Z"),
        ("future", "20890101000000Z", "20900101000000Z"),
    ] {
        let key = format!("{file}.key");
        let csr = format!("{file}.csr");
        let out = format!("{file}.pem");
        openssl(
            d,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                "/CN=sip.example.test",
                "-addext",
                "subjectAltName=DNS:sip.example.test",
                "-addext",
                "extendedKeyUsage=serverAuth",
            ],
        );
        openssl(
            d,
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-cert",
                "root.pem",
                "-keyfile",
                "root.key",
                "-in",
                &csr,
                "-out",
                &out,
                "-startdate",
                start,
                "-enddate",
                end,
                "-notext",
            ],
        );
    }

    let mut pki = PkiSnapshot::new();
    pki.add_others_pem(&common::read(d, "root.pem")).unwrap();
    // The root listed as a CA, as the Others store shows it.
    let info = pki::parse_others(&common::read(d, "root.pem")).unwrap();
    assert_eq!(info.len(), 1);

    let raw = |leaf: &str, chain: &[&str]| -> Arc<ServerConfig> {
        let mut certs: Vec<CertificateDer<'static>> = Vec::new();
        for f in std::iter::once(&leaf).chain(chain) {
            certs.push(CertificateDer::from_pem_slice(&common::read(d, &format!("{f}.pem"))).unwrap());
        }
        let key = PrivateKeyDer::from_pem_slice(&common::read(d, &format!("{leaf}.key"))).unwrap();
        raw_server(certs, key)
    };
    // Servers the Host store accepts go through our server_config: the
    // import checks (key match, EKU) and the server side are exercised too.
    let ours = |leaf: &str, chain: &[&str]| -> Arc<ServerConfig> {
        let mut files = vec![format!("{leaf}.pem")];
        files.extend(chain.iter().map(|c| format!("{c}.pem")));
        files.push(format!("{leaf}.key"));
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let mut server_pki = PkiSnapshot::new();
        server_pki
            .add_host_pem(leaf, Usage::TlsServer, ServiceSet::all(), &cat(d, &files))
            .unwrap();
        let mut sp = pki::ServerPolicy::new(Service::Sip);
        sp.clock_synchronised = true;
        pki::server_config(&sp, &server_pki).unwrap()
    };
    // The clientAuth-only certificate is refused as a TlsServer host
    // certificate at import, before any handshake.
    let mut refused = PkiSnapshot::new();
    let e = refused
        .add_host_pem(
            "c",
            Usage::TlsServer,
            ServiceSet::all(),
            &cat(d, &["clientonly.pem", "clientonly.key"]),
        )
        .unwrap_err();
    assert!(matches!(e, pki::StoreError::WrongEku { .. }), "{e}");

    // Expected verdicts, in order: NoValidation, TrustedCertificate,
    // DnsSrvResponse with a matching SRV name, with another SRV name, HostName.
    #[rustfmt::skip]
    let rows = vec![
        row("ossl valid RSA", "YYYYY", "", NAME, ours("good", &[])),
        row("ossl valid ECDSA", "YYYYY", "", NAME, ours("goodec", &[])),
        row("ossl expired", "YNNNN", "expired", NAME, raw("expired", &[])),
        row("ossl not yet valid", "YNNNN", "not valid yet", NAME, raw("future", &[])),
        row("ossl wrong host name", "YYYNN", "not valid for name", NAME, ours("other", &[])),
        row("ossl right IP SAN", "YYYYY", "", "127.0.0.1", ours("ip", &[])),
        row("ossl untrusted CA", "YNNNN", "unknownissuer", NAME, ours("rogueleaf", &[])),
        row("ossl missing inter", "YNNNN", "unknownissuer", NAME, ours("viainter", &[])),
        row("ossl inter sent", "YYYYY", "", NAME, ours("viainter", &["inter"])),
        row("ossl wrong EKU", "YNNNN", "extended key usage", NAME, raw("clientonly", &[])),
        row("ossl self-signed", "YNNNN", "unknownissuer", NAME, ours("self", &[])),
    ];
    check(rows, &pki).await;
}

/// A server that presents a certificate but signs with another key: the
/// handshake signature is checked at every level, NoValidation included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_signature_is_verified_at_every_level() {
    let root = Spec::ca("Sig Root").self_signed();
    let shown = Spec::leaf(NAME, &[NAME]).signed_by(&root);
    let actual = Spec::leaf(NAME, &[NAME]).signed_by(&root);
    let mut pki = PkiSnapshot::new();
    pki.add_others_pem(root.pem().as_bytes()).unwrap();
    let key = rustls::crypto::ring::sign::any_supported_type(&actual.private_key()).unwrap();
    let certified = rustls::sign::CertifiedKey::new(vec![shown.der()], key);
    assert!(certified.keys_match().is_err());
    let resolver = Arc::new(rustls::sign::SingleCertAndKey::from(certified));
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let mut server =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(&[version])
                .unwrap()
                .with_no_client_auth()
                .with_cert_resolver(resolver.clone());
        server.enable_secret_extraction = true;
        let server = Arc::new(server);
        for col in COLS {
            let config = pki::client_config(&policy(col, NAME), &pki).unwrap();
            let out = run(config, server.clone(), NAME).await;
            let e = out
                .client
                .expect_err(&format!("{version:?} {col:?} accepted a forged signature"));
            assert!(e.to_lowercase().contains("signature"), "{e}");
        }
    }
}

/// Without a configured host name, the name given to connect() is checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_name_is_checked_when_no_host_name_is_configured() {
    let root = Spec::ca("Name Root").self_signed();
    let leaf = Spec::leaf(NAME, &[NAME]).signed_by(&root);
    let mut pki = PkiSnapshot::new();
    pki.add_others_pem(root.pem().as_bytes()).unwrap();
    let mut p = ClientPolicy::new(Service::Cwmp);
    p.clock_synchronised = true;
    let config = pki::client_config(&p, &pki).unwrap();
    let out = run(config.clone(), server_of(&leaf, &[]), NAME).await;
    assert!(out.both_ok(), "{out:?}");
    let out = run(config, server_of(&leaf, &[]), "acs.example.test").await;
    assert!(out.client.unwrap_err().contains("not valid for name"));
}
