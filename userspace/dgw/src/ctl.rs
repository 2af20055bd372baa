//! `dgw ctl` (the operator CLI) and `dgw confd` (the configuration service).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

/// Where the configuration lives by default (the data partition).
pub const DEFAULT_STORE: &str = "/var/lib/dgw";

#[derive(Args)]
pub struct ConfdArgs {
    /// Store directory (the data partition).
    #[arg(long, default_value = DEFAULT_STORE)]
    store: PathBuf,
    /// Bus: `system` (default), `session`, or a D-Bus address.
    #[arg(long, default_value = "system")]
    bus: String,
    /// Command run with a service name appended to restart it, for
    /// `Scm.RestartRequiredServices` (e.g. /usr/libexec/dgw/restart-service).
    #[arg(long, value_name = "CMD")]
    restart_command: Option<String>,
}

#[derive(Args)]
pub struct CtlArgs {
    /// Machine-readable output (JSON).
    #[arg(long, global = true)]
    json: bool,
    /// Work offline on a store directory instead of talking to confd (for
    /// provisioning an image at build time, or when confd is down).
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Bus: `system` (default), `session`, or a D-Bus address.
    #[arg(long, global = true, default_value = "system")]
    bus: String,
    #[command(subcommand)]
    cmd: CtlCommand,
}

#[derive(Subcommand)]
enum CtlCommand {
    /// Print values: `dgw ctl get SipEp.TransportTlsVersion Hoc.StaticTimeZone`.
    Get {
        /// Parameter names (case-insensitive); table cells as Table[Key].Column.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Set values, all or nothing: `dgw ctl set Web.HttpMode=Secure Web.SecureServerPort=8443`.
    Set {
        /// NAME=VALUE assignments.
        #[arg(required = true)]
        assignments: Vec<String>,
    },
    /// List parameters (all, or those starting with PREFIX).
    List {
        /// Name prefix, e.g. `SipEp.` or `Hoc.StaticSntpServers`.
        prefix: Option<String>,
    },
    /// Apply a configuration script (file, or - for stdin), all or nothing.
    Apply {
        /// Script file, or - for standard input.
        file: String,
        /// Check and show what would change, without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the configuration as a script (values that differ from factory).
    Export {
        /// Include passwords (admins only).
        #[arg(long)]
        secrets: bool,
    },
    /// Return every parameter to its factory default.
    FactoryReset {
        /// Confirm.
        #[arg(long)]
        yes: bool,
    },
    /// Print the parameter reference generated from the schema.
    Schema {
        /// As Markdown (docs/parameters.md).
        #[arg(long)]
        markdown: bool,
    },
}

fn builder(bus: &str) -> zbus::Result<zbus::connection::Builder<'static>> {
    match bus {
        "system" => zbus::connection::Builder::system(),
        "session" => zbus::connection::Builder::session(),
        addr => zbus::connection::Builder::address(addr),
    }
}

pub fn run_confd(a: ConfdArgs) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dgw confd: {e}");
            return 1;
        }
    };
    let r: Result<(), String> = rt.block_on(async {
        let store = params::Store::open(&a.store).map_err(|e| format!("store {}: {e}", a.store.display()))?;
        let b = builder(&a.bus).map_err(|e| format!("bus {}: {e}", a.bus))?;
        let restart: Vec<String> = a
            .restart_command
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        confd::serve(store, b, restart).await.map_err(|e| e.to_string())
    });
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dgw confd: {e}");
            1
        }
    }
}

enum Backend {
    Offline(confd::ConfigService),
    Bus(confd::Config1Proxy<'static>),
}

fn dbus_msg(e: zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, msg, _) if name.as_str() == "org.freedesktop.DBus.Error.AccessDenied" => format!(
            "permission denied: changing the configuration needs root or membership of the dgwadmin group ({})",
            msg.unwrap_or_default()
        ),
        zbus::Error::MethodError(name, msg, _) if name.as_str() == "org.freedesktop.DBus.Error.ServiceUnknown" => format!(
            "confd is not running ({}); start dgw-confd, or use --store DIR to work offline",
            msg.unwrap_or_default()
        ),
        zbus::Error::MethodError(_, Some(msg), _) => msg,
        other => other.to_string(),
    }
}

