//! A wired 802.1X lab: two network namespaces joined by a veth pair,
//! hostapd (wired driver, internal EAP server) in one, wpa_supplicant on a
//! private dbus-daemon in the other; certificates made with rcgen. Every
//! process, namespace and file is removed when the lab is dropped.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use dot1x::Status;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use tokio::sync::watch;

/// The link name on the authenticator side.
pub const AUTH_IF: &str = "va";
/// The link name on our side.
pub const SUPP_IF: &str = "vs";
/// The identity hostapd knows.
pub const IDENTITY: &str = "gw1";

/// Why the lab cannot run here, if it cannot.
pub fn skip_reason() -> Option<String> {
    let root = fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        return Some("needs root (network namespaces)".to_string());
    }
    let missing: Vec<&str> = ["hostapd", "wpa_supplicant", "dbus-daemon", "ip"]
        .into_iter()
        .filter(|b| find(b).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "missing {} (Debian: apt-get install hostapd wpasupplicant dbus iproute2)",
            missing.join(", ")
        ));
    }
    None
}

/// A program in PATH or the sbin directories (not always in a test's PATH).
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let bin = find(program).ok_or_else(|| format!("{program} not found"))?;
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A certificate and its key.
pub struct Issued {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl Issued {
    pub fn pem(&self) -> String {
        self.cert.pem()
    }
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }
    /// What the Host store imports: the certificate, its CA, the key.
    pub fn host_pem(&self, ca: &Issued) -> String {
        format!("{}{}{}", self.pem(), ca.pem(), self.key_pem())
    }
}

fn params(cn: &str, from: (i32, u8, u8), to: (i32, u8, u8)) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    p.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
    p
}

/// A root CA valid from 2020 to 2090.
pub fn ca(cn: &str) -> Issued {
    let key = KeyPair::generate().expect("key");
    let mut p = params(cn, (2020, 1, 1), (2090, 1, 1));
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = p.self_signed(&key).expect("CA");
    Issued { cert, key }
}

/// A leaf issued by `issuer`, for `eku`, valid between the two dates.
pub fn leaf(
    cn: &str,
    issuer: &Issued,
    eku: ExtendedKeyUsagePurpose,
    from: (i32, u8, u8),
    to: (i32, u8, u8),
) -> Issued {
    let key = KeyPair::generate().expect("key");
    let mut p = params(cn, from, to);
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![eku];
    let cert = p.signed_by(&key, &issuer.cert, &issuer.key).expect("leaf");
    Issued { cert, key }
}

/// A client certificate valid from 2020 until `to`.
pub fn client(cn: &str, issuer: &Issued, to: (i32, u8, u8)) -> Issued {
    leaf(cn, issuer, ExtendedKeyUsagePurpose::ClientAuth, (2020, 1, 1), to)
}

/// A server certificate valid from 2020 to 2080.
pub fn server(cn: &str, issuer: &Issued) -> Issued {
    leaf(
        cn,
        issuer,
        ExtendedKeyUsagePurpose::ServerAuth,
        (2020, 1, 1),
        (2080, 1, 1),
    )
}

/// A child process killed and reaped on drop.
struct Proc {
    name: &'static str,
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lab. Dropping it stops the processes, deletes the namespaces (and
/// with them the veth pair) and the directory.
pub struct Lab {
    pub dir: PathBuf,
    pub ns_auth: String,
    pub ns_supp: String,
    pub bus_address: String,
    procs: Vec<Proc>,
    namespaces: Vec<String>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        // wpa_supplicant first (it logs off), the bus last.
        while let Some(p) = self.procs.pop() {
            drop(p);
        }
        for ns in self.namespaces.drain(..) {
            if let Err(e) = run("ip", &["netns", "del", &ns]) {
                eprintln!("cleanup: {e}");
            }
        }
        if std::env::var_os("DOT1X_KEEP_LAB").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("lab kept in {}", self.dir.display());
        }
    }
}

/// What hostapd trusts and presents.
pub struct Authenticator<'a> {
    /// The CA client certificates must chain to.
    pub client_ca: &'a Issued,
    /// hostapd's certificate.
    pub server: &'a Issued,
    /// Its issuer (sent along).
    pub server_ca: &'a Issued,
}

