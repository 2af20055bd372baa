//! `dgw hostd`: the host-services daemon.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct HostdArgs {
    /// Bus: `system` (default), `session`, or a D-Bus address.
    #[arg(long, default_value = "system")]
    bus: String,
    /// LED class directory (a simulated tree on workstations).
    #[arg(long, default_value = "/sys/class/leds")]
    leds_root: PathBuf,
    /// Set the real system clock from SNTP (needs CAP_SYS_TIME). Without
    /// it a simulated clock is corrected (workstations, tests).
    #[arg(long)]
    system_clock: bool,
    /// Install the time zone as a TZif file here (the image: /etc/localtime).
    #[arg(long)]
    localtime: Option<PathBuf>,
    /// Certificate stores (802.1X client certificate and trusted CAs).
    #[arg(long, default_value = "/var/lib/dgw/certs")]
    cert_store: PathBuf,
    /// Runtime directory for wpa_supplicant's key and certificate files (tmpfs).
    #[arg(long, default_value = "/run/dgw/dot1x")]
    dot1x_runtime_dir: PathBuf,
    /// File with the DHCP NTP servers (option 42), written by the DHCP
    /// client's hook (the image: /run/dgw/dhcp/ntp-servers).
    #[arg(long)]
    dhcp_ntp_file: Option<PathBuf>,
}

pub fn run(a: HostdArgs) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dgw hostd: {e}");
            return 1;
        }
    };
    let opts = hostd::daemon::Options {
        leds_root: a.leds_root,
        system_clock: a.system_clock,
        localtime: a.localtime,
        dhcp_ntp_file: a.dhcp_ntp_file,
        cert_store: a.cert_store,
        dot1x_runtime_dir: a.dot1x_runtime_dir,
    };
    let r: Result<(), String> = rt.block_on(async {
        let b = match a.bus.as_str() {
            "system" => zbus::connection::Builder::system(),
            "session" => zbus::connection::Builder::session(),
            addr => zbus::connection::Builder::address(addr),
        }
        .map_err(|e| e.to_string())?;
        hostd::daemon::serve(b, opts).await.map_err(|e| e.to_string())
    });
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dgw hostd: {e}");
            1
        }
    }
}