fn conf_msg(e: confd::ConfError) -> String {
    match e {
        confd::ConfError::Invalid(m) | confd::ConfError::Storage(m) => m,
        confd::ConfError::ZBus(e) => e.to_string(),
    }
}

impl Backend {
    async fn get(&self, n: &str) -> Result<String, String> {
        match self {
            Backend::Offline(s) => s.get(n).map_err(conf_msg),
            Backend::Bus(p) => p.get(n).await.map_err(dbus_msg),
        }
    }
    async fn list(&self, prefix: &str) -> Result<Vec<confd::ListEntry>, String> {
        match self {
            Backend::Offline(s) => Ok(s.list(prefix)),
            Backend::Bus(p) => p.list(prefix).await.map_err(dbus_msg),
        }
    }
    async fn set(&self, v: &[(String, String)]) -> Result<Vec<String>, String> {
        match self {
            Backend::Offline(s) => s.set(v).map(|(_, rr)| rr).map_err(conf_msg),
            Backend::Bus(p) => {
                let refs: Vec<(&str, &str)> = v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                p.set(&refs).await.map_err(dbus_msg)
            }
        }
    }
    async fn apply(&self, script: &str, dry: bool) -> Result<confd::ScriptOutcome, String> {
        match self {
            Backend::Offline(s) => s
                .apply_script(script, dry)
                .map(|(cs, rr, cmds)| (cs.changed, rr, cmds))
                .map_err(conf_msg),
            Backend::Bus(p) => p.apply_script(script, dry).await.map_err(dbus_msg),
        }
    }
    async fn export(&self, secrets: bool) -> Result<String, String> {
        match (self, secrets) {
            (Backend::Offline(s), _) => Ok(s.export(secrets)),
            (Backend::Bus(p), false) => p.export().await.map_err(dbus_msg),
            (Backend::Bus(p), true) => p.export_with_secrets().await.map_err(dbus_msg),
        }
    }
    async fn factory_reset(&self) -> Result<(), String> {
        match self {
            Backend::Offline(s) => s.factory_reset().map(drop).map_err(conf_msg),
            Backend::Bus(p) => p.factory_reset().await.map_err(dbus_msg),
        }
    }
}

async fn backend(a: &CtlArgs) -> Result<Backend, String> {
    if let Some(dir) = &a.store {
        let store = params::Store::open(dir).map_err(|e| format!("store {}: {e}", dir.display()))?;
        return confd::ConfigService::open(store)
            .map(Backend::Offline)
            .map_err(|e| e.to_string());
    }
    let conn = builder(&a.bus)
        .map_err(|e| e.to_string())?
        .build()
        .await
        .map_err(|e| format!("cannot reach the {} bus: {e}", a.bus))?;
    let proxy = confd::Config1Proxy::new(&conn).await.map_err(dbus_msg)?;
    Ok(Backend::Bus(proxy))
}

fn print_changes(
    json_out: bool,
    changes: &[(String, String, String)],
    rr: &[String],
    cmds: &[String],
    dry: bool,
) {
    if json_out {
        let c: Vec<_> = changes
            .iter()
            .map(|(n, o, v)| json!({"name": n, "old": o, "new": v}))
            .collect();
        println!(
            "{}",
            json!({"dry_run": dry, "changes": c, "restart_required": rr, "commands": cmds})
        );
        return;
    }
    let verb = if dry { "would change" } else { "changed" };
    if changes.is_empty() {
        println!("nothing {verb}");
    }
    for (n, o, v) in changes {
        println!("{verb}: {n}: {o:?} -> {v:?}");
    }
    if !rr.is_empty() {
        println!(
            "restart required: {} (run Scm.RestartRequiredServices or restart them)",
            rr.join(", ")
        );
    }
    for c in cmds {
        println!("command: {c}");
    }
}

