//! Kamailio as a TLS registrar and proxy on loopback.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::proc::{poll, tail, Proc};

/// Digest algorithm Kamailio puts in its challenges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algo {
    /// MD5 (RFC 2617), the only algorithm baresip 1.0 answers.
    Md5,
    /// SHA-256 (RFC 8760): `modparam("auth", "algorithm", "SHA-256")`.
    Sha256,
}

/// How Kamailio reaches a UA registered over TCP/TLS when it forwards a request to it.
///
/// See the crate documentation for what each mode does on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionReuse {
    /// Route to the Contact exactly as registered: for a `transport=tls` Contact Kamailio opens a
    /// NEW TLS connection (as a TLS client) to the Contact's host:port, so the UA must also be a
    /// TLS server there. Kamailio's default behaviour.
    NewConnection,
    /// `force_tcp_alias()` on every request received over TCP/TLS: the connection becomes known
    /// under the source IP and the port of the top Via (RFC 5923 style), so requests to a Contact
    /// with that same host:port go back over the UA's own connection.
    ViaAlias,
    /// `fix_nated_register()` on REGISTER plus `add_contact_alias()`/`handle_ruri_alias()` for
    /// dialogs (nathelper): Kamailio remembers the source ip:port of the REGISTER (the "received"
    /// address) and sends requests there, i.e. over the UA's connection whatever its Contact says
    /// (the RFC 5626 "flow" behaviour without the outbound module, which Debian does not ship).
    Received,
}

/// What to start Kamailio with. [`KamailioOptions::new`] gives sensible defaults.
#[derive(Clone, Debug)]
pub struct KamailioOptions {
    /// TLS listening port on 127.0.0.1.
    pub tls_port: u16,
    /// Also listen on UDP 127.0.0.1:port (for SIPp, which has no TLS here).
    pub udp_port: Option<u16>,
    /// Also listen on TCP 127.0.0.1:port.
    pub tcp_port: Option<u16>,
    /// SIP domain served (the realm of the challenges too); `localhost` and `127.0.0.1` are
    /// always aliases of the server.
    pub domain: String,
    /// Known users as (user, password). Only letters, digits and `-_.!~*'()&=+$,;?/%` please:
    /// the values are written into the config file as strings.
    pub users: Vec<(String, String)>,
    /// Digest algorithm of the challenges.
    pub algorithm: Algo,
    /// Server certificate (PEM) presented on the TLS port and, unless `client_cert` is set,
    /// when Kamailio connects out as a TLS client.
    pub cert: PathBuf,
    /// Key of `cert` (PEM).
    pub key: PathBuf,
    /// CA list (PEM) used to verify peer certificates: the client certificates offered to the
    /// server side, and the server certificates when `verify_server` is set.
    pub ca: Option<PathBuf>,
    /// Certificate and key Kamailio presents when it connects out over TLS (to a UA that
    /// requires mutual TLS). None: it presents `cert`.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Verify the certificate of the TLS servers Kamailio connects to (needs `ca`).
    pub verify_server: bool,
    /// Require a valid client certificate from TLS clients (needs `ca`).
    pub require_client_cert: bool,
    /// How to reach registered UAs over TCP/TLS.
    pub reuse: ConnectionReuse,
    /// Also challenge initial INVITEs (407, `pv_proxy_authenticate`), not only REGISTER.
    pub auth_invite: bool,
    /// Static routes (user, destination URI): requests whose R-URI user matches are sent to the
    /// destination (`$du`) without a location lookup, e.g. `("uas", "sip:127.0.0.1:5070")` to
    /// put a SIPp UAS (which cannot register) behind Kamailio.
    pub static_routes: Vec<(String, String)>,
    /// Kamailio `debug` level (2 = info, 3 = debug: shows TLS connection handling).
    pub debug: u8,
}

impl KamailioOptions {
    /// Options for a TLS-only registrar on `tls_port` serving `localhost` with MD5 challenges,
    /// no users, [`ConnectionReuse::NewConnection`], no client verification.
    pub fn new(tls_port: u16, cert: &Path, key: &Path) -> KamailioOptions {
        KamailioOptions {
            tls_port,
            udp_port: None,
            tcp_port: None,
            domain: "localhost".to_string(),
            users: Vec::new(),
            algorithm: Algo::Md5,
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            ca: None,
            client_cert: None,
            verify_server: false,
            require_client_cert: false,
            reuse: ConnectionReuse::NewConnection,
            auth_invite: false,
            static_routes: Vec::new(),
            debug: 2,
        }
    }

