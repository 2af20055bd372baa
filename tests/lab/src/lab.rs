//! The host side of the lab: Kamailio, chrony and the test ACS on loopback, and the
//! credentials that provision the guest to use them.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

/// The address the guest reaches the host's loopback at (QEMU user networking).
pub const HOST_FROM_GUEST: &str = "10.0.2.2";

/// The SIP user the gateway registers.
pub const SIP_USER: &str = "alice";

/// A running lab; its peers stop when it is dropped.
pub struct Lab {
    /// Where its files are.
    pub dir: PathBuf,
    /// The TLS registrar.
    pub kamailio: siplab::Kamailio,
    /// chrony's NTP port on 127.0.0.1.
    pub ntp_port: u16,
    chrony: Child,
    /// The test ACS (HTTPS, digest authentication).
    pub acs: acs::Acs,
    /// The ACS URL as the guest uses it.
    pub acs_url_for_guest: String,
    /// systemd credentials for the guest: (name, file).
    pub credentials: Vec<(String, PathBuf)>,
    /// The passwords the guest was given (SIP, ACS, connection request): none may show in
    /// its journal.
    pub secrets: Vec<String>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.chrony.kill();
        let _ = self.chrony.wait();
    }
}

/// 16 random bytes as hex: the lab's passwords, new on each run.
fn secret() -> anyhow::Result<String> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .context("read /dev/urandom")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    std::io::Write::write_all(&mut f, content.as_bytes()).with_context(|| format!("write {}", path.display()))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
}

impl Lab {
    /// Recreates `dir` and starts the lab's peers in it.
    pub async fn start(dir: &Path) -> anyhow::Result<Lab> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("remove {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.join("credentials"))?;
        let cred_dir = dir.join("credentials");
        let mut credentials = Vec::new();
        let mut credential = |name: &str, content: &str| -> anyhow::Result<()> {
            let path = cred_dir.join(name);
            write_private(&path, content)?;
            credentials.push((name.to_string(), path));
            Ok(())
        };

        // ssh: the lab's key for root in the guest.
        let ssh_key = dir.join("id_ed25519");
        let o = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "dgw-lab", "-f"])
            .arg(&ssh_key)
            .output()
            .context("ssh-keygen (Debian package openssh-client)")?;
        anyhow::ensure!(
            o.status.success(),
            "ssh-keygen: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        credential("ssh.authorized_keys.root", &read(&ssh_key.with_extension("pub"))?)?;

        // SIP: Kamailio over TLS for the address the guest sees, user alice.
        siplab::available().map_err(|e| anyhow::anyhow!("Kamailio is not usable here: {e}"))?;
        let pki = siplab::Pki::new(&dir.join("sip-pki"))?;
        let (kcert, kkey) = pki.server_cert("registrar", &[HOST_FROM_GUEST, "localhost", "127.0.0.1"])?;
        let sip_password = secret()?;
        let mut opts =
            siplab::KamailioOptions::new(siplab::free_port(), &kcert, &kkey).user(SIP_USER, &sip_password);
        opts.domain = HOST_FROM_GUEST.to_string();
        let kamailio = siplab::Kamailio::start(&dir.join("kam"), &opts)?;
        credential("dgw.ca.sip-lab", &read(&pki.ca_pem)?)?;
        // The unit's own TLS server certificate (SIP over TLS listens on 5061).
        let (ucert, ukey) = pki.server_cert("unit", &["dgw-dev"])?;
        credential(
            "dgw.host.unit.TlsServer",
            &format!("{}{}", read(&ucert)?, read(&ukey)?),
        )?;
        credential("dgw.services.unit", "Sip")?;

        // Time: chrony serving its own clock on loopback.
        let ntp_dir = dir.join("ntp");
        let (mut chrony_cmd, ntp_port) = siplab::chrony_command(&ntp_dir)?;
        let chrony = chrony_cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(ntp_dir.join("chronyd.log"))?)
            // Its own process group: Ctrl-C is the lab's to handle, in order.
            .process_group(0)
            .spawn()
            .context("chronyd (Debian package chrony)")?;

        // TR-069: the test ACS over HTTPS, for the address the guest sees.
        let acs_pki = acs::TestPki::generate()?;
        let identity = acs_pki.identity_for(&[HOST_FROM_GUEST, "localhost"])?;
        let acs_password = secret()?;
        let acs = acs::Acs::try_start(acs::AcsOptions {
            auth: acs::HttpAuth::digest("dgw-dev", &acs_password),
            envelope_dir: Some(dir.join("acs")),
            idle_timeout: std::time::Duration::from_secs(60),
            ..acs::AcsOptions::https(identity)
        })
        .await?;
        credential("dgw.ca.acs-lab", &acs_pki.ca_pem())?;
        let acs_url_for_guest = acs.url().replace("127.0.0.1", HOST_FROM_GUEST);

        // The configuration: the SIP TLS trunk recipe pointed at the lab, and TR-069 with a
        // static ACS URL (the lab's DHCP server is QEMU's, which has no option 43).
        let recipes = crate::repo_root().join("recipes");
        let sip = read(&recipes.join("sip-tls-trunk.cfg"))?
            .replace(
                "sip.example.net:5061",
                &format!("{HOST_FROM_GUEST}:{}", kamailio.tls_addr().port()),
            )
            .replace("\"change me\"", &format!("\"{sip_password}\""))
            .replace("ntp.example.net", &format!("{HOST_FROM_GUEST}:{ntp_port}"));
        anyhow::ensure!(
            sip.contains(&sip_password) && sip.contains(&format!("{HOST_FROM_GUEST}:{ntp_port}")),
            "recipes/sip-tls-trunk.cfg no longer has the placeholders the lab replaces"
        );
        let cr_password = secret()?;
        let cwmp = format!(
            "Cwmp.Enable=Enable\n\
             Cwmp.AcsUrlConfigSource=Static\n\
             Cwmp.AcsStaticUrl={acs_url_for_guest}\n\
             Cwmp.AcsUsername=dgw-dev\n\
             Cwmp.AcsPassword=\"{acs_password}\"\n\
             Cwmp.TransportCertificateValidation=HostName\n\
             Cwmp.PeriodicInformEnable=Enable\n\
             Cwmp.PeriodicInformInterval=300\n\
             Cwmp.ConnectionRequestUsername=acs\n\
             Cwmp.ConnectionRequestPassword=\"{cr_password}\"\n"
        );
        credential("dgw.config", &format!("{sip}\n{cwmp}"))?;
        write_private(
            &dir.join("secrets"),
            &format!(
                "SIP {SIP_USER}: {sip_password}\nACS digest dgw-dev: {acs_password}\n\
                 connection request acs: {cr_password}\n"
            ),
        )?;

        Ok(Lab {
            dir: dir.to_path_buf(),
            kamailio,
            ntp_port,
            chrony,
            acs,
            acs_url_for_guest,
            credentials,
            secrets: vec![sip_password, acs_password, cr_password],
        })
    }
}
