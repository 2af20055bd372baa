//! baresip as a real TLS user agent, driven through its ctrl_tcp module.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::pki::write_file;
use crate::proc::{poll, tail, Proc};

/// Media encryption of the account (`mediaenc=` account parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaEnc {
    /// Plain RTP only.
    None,
    /// SRTP with SDES keys (`a=crypto` in SDP) when the peer agrees, plain RTP otherwise.
    Srtp,
    /// SRTP with SDES keys, mandatory: offers `RTP/SAVP` and rejects plain RTP.
    SrtpMandatory,
}

/// The audio baresip sends in a call. Nothing is played: no player module is loaded, so no
/// sound hardware is needed.
#[derive(Clone, Debug)]
pub enum Audio {
    /// A 440 Hz sine (module ausine; baresip resamples from 48 kHz stereo).
    Sine,
    /// A WAV file (module aufile); it must be 8 kHz mono s16 for G.711, e.g.
    /// `/usr/share/baresip/ring.wav` is not, so prefer [`Audio::Sine`].
    File(PathBuf),
}

/// What to start baresip with. [`BaresipOptions::tls`] gives sensible defaults.
#[derive(Clone, Debug)]
pub struct BaresipOptions {
    /// SIP user (account AOR user part).
    pub user: String,
    /// Digest password.
    pub password: String,
    /// SIP domain (AOR host part), e.g. `localhost`.
    pub domain: String,
    /// Outbound proxy / registrar, e.g. `sip:127.0.0.1:5061;transport=tls`.
    pub outbound: String,
    /// Transport of the AOR (`tls`, `tcp` or `udp`).
    pub transport: String,
    /// CA file baresip trusts for TLS (`sip_cafile`).
    pub ca: Option<PathBuf>,
    /// Certificate and key of baresip's own TLS server (`sip_certificate`, written as one PEM),
    /// needed whenever someone connects to its TLS port, e.g. Kamailio delivering an INVITE with
    /// [`crate::ConnectionReuse::NewConnection`].
    pub cert: Option<(PathBuf, PathBuf)>,
    /// SIP port on 127.0.0.1 for UDP and TCP; baresip 1.0 listens for TLS on `sip_port + 1`.
    /// None: a free pair is picked.
    pub sip_port: Option<u16>,
    /// Media encryption.
    pub mediaenc: MediaEnc,
    /// Answer incoming calls at once (`answermode=auto`), else they ring until
    /// [`Baresip::accept`].
    pub auto_answer: bool,
    /// Audio source.
    pub audio: Audio,
    /// Registration interval in seconds (`regint`); 0 disables registration.
    pub regint: u32,
    /// Start with `-s` so every SIP message (with its SDP, e.g. `a=crypto` lines) is in the log.
    pub sip_trace: bool,
}

impl BaresipOptions {
    /// A TLS account `user@localhost` registering through `outbound` (e.g. [`crate::Kamailio::tls_uri`])
    /// with `ca` trusted, SRTP mandatory, auto-answer on, sine audio, SIP trace on.
    pub fn tls(user: &str, password: &str, outbound: &str, ca: &Path) -> BaresipOptions {
        BaresipOptions {
            user: user.to_string(),
            password: password.to_string(),
            domain: "localhost".to_string(),
            outbound: outbound.to_string(),
            transport: "tls".to_string(),
            ca: Some(ca.to_path_buf()),
            cert: None,
            sip_port: None,
            mediaenc: MediaEnc::SrtpMandatory,
            auto_answer: true,
            audio: Audio::Sine,
            regint: 600,
            sip_trace: true,
        }
    }
}

/// Events from ctrl_tcp, shared with the reader thread.
#[derive(Default)]
struct Events {
    /// Events not yet consumed by a `wait_*` call.
    queue: VecDeque<Value>,
    /// Every event ever received, for diagnostics.
    all: Vec<Value>,
    /// Command responses by token.
    responses: Vec<Value>,
    /// Set when the control connection closed (baresip exited).
    closed: bool,
}

/// A running baresip; killed on drop.
pub struct Baresip {
    dir: PathBuf,
    proc: Proc,
    ctrl: Mutex<TcpStream>,
    events: Arc<(Mutex<Events>, Condvar)>,
    sip_port: u16,
    aor: String,
    token: Mutex<u64>,
}

