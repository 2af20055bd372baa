//! `dgw`: one binary for the gateway's services and operator tools, so
//! tokio and rustls are linked once. Each service and tool is a subcommand;
//! the logic lives in the library crates, this file only wires them.

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
    /// Print shell completions for bash, zsh, fish, ...
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Tls(c) => tls::run(c),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "dgw", &mut std::io::stdout());
            0
        }
    };
    std::process::exit(code);
}
