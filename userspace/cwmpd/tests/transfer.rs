//! File transfers (Download and Upload) against the project's test ACS, over HTTP and HTTPS
//! at each certificate validation level: configuration scripts applied all or nothing,
//! firmware images checked and installed into `pending/`, Digest and Basic authentication,
//! the fault codes of every failure, uploads without secrets. Every test is bounded (the
//! transfer timeout is a few seconds, and the whole test is wrapped in a timeout).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use acs::{Acs, AcsOptions, CertKind, FileBody, HttpAuth, TestPki};
use cwmp::FaultCode;
use cwmpd::events::{AgentState, PendingTransfer};
use cwmpd::transfer::{
    self, ConfigScriptInstaller, FileInstaller, Installer, TransferContext, FIRMWARE_IMAGE,
    VENDOR_CONFIGURATION_DOWNLOAD, VENDOR_CONFIGURATION_UPLOAD, VENDOR_LOG_UPLOAD,
};
use pki::ValidationLevel;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs a test body bounded in time.
async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("the test took longer than its bound");
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cwmpd-transfer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ctx(dir: &Path, installer: Arc<dyn Installer>, tls: Option<Arc<rustls::ClientConfig>>) -> TransferContext {
    TransferContext {
        tls,
        ktls: ktls_offload::Options::default(),
        work_dir: dir.join("work"),
        max_size: 16 * 1024 * 1024,
        installer,
        timeout: Duration::from_secs(10),
    }
}

fn download(url: &str, file_type: &str, user: &str, password: &str, size: u32) -> cwmp::Download {
    cwmp::Download {
        command_key: "dl-1".into(),
        file_type: file_type.into(),
        url: url.into(),
        username: user.into(),
        password: password.into(),
        file_size: size,
        target_file_name: String::new(),
        delay_seconds: 0,
        success_url: String::new(),
        failure_url: String::new(),
    }
}

fn upload(url: &str, file_type: &str, user: &str, password: &str) -> cwmp::Upload {
    cwmp::Upload {
        command_key: "up-1".into(),
        file_type: file_type.into(),
        url: url.into(),
        username: user.into(),
        password: password.into(),
        delay_seconds: 0,
    }
}

/// The agent's TLS configuration for `level`, trusting the test CA.
fn tls(pki: &TestPki, level: ValidationLevel) -> Arc<rustls::ClientConfig> {
    let mut snap = pki::PkiSnapshot::new();
    snap.add_others_pem(pki.ca_pem().as_bytes()).unwrap();
    let mut p = pki::ClientPolicy::new(pki::Service::Cwmp);
    p.validation = level;
    p.clock_synchronised = true;
    pki::client_config(&p, &snap).unwrap()
}

fn config_installer() -> Arc<ConfigScriptInstaller> {
    Arc::new(ConfigScriptInstaller::new(params::Config::factory()))
}

fn assert_ok(t: &PendingTransfer) {
    assert_eq!((t.fault_code, t.fault_string.as_str()), (0, ""), "{t:?}");
    assert!(t.start > 1_600_000_000 && t.complete >= t.start, "{t:?}");
}

fn assert_fault(t: &PendingTransfer, code: FaultCode) {
    assert_eq!(t.fault_code, code.get(), "{t:?}");
    assert!(!t.fault_string.is_empty() && t.fault_string.len() <= 256, "{t:?}");
    // A failed transfer has a start time and the unknown completion time.
    assert!(t.start > 1_600_000_000 && t.complete == 0, "{t:?}");
}

