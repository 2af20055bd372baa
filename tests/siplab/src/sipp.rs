//! SIPp (UDP/TCP only: Debian 12's build has no TLS) as a load generator and a simple UAS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::proc::{tail, Proc};

/// UAC scenario: INVITE with a PCMU offer, then ACK and BYE sent along the Record-Route set
/// (`rrs="true"`, `[routes]`, `[next_url]`), so in-dialog requests go through Kamailio. SIPp's
/// built-in `uac` scenario sends ACK/BYE without Route headers, which a loose-routing proxy
/// cannot relay.
const UAC_XML: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="siplab uac">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]siplab[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv response="100" optional="true"></recv>
  <recv response="180" optional="true"></recv>
  <recv response="183" optional="true"></recv>
  <recv response="200" rtd="true" rrs="true"></recv>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]siplab[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <pause/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]siplab[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"></recv>
</scenario>
"#;

/// UAS scenario: answers an INVITE (180, 200 with a PCMU answer), copying the Record-Route set
/// into its responses so the caller's ACK/BYE come back through the proxy, then answers the BYE.
const UAS_XML: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="siplab uas">
  <recv request="INVITE" crlf="true"></recv>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]siplab[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]siplab[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv request="ACK" rtd="true" crlf="true"></recv>
  <recv request="BYE"></recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
</scenario>
"#;

/// A UAC run: `calls` calls to `user` through `target`, at `rate` calls per second.
#[derive(Clone, Debug)]
pub struct SippUac {
    /// Where to send (Kamailio's UDP or TCP listener).
    pub target: SocketAddr,
    /// The R-URI user (`-s`), e.g. a registered baresip user.
    pub user: String,
    /// Number of calls (`-m`).
    pub calls: u32,
    /// Calls per second (`-r`).
    pub rate: u32,
    /// Time between ACK and BYE (`-d`).
    pub call_duration: Duration,
    /// Use TCP instead of UDP.
    pub tcp: bool,
    /// Give up after this long (`-timeout`); the run then counts as failed.
    pub timeout: Duration,
}

impl SippUac {
    /// `calls` calls to `user` via `target` over UDP, 5 per second, 500 ms each, 30 s timeout.
    pub fn new(target: SocketAddr, user: &str, calls: u32) -> SippUac {
        SippUac {
            target,
            user: user.to_string(),
            calls,
            rate: 5,
            call_duration: Duration::from_millis(500),
            tcp: false,
            timeout: Duration::from_secs(30),
        }
    }

    /// Runs SIPp to completion in `dir` (created if missing; scenario, statistics and log land
    /// there) and reports the outcome. Errors only when SIPp could not run at all.
    pub fn run(&self, dir: &Path) -> anyhow::Result<SippResult> {
        std::fs::create_dir_all(dir)?;
        let scenario = dir.join("uac.xml");
        std::fs::write(&scenario, UAC_XML)?;
        let mut cmd = base_command(dir, &scenario, self.tcp);
        cmd.arg(self.target.to_string())
            .args(["-s", &self.user])
            .args(["-m", &self.calls.to_string()])
            .args(["-r", &self.rate.to_string()])
            .args(["-d", &self.call_duration.as_millis().to_string()])
            .args(["-timeout", &format!("{}s", self.timeout.as_secs().max(1))]);
        let mut proc = Proc::spawn("sipp-uac", cmd, &dir.join("sipp.log"))?;
        let deadline = Instant::now() + self.timeout + Duration::from_secs(10);
        while proc.running() {
            if Instant::now() >= deadline {
                proc.stop(Duration::from_secs(2));
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = proc.exit_status();
        let log = proc.log();
        proc.stop(Duration::from_secs(1));
        result(dir, status, log)
    }
}

/// A SIPp UAS answering calls on 127.0.0.1:port (UDP, or TCP) in the background; killed on drop.
pub struct SippUas {
    dir: PathBuf,
    proc: Proc,
    port: u16,
    tcp: bool,
}

impl SippUas {
    /// Starts the UAS on 127.0.0.1:`port`, answering up to `calls` calls (then it exits).
    /// Its files (scenario, statistics, log) go to `dir`.
    pub fn start(dir: &Path, port: u16, calls: u32, tcp: bool) -> anyhow::Result<SippUas> {
        std::fs::create_dir_all(dir)?;
        let scenario = dir.join("uas.xml");
        std::fs::write(&scenario, UAS_XML)?;
        let mut cmd = base_command(dir, &scenario, tcp);
        cmd.args(["-p", &port.to_string()])
            .args(["-m", &calls.to_string()]);
        let mut proc = Proc::spawn("sipp-uas", cmd, &dir.join("sipp.log"))?;
        // SIPp binds at once; give it a moment and catch immediate failures (port in use, ...).
        std::thread::sleep(Duration::from_millis(300));
        if let Some(status) = proc.exit_status() {
            bail!("SIPp UAS failed to start ({status}):\n{}", tail(&proc.log(), 20));
        }
        Ok(SippUas {
            dir: dir.to_path_buf(),
            proc,
            port,
            tcp,
        })
    }

    /// `sip:127.0.0.1:port` (with `;transport=tcp` for TCP), e.g. for
    /// [`crate::KamailioOptions::static_routes`].
    pub fn uri(&self) -> String {
        let transport = if self.tcp { ";transport=tcp" } else { "" };
        format!("sip:127.0.0.1:{}{transport}", self.port)
    }

    /// Waits (bounded) for the UAS to finish its calls and reports the outcome; on timeout it is
    /// stopped and whatever statistics it wrote are returned.
    pub fn wait(mut self, timeout: Duration) -> anyhow::Result<SippResult> {
        let deadline = Instant::now() + timeout;
        while self.proc.running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = self.proc.exit_status();
        self.proc.stop(Duration::from_secs(1));
        result(&self.dir, status, self.proc.log())
    }
}

/// Outcome of a SIPp run.
#[derive(Clone, Debug)]
pub struct SippResult {
    /// Calls that completed the scenario (`SuccessfulCall(C)` of the statistics file).
    pub successful: u32,
    /// Calls that failed (`FailedCall(C)`).
    pub failed: u32,
    /// How SIPp exited (0: all calls succeeded, 1: some failed, 97/99: stopped otherwise), or
    /// None when it had to be killed.
    pub exit: Option<String>,
    /// SIPp's screen output and errors, for failure messages.
    pub log: String,
}

fn base_command(dir: &Path, scenario: &Path, tcp: bool) -> Command {
    let mut cmd = Command::new("sipp");
    cmd.current_dir(dir)
        .arg("-sf")
        .arg(scenario)
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-mp", &crate::free_port_pair().to_string()])
        .args(["-t", if tcp { "t1" } else { "u1" }])
        .args(["-nostdin", "-trace_err", "-trace_stat", "-fd", "1"])
        .arg("-stf")
        .arg(dir.join("stats.csv"));
    cmd
}

fn result(dir: &Path, exit: Option<String>, log: String) -> anyhow::Result<SippResult> {
    let stats = std::fs::read_to_string(dir.join("stats.csv")).context("SIPp wrote no statistics")?;
    let lines: Vec<&str> = stats.lines().filter(|l| !l.trim().is_empty()).collect();
    let header: Vec<&str> = lines.first().copied().unwrap_or_default().split(';').collect();
    // The last line is the final dump SIPp writes on exit.
    let last: Vec<&str> = lines.last().copied().unwrap_or_default().split(';').collect();
    let field = |name: &str| -> u32 {
        header
            .iter()
            .position(|h| *h == name)
            .and_then(|i| last.get(i))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    Ok(SippResult {
        successful: field("SuccessfulCall(C)"),
        failed: field("FailedCall(C)"),
        exit,
        log,
    })
}
