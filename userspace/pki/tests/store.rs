//! The Host and Others stores: round trips, every refused input with its
//! message, file modes, crash-safety leftovers, the system bundle.

mod common;

use std::os::unix::fs::MetadataExt;

use common::{cat, openssl, Spec, TempDir};
use pki::{CertStore, Service, ServiceSet, StoreError, Usage};
use rcgen::{ExtendedKeyUsagePurpose, KeyUsagePurpose};

fn store(tmp: &TempDir) -> CertStore {
    CertStore::open(tmp.path().join("certs")).unwrap()
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o777
}

#[test]
fn host_round_trip_modes_and_association() {
    let tmp = TempDir::new("host-rt");
    let s = store(&tmp);
    let root = Spec::ca("Test Root").self_signed();
    let inter = Spec::ca("Test Intermediate").signed_by(&root);
    let leaf = Spec::leaf("gw.example.test", &["gw.example.test", "192.0.2.7"]).signed_by(&inter);

    let info = s
        .import_host("web.pem", Usage::TlsServer, leaf.host_pem(&[&inter]).as_bytes())
        .unwrap();
    assert_eq!(info.file_name, "web.pem");
    assert_eq!(info.issued_to, "CN=gw.example.test");
    assert_eq!(info.issued_by, "CN=Test Intermediate");
    assert_eq!(info.usage, Usage::TlsServer);
    assert_eq!(info.services, ServiceSet::all());
    assert_eq!(info.chain_len, 2);
    assert!(info.valid_from.contains("2020"), "{}", info.valid_from);
    assert!(info.valid_to.contains("2090"), "{}", info.valid_to);
    assert_eq!(
        info.subject_alt_names,
        vec!["DNS:gw.example.test".to_string(), "IP:192.0.2.7".to_string()]
    );

    // Modes: the key is 0600, the host directories 0700; nothing left over.
    let entry = tmp.path().join("certs/host/web.pem");
    assert_eq!(mode(&entry.join("key.pem")), 0o600);
    assert_eq!(mode(&entry), 0o700);
    assert_eq!(mode(&tmp.path().join("certs/host")), 0o700);
    assert_eq!(mode(&entry.join("chain.pem")), 0o644);
    let names: Vec<_> = std::fs::read_dir(tmp.path().join("certs/host"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["web.pem".to_string()]);

    // A client certificate too; listing is sorted by file name.
    let client = Spec::client("gw-client").signed_by(&root);
    s.import_host("a-client", Usage::TlsClient, client.host_pem(&[]).as_bytes())
        .unwrap();
    let list = s.list_host().unwrap();
    assert_eq!(
        list.iter().map(|i| i.file_name.as_str()).collect::<Vec<_>>(),
        ["a-client", "web.pem"]
    );
    assert_eq!(list[0].usage, Usage::TlsClient);

    // Association: persisted, and survives reopening the store.
    let web_only = ServiceSet::none().with(Service::Web, true);
    let info = s.set_host_services("web.pem", web_only).unwrap();
    assert_eq!(info.services, web_only);
    let s2 = store(&tmp);
    assert_eq!(s2.host_entry("web.pem").unwrap().services, web_only);
    assert_eq!(web_only.to_string(), "Web");

    // The snapshot carries the keys and the association.
    let snap = s2.snapshot(false, None).unwrap();
    assert!(snap.problems().is_empty(), "{:?}", snap.problems());
    assert!(snap
        .host_certificate(Service::Web, Usage::TlsServer, None)
        .is_some());
    assert!(snap
        .host_certificate(Service::Sip, Usage::TlsServer, None)
        .is_none());
    assert!(snap
        .host_certificate(Service::Sip, Usage::TlsClient, None)
        .is_some());

    // Delete.
    s2.delete_host("web.pem").unwrap();
    assert!(matches!(
        s2.delete_host("web.pem"),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(s2.list_host().unwrap().len(), 1);
    assert!(!entry.exists());
}

#[test]
fn others_round_trip_and_ca_column() {
    let tmp = TempDir::new("others-rt");
    let s = store(&tmp);
    let root = Spec::ca("Chain Root").self_signed();
    let inter = Spec::ca("Chain Intermediate").signed_by(&root);
    let pinned = Spec::leaf("peer.example.test", &["peer.example.test"]).self_signed();

    // A chain file: root first, then the intermediate.
    let rows = s
        .import_others("chain.pem", format!("{}{}", root.pem(), inter.pem()).as_bytes())
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].position, rows[0].issued_to.as_str()),
        (1, "CN=Chain Root")
    );
    assert_eq!(rows[1].issued_by, "CN=Chain Root");
    assert!(rows.iter().all(|r| r.certificate_authority));
    assert_eq!(rows[0].certificate_authority_text(), "Yes");
    // A self-signed end-entity certificate (CertificateAuthority No), given
    // as DER.
    let rows = s.import_others("peer.der", pinned.der().as_ref()).unwrap();
    assert!(!rows[0].certificate_authority);
    assert_eq!(rows[0].certificate_authority_text(), "No");

    let list = s.list_others().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(
        list.iter()
            .map(|r| (r.file_name.as_str(), r.position))
            .collect::<Vec<_>>(),
        [("chain.pem", 1), ("chain.pem", 2), ("peer.der", 1)]
    );
    let snap = s.snapshot(false, None).unwrap();
    assert_eq!(snap.server_roots().len(), 3);
    assert_eq!(snap.client_roots().len(), 3);

    s.delete_others("chain.pem").unwrap();
    assert_eq!(s.list_others().unwrap().len(), 1);
    assert!(matches!(
        s.delete_others("chain.pem"),
        Err(StoreError::NotFound { .. })
    ));
}

