//! `dgw time sync`: one SNTP synchronisation against a given server, like
//! `sntp`/`ntpdate -q` (diagnostics; hostd does this continuously).

use std::time::Duration;

use clap::{Args, Subcommand};

#[derive(Args)]
pub struct TimeArgs {
    #[command(subcommand)]
    cmd: TimeCommand,
}

#[derive(Subcommand)]
enum TimeCommand {
    /// Query an SNTP server and print the offset; with --set-clock, also
    /// step or slew the system clock (needs CAP_SYS_TIME).
    Sync {
        /// Server, host[:port] (port 123 by default).
        server: String,
        /// Set the system clock from the reply.
        #[arg(long)]
        set_clock: bool,
        /// Seconds to wait for a usable reply.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
}

pub fn run(a: TimeArgs) -> i32 {
    let TimeCommand::Sync {
        server,
        set_clock,
        timeout,
    } = a.cmd;
    if let Err(e) = timesync::parse_host_port(&server) {
        eprintln!("dgw time sync: {server}: {e}");
        return 2;
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dgw time sync: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let cfg = timesync::SntpConfig::with_static_servers(vec![server.clone()]);
        let (_cfg_tx, cfg_rx) = tokio::sync::watch::channel(cfg);
        let (st_tx, mut st_rx) = tokio::sync::watch::channel(timesync::TimeStatus::default());
        if set_clock {
            tokio::spawn(timesync::run(cfg_rx, timesync::SystemClock, st_tx));
        } else {
            tokio::spawn(timesync::run(
                cfg_rx,
                timesync::SimulatedClock::new(timesync::Offset::ZERO),
                st_tx,
            ));
        }
        let wait = async {
            loop {
                if st_rx.changed().await.is_err() {
                    return None;
                }
                let st = st_rx.borrow_and_update().clone();
                if st.synchronised || st.last_error.is_some() {
                    return Some(st);
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(timeout), wait).await {
            Ok(Some(st)) if st.synchronised => {
                let off = st.last_offset.map(|o| o.as_secs_f64()).unwrap_or(0.0);
                println!(
                    "server {} stratum {} offset {off:+.6} s{}",
                    st.current_source.unwrap_or(server),
                    st.last_stratum.unwrap_or(0),
                    if set_clock { " (clock set)" } else { "" }
                );
                0
            }
            Ok(Some(st)) => {
                eprintln!("dgw time sync: {server}: {:?}", st.last_error);
                1
            }
            _ => {
                eprintln!("dgw time sync: {server}: no usable reply within {timeout} s");
                1
            }
        }
    })
}
