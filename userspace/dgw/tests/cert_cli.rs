//! `dgw cert` with certificates made by the openssl command line: import,
//! list with the DGW columns, association, clear refusals, delete.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{openssl_pki, text, DGW};

fn dgw(dir: &Path, args: &[&str]) -> Output {
    Command::new(DGW)
        .args(["cert", "--store", "store"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn import_list_associate_delete() {
    let dir = std::env::temp_dir().join(format!("dgw-cert-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    openssl_pki(
        &dir,
        "Site CA",
        "gw",
        "gw.example.net",
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nsubjectAltName=DNS:gw.example.net\n",
    );

    let o = dgw(&dir, &["import-ca", "site-ca", "ca.pem"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = dgw(
        &dir,
        &[
            "import-host",
            "gw",
            "gw.pem",
            "--key",
            "gw.key",
            "--usage",
            "TlsClient",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    // Refusals say why.
    let o = dgw(
        &dir,
        &[
            "import-host",
            "gw2",
            "gw.pem",
            "--key",
            "ca.key",
            "--usage",
            "TlsClient",
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("does not match"),
        "{}",
        text(&o)
    );
    let o = dgw(
        &dir,
        &[
            "import-host",
            "gw3",
            "gw.pem",
            "--key",
            "gw.key",
            "--usage",
            "TlsServer",
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("serverAuth"),
        "{}",
        text(&o)
    );
    let o = dgw(
        &dir,
        &[
            "import-host",
            "../evil",
            "gw.pem",
            "--key",
            "gw.key",
            "--usage",
            "TlsClient",
        ],
    );
    assert!(!o.status.success(), "path traversal accepted: {}", text(&o));
    let o = dgw(&dir, &["import-ca", "junk", "gw.ext"]);
    assert!(!o.status.success(), "{}", text(&o));
    // Association and the DGW columns.
    let o = dgw(&dir, &["services", "gw", "Sip,Cwmp"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = dgw(&dir, &["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let host = &v["HostCertificatesInfo"][0];
    assert_eq!(host["FileName"], "gw");
    assert_eq!(host["IssuedTo"], "CN=gw.example.net");
    assert_eq!(host["IssuedBy"], "CN=Site CA");
    assert_eq!(host["Usage"], "TlsClient");
    assert_eq!(host["Services"], "Sip,Cwmp");
    assert_eq!(v["OthersCertificatesInfo"][0]["CertificateAuthority"], "Yes");
    // The key is private.
    use std::os::unix::fs::PermissionsExt;
    let key_mode = std::fs::metadata(dir.join("store/host/gw/key.pem"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(key_mode, 0o600, "the private key is readable by others");
    let o = dgw(&dir, &["delete-host", "gw"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = dgw(&dir, &["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["HostCertificatesInfo"].as_array().unwrap().len(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