impl Baresip {
    /// Writes `config`, `accounts` and `contacts` into `dir` (created if missing), starts
    /// `baresip -f dir -v [-s]` logging to `dir/baresip.log` and connects to its ctrl_tcp port.
    /// Registration starts at once; see [`Baresip::wait_registered`].
    pub fn start(dir: &Path, opts: &BaresipOptions) -> anyhow::Result<Baresip> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let sip_port = match opts.sip_port {
            Some(p) => p,
            None => crate::free_port_pair(),
        };
        let ctrl_port = crate::free_port();
        let rtp = rtp_range();
        let mut cfg = String::new();
        let c = &mut cfg;
        let _ = writeln!(c, "# Written by siplab.\npoll_method epoll");
        let _ = writeln!(c, "sip_listen 127.0.0.1:{sip_port}\nnet_interface 127.0.0.1");
        if let Some(ca) = &opts.ca {
            let _ = writeln!(c, "sip_cafile {}", ca.display());
        }
        if let Some((cert, key)) = &opts.cert {
            // baresip wants certificate and key in one file.
            let mut pem = std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
            pem.extend(std::fs::read(key).with_context(|| format!("reading {}", key.display()))?);
            let path = dir.join("sip-cert.pem");
            write_file(&path, &pem, 0o600)?;
            let _ = writeln!(c, "sip_certificate {}", path.display());
        }
        let _ = writeln!(
            c,
            "call_local_timeout 30\ncall_max_calls 16\nstatmode_default off"
        );
        let _ = writeln!(
            c,
            "rtp_ports {}-{}\nrtcp_mux no\njitter_buffer_delay 1-10",
            rtp,
            rtp + RTP_PORTS - 1
        );
        let _ = writeln!(c, "audio_player nil\naudio_alert nil");
        let _ = writeln!(
            c,
            "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule srtp.so"
        );
        match &opts.audio {
            Audio::Sine => {
                // ausine only produces 48 kHz stereo; baresip resamples to the codec.
                let _ = writeln!(c, "module ausine.so\naudio_source ausine,440");
                let _ = writeln!(c, "ausrc_srate 48000\nausrc_channels 2");
            }
            Audio::File(path) => {
                let _ = writeln!(c, "module aufile.so\naudio_source aufile,{}", path.display());
            }
        }
        let _ = writeln!(
            c,
            "module_tmp account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so"
        );
        let _ = writeln!(c, "ctrl_tcp_listen 127.0.0.1:{ctrl_port}");
        std::fs::write(dir.join("config"), cfg)?;

        let aor = format!("sip:{}@{}", opts.user, opts.domain);
        let mut acc = format!("<{aor};transport={}>;auth_pass={}", opts.transport, opts.password);
        let _ = write!(acc, ";outbound=\"{}\";regint={}", opts.outbound, opts.regint);
        let _ = write!(
            acc,
            ";answermode={}",
            if opts.auto_answer { "auto" } else { "manual" }
        );
        match opts.mediaenc {
            MediaEnc::None => {}
            MediaEnc::Srtp => acc.push_str(";mediaenc=srtp"),
            MediaEnc::SrtpMandatory => acc.push_str(";mediaenc=srtp-mand"),
        }
        write_file(&dir.join("accounts"), format!("{acc}\n").as_bytes(), 0o600)?;
        std::fs::write(dir.join("contacts"), "")?;