fn err_text(r: Result<impl std::fmt::Debug, StoreError>) -> (StoreError, String) {
    let e = r.unwrap_err();
    let t = e.to_string();
    (e, t)
}

#[test]
fn bad_inputs_say_what_is_wrong() {
    let tmp = TempDir::new("bad");
    let s = store(&tmp);
    let root = Spec::ca("Root").self_signed();
    let leaf = Spec::leaf("gw", &["gw.example.test"]).signed_by(&root);
    let other = Spec::leaf("gw2", &["gw2.example.test"]).signed_by(&root);
    let host = |pem: &[u8]| s.import_host("h", Usage::TlsServer, pem);

    // Not PEM (text), not PEM (binary), empty.
    let (e, t) = err_text(host(b"hello world"));
    assert!(matches!(e, StoreError::NotPem { binary: false }), "{t}");
    assert!(t.contains("not PEM"), "{t}");
    let (e, t) = err_text(host(leaf.der().as_ref()));
    assert!(matches!(e, StoreError::NotPem { binary: true }), "{t}");
    assert!(t.contains("pkcs12"), "{t}");
    assert!(matches!(host(b"  \n"), Err(StoreError::Empty)));
    let (e, _) = err_text(s.import_others("o", b"\x30\x03\x02\x01\x01"));
    assert!(matches!(e, StoreError::NotPem { binary: true }));

    // PEM without a CERTIFICATE block.
    let (e, t) = err_text(host(leaf.key_pem().as_bytes()));
    assert!(matches!(e, StoreError::NoCertificate), "{t}");
    assert!(t.contains("no CERTIFICATE block"), "{t}");

    // Not X.509, with the certificate number.
    let garbage = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    let (e, t) = err_text(host(
        format!("{}{garbage}{}", leaf.pem(), leaf.key_pem()).as_bytes(),
    ));
    assert!(matches!(e, StoreError::NotX509 { index: 2, .. }), "{t}");
    assert!(t.contains("certificate #2 is not a valid X.509"), "{t}");
    let (e, _) = err_text(s.import_others("o", garbage.as_bytes()));
    assert!(matches!(e, StoreError::NotX509 { index: 1, .. }));

    // Malformed PEM: bad base64, no END line.
    let (e, t) = err_text(host(
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    ));
    assert!(matches!(e, StoreError::BadPem { block: 1, .. }), "{t}");
    assert!(t.contains("base64"), "{t}");
    let (e, t) = err_text(host(b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n"));
    assert!(t.contains("no END line"), "{e:?}");

    // Key missing, several keys, mismatch.
    let (e, t) = err_text(host(leaf.pem().as_bytes()));
    assert!(matches!(e, StoreError::KeyMissing), "{t}");
    assert!(t.contains("no private key"), "{t}");
    let (e, _) = err_text(host(
        format!("{}{}", leaf.host_pem(&[]), other.key_pem()).as_bytes(),
    ));
    assert!(matches!(e, StoreError::MultipleKeys));
    let (e, t) = err_text(host(format!("{}{}", leaf.pem(), other.key_pem()).as_bytes()));
    assert!(matches!(e, StoreError::KeyMismatch), "{t}");
    assert!(t.contains("does not match"), "{t}");

    // Wrong EKU for the usage, both ways; no EKU at all is fine for both.
    let client_only = Spec::client("c").signed_by(&root);
    let (e, t) = err_text(s.import_host("x", Usage::TlsServer, client_only.host_pem(&[]).as_bytes()));
    assert!(
        matches!(
            e,
            StoreError::WrongEku {
                usage: Usage::TlsServer,
                ..
            }
        ),
        "{t}"
    );
    assert!(t.contains("clientAuth") && t.contains("needs serverAuth"), "{t}");
    let (e, t) = err_text(s.import_host("x", Usage::TlsClient, leaf.host_pem(&[]).as_bytes()));
    assert!(
        matches!(
            e,
            StoreError::WrongEku {
                usage: Usage::TlsClient,
                ..
            }
        ),
        "{t}"
    );
    let no_eku = Spec::leaf("n", &["n.example.test"]).eku(vec![]).signed_by(&root);
    s.import_host("no-eku-server", Usage::TlsServer, no_eku.host_pem(&[]).as_bytes())
        .unwrap();
    s.import_host("no-eku-client", Usage::TlsClient, no_eku.host_pem(&[]).as_bytes())
        .unwrap();
    let any = Spec::leaf("a", &["a.example.test"])
        .eku(vec![ExtendedKeyUsagePurpose::Any])
        .signed_by(&root);
    assert!(matches!(
        s.import_host("x", Usage::TlsServer, any.host_pem(&[]).as_bytes()),
        Err(StoreError::WrongEku { .. })
    ));

    // A CA as host certificate; keyUsage without digitalSignature.
    let (e, _) = err_text(s.import_host("x", Usage::TlsServer, root.host_pem(&[]).as_bytes()));
    assert!(matches!(e, StoreError::CaAsHostCertificate));
    let mut spec = Spec::leaf("k", &["k.example.test"]);
    spec.key_usage = vec![KeyUsagePurpose::KeyEncipherment];
    let ke = spec.signed_by(&root);
    let (e, t) = err_text(s.import_host("x", Usage::TlsServer, ke.host_pem(&[]).as_bytes()));
    assert!(matches!(e, StoreError::NoDigitalSignature), "{t}");

    // Chain order: host chain reversed; Others chain leaf-first.
    let inter = Spec::ca("Inter").signed_by(&root);
    let below = Spec::leaf("b", &["b.example.test"]).signed_by(&inter);
    let reversed = format!("{}{}{}{}", below.pem(), root.pem(), inter.pem(), below.key_pem());
    let (e, t) = err_text(host(reversed.as_bytes()));
    assert!(matches!(e, StoreError::ChainOrder { .. }), "{t}");
    assert!(
        t.contains("certificate #2") && t.contains("issuers in order"),
        "{t}"
    );
    let (e, t) = err_text(s.import_others("o", format!("{}{}", inter.pem(), root.pem()).as_bytes()));
    assert!(matches!(e, StoreError::ChainOrder { .. }), "{t}");
    assert!(
        t.contains("starts with the root CA") && t.contains("reverse"),
        "{t}"
    );
    // ...but a bundle of unrelated roots, and a lone intermediate, are fine.
    let root2 = Spec::ca("Root 2").self_signed();
    s.import_others("roots", format!("{}{}", root.pem(), root2.pem()).as_bytes())
        .unwrap();
    s.import_others("inter-only", inter.pem().as_bytes()).unwrap();

    // A private key in an Others import; an unexpected block kind.
    let (e, t) = err_text(s.import_others("o", leaf.host_pem(&[]).as_bytes()));
    assert!(matches!(e, StoreError::UnexpectedKey), "{t}");
    let csr = "-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQE=\n-----END CERTIFICATE REQUEST-----\n";
    let (e, t) = err_text(s.import_others("o", csr.as_bytes()));
    assert!(matches!(e, StoreError::UnexpectedBlock { block: 1, .. }), "{t}");
    assert!(t.contains("CERTIFICATE REQUEST"), "{t}");

    // Duplicate name; the first entry is untouched.
    s.import_host("dup", Usage::TlsServer, leaf.host_pem(&[]).as_bytes())
        .unwrap();
    let (e, t) = err_text(s.import_host("dup", Usage::TlsServer, other.host_pem(&[]).as_bytes()));
    assert!(matches!(e, StoreError::DuplicateName { .. }), "{t}");
    assert!(t.contains("already exists"), "{t}");
    assert_eq!(s.host_entry("dup").unwrap().issued_to, "CN=gw");
    let (e, _) = err_text(s.import_others("roots", root.pem().as_bytes()));
    assert!(matches!(e, StoreError::DuplicateName { .. }));

    // File names.
    for bad in [
        "",
        ".hidden",
        "../etc",
        "a/b",
        "sp ace",
        "x".repeat(65).as_str(),
        "é.pem",
    ] {
        let (e, t) = err_text(s.import_host(bad, Usage::TlsServer, leaf.host_pem(&[]).as_bytes()));
        assert!(matches!(e, StoreError::InvalidFileName { .. }), "{bad:?}: {t}");
        assert!(matches!(
            s.delete_others(bad),
            Err(StoreError::InvalidFileName { .. })
        ));
    }

    // Size limit.
    let mut big = leaf.host_pem(&[]).into_bytes();
    big.resize(pki::MAX_IMPORT_SIZE + 1, b'\n');
    let (e, t) = err_text(host(&big));
    assert!(matches!(e, StoreError::TooLarge { .. }), "{t}");
    assert!(t.contains("65536"), "{t}");
    assert!(matches!(
        s.import_others("o", &big),
        Err(StoreError::TooLarge { .. })
    ));

    // No refused import left anything behind.
    assert!(!tmp.path().join("certs/host/h").exists());
    assert!(!tmp.path().join("certs/others/o").exists());
    for d in ["host", "others"] {
        for e in std::fs::read_dir(tmp.path().join("certs").join(d)).unwrap() {
            let n = e.unwrap().file_name().into_string().unwrap();
            assert!(!n.starts_with('.'), "leftover {n}");
        }
    }
}

/// Keys as OpenSSL writes them: PKCS#8, SEC1 (with its EC PARAMETERS
/// block), traditional RSA, Ed25519; and the two encrypted forms.
#[test]
fn openssl_key_formats() {
    let tmp = TempDir::new("keys");
    let d = tmp.path();
    let s = store(&tmp);
    let ext = [
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-addext",
        "subjectAltName=DNS:gw.example.test",
        "-addext",
        "basicConstraints=CA:FALSE",
    ];
    let req = |key: &str, out: &str| {
        let mut a = vec![
            "req",
            "-x509",
            "-key",
            key,
            "-out",
            out,
            "-subj",
            "/CN=gw.example.test",
            "-days",
            "30",
        ];
        a.extend(ext);
        openssl(d, &a);
    };
    // SEC1 with EC PARAMETERS, as `openssl ecparam -genkey` writes it.
    openssl(
        d,
        &["ecparam", "-name", "prime256v1", "-genkey", "-out", "sec1.key"],
    );
    req("sec1.key", "sec1.pem");
    // Traditional RSA (PKCS#1).
    openssl(d, &["genrsa", "-traditional", "-out", "rsa.key", "2048"]);
    req("rsa.key", "rsa.pem");
    // PKCS#8 P-384 and Ed25519.
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "p384.key",
        ],
    );
    req("p384.key", "p384.pem");
    openssl(d, &["genpkey", "-algorithm", "ed25519", "-out", "ed.key"]);
    req("ed.key", "ed.pem");
    for (name, label) in [
        ("sec1", "EC PRIVATE KEY"),
        ("rsa", "RSA PRIVATE KEY"),
        ("p384", "PRIVATE KEY"),
        ("ed", "PRIVATE KEY"),
    ] {
        let key = common::read(d, &format!("{name}.key"));
        assert!(
            String::from_utf8_lossy(&key).contains(&format!("BEGIN {label}")),
            "{name}"
        );
        // Key before or after the certificate: both work.
        s.import_host(
            name,
            Usage::TlsServer,
            &cat(d, &[&format!("{name}.pem"), &format!("{name}.key")]),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        s.import_host(
            &format!("{name}-2"),
            Usage::TlsServer,
            &cat(d, &[&format!("{name}.key"), &format!("{name}.pem")]),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let k = tmp.path().join(format!("certs/host/{name}/key.pem"));
        assert_eq!(mode(&k), 0o600);
    }
    let snap = s.snapshot(false, None).unwrap();
    assert_eq!(snap.host_credentials().len(), 8, "{:?}", snap.problems());

    // Encrypted: PKCS#8 ENCRYPTED PRIVATE KEY, and legacy Proc-Type.
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "p384.key",
            "-out",
            "enc8.key",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:secret",
        ],
    );
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "rsa.key",
            "-traditional",
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            "encrsa.key",
        ],
    );
    for (cert, key) in [("p384.pem", "enc8.key"), ("rsa.pem", "encrsa.key")] {
        let (e, t) = err_text(s.import_host("enc", Usage::TlsServer, &cat(d, &[cert, key])));
        assert!(matches!(e, StoreError::KeyEncrypted), "{key}: {t}");
        assert!(t.contains("encrypted, which is not supported"), "{t}");
    }
    // `openssl req -x509` without basicConstraints=CA:FALSE makes a CA.
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-key",
            "sec1.key",
            "-out",
            "ca-by-default.pem",
            "-subj",
            "/CN=x",
            "-days",
            "3",
        ],
    );
    let (e, t) = err_text(s.import_host("x", Usage::TlsServer, &cat(d, &["ca-by-default.pem", "sec1.key"])));
    assert!(matches!(e, StoreError::CaAsHostCertificate), "{t}");
    assert!(t.contains("basicConstraints=CA:FALSE"), "{t}");
    // A key ring cannot use: RSA 1024.
    openssl(d, &["genrsa", "-out", "small.key", "1024"]);
    req("small.key", "small.pem");
    let (e, t) = err_text(s.import_host("small", Usage::TlsServer, &cat(d, &["small.pem", "small.key"])));
    assert!(matches!(e, StoreError::KeyInvalid { .. }), "{t}");
    assert!(t.contains("RSA 2048"), "{t}");
}