    /// Adds a user (builder style).
    pub fn user(mut self, user: &str, password: &str) -> KamailioOptions {
        self.users.push((user.to_string(), password.to_string()));
        self
    }
}

/// A running Kamailio; killed (whole process group) on drop.
pub struct Kamailio {
    dir: PathBuf,
    opts: KamailioOptions,
    proc: Option<Proc>,
    ctl: PathBuf,
}

/// How long Kamailio may take to open its ports (it needs about 1 s here).
const START_TIMEOUT: Duration = Duration::from_secs(15);

impl Kamailio {
    /// Writes `kamailio.cfg` and `tls.cfg` into `dir` (created if missing; it is also the runtime
    /// directory holding the pid file and the `ctl.sock` control socket, so keep its path short)
    /// and starts Kamailio in the foreground, logging to `dir/kamailio.log`. Returns once the TLS
    /// port accepts connections and the control socket answers.
    pub fn start(dir: &Path, opts: &KamailioOptions) -> anyhow::Result<Kamailio> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let ctl = dir.join("ctl.sock");
        // sun_path is 108 bytes: a longer path would make the ctl module fail at start.
        if ctl.as_os_str().len() > 100 {
            bail!(
                "{}: path too long for a unix socket, use a shorter directory",
                ctl.display()
            );
        }
        let mut k = Kamailio {
            dir: dir.to_path_buf(),
            opts: opts.clone(),
            proc: None,
            ctl,
        };
        std::fs::write(dir.join("tls.cfg"), tls_config(opts))?;
        std::fs::write(dir.join("kamailio.cfg"), config(dir, opts)?)?;
        k.launch()?;
        Ok(k)
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let cfg = self.dir.join("kamailio.cfg");
        let log = self.dir.join("kamailio.log");
        let _ = std::fs::remove_file(&self.ctl);
        let mut cmd = Command::new("kamailio");
        // -DD: the main process stays our child (no daemonizing); -E: log to stderr (our log
        // file); -m/-M: small memory pools so parallel instances do not need 64 MB each.
        cmd.args(["-DD", "-E", "-m", "32", "-M", "8", "-f"])
            .arg(&cfg)
            .arg("-P")
            .arg(self.dir.join("kamailio.pid"))
            .arg("-Y")
            .arg(&self.dir);
        let mut proc = Proc::spawn("kamailio", cmd, &log)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.opts.tls_port));
        let ready = poll(START_TIMEOUT, || {
            if !proc.running() {
                return Some(false);
            }
            let tls_up = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
            (tls_up && self.kamcmd(&["core.uptime"]).is_ok()).then_some(true)
        });
        match ready {
            Some(true) => {
                self.proc = Some(proc);
                Ok(())
            }
            Some(false) => {
                let status = proc.exit_status().unwrap_or_default();
                bail!(
                    "kamailio did not start ({status}); log:\n{}",
                    tail(&proc.log(), 40)
                )
            }
            None => bail!(
                "kamailio not ready after {START_TIMEOUT:?}; log:\n{}",
                tail(&proc.log(), 40)
            ),
        }
    }

    /// Freezes Kamailio (SIGSTOP to its process group): its connections stay open but nothing
    /// answers, as with a hung server or a dead path. Dropping a frozen Kamailio still kills it.
    pub fn freeze(&self) {
        if let Some(p) = &self.proc {
            p.signal(libc::SIGSTOP);
        }
    }

    /// Resumes a [`Kamailio::freeze`]d Kamailio.
    pub fn thaw(&self) {
        if let Some(p) = &self.proc {
            p.signal(libc::SIGCONT);
        }
    }

    /// Stops Kamailio (SIGTERM, then SIGKILL after 3 s); idempotent. Registrations are lost
    /// (usrloc is memory only).
    pub fn stop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.stop(Duration::from_secs(3));
        }
    }

    /// Stops and starts again with the same configuration and ports. Registrations are gone
    /// afterwards and every TCP/TLS connection was closed by the stop.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.launch()
    }

    /// The options it was started with.
    pub fn options(&self) -> &KamailioOptions {
        &self.opts
    }

    /// `127.0.0.1:tls_port`.
    pub fn tls_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.opts.tls_port))
    }

    /// URI of the TLS listener, e.g. `sip:127.0.0.1:5061;transport=tls` (an outbound proxy).
    pub fn tls_uri(&self) -> String {
        format!("sip:127.0.0.1:{};transport=tls", self.opts.tls_port)
    }

    /// Path of the generated `kamailio.cfg`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("kamailio.cfg")
    }

    /// Everything Kamailio logged so far (all runs, including before a restart).
    pub fn log(&self) -> String {
        crate::proc::read_lossy(&self.dir.join("kamailio.log"))
    }

    /// Runs `kamcmd` against this instance's control socket and returns its output; RPC errors
    /// (kamcmd prints "error: ..." and still exits 0) become `Err`.
    pub fn kamcmd(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("kamcmd")
            .arg("-s")
            .arg(format!("unix:{}", self.ctl.display()))
            .args(args)
            .output()
            .context("running kamcmd")?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || stdout.starts_with("error:") || stderr.contains("error") {
            bail!("kamcmd {args:?} failed ({}): {stdout}{stderr}", out.status);
        }
        Ok(stdout)
    }

    /// The registered contact URIs of `user` (the `Address:` of each binding, plus
    /// ` received=<uri>` when Kamailio recorded a received address); empty when none.
    pub fn contacts(&self, user: &str) -> Vec<String> {
        let aor = format!("{user}@{}", self.opts.domain);
        let Ok(out) = self.kamcmd(&["ul.lookup", "location", &aor]) else {
            return Vec::new();
        };
        let mut contacts: Vec<String> = Vec::new();
        for line in out.lines().map(str::trim) {
            if let Some(addr) = line.strip_prefix("Address: ") {
                contacts.push(addr.to_string());
            } else if let Some(rcv) = line.strip_prefix("Received: ") {
                if let (false, Some(last)) = (rcv.starts_with('['), contacts.last_mut()) {
                    let _ = write!(last, " received={rcv}");
                }
            }
        }
        contacts
    }

    /// Whether `user` has at least one binding in the location table.
    pub fn registered(&self, user: &str) -> bool {
        !self.contacts(user).is_empty()
    }

    /// Polls [`Kamailio::registered`] until it is true or `timeout` passes.
    pub fn wait_registered(&self, user: &str, timeout: Duration) -> anyhow::Result<()> {
        poll(timeout, || self.registered(user).then_some(()))
            .with_context(|| format!("{user} not registered after {timeout:?}"))
    }

    /// The TCP/TLS connections Kamailio holds, one line each (`core.tcp_list` flattened), for
    /// tests about connection reuse.
    pub fn connections(&self) -> anyhow::Result<Vec<String>> {
        let out = self.kamcmd(&["core.tcp_list"])?;
        Ok(parse_tcp_list(&out))
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Flattens kamcmd's `core.tcp_list` output (one `{ key: value ... }` block per connection)
/// into one line per connection.
fn parse_tcp_list(out: &str) -> Vec<String> {
    let mut conns = Vec::new();
    let mut cur: Option<String> = None;
    for line in out.lines().map(str::trim) {
        if line == "{" {
            cur = Some(String::new());
        } else if line == "}" {
            if let Some(c) = cur.take() {
                conns.push(c.trim().to_string());
            }
        } else if let Some(c) = cur.as_mut() {
            c.push_str(line);
            c.push(' ');
        }
    }
    conns
}

/// Rejects characters that would break out of a double-quoted cfg string.
fn cfg_str(s: &str) -> anyhow::Result<&str> {
    if s.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
        bail!("{s:?}: quotes, backslashes and control characters are not supported in the config");
    }
    Ok(s)
}