impl Lab {
    /// Builds the lab and starts everything; `tag` names it.
    pub fn start(tag: &str, auth: &Authenticator<'_>) -> Result<Lab, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let id = format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let dir = std::env::temp_dir().join(format!("dot1x-{tag}-{id}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut lab = Lab {
            dir: dir.clone(),
            ns_auth: format!("d1x-{id}-a"),
            ns_supp: format!("d1x-{id}-s"),
            bus_address: format!("unix:path={}", dir.join("bus").display()),
            procs: Vec::new(),
            namespaces: Vec::new(),
        };
        for ns in [lab.ns_auth.clone(), lab.ns_supp.clone()] {
            run("ip", &["netns", "add", &ns])?;
            lab.namespaces.push(ns);
        }
        // Created straight into the namespaces, so that parallel labs
        // never clash on the names.
        run(
            "ip",
            &[
                "link",
                "add",
                AUTH_IF,
                "netns",
                &lab.ns_auth,
                "type",
                "veth",
                "peer",
                "name",
                SUPP_IF,
                "netns",
                &lab.ns_supp,
            ],
        )?;
        for (ns, link) in [(&lab.ns_auth, AUTH_IF), (&lab.ns_supp, SUPP_IF)] {
            run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
            run("ip", &["-n", ns, "link", "set", link, "up"])?;
        }
        lab.start_bus()?;
        lab.start_hostapd(auth)?;
        lab.start_wpa_supplicant()?;
        Ok(lab)
    }

    fn spawn(&mut self, name: &'static str, cmd: &mut Command) -> Result<(), String> {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        self.procs.push(Proc { name, child });
        Ok(())
    }

    /// Fails if one of the processes has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        for p in &mut self.procs {
            if let Ok(Some(status)) = p.child.try_wait() {
                return Err(format!("{} exited: {status}", p.name));
            }
        }
        Ok(())
    }

    fn start_bus(&mut self) -> Result<(), String> {
        // The restrictive defaults of a system bus, plus a wpa_supplicant
        // policy like the image's: root owns the name and talks to it.
        let conf = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <policy user="root">
    <allow own="fi.w1.wpa_supplicant1"/>
    <allow send_destination="fi.w1.wpa_supplicant1"/>
    <allow receive_sender="fi.w1.wpa_supplicant1" receive_type="signal"/>
  </policy>
</busconfig>
"#,
            dir = self.dir.display()
        );
        let path = self.dir.join("bus.conf");
        fs::write(&path, conf).map_err(|e| e.to_string())?;
        let bin = find("dbus-daemon").ok_or("dbus-daemon not found")?;
        let log = log_file(&self.dir, "dbus.log")?;
        self.spawn(
            "dbus-daemon",
            Command::new(bin)
                .arg("--nofork")
                .arg(format!("--config-file={}", path.display()))
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log),
        )?;
        let socket = self.dir.join("bus");
        wait_until(Duration::from_secs(10), || socket.exists())
            .map_err(|()| "dbus-daemon did not create its socket".to_string())
    }

    fn start_hostapd(&mut self, auth: &Authenticator<'_>) -> Result<(), String> {
        let d = &self.dir;
        let write = |name: &str, data: &str| -> Result<PathBuf, String> {
            let p = d.join(name);
            fs::write(&p, data).map_err(|e| e.to_string())?;
            Ok(p)
        };
        let client_ca = write("hostapd-client-ca.pem", &auth.client_ca.pem())?;
        let server = write(
            "hostapd-server.pem",
            &format!("{}{}", auth.server.pem(), auth.server_ca.pem()),
        )?;
        let key = write("hostapd-server.key", &auth.server.key_pem())?;
        let users = write("hostapd.eap_user", &format!("\"{IDENTITY}\" TLS\n"))?;
        let conf = write(
            "hostapd.conf",
            &format!(
                "interface={AUTH_IF}\n\
                 driver=wired\n\
                 logger_stdout=-1\n\
                 logger_stdout_level=0\n\
                 ieee8021x=1\n\
                 eapol_version=2\n\
                 use_pae_group_addr=1\n\
                 eap_server=1\n\
                 eap_user_file={}\n\
                 ca_cert={}\n\
                 server_cert={}\n\
                 private_key={}\n",
                users.display(),
                client_ca.display(),
                server.display(),
                key.display()
            ),
        )?;
        let ip = find("ip").ok_or("ip not found")?;
        let hostapd = find("hostapd").ok_or("hostapd not found")?;
        let log_path = self.dir.join("hostapd.log");
        let log = log_file(&self.dir, "hostapd.log")?;
        let ns = self.ns_auth.clone();
        self.spawn(
            "hostapd",
            Command::new(ip)
                .args(["netns", "exec", &ns])
                .arg(hostapd)
                .arg("-dd")
                .arg(conf)
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log),
        )?;
        wait_until(Duration::from_secs(10), || {
            fs::read_to_string(&log_path).is_ok_and(|l| l.contains("AP-ENABLED"))
        })
        .map_err(|()| format!("hostapd did not start; see {}", log_path.display()))?;
        self.check_alive()
    }

    fn start_wpa_supplicant(&mut self) -> Result<(), String> {
        let ip = find("ip").ok_or("ip not found")?;
        let wpa = find("wpa_supplicant").ok_or("wpa_supplicant not found")?;
        let log = self.dir.join("wpa_supplicant.log");
        let ns = self.ns_supp.clone();
        let address = self.bus_address.clone();
        // -u: D-Bus control only, no interface of its own. Started inside
        // the namespace (it only sees the links there) with the private bus
        // as its system bus.
        self.spawn(
            "wpa_supplicant",
            Command::new(ip)
                .args(["netns", "exec", &ns])
                .arg(wpa)
                .args(["-u", "-dd", "-t", "-f"])
                .arg(&log)
                .env("DBUS_SYSTEM_BUS_ADDRESS", address)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
    }

    /// Kills wpa_supplicant (no chance to clean up) and starts a new one.
    pub fn restart_wpa_supplicant(&mut self) -> Result<(), String> {
        if let Some(i) = self.procs.iter().position(|p| p.name == "wpa_supplicant") {
            drop(self.procs.remove(i));
        }
        self.start_wpa_supplicant()
    }

    /// A connection to the private bus, once wpa_supplicant is on it.
    pub async fn connect(&mut self) -> Result<zbus::Connection, String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let conn = zbus::connection::Builder::address(self.bus_address.as_str())
                .map_err(|e| e.to_string())?
                .build()
                .await;
            if let Ok(conn) = conn {
                let dbus = zbus::fdo::DBusProxy::new(&conn)
                    .await
                    .map_err(|e| e.to_string())?;
                let name =
                    zbus::names::BusName::try_from("fi.w1.wpa_supplicant1").map_err(|e| e.to_string())?;
                if dbus.name_has_owner(name).await.unwrap_or(false) {
                    return Ok(conn);
                }
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err("wpa_supplicant did not appear on the bus".to_string());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn hostapd_log(&self) -> String {
        fs::read_to_string(self.dir.join("hostapd.log")).unwrap_or_default()
    }

    pub fn wpa_log(&self) -> String {
        fs::read_to_string(self.dir.join("wpa_supplicant.log")).unwrap_or_default()
    }

    /// How many EAP successes hostapd has granted so far.
    pub fn successes(&self) -> usize {
        self.hostapd_log().matches("CTRL-EVENT-EAP-SUCCESS").count()
    }

    /// The client certificate subjects hostapd saw (depth 0), in order.
    pub fn client_subjects(&self) -> Vec<String> {
        self.hostapd_log()
            .lines()
            .filter_map(|l| l.split("peer certificate: depth=0 ").nth(1))
            .filter_map(|l| l.split("subject=").nth(1))
            .map(str::to_string)
            .collect()
    }

    /// The tail of both logs, for failure messages.
    pub fn logs(&self) -> String {
        let tail = |s: String| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "--- hostapd ---\n{}\n--- wpa_supplicant ---\n{}",
            tail(self.hostapd_log()),
            tail(self.wpa_log())
        )
    }
}

fn log_file(dir: &Path, name: &str) -> Result<fs::File, String> {
    fs::File::create(dir.join(name)).map_err(|e| e.to_string())
}

fn wait_until(timeout: Duration, mut ok: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if ok() {
        Ok(())
    } else {
        Err(())
    }
}

/// Waits until the status satisfies `want`, for at most `timeout`.
pub async fn wait_status(
    rx: &mut watch::Receiver<Status>,
    timeout: Duration,
    want: impl Fn(&Status) -> bool,
) -> Result<Status, String> {
    let mut seen = Vec::new();
    let r = tokio::time::timeout(timeout, async {
        loop {
            let s = rx.borrow_and_update().clone();
            if seen.last() != Some(&s) {
                seen.push(s.clone());
            }
            if want(&s) {
                return Ok(s);
            }
            if rx.changed().await.is_err() {
                return Err("the controller stopped".to_string());
            }
        }
    })
    .await;
    match r {
        Ok(r) => r,
        Err(_) => Err(format!("timed out after {timeout:?}; statuses seen: {seen:?}")),
    }
}