/// Nothing is left in the work directory after a transfer.
fn assert_work_dir_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir.join("work"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in the work directory: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_script_over_http_and_https_is_applied() {
    bounded(async {
        let dir = scratch("config");
        let inst = config_installer();
        // HTTP.
        let acs = Acs::start(AcsOptions::default()).await;
        let url = acs.add_file(
            "cfg.txt",
            "# from the ACS\nWeb.ServerPort=8080\nSipEp.TransportTlsVersion=TLSv1_3\n",
        );
        let c = ctx(&dir, inst.clone(), None);
        let (t, report) =
            transfer::download_with_report(&download(&url, VENDOR_CONFIGURATION_DOWNLOAD, "", "", 0), &c)
                .await;
        assert_ok(&t);
        assert_eq!((t.command_key.as_str(), t.upload), ("dl-1", false));
        assert!(!report.tls && report.bytes > 0, "{report:?}");
        assert_eq!(inst.config().get("Web.ServerPort").unwrap(), "8080");
        assert_eq!(inst.config().get("SipEp.TransportTlsVersion").unwrap(), "TLSv1_3");
        assert_work_dir_empty(&dir);

        // HTTPS, HostName validation, with FileSize given.
        let pki = TestPki::generate().unwrap();
        let acs = Acs::start(AcsOptions::https(pki.identity(CertKind::Valid).unwrap())).await;
        let script = "Web.ServerPort=8443\n";
        let url = acs.add_file("cfg.txt", script);
        let c = ctx(&dir, inst.clone(), Some(tls(&pki, ValidationLevel::HostName)));
        let (t, report) = transfer::download_with_report(
            &download(&url, VENDOR_CONFIGURATION_DOWNLOAD, "", "", script.len() as u32),
            &c,
        )
        .await;
        assert_ok(&t);
        assert!(report.tls, "{report:?}");
        assert_eq!(inst.config().get("Web.ServerPort").unwrap(), "8443");
        assert_work_dir_empty(&dir);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_configuration_script_changes_nothing() {
    bounded(async {
        let dir = scratch("badconfig");
        let inst = config_installer();
        let acs = Acs::start(AcsOptions::default()).await;
        let before = inst.config();
        // The first line is good, the second is not: nothing applies.
        let url = acs.add_file(
            "bad.txt",
            "Web.ServerPort=8080\nSipEp.TransportTlsCipherSuite=CS1\n",
        );
        let c = ctx(&dir, inst.clone(), None);
        let t = transfer::download(&download(&url, VENDOR_CONFIGURATION_DOWNLOAD, "", "", 0), &c).await;
        assert_fault(&t, FaultCode::FILE_CORRUPTED);
        assert!(t.fault_string.contains("line 2"), "{t:?}");
        assert_eq!(inst.config(), before);
        // Not UTF-8.
        let url = acs.add_file("bin.txt", vec![0xff, 0xfe, b'\n']);
        let t = transfer::download(&download(&url, VENDOR_CONFIGURATION_DOWNLOAD, "", "", 0), &c).await;
        assert_fault(&t, FaultCode::FILE_CORRUPTED);
        // Larger than a script may be.
        let url = acs.add_file_with(
            "huge.txt",
            FileBody::Pattern(params::script::MAX_SCRIPT_BYTES as u64 + 1),
            HttpAuth::None,
        );
        let t = transfer::download(&download(&url, VENDOR_CONFIGURATION_DOWNLOAD, "", "", 0), &c).await;
        assert_fault(&t, FaultCode::DOWNLOAD_FAILURE);
        assert_eq!(inst.config(), before);
        assert_work_dir_empty(&dir);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_images_are_checked_and_installed_into_pending() {
    bounded(async {
        let dir = scratch("firmware");
        let fw = FileInstaller::new(dir.join("state"));
        let inst = Arc::new(ConfigScriptInstaller::new(params::Config::factory()).with_firmware(fw.clone()));
        let pki = TestPki::generate().unwrap();
        let acs = Acs::start(AcsOptions::https(pki.identity(CertKind::Valid).unwrap())).await;
        let c = ctx(&dir, inst.clone(), Some(tls(&pki, ValidationLevel::HostName)));

        // A 3 MiB image, sealed with its SHA-256.
        let payload = acs::pattern(7, 3 * 1024 * 1024);
        let image = FileInstaller::seal(&payload);
        let url = acs.add_file("fw.img", image.clone());
        let (t, report) =
            transfer::download_with_report(&download(&url, FIRMWARE_IMAGE, "", "", image.len() as u32), &c)
                .await;
        assert_ok(&t);
        assert_eq!(report.bytes, image.len() as u64);
        let pending = fw.pending().unwrap().expect("a pending image");
        assert_eq!(pending.size, payload.len() as u64);
        assert_eq!(std::fs::read(&pending.image).unwrap(), payload);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pending.image).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_work_dir_empty(&dir);

        // Corrupt: one byte changed. Refused, and the good image stays pending.
        let mut bad = image.clone();
        bad[1000] ^= 0x40;
        let url = acs.add_file("bad.img", bad);
        let t = transfer::download(&download(&url, FIRMWARE_IMAGE, "", "", 0), &c).await;
        assert_fault(&t, FaultCode::FILE_CORRUPTED);
        assert_eq!(fw.pending().unwrap(), Some(pending.clone()));

        // Larger than the limit: refused from the Content-Length, nothing written.
        let small = TransferContext {
            max_size: 1024 * 1024,
            ..c.clone()
        };
        let t = transfer::download(&download(&url, FIRMWARE_IMAGE, "", "", 0), &small).await;
        assert_fault(&t, FaultCode::DOWNLOAD_FAILURE);
        assert!(t.fault_string.contains("larger than"), "{t:?}");
        // A FileSize over the limit is refused before connecting, at the RPC already.
        let req = download(&url, FIRMWARE_IMAGE, "", "", 2 * 1024 * 1024);
        assert_eq!(
            transfer::check_download(&req, small.max_size).unwrap_err().code,
            FaultCode::DOWNLOAD_FAILURE
        );
        // A FileSize that is not the server's size.
        let url = acs.add_file("fw2.img", image.clone());
        let t = transfer::download(&download(&url, FIRMWARE_IMAGE, "", "", 1234), &c).await;
        assert_fault(&t, FaultCode::FILE_CORRUPTED);
        assert_eq!(fw.pending().unwrap(), Some(pending));
        assert_work_dir_empty(&dir);

        // Without a firmware installer, firmware is refused.
        let cfg_only = ctx(
            &dir,
            config_installer(),
            Some(tls(&pki, ValidationLevel::HostName)),
        );
        let t = transfer::download(&download(&url, FIRMWARE_IMAGE, "", "", 0), &cfg_only).await;
        assert_fault(&t, FaultCode::DOWNLOAD_FAILURE);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_and_basic_protected_files() {
    bounded(async {
        let dir = scratch("auth");
        let inst = config_installer();
        let acs = Acs::start(AcsOptions::default()).await;
        let url = acs.add_file_with(
            "cfg.txt",
            FileBody::Bytes(Arc::new(b"Web.ServerPort=8081\n".to_vec())),
            HttpAuth::digest("files", "file-secret"),
        );
        let c = ctx(&dir, inst.clone(), None);
        let req = |u: &str, p: &str| download(&url, VENDOR_CONFIGURATION_DOWNLOAD, u, p, 0);
        assert_fault(
            &transfer::download(&req("files", "wrong"), &c).await,
            FaultCode::FILE_TRANSFER_AUTH_FAILURE,
        );
        assert_fault(
            &transfer::download(&req("", ""), &c).await,
            FaultCode::FILE_TRANSFER_AUTH_FAILURE,
        );
        assert_eq!(inst.config().get("Web.ServerPort").unwrap(), "80");
        assert_ok(&transfer::download(&req("files", "file-secret"), &c).await);
        assert_eq!(inst.config().get("Web.ServerPort").unwrap(), "8081");
        // The password went nowhere in clear.
        for x in acs.http_log() {
            assert!(x.headers.iter().all(|(_, v)| !v.contains("file-secret")), "{x:?}");
        }

        // Basic: never over plain HTTP (the password would travel in clear)...
        let url = acs.add_file_with(
            "basic.txt",
            FileBody::Bytes(Arc::new(b"Web.ServerPort=8082\n".to_vec())),
            HttpAuth::basic("files", "file-secret"),
        );
        let t = transfer::download(
            &download(&url, VENDOR_CONFIGURATION_DOWNLOAD, "files", "file-secret", 0),
            &c,
        )
        .await;
        assert_fault(&t, FaultCode::FILE_TRANSFER_AUTH_FAILURE);
        assert!(acs
            .http_log()
            .iter()
            .all(|x| x.header("authorization").is_none_or(|v| !v.starts_with("Basic"))));
        // ... but over HTTPS.
        let pki = TestPki::generate().unwrap();
        let acs = Acs::start(AcsOptions::https(pki.identity(CertKind::Valid).unwrap())).await;
        let url = acs.add_file_with(
            "basic.txt",
            FileBody::Bytes(Arc::new(b"Web.ServerPort=8083\n".to_vec())),
            HttpAuth::basic("files", "file-secret"),
        );
        let c = ctx(&dir, inst.clone(), Some(tls(&pki, ValidationLevel::HostName)));
        let t = transfer::download(
            &download(&url, VENDOR_CONFIGURATION_DOWNLOAD, "files", "file-secret", 0),
            &c,
        )
        .await;
        assert_ok(&t);
        assert_eq!(inst.config().get("Web.ServerPort").unwrap(), "8083");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_at_each_validation_level() {
    bounded(async {
        let dir = scratch("levels");
        let pki = TestPki::generate().unwrap();
        for kind in [
            CertKind::Valid,
            CertKind::WrongHost,
            CertKind::Expired,
            CertKind::SelfSigned,
        ] {
            let acs = Acs::start(AcsOptions::https(pki.identity(kind).unwrap())).await;
            let url = acs.add_file("cfg.txt", "Web.ServerPort=8090\n");
            for level in [ValidationLevel::NoValidation, ValidationLevel::HostName] {
                let inst = config_installer();
                let c = ctx(&dir, inst.clone(), Some(tls(&pki, level)));
                let t =
                    transfer::download(&download(&url, VENDOR_CONFIGURATION_DOWNLOAD, "", "", 0), &c).await;
                let accepted = level == ValidationLevel::NoValidation || kind == CertKind::Valid;
                if accepted {
                    assert_ok(&t);
                    assert_eq!(
                        inst.config().get("Web.ServerPort").unwrap(),
                        "8090",
                        "{kind:?} {level:?}"
                    );
                } else {
                    assert_fault(&t, FaultCode::CONTACT_SERVER_FAILURE);
                    assert!(t.fault_string.contains("TLS"), "{t:?}");
                    assert_eq!(inst.config(), params::Config::factory());
                }
            }
            assert_work_dir_empty(&dir);
        }
        // https without a TLS configuration.
        let acs = Acs::start(AcsOptions::https(pki.identity(CertKind::Valid).unwrap())).await;
        let url = acs.add_file("cfg.txt", "Web.ServerPort=8090\n");
        let t = transfer::download(
            &download(&url, VENDOR_CONFIGURATION_DOWNLOAD, "", "", 0),
            &ctx(&dir, config_installer(), None),
        )
        .await;
        assert_fault(&t, FaultCode::CONTACT_SERVER_FAILURE);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_protocols_bad_urls_and_file_types() {
    bounded(async {
        let dir = scratch("proto");
        let c = ctx(&dir, config_installer(), None);
        // The RPC is answered with 9013...
        let ftp = download(
            "ftp://files.example.net/cfg.txt",
            VENDOR_CONFIGURATION_DOWNLOAD,
            "u",
            "p",
            0,
        );
        let e = transfer::check_download(&ftp, c.max_size).unwrap_err();
        assert_eq!(e.code, FaultCode::UNSUPPORTED_PROTOCOL);
        assert_eq!(e.fault().code, FaultCode::UNSUPPORTED_PROTOCOL);
        let tftp = upload("tftp://files.example.net/x", VENDOR_LOG_UPLOAD, "", "");
        assert_eq!(
            transfer::check_upload(&tftp).unwrap_err().code,
            FaultCode::UNSUPPORTED_PROTOCOL
        );
        // ... and a transfer started anyway ends in the TransferComplete code the schema
        // allows, naming the protocol.
        let t = transfer::download(&ftp, &c).await;
        assert_fault(&t, FaultCode::DOWNLOAD_FAILURE);
        assert!(t.fault_string.contains("Unsupported protocol"), "{t:?}");
        let t = transfer::upload(&tftp, &c).await;
        assert_fault(&t, FaultCode::UPLOAD_FAILURE);
        // Malformed URLs; credentials in a URL are refused and never echoed.
        for bad in ["not a url", "http://user:hunter2@files.example.net/x", "https://"] {
            let req = download(bad, VENDOR_CONFIGURATION_DOWNLOAD, "", "", 0);
            let e = transfer::check_download(&req, c.max_size).unwrap_err();
            assert_eq!(e.code, FaultCode::INVALID_ARGUMENTS, "{bad}");
            assert!(!e.message.contains("hunter2"));
            let t = transfer::download(&req, &c).await;
            assert_fault(&t, FaultCode::DOWNLOAD_FAILURE);
            assert!(!t.fault_string.contains("hunter2"));
        }
        // FileTypes not handled.
        let web = download("http://127.0.0.1/x", "2 Web Content", "", "", 0);
        assert_eq!(
            transfer::check_download(&web, c.max_size).unwrap_err().code,
            FaultCode::DOWNLOAD_FAILURE
        );
        assert_fault(&transfer::download(&web, &c).await, FaultCode::DOWNLOAD_FAILURE);
        let x = upload("http://127.0.0.1/x", "X 00256D Core Dump", "", "");
        assert_eq!(
            transfer::check_upload(&x).unwrap_err().code,
            FaultCode::UPLOAD_FAILURE
        );
        assert!(transfer::check_download(
            &download("https://acs.example.net/fw", FIRMWARE_IMAGE, "", "", 1000),
            c.max_size
        )
        .is_ok());
    })
    .await;
}

/// A one-connection HTTP server: reads the request head and answers `response`, then waits
/// `hold` before closing. Returns its base URL.
async fn raw_server(response: Vec<u8>, hold: Duration) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((mut s, _)) = l.accept().await else { return };
        let mut head = Vec::new();
        let mut b = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut b).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&b[..n]),
            }
        }
        let _ = s.write_all(&response).await;
        tokio::time::sleep(hold).await;
        let _ = s.shutdown().await;
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_redirects_and_broken_servers() {
    bounded(async {
        let dir = scratch("raw");
        let inst = config_installer();
        let c = ctx(&dir, inst.clone(), None);
        let cfg = |u: &str| download(u, VENDOR_CONFIGURATION_DOWNLOAD, "", "", 0);

        // Chunked.
        let body = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5\r\nWeb.S\r\n10\r\nerverPort=8181\n#\r\n0\r\n\r\n"
            .to_vec();
        let base = raw_server(body, Duration::ZERO).await;
        let (t, report) = transfer::download_with_report(&cfg(&format!("{base}/c")), &c).await;
        assert_ok(&t);
        assert!(report.chunked, "{report:?}");
        assert_eq!(inst.config().get("Web.ServerPort").unwrap(), "8181");

        // Cut short: Content-Length 1000, 10 bytes, close.
        let base = raw_server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789".to_vec(),
            Duration::ZERO,
        )
        .await;
        let t = transfer::download(&cfg(&format!("{base}/c")), &c).await;
        assert_fault(&t, FaultCode::INCOMPLETE_DOWNLOAD);
        assert!(t.fault_string.contains("10 of 1000"), "{t:?}");

        // No answer: the transfer timeout ends it.
        let base = raw_server(Vec::new(), Duration::from_secs(30)).await;
        let quick = TransferContext {
            timeout: Duration::from_millis(500),
            ..c.clone()
        };
        let t0 = std::time::Instant::now();
        let t = transfer::download(&cfg(&format!("{base}/c")), &quick).await;
        assert_fault(&t, FaultCode::INCOMPLETE_DOWNLOAD);
        assert!(t0.elapsed() < Duration::from_secs(5));

        // 404.
        let acs = Acs::start(AcsOptions::default()).await;
        let t = transfer::download(&cfg(&acs.file_url("missing.txt")), &c).await;
        assert_fault(&t, FaultCode::ACCESS_FILE_FAILURE);
        assert!(t.fault_string.contains("404"), "{t:?}");

        // Nobody listening.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let t = transfer::download(&cfg(&format!("http://127.0.0.1:{port}/c")), &c).await;
        assert_fault(&t, FaultCode::CONTACT_SERVER_FAILURE);

        // A redirect to another origin is followed, without the credentials.
        let plain = acs.add_file("r.txt", "Web.ServerPort=8282\n");
        let base = raw_server(
            format!("HTTP/1.1 302 Found\r\nLocation: {plain}\r\nContent-Length: 0\r\n\r\n").into_bytes(),
            Duration::ZERO,
        )
        .await;
        let (t, report) = transfer::download_with_report(&cfg(&format!("{base}/r")), &c).await;
        assert_ok(&t);
        assert_eq!(report.redirects, 1);
        assert_eq!(inst.config().get("Web.ServerPort").unwrap(), "8282");
        let protected = acs.add_file_with(
            "p.txt",
            FileBody::Bytes(Arc::new(b"Web.ServerPort=8383\n".to_vec())),
            HttpAuth::digest("files", "file-secret"),
        );
        let base = raw_server(
            format!("HTTP/1.1 302 Found\r\nLocation: {protected}\r\nContent-Length: 0\r\n\r\n").into_bytes(),
            Duration::ZERO,
        )
        .await;
        let req = download(
            &format!("{base}/p"),
            VENDOR_CONFIGURATION_DOWNLOAD,
            "files",
            "file-secret",
            0,
        );
        assert_fault(
            &transfer::download(&req, &c).await,
            FaultCode::FILE_TRANSFER_AUTH_FAILURE,
        );
        assert_work_dir_empty(&dir);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_of_the_configuration_without_secrets_and_of_the_log() {
    bounded(async {
        let dir = scratch("upload");
        let log = dir.join("dgw.log");
        std::fs::write(&log, "boot\nsipd: 320 User alice is registered\n").unwrap();
        let inst = Arc::new(ConfigScriptInstaller::new(params::Config::factory()).with_log(&log));
        inst.apply_configuration(
            "Web.ServerPort=8080\nSipEp.Registration[alice].AuthPassword=\"pw-alice-secret\"\n\
             Cwmp.AcsPassword=acs-secret-pw\n",
        )
        .unwrap();

        // Configuration over HTTP, Digest.
        let acs = Acs::start(AcsOptions::default()).await;
        acs.set_upload_auth(HttpAuth::digest("up", "up-secret"));
        let c = ctx(&dir, inst.clone(), None);
        let url = acs.upload_url("config.txt");
        let t = transfer::upload(&upload(&url, VENDOR_CONFIGURATION_UPLOAD, "up", "wrong"), &c).await;
        assert_fault(&t, FaultCode::FILE_TRANSFER_AUTH_FAILURE);
        assert!(acs.uploads().is_empty());
        let (t, report) =
            transfer::upload_with_report(&upload(&url, VENDOR_CONFIGURATION_UPLOAD, "up", "up-secret"), &c)
                .await;
        assert_ok(&t);
        assert!(t.upload);
        let up = acs
            .wait_upload("config.txt", Duration::from_secs(5))
            .await
            .expect("the upload");
        assert_eq!(up.method, "PUT");
        assert_eq!(report.bytes, up.body.len() as u64);
        let text = String::from_utf8(up.body.clone()).unwrap();
        assert!(text.contains("Web.ServerPort=8080"), "{text}");
        assert!(text.contains("SipEp.Registration[alice]"), "{text}");
        assert!(
            !text.contains("pw-alice-secret") && !text.contains("acs-secret-pw"),
            "secrets uploaded: {text}"
        );
        // The uploaded file applies back (it is a script).
        assert!(params::script::apply(&params::Config::factory(), &text).is_ok());

        // Log over HTTPS with Basic; without credentials first.
        let pki = TestPki::generate().unwrap();
        let acs = Acs::start(AcsOptions::https(pki.identity(CertKind::Valid).unwrap())).await;
        acs.set_upload_auth(HttpAuth::basic("up", "up-secret"));
        let c = ctx(&dir, inst.clone(), Some(tls(&pki, ValidationLevel::HostName)));
        let url = acs.upload_url("dgw.log");
        let t = transfer::upload(&upload(&url, VENDOR_LOG_UPLOAD, "", ""), &c).await;
        assert_fault(&t, FaultCode::FILE_TRANSFER_AUTH_FAILURE);
        let t = transfer::upload(&upload(&url, VENDOR_LOG_UPLOAD, "up", "up-secret"), &c).await;
        assert_ok(&t);
        let up = acs.wait_upload("dgw.log", Duration::from_secs(5)).await.unwrap();
        assert_eq!(up.body, std::fs::read(&log).unwrap());

        // Without authentication, to a server that wants none.
        let acs = Acs::start(AcsOptions::default()).await;
        let c = ctx(&dir, inst.clone(), None);
        let t = transfer::upload(&upload(&acs.upload_url("l"), VENDOR_LOG_UPLOAD, "", ""), &c).await;
        assert_ok(&t);
        assert_eq!(acs.uploads().len(), 1);
        // Over the size limit.
        let tiny = TransferContext {
            max_size: 8,
            ..c.clone()
        };
        let t = transfer::upload(&upload(&acs.upload_url("l2"), VENDOR_LOG_UPLOAD, "", ""), &tiny).await;
        assert_fault(&t, FaultCode::UPLOAD_FAILURE);
        // Basic over plain HTTP is not sent.
        acs.set_upload_auth(HttpAuth::basic("up", "up-secret"));
        let t = transfer::upload(
            &upload(&acs.upload_url("l3"), VENDOR_LOG_UPLOAD, "up", "up-secret"),
            &c,
        )
        .await;
        assert_fault(&t, FaultCode::FILE_TRANSFER_AUTH_FAILURE);
        // A server error.
        let base = raw_server(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec(),
            Duration::ZERO,
        )
        .await;
        let t = transfer::upload(&upload(&format!("{base}/u"), VENDOR_LOG_UPLOAD, "", ""), &c).await;
        assert_fault(&t, FaultCode::UPLOAD_FAILURE);
        assert!(t.fault_string.contains("500"), "{t:?}");
        // No log on this unit.
        let c = ctx(&dir, config_installer(), None);
        let t = transfer::upload(&upload(&acs.upload_url("l4"), VENDOR_LOG_UPLOAD, "", ""), &c).await;
        assert_fault(&t, FaultCode::UPLOAD_FAILURE);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transfer_complete_survives_a_restart() {
    bounded(async {
        let dir = scratch("restart");
        let acs = Acs::start(AcsOptions::default()).await;
        let c = ctx(&dir, config_installer(), None);
        let ok = transfer::download(
            &download(
                &acs.add_file("c.txt", "Web.ServerPort=8080\n"),
                VENDOR_CONFIGURATION_DOWNLOAD,
                "",
                "",
                0,
            ),
            &c,
        )
        .await;
        let failed = transfer::upload(&upload(&acs.file_url("x"), "X 00256D Core Dump", "", ""), &c).await;
        let mut state = AgentState::default();
        state.add_transfer(ok.clone());
        state.add_transfer(failed.clone());
        let path = dir.join("agent.json");
        state.save(&path).unwrap();
        // A restart: the state comes back from the file with both TransferCompletes owed.
        let back = AgentState::load(&path).unwrap();
        assert_eq!(back.transfers, vec![ok.clone(), failed.clone()]);
        let m = back.transfers[0].message();
        assert_eq!(m.fault.code, 0);
        assert!(m.start_time.to_string() != cwmp::DateTime::unknown().to_string());
        let m = back.transfers[1].message();
        assert_eq!(m.fault.code, FaultCode::UPLOAD_FAILURE.get());
        assert_eq!(m.complete_time.to_string(), cwmp::DateTime::unknown().to_string());
    })
    .await;
}
