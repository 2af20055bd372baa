//! `dgw cert` with certificates made by the openssl command line: import,
//! list with the DGW columns, association, clear refusals, delete.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const DGW: &str = env!("CARGO_BIN_EXE_dgw");

fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl {args:?}");
}

fn dgw(dir: &Path, args: &[&str]) -> Output {
    Command::new(DGW)
        .args(["cert", "--store", "store"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn import_list_associate_delete() {
    let dir = std::env::temp_dir().join(format!("dgw-cert-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Site CA",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "gw.key",
            "-out",
            "gw.csr",
            "-subj",
            "/CN=gw.example.net",
        ],
    );
    std::fs::write(dir.join("ext"), "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nsubjectAltName=DNS:gw.example.net\n").unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "gw.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "gw.pem",
            "-days",
            "30",
            "-extfile",
            "ext",
        ],
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
    let o = dgw(&dir, &["import-ca", "junk", "ext"]);
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
    assert_eq!(
        v["OthersCertificatesInfo"][0]["CertificateAuthority"],
        "Yes"
    );
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
