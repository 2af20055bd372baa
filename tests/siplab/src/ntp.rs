//! chrony as a local NTP server: what the gateway's clock synchronises from in tests and in
//! the lab.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

/// Writes a chrony configuration into `dir` (created if missing) for a server on 127.0.0.1
/// and a free UDP port serving its own clock (`local stratum 8`, no control port, files
/// under `dir`) and returns the `chronyd` command that runs it in the foreground without
/// touching the host's clock (`-x`), and the port. The caller spawns it (and chooses its
/// output and process group).
pub fn chrony_command(dir: &Path) -> anyhow::Result<(Command, u16)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
    let conf = dir.join("chrony.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbindaddress 127.0.0.1\nlocal stratum 8\nallow 127.0.0.1\ncmdport 0\n\
             pidfile {d}/chronyd.pid\ndriftfile {d}/drift\n",
            d = dir.display()
        ),
    )
    .with_context(|| format!("writing {}", conf.display()))?;
    let mut cmd = Command::new("chronyd");
    cmd.args(["-d", "-x", "-u", "root", "-f"]).arg(&conf);
    Ok((cmd, port))
}