fn tls_config(o: &KamailioOptions) -> String {
    let yn = |b: bool| if b { "yes" } else { "no" };
    let mut s = String::new();
    let _ = writeln!(s, "# Written by siplab.\n[server:default]\nmethod = TLSv1.2+");
    let _ = writeln!(
        s,
        "certificate = {}\nprivate_key = {}",
        o.cert.display(),
        o.key.display()
    );
    let _ = writeln!(s, "verify_certificate = {}", yn(o.require_client_cert));
    let _ = writeln!(s, "require_certificate = {}", yn(o.require_client_cert));
    if let Some(ca) = &o.ca {
        let _ = writeln!(s, "ca_list = {}", ca.display());
    }
    let (cert, key) = o.client_cert.clone().unwrap_or((o.cert.clone(), o.key.clone()));
    let _ = writeln!(s, "\n[client:default]\nmethod = TLSv1.2+");
    let _ = writeln!(
        s,
        "certificate = {}\nprivate_key = {}",
        cert.display(),
        key.display()
    );
    let _ = writeln!(s, "verify_certificate = {}", yn(o.verify_server));
    let _ = writeln!(s, "require_certificate = {}", yn(o.verify_server));
    if let Some(ca) = &o.ca {
        let _ = writeln!(s, "ca_list = {}", ca.display());
    }
    s
}