        let log = dir.join("baresip.log");
        let mut cmd = Command::new("baresip");
        cmd.arg("-f").arg(dir).arg("-v");
        if opts.sip_trace {
            cmd.arg("-s");
        }
        let mut proc = Proc::spawn("baresip", cmd, &log)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], ctrl_port));
        let ctrl = poll(Duration::from_secs(10), || {
            if !proc.running() {
                return Some(None);
            }
            TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                .ok()
                .map(Some)
        });
        let ctrl = match ctrl {
            Some(Some(s)) => s,
            Some(None) => bail!(
                "baresip exited ({}); log:\n{}",
                proc.exit_status().unwrap_or_default(),
                tail(&proc.log(), 40)
            ),
            None => bail!(
                "baresip ctrl_tcp port not open after 10 s; log:\n{}",
                tail(&proc.log(), 40)
            ),
        };
        let events = Arc::new((Mutex::new(Events::default()), Condvar::new()));
        let reader = ctrl.try_clone()?;
        let ev = Arc::clone(&events);
        std::thread::spawn(move || read_netstrings(reader, ev));
        Ok(Baresip {
            dir: dir.to_path_buf(),
            proc,
            ctrl: Mutex::new(ctrl),
            events,
            sip_port,
            aor,
            token: Mutex::new(0),
        })
    }

    /// The account AOR, e.g. `sip:alice@localhost`.
    pub fn aor(&self) -> &str {
        &self.aor
    }

    /// The UDP/TCP SIP port; the TLS port is this + 1 (baresip 1.0's rule).
    pub fn sip_port(&self) -> u16 {
        self.sip_port
    }

    /// The TLS SIP port (`sip_port() + 1`).
    pub fn tls_port(&self) -> u16 {
        self.sip_port + 1
    }

    /// Everything baresip printed so far (with `-v`, and `-s` SIP traces when enabled).
    pub fn log(&self) -> String {
        crate::proc::read_lossy(&self.dir.join("baresip.log"))
    }

    /// Every ctrl_tcp event received so far (JSON objects with `type`, `param`, ...).
    pub fn events(&self) -> Vec<Value> {
        self.events.0.lock().map(|e| e.all.clone()).unwrap_or_default()
    }

    /// Sends a ctrl_tcp command (a menu command such as `dial`, `hangup`, `accept`, `reginfo`)
    /// and waits up to 5 s for its response; returns the response's `data`.
    pub fn command(&self, command: &str, params: &str) -> anyhow::Result<String> {
        let token = {
            let mut t = self.token.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            *t += 1;
            t.to_string()
        };
        let msg = serde_json::json!({"command": command, "params": params, "token": token}).to_string();
        {
            let mut s = self.ctrl.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            s.write_all(format!("{}:{msg},", msg.len()).as_bytes())
                .context("writing to ctrl_tcp")?;
        }
        let (lock, cv) = &*self.events;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut ev = lock.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        loop {
            if let Some(i) = ev.responses.iter().position(|r| r["token"] == token.as_str()) {
                let r = ev.responses.remove(i);
                let data = r["data"].as_str().unwrap_or_default().to_string();
                if r["ok"] != true {
                    bail!("baresip command {command} {params}: {data}");
                }
                return Ok(data);
            }
            let now = Instant::now();
            if now >= deadline || ev.closed {
                bail!("no response from baresip to {command} {params}");
            }
            ev = cv
                .wait_timeout(ev, deadline - now)
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .0;
        }
    }

    /// Dials `uri` (e.g. `sip:bob@localhost`); returns once baresip accepted the command.
    pub fn dial(&self, uri: &str) -> anyhow::Result<()> {
        self.command("dial", uri).map(drop)
    }

    /// Answers the ringing incoming call (manual answer mode).
    pub fn accept(&self) -> anyhow::Result<()> {
        self.command("accept", "").map(drop)
    }

    /// Hangs up the current call; errors are ignored (there may be no call left).
    pub fn hangup(&self) {
        let _ = self.command("hangup", "");
    }

    /// Waits until baresip's registration succeeded (the log shows `200 OK` with a binding, or a
    /// `REGISTER_OK` event arrived). Fails early on a registration failure.
    pub fn wait_registered(&self, timeout: Duration) -> anyhow::Result<()> {
        let found = poll(timeout, || {
            let log = self.log();
            if log
                .lines()
                .any(|l| l.contains(" 200 OK (") && l.contains("binding"))
            {
                return Some(Ok(()));
            }
            if self.has_event("REGISTER_OK") {
                return Some(Ok(()));
            }
            // Failures look like "reg: sip:alice@localhost: 401 Unauthorized (...)" or
            // "reg: sip:alice@localhost: Register: <errno text>".
            let prefix = format!("reg: {}: ", self.aor);
            if let Some(l) = log.lines().find(|l| l.contains(&prefix)) {
                return Some(Err(anyhow::anyhow!("{}: registration failed: {l}", self.aor)));
            }
            if self.has_event("REGISTER_FAIL") {
                return Some(Err(anyhow::anyhow!("{}: REGISTER_FAIL event", self.aor)));
            }
            None
        });
        match found {
            Some(r) => r,
            None => bail!(
                "{} not registered after {timeout:?}; log:\n{}",
                self.aor,
                tail(&self.log(), 30)
            ),
        }
    }

    fn has_event(&self, kind: &str) -> bool {
        self.events
            .0
            .lock()
            .map(|e| e.all.iter().any(|v| v["type"] == kind))
            .unwrap_or(false)
    }

    /// Waits for (and consumes) the next not yet consumed event of type `kind`, e.g.
    /// `CALL_INCOMING`, `CALL_ESTABLISHED`, `CALL_CLOSED`, `CALL_MENC`, `REGISTER_FAIL`.
    pub fn wait_event(&self, kind: &str, timeout: Duration) -> anyhow::Result<Value> {
        let (lock, cv) = &*self.events;
        let deadline = Instant::now() + timeout;
        let mut ev = lock.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        loop {
            if let Some(i) = ev.queue.iter().position(|v| v["type"] == kind) {
                let v = ev.queue.remove(i).unwrap_or_default();
                return Ok(v);
            }
            let now = Instant::now();
            if now >= deadline || ev.closed {
                let seen: Vec<String> = ev.all.iter().map(|v| v["type"].to_string()).collect();
                drop(ev);
                bail!(
                    "{}: no {kind} event after {timeout:?} (events: {}); log:\n{}",
                    self.aor,
                    seen.join(" "),
                    tail(&self.log(), 30)
                );
            }
            ev = cv
                .wait_timeout(ev, deadline - now)
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .0;
        }
    }

    /// Waits for the next call to be established (`CALL_ESTABLISHED`).
    pub fn wait_call_established(&self, timeout: Duration) -> anyhow::Result<Value> {
        self.wait_event("CALL_ESTABLISHED", timeout)
    }

    /// Waits for the next call to be closed (`CALL_CLOSED`; its `param` says why).
    pub fn wait_call_closed(&self, timeout: Duration) -> anyhow::Result<Value> {
        self.wait_event("CALL_CLOSED", timeout)
    }

    /// Waits for the next incoming call (`CALL_INCOMING`).
    pub fn wait_incoming(&self, timeout: Duration) -> anyhow::Result<Value> {
        self.wait_event("CALL_INCOMING", timeout)
    }

    /// The SRTP crypto suite baresip reported for a call (`srtp: ... SRTP is Enabled
    /// (cryptosuite=...)` in the log), if any.
    pub fn srtp_suite(&self) -> Option<String> {
        let log = self.log();
        let line = log.lines().find(|l| l.contains("SRTP is Enabled"))?;
        let start = line.find("cryptosuite=")? + "cryptosuite=".len();
        Some(line[start..].trim_end_matches(')').to_string())
    }

    /// Stops baresip (SIGTERM, then SIGKILL after 3 s). It un-registers on a clean exit if it
    /// gets the time.
    pub fn stop(&mut self) {
        self.proc.stop(Duration::from_secs(3));
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if let Ok(s) = self.ctrl.lock() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        self.proc.stop(Duration::from_secs(2));
    }
}

