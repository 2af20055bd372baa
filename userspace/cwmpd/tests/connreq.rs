//! The Connection Request server (TR-069 §3.2.2) against curl, the test ACS's Connection
//! Request client and hand-made requests: good and bad credentials, Basic refused, wrong path
//! and method, the rate limit, coalescing of triggers, credentials changed live, the
//! connection bound, slow clients, nonce replay and stale nonces. Everything is on 127.0.0.1
//! with short limits, and every wait is bounded.

use std::time::{Duration, Instant};

use cwmpd::connreq::{self, ConnReqConfig, ConnectionRequestUrl};
use httpwire::{BufferedStream, Credentials, RequestHead, ResponseHead};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const USER: &str = "acs-user";
const PASS: &str = "s3cret pw";
const PATH: &str = "/0123456789abcdef0123456789abcdef";
/// Bound on any single exchange in these tests.
const LIMIT: Duration = Duration::from_secs(5);

struct Server {
    port: u16,
    config: watch::Sender<ConnReqConfig>,
    triggers: mpsc::Receiver<()>,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(config: ConnReqConfig, capacity: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (config, config_rx) = watch::channel(config);
        let (trigger, triggers) = mpsc::channel(capacity);
        let task = tokio::spawn(connreq::serve(listener, config_rx, trigger));
        Server {
            port,
            config,
            triggers,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        ConnectionRequestUrl::new([127, 0, 0, 1].into(), self.port, path).to_string()
    }

    /// A Connection Request by the test ACS's client.
    async fn acs(&self, user: &str, pass: &str) -> u16 {
        acs::connection_request(&self.url(PATH), user, pass, LIMIT)
            .await
            .unwrap()
    }

    /// Triggers received so far (without waiting: a trigger is sent before the response).
    fn drain(&mut self) -> usize {
        let mut n = 0;
        while self.triggers.try_recv().is_ok() {
            n += 1;
        }
        n
    }

    async fn connect(&self) -> BufferedStream<TcpStream> {
        BufferedStream::new(TcpStream::connect(("127.0.0.1", self.port)).await.unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn config() -> ConnReqConfig {
    ConnReqConfig {
        header_timeout: Duration::from_secs(2),
        ..ConnReqConfig::new(USER, PASS, PATH)
    }
}

fn get(target: &str) -> RequestHead {
    let mut head = RequestHead::new("GET", target).unwrap();
    head.headers_mut().append("Host", "127.0.0.1").unwrap();
    head
}

/// Sends `head` and reads the response head (all responses of the server have empty bodies).
async fn exchange(conn: &mut BufferedStream<TcpStream>, head: &RequestHead) -> ResponseHead {
    tokio::time::timeout(LIMIT, async {
        httpwire::write_request(conn, head, b"").await.unwrap();
        httpwire::read_response_head(conn).await.unwrap()
    })
    .await
    .expect("response in time")
}

/// Sends raw bytes on a new connection and returns everything the server sends until it
/// closes the connection.
async fn raw(port: u16, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(LIMIT, tcp.read_to_end(&mut out))
        .await
        .expect("server closes in time")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// The Authorization value answering the strongest challenge of `resp` with nonce-count `nc`.
fn answer(resp: &ResponseHead, user: &str, pass: &str, uri: &str, nc: u32) -> String {
    let challenges = httpwire::auth::digest_challenges(resp);
    let challenge = sipdigest::strongest(&challenges).expect("a digest challenge");
    let creds = Credentials {
        username: user.into(),
        password: pass.into(),
    };
    sipdigest::respond(challenge, &creds, "GET", uri, nc, "0a4f113b")
        .unwrap()
        .header_value
}

/// curl's HTTP status for `args` + the URL, or `None` when curl is not installed.
async fn curl(args: &[&str], url: &str) -> Option<u16> {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"])
        .args(args)
        .arg(url)
        .output()
        .await;
    match out {
        Ok(out) => Some(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("curl not installed: curl checks skipped");
            None
        }
        Err(e) => panic!("curl: {e}"),
    }
}

#[tokio::test]
async fn curl_digest_basic_path_and_method() {
    let mut s = Server::start(config(), 16).await;
    let url = s.url(PATH);
    let good = format!("{USER}:{PASS}");
    let bad = format!("{USER}:wrong");
    let Some(status) = curl(&["--digest", "-u", &good], &url).await else {
        return;
    };
    assert_eq!(status, 200);
    assert_eq!(s.drain(), 1);
    assert_eq!(curl(&["--digest", "-u", &bad], &url).await, Some(401));
    // The right password, but in clear: refused, and answered with a digest challenge only.
    assert_eq!(curl(&["--basic", "-u", &good], &url).await, Some(401));
    assert_eq!(
        curl(
            &["--digest", "-u", &good],
            &s.url("/0123456789abcdef0123456789abcdee")
        )
        .await,
        Some(404)
    );
    assert_eq!(curl(&["--digest", "-u", &good], &s.url("/")).await, Some(404));
    assert_eq!(
        curl(&["--digest", "-u", &good, "-X", "POST", "-d", "x"], &url).await,
        Some(405)
    );
    assert_eq!(curl(&["--digest", "-u", &good, "-I"], &url).await, Some(405));
    assert_eq!(s.drain(), 0, "only the first request was accepted");
}

#[tokio::test]
async fn acs_good_and_bad_credentials() {
    let mut s = Server::start(config(), 1).await;
    assert_eq!(s.acs(USER, PASS).await, 200);
    assert_eq!(s.drain(), 1, "exactly one trigger");
    assert_eq!(s.acs(USER, "wrong").await, 401);
    assert_eq!(s.acs("someone", PASS).await, 401);
    assert_eq!(s.acs("", "").await, 401);
    assert_eq!(s.drain(), 0, "no trigger for refused requests");
}

#[tokio::test]
async fn no_password_refuses_everything() {
    let mut s = Server::start(ConnReqConfig::new("", "", PATH), 1).await;
    assert_eq!(s.acs("", "").await, 401);
    assert_eq!(s.acs("x", "y").await, 401);
    // A user name alone is no secret either.
    s.config.send_modify(|c| c.username = USER.into());
    assert_eq!(s.acs(USER, "").await, 401);
    assert_eq!(s.drain(), 0);
    // Once the ACS sets a password, it applies at once.
    s.config.send_modify(|c| c.password = PASS.into());
    assert_eq!(s.acs(USER, PASS).await, 200);
    assert_eq!(s.drain(), 1);
}

#[tokio::test]
async fn credentials_change_live() {
    let mut s = Server::start(config(), 4).await;
    assert_eq!(s.acs(USER, PASS).await, 200);
    s.config.send_modify(|c| {
        c.username = "new-user".into();
        c.password = "new-pass".into();
    });
    assert_eq!(s.acs(USER, PASS).await, 401);
    assert_eq!(s.acs("new-user", "new-pass").await, 200);
    assert_eq!(s.drain(), 2);
    // The path too.
    s.config.send_modify(|c| c.path = "/other".into());
    assert_eq!(s.acs("new-user", "new-pass").await, 404);
    let url = s.url("/other");
    assert_eq!(
        acs::connection_request(&url, "new-user", "new-pass", LIMIT)
            .await
            .unwrap(),
        200
    );
    assert_eq!(s.drain(), 1);
}

#[tokio::test]
async fn rate_limit_then_window_reopens() {
    let window = Duration::from_secs(1);
    let cfg = ConnReqConfig {
        rate: (3, window),
        ..config()
    };
    let mut s = Server::start(cfg, 16).await;
    let start = Instant::now();
    for _ in 0..3 {
        assert_eq!(s.acs(USER, PASS).await, 200);
    }
    // The 4th, by hand to see the Retry-After.
    let mut conn = s.connect().await;
    let challenge = exchange(&mut conn, &get(PATH)).await;
    assert_eq!(challenge.status(), 401);
    let mut req = get(PATH);
    let auth = answer(&challenge, USER, PASS, PATH, 1);
    req.headers_mut().append("Authorization", &auth).unwrap();
    let resp = exchange(&mut conn, &req).await;
    assert!(
        start.elapsed() < window,
        "the test machine is too slow for this window"
    );
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers().get("retry-after"), Some("1"));
    // Wrong credentials are told so even when the budget is used up, and cost nothing.
    assert_eq!(s.acs(USER, "wrong").await, 401);
    assert_eq!(s.drain(), 3, "no trigger beyond the limit");

    tokio::time::sleep(window.saturating_sub(start.elapsed()) + Duration::from_millis(50)).await;
    assert_eq!(s.acs(USER, PASS).await, 200);
    assert_eq!(s.drain(), 1);
}

#[tokio::test]
async fn zero_rate_refuses_with_503() {
    let cfg = ConnReqConfig {
        rate: (0, Duration::from_secs(30)),
        ..config()
    };
    let mut s = Server::start(cfg, 1).await;
    assert_eq!(s.acs(USER, PASS).await, 503);
    assert_eq!(s.drain(), 0);
}

#[tokio::test]
async fn requests_coalesce_while_a_session_is_pending() {
    let mut s = Server::start(config(), 1).await;
    assert_eq!(s.acs(USER, PASS).await, 200);
    // The agent has not taken the first trigger yet: the channel is full.
    assert_eq!(s.acs(USER, PASS).await, 200);
    assert_eq!(s.acs(USER, PASS).await, 200);
    assert_eq!(s.drain(), 1, "one pending session for all three");
    assert_eq!(s.acs(USER, PASS).await, 200);
    assert_eq!(s.drain(), 1);
}

#[tokio::test]
async fn agent_gone_gives_503() {
    let mut s = Server::start(config(), 1).await;
    s.triggers.close();
    assert_eq!(s.acs(USER, PASS).await, 503);
}

#[tokio::test]
async fn nonce_count_replay_refused_and_keep_alive() {
    let mut s = Server::start(config(), 16).await;
    let mut conn = s.connect().await;
    let challenge = exchange(&mut conn, &get(PATH)).await;
    assert_eq!(challenge.status(), 401);
    assert_eq!(challenge.headers().get("content-length"), Some("0"));

    let mut req = get(PATH);
    req.headers_mut()
        .append("Authorization", &answer(&challenge, USER, PASS, PATH, 1))
        .unwrap();
    // Same connection: the 401 kept it open.
    assert_eq!(exchange(&mut conn, &req).await.status(), 200);
    assert_eq!(s.drain(), 1);
    // The same request again, on this connection and on another: a replay.
    let replay = exchange(&mut conn, &req).await;
    assert_eq!(replay.status(), 401);
    assert!(httpwire::auth::digest_challenges(&replay)
        .iter()
        .all(|c| !c.stale));
    let mut other = s.connect().await;
    assert_eq!(exchange(&mut other, &req).await.status(), 401);
    assert_eq!(s.drain(), 0);
    // The next nonce-count is fine.
    let mut next = get(PATH);
    next.headers_mut()
        .append("Authorization", &answer(&challenge, USER, PASS, PATH, 2))
        .unwrap();
    assert_eq!(exchange(&mut other, &next).await.status(), 200);
    assert_eq!(s.drain(), 1);
    // An answer for another URI is not accepted for this one.
    let mut moved = get(PATH);
    moved
        .headers_mut()
        .append("Authorization", &answer(&challenge, USER, PASS, "/elsewhere", 3))
        .unwrap();
    assert_eq!(exchange(&mut other, &moved).await.status(), 401);
}

#[tokio::test]
async fn expired_nonce_is_stale() {
    let cfg = ConnReqConfig {
        nonce_lifetime: Duration::from_millis(200),
        ..config()
    };
    let mut s = Server::start(cfg, 1).await;
    let mut conn = s.connect().await;
    let challenge = exchange(&mut conn, &get(PATH)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut req = get(PATH);
    req.headers_mut()
        .append("Authorization", &answer(&challenge, USER, PASS, PATH, 1))
        .unwrap();
    let stale = exchange(&mut conn, &req).await;
    assert_eq!(stale.status(), 401);
    let fresh = httpwire::auth::digest_challenges(&stale);
    assert!(!fresh.is_empty() && fresh.iter().all(|c| c.stale));
    // A wrong password over an expired nonce is just wrong, not stale.
    let mut bad = get(PATH);
    bad.headers_mut()
        .append("Authorization", &answer(&challenge, USER, "wrong", PATH, 2))
        .unwrap();
    let denied = exchange(&mut conn, &bad).await;
    assert!(httpwire::auth::digest_challenges(&denied)
        .iter()
        .all(|c| !c.stale));
    // The new nonce works.
    let mut retry = get(PATH);
    retry
        .headers_mut()
        .append("Authorization", &answer(&stale, USER, PASS, PATH, 1))
        .unwrap();
    assert_eq!(exchange(&mut conn, &retry).await.status(), 200);
    assert_eq!(s.drain(), 1);
}

#[tokio::test]
async fn too_many_connections_are_closed() {
    let cfg = ConnReqConfig {
        max_connections: 2,
        header_timeout: Duration::from_secs(5),
        ..config()
    };
    let mut s = Server::start(cfg, 4).await;
    let first = s.connect().await;
    let _second = s.connect().await;
    // Let the server accept both before the third.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(1), third.read(&mut buf))
        .await
        .expect("the third connection is closed at once")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    // A free slot is usable again.
    drop(first);
    let deadline = Instant::now() + LIMIT;
    loop {
        match acs::connection_request(&s.url(PATH), USER, PASS, Duration::from_secs(1)).await {
            Ok(200) => break,
            other => {
                assert!(Instant::now() < deadline, "slot never freed: {other:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert_eq!(s.drain(), 1);
}

#[tokio::test]
async fn slow_loris_and_idle_connections_are_closed() {
    let cfg = ConnReqConfig {
        header_timeout: Duration::from_millis(300),
        ..config()
    };
    let s = Server::start(cfg, 1).await;
    // A head trickling in, a byte every 50 ms: cut at the header timeout with a 408.
    let tcp = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    let (mut rd, mut wr) = tcp.into_split();
    let start = Instant::now();
    let trickle = tokio::spawn(async move {
        let head = format!("GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
        wr.write_all(head.as_bytes()).await.ok();
        for _ in 0..200 {
            if wr.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut out = Vec::new();
    tokio::time::timeout(LIMIT, rd.read_to_end(&mut out))
        .await
        .expect("slow client cut")
        .ok();
    let elapsed = start.elapsed();
    trickle.abort();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 408 "), "{out}");

    // An idle connection (nothing sent, or after a response) is closed without a word.
    let start = Instant::now();
    assert_eq!(raw(s.port, b"").await, "");
    assert!(start.elapsed() < Duration::from_secs(2));
    let mut conn = s.connect().await;
    assert_eq!(exchange(&mut conn, &get(PATH)).await.status(), 401);
    let mut rest = Vec::new();
    tokio::time::timeout(LIMIT, conn.get_mut().read_to_end(&mut rest))
        .await
        .expect("idle keep-alive connection closed")
        .unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn malformed_and_odd_requests() {
    let mut s = Server::start(config(), 1).await;
    // A body on the GET: refused, connection closed.
    let req = format!("GET {PATH} HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    assert!(raw(s.port, req.as_bytes()).await.starts_with("HTTP/1.1 400 "));
    let req = format!("GET {PATH} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert!(raw(s.port, req.as_bytes()).await.starts_with("HTTP/1.1 400 "));
    // A POST with a body on the right path: 405, Allow, closed.
    let req = format!("POST {PATH} HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    let out = raw(s.port, req.as_bytes()).await;
    assert!(
        out.starts_with("HTTP/1.1 405 ") && out.contains("Allow: GET"),
        "{out}"
    );
    // Garbage, bare LF, a huge head, an unknown version.
    assert!(
        raw(s.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")
            .await
            .starts_with("HTTP/1.1 400 ")
    );
    let req = format!("GET {PATH} HTTP/1.1\nHost: h\n\n");
    assert!(raw(s.port, req.as_bytes()).await.starts_with("HTTP/1.1 400 "));
    let huge = format!(
        "GET {PATH} HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    assert!(raw(s.port, huge.as_bytes()).await.starts_with("HTTP/1.1 431 "));
    let req = format!("GET {PATH} HTTP/2.0\r\nHost: h\r\n\r\n");
    assert!(raw(s.port, req.as_bytes()).await.starts_with("HTTP/1.1 505 "));
    // HTTP/1.0 without keep-alive: answered and closed.
    let req = format!("GET {PATH} HTTP/1.0\r\n\r\n");
    let out = raw(s.port, req.as_bytes()).await;
    assert!(
        out.starts_with("HTTP/1.1 401 ") && out.contains("Connection: close"),
        "{out}"
    );
    // A query string does not change the path; the digest covers the whole target.
    let target = format!("{PATH}?x=1");
    let mut conn = s.connect().await;
    let challenge = exchange(&mut conn, &get(&target)).await;
    assert_eq!(challenge.status(), 401);
    let mut req = get(&target);
    req.headers_mut()
        .append("Authorization", &answer(&challenge, USER, PASS, &target, 1))
        .unwrap();
    assert_eq!(exchange(&mut conn, &req).await.status(), 200);
    assert_eq!(s.drain(), 1);
}

#[tokio::test]
async fn aborting_serve_closes_its_connections() {
    let s = Server::start(config(), 1).await;
    let mut conn = s.connect().await;
    assert_eq!(exchange(&mut conn, &get(PATH)).await.status(), 401);
    s.task.abort();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(1), conn.get_mut().read_to_end(&mut rest))
        .await
        .expect("connection closed with the server")
        .ok();
    assert!(rest.is_empty());
}