#[test]
fn damaged_entries_and_leftovers() {
    let tmp = TempDir::new("damage");
    let s = store(&tmp);
    let root = Spec::ca("Root").self_signed();
    let leaf = Spec::leaf("gw", &["gw.example.test"]).signed_by(&root);
    s.import_host("good", Usage::TlsServer, leaf.host_pem(&[]).as_bytes())
        .unwrap();
    s.import_host("bad", Usage::TlsServer, leaf.host_pem(&[]).as_bytes())
        .unwrap();
    s.import_others("ca", root.pem().as_bytes()).unwrap();
    // Damage one entry, and leave what an interrupted import leaves.
    std::fs::write(tmp.path().join("certs/host/bad/key.pem"), "garbage").unwrap();
    let leftover = tmp.path().join("certs/host/.tmp-x-1-1");
    std::fs::create_dir(&leftover).unwrap();
    let leftover_meta = tmp.path().join("certs/host/good/.tmp-meta-1-1");
    std::fs::write(&leftover_meta, "usage=TlsServer\n").unwrap();
    let snap = s.snapshot(false, None).unwrap();
    assert_eq!(snap.host_credentials().len(), 1);
    assert_eq!(snap.problems().len(), 1);
    assert!(snap.problems()[0].contains("bad"), "{:?}", snap.problems());
    let s = store(&tmp);
    assert!(!leftover.exists());
    assert!(!leftover_meta.exists());
    assert_eq!(s.list_host().unwrap().len(), 2);

    // The system bundle: missing is a problem, not a failure.
    let snap = s.snapshot(true, Some(&tmp.path().join("nope.crt"))).unwrap();
    assert!(
        snap.problems().iter().any(|p| p.contains("nope.crt")),
        "{:?}",
        snap.problems()
    );
    assert_eq!(snap.server_roots().len(), 1);
}

#[test]
fn system_bundle_is_trusted_only_when_asked() {
    let tmp = TempDir::new("sysbundle");
    let s = store(&tmp);
    let bundle = std::path::Path::new(pki::SYSTEM_CA_BUNDLE);
    if bundle.exists() {
        let off = s.snapshot(false, None).unwrap();
        assert!(off.server_roots().is_empty());
        let on = s.snapshot(true, None).unwrap();
        assert!(on.server_roots().len() > 50, "{}", on.server_roots().len());
        assert!(on.client_roots().is_empty());
    }
}