/// The routing script. Kept in one place so the crate docs can describe it faithfully.
fn config(dir: &Path, o: &KamailioOptions) -> anyhow::Result<String> {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "#!KAMAILIO\n# Written by siplab.");
    let _ = writeln!(
        w,
        "debug={}\nlog_stderror=yes\nchildren=2\ntcp_children=2",
        o.debug
    );
    let _ = writeln!(w, "auto_aliases=no\ndns=no\nrev_dns=no\nuse_dns_cache=no");
    let _ = writeln!(w, "listen=tls:127.0.0.1:{}", o.tls_port);
    if let Some(p) = o.udp_port {
        let _ = writeln!(w, "listen=udp:127.0.0.1:{p}");
    }
    if let Some(p) = o.tcp_port {
        let _ = writeln!(w, "listen=tcp:127.0.0.1:{p}");
    }
    // Aliases carry ports: an alias without one matches EVERY port of that host, so a UA's
    // Contact on 127.0.0.1 would count as "myself" and loose_route() would then mistake the
    // previous hop for a strict router and loop requests back to Kamailio.
    let mut names = vec!["localhost".to_string()];
    if o.domain != "localhost" {
        names.push(cfg_str(&o.domain)?.to_string());
    }
    let ports = [Some(o.tls_port), o.udp_port, o.tcp_port, Some(5060), Some(5061)];
    for name in &names {
        for port in ports.iter().flatten() {
            let _ = writeln!(w, "alias={name}:{port}");
        }
    }
    // Connections live long (a UA keeps its registration flow open); double-CRLF keep-alives are
    // answered with a CRLF (tcp_crlf_ping); messages without Content-Length are accepted on TCP.
    let _ = writeln!(
        w,
        "enable_tls=yes\ntcp_connection_lifetime=3605\ntcp_crlf_ping=yes"
    );
    let _ = writeln!(w, "tcp_accept_no_cl=yes\ntcp_connect_timeout=5");
    let _ = writeln!(w, "mpath=\"/usr/lib/x86_64-linux-gnu/kamailio/modules/\"");
    // tm before sl: sl binds to tm when tm is initialised first (else Kamailio logs an error).
    for m in [
        "tls",
        "ctl",
        "tm",
        "sl",
        "kex",
        "rr",
        "pv",
        "maxfwd",
        "textops",
        "siputils",
        "xlog",
        "sanity",
        "usrloc",
        "registrar",
        "auth",
        "htable",
        "nathelper",
    ] {
        let _ = writeln!(w, "loadmodule \"{m}.so\"");
    }
    let _ = writeln!(
        w,
        "modparam(\"tls\", \"config\", \"{}\")",
        dir.join("tls.cfg").display()
    );
    let _ = writeln!(w, "modparam(\"tls\", \"connection_timeout\", 3605)");
    let _ = writeln!(
        w,
        "modparam(\"ctl\", \"binrpc\", \"unix:{}\")",
        dir.join("ctl.sock").display()
    );
    let _ = writeln!(w, "modparam(\"usrloc\", \"db_mode\", 0)");
    // A relay that gets no provisional reply (e.g. the TLS connection to the callee failed
    // verification) fails after 5 s instead of the default 30 s, within a test's time budget.
    let _ = writeln!(w, "modparam(\"tm\", \"fr_timer\", 5000)");
    let _ = writeln!(w, "modparam(\"rr\", \"enable_full_lr\", 1)");
    let _ = writeln!(w, "modparam(\"htable\", \"htable\", \"users=>size=6;\")");
    let _ = writeln!(w, "modparam(\"htable\", \"htable\", \"routes=>size=4;\")");
    let _ = writeln!(w, "modparam(\"nathelper\", \"received_avp\", \"$avp(RECEIVED)\")");
    let _ = writeln!(w, "modparam(\"registrar\", \"received_avp\", \"$avp(RECEIVED)\")");
    if o.algorithm == Algo::Sha256 {
        let _ = writeln!(w, "modparam(\"auth\", \"algorithm\", \"SHA-256\")");
    }
    let _ = writeln!(w, "\nevent_route[htable:mod-init] {{");
    for (user, pass) in &o.users {
        let _ = writeln!(w, "    $sht(users=>{}) = \"{}\";", cfg_str(user)?, cfg_str(pass)?);
    }
    for (user, dst) in &o.static_routes {
        let _ = writeln!(w, "    $sht(routes=>{}) = \"{}\";", cfg_str(user)?, cfg_str(dst)?);
    }
    let _ = writeln!(w, "}}");
    let via_alias = if o.reuse == ConnectionReuse::ViaAlias {
        "    if (proto == TLS || proto == TCP) { force_tcp_alias(); }\n"
    } else {
        ""
    };
    let received = o.reuse == ConnectionReuse::Received;
    let fix_register = if received {
        "        fix_nated_register();\n"
    } else {
        ""
    };
    let contact_alias = if received {
        "    if ((proto == TLS || proto == TCP) && is_present_hf(\"Contact\")) { add_contact_alias(); }\n"
    } else {
        ""
    };
    let ruri_alias = if received {
        "            handle_ruri_alias();\n"
    } else {
        ""
    };
    let auth_invite = if o.auth_invite {
        r#"    if (is_method("INVITE")) {
        if ($sht(users=>$fU) == $null || !pv_proxy_authenticate("$fd", "$sht(users=>$fU)", "0")
                || $au != $fU) {
            proxy_challenge("$fd", "1");
            exit;
        }
        consume_credentials();
    }
