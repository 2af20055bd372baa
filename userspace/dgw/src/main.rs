//! `dgw`: one binary for the gateway's services and operator tools, so
//! tokio and rustls are linked once. Each service and tool is a subcommand;
//! the logic lives in the library crates, this file only wires them.

mod cert;
mod confsource;
mod ctl;
mod cwmpdcmd;
mod hostdcmd;
mod ledcmd;
mod logger;
mod sipdcmd;
mod timecmd;
mod tls;

use clap::{CommandFactory, Parser, Subcommand};

/// The dgw secure VoIP gateway.
#[derive(Parser)]
#[command(name = "dgw", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// TLS diagnostics: kernel TLS capabilities, test connections.
    #[command(subcommand)]
    Tls(tls::TlsCommand),
    /// Read and change the configuration (through confd, or offline with --store).
    Ctl(ctl::CtlArgs),
    /// Certificate stores: the unit's host certificates and the trusted CAs.
    Cert(cert::CertArgs),
    /// The configuration service: owns the store, serves net.dgw.Config on D-Bus.
    Confd(ctl::ConfdArgs),
    /// Host services on D-Bus: time and time zone, LEDs, 802.1X, network facts.
    Hostd(hostdcmd::HostdArgs),
    /// The SIP service (SipEp): registrations and calls over UDP, TCP or TLS.
    Sipd(sipdcmd::SipdArgs),
    /// The TR-069 agent (Cwmp): sessions with the ACS, parameter RPCs, connection requests.
    Cwmpd(cwmpdcmd::CwmpdArgs),
    /// One SNTP synchronisation (diagnostics).
    Time(timecmd::TimeArgs),
    /// Drive the LED class directly (diagnostics).
    Leds(ledcmd::LedsArgs),
    /// Print shell completions for bash, zsh, fish, ...
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Runs an async command on a two-thread runtime (the unit has few cores)
/// and turns its outcome into an exit status, printing the error as
/// `<what>: <error>`.
fn block_on_command<E: std::fmt::Display>(
    what: &str,
    fut: impl std::future::Future<Output = Result<(), E>>,
) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{what}: cannot start the runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{what}: {e}");
            1
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Tls(c) => tls::run(c),
        Command::Ctl(a) => ctl::run_ctl(a),
        Command::Cert(a) => cert::run(a),
        Command::Leds(a) => ledcmd::run(a),
        Command::Hostd(a) => {
            logger::init();
            hostdcmd::run(a)
        }
        Command::Sipd(a) => sipdcmd::run(a),
        Command::Cwmpd(a) => cwmpdcmd::run(a),
        Command::Time(a) => timecmd::run(a),
        Command::Confd(a) => ctl::run_confd(a),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "dgw", &mut std::io::stdout());
            0
        }
    };
    std::process::exit(code);
}
