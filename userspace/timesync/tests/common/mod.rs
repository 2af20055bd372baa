//! Test servers on loopback: a private chronyd, and fake SNTP servers that
//! answer however a test wants. Plus a harness around `timesync::run`.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use timesync::{NtpTimestamp, Packet, SimulatedClock, SntpConfig, TimeStatus};
use tokio::sync::watch;

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "timesync-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A UDP port free on both 127.0.0.1 and ::1 right now.
fn free_udp_port() -> u16 {
    for _ in 0..50 {
        let v4 = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = v4.local_addr().unwrap().port();
        if UdpSocket::bind(("::1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free UDP port on loopback");
}

/// chronyd serving its own clock on a private loopback port, as an
/// ordinary child process that never touches the system clock (`-x`).
pub struct Chrony {
    child: Child,
    pub port: u16,
    dir: TempDir,
}

impl Chrony {
    pub fn start() -> Chrony {
        let chronyd = ["/usr/sbin/chronyd", "/sbin/chronyd", "/usr/bin/chronyd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chronyd not found: these tests need Debian's chrony package (apt-get install chrony; scripts/install-deps)");
        for _ in 0..5 {
            let dir = TempDir::new("chrony");
            let port = free_udp_port();
            let conf = dir.0.join("chrony.conf");
            // local stratum 8: serve the host clock with no upstream;
            // cmdport 0 and bindcmdaddress /: no control sockets at all;
            // pid and drift files in the scratch directory.
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbindaddress 127.0.0.1\nbindaddress ::1\nallow 127.0.0.1\nallow ::1\n\
                     local stratum 8\ncmdport 0\nbindcmdaddress /\n\
                     pidfile {d}/chronyd.pid\ndriftfile {d}/drift\n",
                    d = dir.0.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.0.join("chronyd.log")).unwrap();
            // -d: foreground, log to stderr; -x: never set the system clock;
            // -u root: no privilege drop (the scratch directory is root's).
            let child = Command::new(chronyd)
                .args(["-d", "-x", "-u", "root", "-f"])
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn chronyd");
            let mut c = Chrony { child, port, dir };
            if c.wait_ready(Duration::from_secs(5)) {
                return c;
            }
            // Lost a race for the port, or chronyd failed: show why, retry.
            eprintln!("chronyd not ready: {}", c.log());
        }
        panic!("chronyd did not start (root is needed for chronyd)");
    }

    pub fn v4(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn v6(&self) -> String {
        format!("[::1]:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("chronyd.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let req = Packet::client_request(NtpTimestamp(0x1234_5678_9abc_def0)).encode();
            let _ = sock.send_to(&req, ("127.0.0.1", self.port));
            let mut buf = [0u8; 128];
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                if n >= 48 {
                    return true;
                }
            }
        }
        false
    }
}

impl Drop for Chrony {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a fake server answers a request.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// A correct reply from the system clock, stratum 2.
    Good,
    /// No answer at all.
    Silent,
    /// Kiss-o'-Death with this code.
    Kiss(&'static [u8; 4]),
    /// 20 bytes.
    Short,
    /// Mode 3 instead of 4.
    WrongMode,
    /// Origin timestamp not ours.
    WrongOrigin,
    /// Stratum 0 with a reference ID that is no kiss code.
    StratumZero,
    /// Leap indicator 3.
    Leap3,
    /// Transmit timestamp zero.
    ZeroTransmit,
}

/// A fake SNTP server on a loopback port, in its own thread.
pub struct FakeServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    pub fn start(behaviour: Behaviour) -> FakeServer {
        FakeServer::start_on("127.0.0.1:0", behaviour)
    }

    pub fn start_on(bind: &str, behaviour: Behaviour) -> FakeServer {
        let sock = UdpSocket::bind(bind).expect("bind fake server");
        sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let addr = sock.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !s.load(Ordering::SeqCst) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                r.fetch_add(1, Ordering::SeqCst);
                if let Some(reply) = answer(behaviour, &buf[..n]) {
                    let _ = sock.send_to(&reply, peer);
                }
            }
        });
        FakeServer {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `host:port` as the configuration spells it.
    pub fn name(&self) -> String {
        self.addr.to_string()
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(behaviour: Behaviour, request: &[u8]) -> Option<Vec<u8>> {
    let req = Packet::decode(request).ok()?;
    let now = NtpTimestamp::from_system_time(SystemTime::now());
    let mut p = Packet {
        leap: 0,
        version: 4,
        mode: 4,
        stratum: 2,
        poll: req.poll,
        precision: -20,
        root_delay: 0x0000_0800,
        root_dispersion: 0x0000_0800,
        reference_id: [192, 0, 2, 123],
        reference_timestamp: now,
        origin_timestamp: req.transmit_timestamp,
        receive_timestamp: now,
        transmit_timestamp: now,
    };
    match behaviour {
        Behaviour::Good => {}
        Behaviour::Silent => return None,
        Behaviour::Kiss(code) => {
            p.leap = 3;
            p.stratum = 0;
            p.reference_id = *code;
        }
        Behaviour::Short => return Some(p.encode()[..20].to_vec()),
        Behaviour::WrongMode => p.mode = 3,
        Behaviour::WrongOrigin => p.origin_timestamp = NtpTimestamp(req.transmit_timestamp.0.wrapping_add(1)),
        Behaviour::StratumZero => {
            p.stratum = 0;
            p.reference_id = [0, 0, 0, 0];
        }
        Behaviour::Leap3 => p.leap = 3,
        Behaviour::ZeroTransmit => p.transmit_timestamp = NtpTimestamp::ZERO,
    }
    Some(p.encode().to_vec())
}

/// `timesync::run` on a simulated clock, with handles on its config and
/// status.
pub struct Service {
    pub config: watch::Sender<SntpConfig>,
    pub status: watch::Receiver<TimeStatus>,
    pub clock: SimulatedClock,
    task: tokio::task::JoinHandle<()>,
}

impl Service {
    pub fn start(config: SntpConfig, clock: SimulatedClock) -> Service {
        let (config_tx, config_rx) = watch::channel(config);
        let (status_tx, status_rx) = watch::channel(TimeStatus::default());
        let task = tokio::spawn(timesync::run(config_rx, clock.clone(), status_tx));
        Service {
            config: config_tx,
            status: status_rx,
            clock,
            task,
        }
    }

    /// Waits up to `limit` for a status matching `pred`; panics with the
    /// last status otherwise.
    pub async fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl FnMut(&TimeStatus) -> bool,
    ) -> TimeStatus {
        let got = match tokio::time::timeout(limit, self.status.wait_for(pred)).await {
            Ok(Ok(s)) => Some(s.clone()),
            Ok(Err(_)) => panic!("{what}: the service stopped"),
            Err(_) => None,
        };
        got.unwrap_or_else(|| {
            panic!(
                "{what}: not within {limit:?}; status: {:#?}",
                *self.status.borrow()
            )
        })
    }

    /// Drops the configuration sender and waits for `run` to return.
    pub async fn stop(self) {
        drop(self.config);
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("run returns when the configuration sender is dropped")
            .expect("run did not panic");
    }
}

/// A static configuration with a short query timeout, so that tests about
/// silent servers take a fraction of a second.
pub fn quick_config(servers: &[String]) -> SntpConfig {
    SntpConfig {
        query_timeout: Duration::from_millis(300),
        ..SntpConfig::with_static_servers(servers.iter().cloned())
    }
}

/// |a - b|.
pub fn distance(a: SystemTime, b: SystemTime) -> Duration {
    match a.duration_since(b) {
        Ok(d) => d,
        Err(e) => e.duration(),
    }
}