"#
    } else {
        ""
    };
    let _ = write!(
        w,
        r#"
request_route {{
    xlog("L_INFO", "siplab: $rm $ru from $proto:$si:$sp\n");
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!sanity_check()) {{
        xlog("L_WARN", "siplab: malformed request from $si:$sp\n");
        exit;
    }}
{via_alias}    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (has_totag()) {{
        if (loose_route()) {{
{contact_alias}{ruri_alias}            route(RELAY);
        }}
        if (is_method("ACK")) {{
            if (t_check_trans()) {{ t_relay(); }}
            exit;
        }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{ route(RELAY); }}
        exit;
    }}
    t_check_trans();
    if (is_method("REGISTER")) {{
        if ($sht(users=>$fU) == $null || !pv_www_authenticate("$td", "$sht(users=>$fU)", "0")
                || $au != $fU) {{
            xlog("L_INFO", "siplab: challenging REGISTER of $fU\n");
            www_challenge("$td", "1");
            exit;
        }}
{fix_register}        if (!save("location")) {{ sl_reply_error(); }}
        exit;
    }}
{auth_invite}    if (is_method("INVITE|SUBSCRIBE|REFER")) {{ record_route(); }}
{contact_alias}    if ($rU != $null && $sht(routes=>$rU) != $null) {{
        $du = $sht(routes=>$rU);
        route(RELAY);
    }}
    if (!lookup("location")) {{
        sl_send_reply("404", "Not Found");
        exit;
    }}
    route(RELAY);
}}

route[RELAY] {{
    xlog("L_INFO", "siplab: relaying $rm to $ru via $du\n");
    if (!t_relay()) {{ sl_reply_error(); }}
    exit;
}}
{reply_route}"#,
        // Kamailio rejects an empty route block, so the reply route only exists when needed.
        reply_route = if received {
            "\nonreply_route {\n    if ((proto == TLS || proto == TCP) && is_present_hf(\"Contact\")) \
             { add_contact_alias(); }\n}\n"
        } else {
            ""
        },
    );
    Ok(s)
}