/// Number of RTP/RTCP ports given to each baresip: four calls at once.
const RTP_PORTS: u16 = 8;

/// The first of `RTP_PORTS` consecutive ports that are free right now (even, for RTP).
fn rtp_range() -> u16 {
    for _ in 0..100 {
        let p = crate::free_port_pair();
        if p.checked_add(RTP_PORTS).is_some() && (2..RTP_PORTS).all(|i| crate::port_free(p + i)) {
            return p;
        }
    }
    crate::free_port_pair()
}

/// Reads ctrl_tcp's netstrings (`<len>:<json>,`) until the connection closes, sorting them
/// into events and command responses.
fn read_netstrings(mut s: TcpStream, events: Arc<(Mutex<Events>, Condvar)>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(colon) = buf.iter().position(|&b| b == b':') {
            let Some(len) = std::str::from_utf8(&buf[..colon])
                .ok()
                .and_then(|l| l.parse::<usize>().ok())
            else {
                // Not a netstring: drop the garbage so the stream can resynchronise.
                buf.clear();
                break;
            };
            if buf.len() < colon + 1 + len + 1 {
                break;
            }
            let msg: Vec<u8> = buf[colon + 1..colon + 1 + len].to_vec();
            buf.drain(..colon + 1 + len + 1);
            let Ok(v) = serde_json::from_slice::<Value>(&msg) else {
                continue;
            };
            let (lock, cv) = &*events;
            if let Ok(mut ev) = lock.lock() {
                if v["response"] == true {
                    ev.responses.push(v);
                } else if v["event"] == true {
                    ev.all.push(v.clone());
                    ev.queue.push_back(v);
                }
            }
            cv.notify_all();
        }
    }
    let (lock, cv) = &*events;
    if let Ok(mut ev) = lock.lock() {
        ev.closed = true;
    }
    cv.notify_all();
}