pub fn run_ctl(a: CtlArgs) -> i32 {
    if let CtlCommand::Schema { markdown } = &a.cmd {
        if *markdown {
            print!("{}", params::docs::markdown());
        } else {
            for p in params::schema::PARAMS {
                println!(
                    "{}  [{}]  default {:?}",
                    p.full_name(),
                    p.kind.describe(),
                    p.default
                );
            }
        }
        return 0;
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dgw ctl: {e}");
            return 1;
        }
    };
    match rt.block_on(ctl(&a)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dgw ctl: {e}");
            1
        }
    }
}

async fn ctl(a: &CtlArgs) -> Result<(), String> {
    let b = backend(a).await?;
    match &a.cmd {
        CtlCommand::Get { names } => {
            let mut out = serde_json::Map::new();
            let mut errors = Vec::new();
            for n in names {
                match b.get(n).await {
                    Ok(v) => {
                        if !a.json {
                            println!("{n}={v}");
                        }
                        out.insert(n.clone(), json!(v));
                    }
                    Err(e) => errors.push(e),
                }
            }
            if a.json {
                println!("{}", serde_json::Value::Object(out));
            }
            if !errors.is_empty() {
                return Err(errors.join("\n"));
            }
        }
        CtlCommand::Set { assignments } => {
            let mut v = Vec::new();
            for s in assignments {
                let (n, val) = s
                    .split_once('=')
                    .ok_or_else(|| format!("{s:?}: expected NAME=VALUE"))?;
                v.push((n.trim().to_string(), val.to_string()));
            }
            let rr = b.set(&v).await?;
            if a.json {
                println!("{}", json!({"restart_required": rr}));
            } else if !rr.is_empty() {
                println!("restart required: {}", rr.join(", "));
            }
        }
        CtlCommand::List { prefix } => {
            let entries = b.list(prefix.as_deref().unwrap_or("")).await?;
            if a.json {
                let v: Vec<_> = entries
                    .iter()
                    .map(|(n, v, d, al, ac, ap, doc)| json!({"name": n, "value": v, "default": d, "allowed": al, "access": ac, "apply": ap, "description": doc}))
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                for (n, v, d, _, ac, ap, _) in &entries {
                    let mark = if v != d && ac != "secret" { " *" } else { "" };
                    println!("{n}={v}{mark}    ({ac}, {ap})");
                }
            }
        }
        CtlCommand::Apply { file, dry_run } => {
            let text = if file == "-" {
                use std::io::Read;
                let mut s = String::new();
                std::io::stdin()
                    .take(params::script::MAX_SCRIPT_BYTES as u64 + 1)
                    .read_to_string(&mut s)
                    .map_err(|e| format!("stdin: {e}"))?;
                s
            } else {
                use std::io::Read;
                // Bounded read: a FIFO or device would defeat a size check
                // made with metadata().
                let mut s = String::new();
                std::fs::File::open(file)
                    .and_then(|f| {
                        f.take(params::script::MAX_SCRIPT_BYTES as u64 + 1)
                            .read_to_string(&mut s)
                    })
                    .map_err(|e| format!("{file}: {e}"))?;
                s
            };
            let (changes, rr, cmds) = b
                .apply(&text, *dry_run)
                .await
                .map_err(|e| format!("script refused, nothing changed:\n{e}"))?;
            print_changes(a.json, &changes, &rr, &cmds, *dry_run);
        }
        CtlCommand::Export { secrets } => print!("{}", b.export(*secrets).await?),
        CtlCommand::FactoryReset { yes } => {
            if !yes {
                return Err("factory-reset discards the whole configuration; add --yes to confirm".into());
            }
            b.factory_reset().await?;
            println!("configuration reset to factory defaults");
        }
        CtlCommand::Schema { .. } => unreachable!("handled above"),
    }
    Ok(())
}
