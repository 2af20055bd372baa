//! The async helpers and the client over real sockets, against curl and a Python server, and
//! against a server built from `DigestServer` with the client's answers checked by `sipdigest`.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use httpwire::{
    read_body_to_vec, read_request, read_response_head, write_request, write_response, Algorithm,
    BodyFraming, BufferedStream, Client, Credentials, DigestServer, DigestVerdict, HttpError, RequestHead,
    ResponseHead, READ_CHUNK,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn creds(user: &str, pw: &str) -> Credentials {
    Credentials {
        username: user.into(),
        password: pw.into(),
    }
}

/// What the test server saw: every `Authorization` value, and the `Cookie` values.
#[derive(Default)]
struct Seen {
    authorizations: Vec<String>,
    cookies: Vec<Option<String>>,
}

/// A small application server: Digest-protected, sets a cookie, redirects `/redirect`, closes
/// after `/close`, echoes method and body length otherwise.
async fn digest_app(server: DigestServer, user: Credentials) -> (u16, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = Arc::new(Mutex::new(server));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (server, seen, user) = (server.clone(), seen2.clone(), user.clone());
            tokio::spawn(async move {
                let _ = serve_conn(tcp, server, seen, user).await;
            });
        }
    });
    (port, seen)
}

async fn serve_conn(
    tcp: TcpStream,
    server: Arc<Mutex<DigestServer>>,
    seen: Arc<Mutex<Seen>>,
    user: Credentials,
) -> Result<(), HttpError> {
    let mut conn = BufferedStream::new(tcp);
    while let Some(req) = read_request(&mut conn).await? {
        let body = read_body_to_vec(&mut conn, req.body_framing()?, 1 << 20).await?;
        if let Some(a) = req.headers().get("authorization") {
            seen.lock().unwrap().authorizations.push(a.to_owned());
        }
        let verdict = server.lock().unwrap().verify(&req, &user, Instant::now());
        let (mut resp, out) = match verdict {
            DigestVerdict::Authorized { username } => {
                seen.lock()
                    .unwrap()
                    .cookies
                    .push(req.headers().get("cookie").map(str::to_owned));
                match req.target() {
                    "/redirect" => {
                        let mut r = ResponseHead::new(302)?;
                        r.headers_mut().append("Location", "/moved")?;
                        (r, Vec::new())
                    }
                    "/close" => {
                        let mut r = ResponseHead::new(200)?;
                        r.headers_mut().append("Connection", "close")?;
                        (r, b"bye".to_vec())
                    }
                    _ => {
                        let mut r = ResponseHead::new(200)?;
                        r.headers_mut()
                            .append("Set-Cookie", "sid=s3ss10n; Path=/; HttpOnly")?;
                        (
                            r,
                            format!("hello {username} {} {}", req.method(), body.len()).into_bytes(),
                        )
                    }
                }
            }
            DigestVerdict::Stale => (
                server.lock().unwrap().unauthorized(Instant::now(), true)?,
                Vec::new(),
            ),
            DigestVerdict::Denied(_) => (
                server.lock().unwrap().unauthorized(Instant::now(), false)?,
                Vec::new(),
            ),
        };
        let close = !req.keep_alive() || resp.headers().has_token("connection", "close");
        if resp.status() == 401 {
            // Content-Length: 0 is already there; curl reuses the connection for its retry.
            resp.headers_mut().set("Content-Length", "0")?;
        }
        write_response(&mut conn, &resp, &out).await?;
        if close {
            break;
        }
    }
    Ok(())
}

async fn curl(args: &[&str]) -> (String, String) {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--http1.1", "--max-time", "20"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("curl runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn curl_digest_against_digest_server() {
    for (algs, expect) in [
        (vec![Algorithm::Sha256, Algorithm::Md5], Algorithm::Sha256),
        (vec![Algorithm::Md5], Algorithm::Md5),
    ] {
        let server = DigestServer::new("dgw connection request")
            .unwrap()
            .with_algorithms(&algs)
            .unwrap();
        let (port, seen) = digest_app(server, creds("acs", "pa ss\"word")).await;
        let url = format!("http://127.0.0.1:{port}/cr?id=42");
        let (out, err) = curl(&["--digest", "-u", "acs:pa ss\"word", "-w", "\n%{http_code}", &url]).await;
        assert_eq!(out, "hello acs GET 0\n200", "curl stderr: {err}");
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.authorizations.len(), 1);
            let auth = sipdigest::Authorization::parse(&seen.authorizations[0]).unwrap();
            assert_eq!(auth.algorithm, expect);
            assert_eq!(auth.uri, "/cr?id=42");
        }
        let (out, err) = curl(&[
            "--digest",
            "-u",
            "acs:wrong",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url,
        ])
        .await;
        assert_eq!(out, "401", "curl stderr: {err}");
        // Two requests on one connection: the second reuses the nonce with nc=2 (or gets a
        // fresh challenge); both must succeed.
        let (out, err) = curl(&[
            "--digest",
            "-u",
            "acs:pa ss\"word",
            "-w",
            " %{http_code}\n",
            &url,
            &url,
        ])
        .await;
        assert_eq!(
            out, "hello acs GET 0 200\nhello acs GET 0 200\n",
            "curl stderr: {err}"
        );
    }
}

#[tokio::test]
async fn curl_chunked_upload_to_read_request() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut conn = BufferedStream::new(tcp);
        let req = read_request(&mut conn).await.unwrap().unwrap();
        let framing = req.body_framing().unwrap();
        let body = read_body_to_vec(&mut conn, framing, 1 << 20).await.unwrap();
        let mut resp = ResponseHead::new(200).unwrap();
        resp.headers_mut().append("Connection", "close").unwrap();
        write_response(&mut conn, &resp, format!("{} bytes", body.len()).as_bytes())
            .await
            .unwrap();
        (req.method().to_owned(), framing, body)
    });
    let url = format!("http://127.0.0.1:{port}/upload");
    let dir = std::env::temp_dir().join(format!("httpwire-upload-{}", std::process::id()));
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&dir, &data).unwrap();
    let (out, err) = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &format!("@{}", dir.display()),
        &url,
    ])
    .await;
    std::fs::remove_file(&dir).unwrap();
    assert_eq!(out, "200000 bytes", "{err}");
    let (method, framing, body) = server.await.unwrap();
    assert_eq!((method.as_str(), framing), ("POST", BodyFraming::Chunked));
    assert_eq!(body, data);
}

#[tokio::test]
async fn client_digest_keepalive_cookies_redirect_close() {
    let server = DigestServer::new("cpe").unwrap();
    let (port, seen) = digest_app(server, creds("cpe-user", "s3cret")).await;
    let host = format!("127.0.0.1:{port}");
    let request = |method: &str, target: &str| {
        let mut h = RequestHead::new(method, target).unwrap();
        h.headers_mut().append("Host", &host).unwrap();
        h
    };
    let mut client = Client::new(TcpStream::connect(&host).await.unwrap());
    client.set_credentials(creds("cpe-user", "s3cret"));

    let r = client.send(&request("GET", "/a?b=c"), b"").await.unwrap();
    assert_eq!(
        (r.status(), r.body.as_slice()),
        (200, &b"hello cpe-user GET 0"[..])
    );
    let r = client.send(&request("POST", "/cwmp"), b"<soap/>").await.unwrap();
    assert_eq!(r.body, b"hello cpe-user POST 7");
    let r = client.send(&request("GET", "/redirect"), b"").await.unwrap();
    assert_eq!((r.status(), r.location()), (302, Some("/moved")));
    assert!(!client.is_closed());
    let r = client.send(&request("GET", "/close"), b"").await.unwrap();
    assert_eq!(r.body, b"bye");
    assert!(client.is_closed());
    assert!(matches!(
        client.send(&request("GET", "/"), b"").await,
        Err(HttpError::ConnectionClosed)
    ));
    client.reconnect(TcpStream::connect(&host).await.unwrap());
    let r = client.send(&request("GET", "/again"), b"").await.unwrap();
    assert_eq!(r.status(), 200);

    let seen = seen.lock().unwrap();
    // One answer per request: only the first request was challenged.
    assert_eq!(seen.authorizations.len(), 5);
    let targets = ["/a?b=c", "/cwmp", "/redirect", "/close", "/again"];
    let methods = ["GET", "POST", "GET", "GET", "GET"];
    for (i, a) in seen.authorizations.iter().enumerate() {
        // Checked independently of the DigestServer, with sipdigest's verifier.
        let auth = sipdigest::Authorization::parse(a).unwrap();
        assert!(auth.verify("s3cret", methods[i]), "{a}");
        assert!(!auth.verify("other", methods[i]));
        assert_eq!(auth.uri, targets[i]);
        assert_eq!(auth.algorithm, Algorithm::Sha256);
        assert_eq!(auth.nc.as_deref(), Some(format!("{:08x}", i + 1).as_str()));
        assert_eq!(auth.qop.as_deref(), Some("auth"));
    }
    // The cookie set by the first 200 came back on every later request, across the reconnect.
    assert_eq!(seen.cookies[0], None);
    assert!(seen.cookies[1..]
        .iter()
        .all(|c| c.as_deref() == Some("sid=s3ss10n")));
}

#[tokio::test]
async fn client_wrong_password_and_stale_nonce() {
    let server = DigestServer::new("cpe")
        .unwrap()
        .with_nonce_lifetime(Duration::from_millis(300));
    let (port, seen) = digest_app(server, creds("u", "right")).await;
    let host = format!("127.0.0.1:{port}");
    let mut req = RequestHead::new("GET", "/").unwrap();
    req.headers_mut().append("Host", &host).unwrap();

    let mut client = Client::new(TcpStream::connect(&host).await.unwrap());
    client.set_credentials(creds("u", "wrong"));
    let r = client.send(&req, b"").await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(seen.lock().unwrap().authorizations.len(), 1, "one retry only");

    client.set_credentials(creds("u", "right"));
    assert_eq!(client.send(&req, b"").await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The nonce expired: the server says stale, the client answers the new nonce at once.
    assert_eq!(client.send(&req, b"").await.unwrap().status(), 200);
    let seen = seen.lock().unwrap();
    let last = sipdigest::Authorization::parse(seen.authorizations.last().unwrap()).unwrap();
    let before =
        sipdigest::Authorization::parse(&seen.authorizations[seen.authorizations.len() - 2]).unwrap();
    assert_ne!(last.nonce, before.nonce);
    assert_eq!(last.nc.as_deref(), Some("00000001"));
}

const PY_SERVER: &str = r#"
import base64, http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Set-Cookie", "py=1; Path=/")
            self.end_headers()
            for part in [b"hello ", b"chunked ", b"world"]:
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Trailer: t\r\n\r\n")
        elif self.path == "/cookie":
            self.reply(200, (self.headers.get("Cookie") or "none").encode())
        elif self.path == "/basic":
            want = "Basic " + base64.b64encode(b"alice:wonder land").decode()
            if self.headers.get("Authorization") != want:
                self.reply(401, b"no", [("WWW-Authenticate", 'Basic realm="py", charset="UTF-8"')])
            else:
                self.reply(200, b"ok")
        elif self.path == "/until-close":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 100000)
            self.close_connection = True
        else:
            self.reply(404, b"")
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

#[tokio::test]
async fn client_against_python_http_server() {
    let mut child = tokio::process::Command::new("python3")
        .args(["-c", PY_SERVER])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    tokio::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .await
        .unwrap();
    let host = format!("127.0.0.1:{}", line.trim());
    let request = |target: &str| {
        let mut h = RequestHead::new("GET", target).unwrap();
        h.headers_mut().append("Host", &host).unwrap();
        h
    };
    let mut client = Client::new(TcpStream::connect(&host).await.unwrap());
    let r = client.send(&request("/chunked"), b"").await.unwrap();
    assert_eq!(r.body, b"hello chunked world");
    let r = client.send(&request("/cookie"), b"").await.unwrap();
    assert_eq!(r.body, b"py=1");
    let r = client.send(&request("/missing"), b"").await.unwrap();
    assert_eq!(r.status(), 404);

    // Basic over plain TCP is not answered unless allowed.
    client.set_credentials(creds("alice", "wonder land"));
    let r = client.send(&request("/basic"), b"").await.unwrap();
    assert_eq!(r.status(), 401);
    let mut client = Client::new(TcpStream::connect(&host).await.unwrap()).allow_basic_without_tls(true);
    client.set_credentials(creds("alice", "wonder land"));
    let r = client.send(&request("/basic"), b"").await.unwrap();
    assert_eq!((r.status(), r.body.as_slice()), (200, &b"ok"[..]));
    assert!(!client.is_closed());

    let r = client.send(&request("/until-close"), b"").await.unwrap();
    assert_eq!(r.body.len(), 100_000);
    assert!(client.is_closed());

    // The body limit is enforced.
    let mut client = Client::new(TcpStream::connect(&host).await.unwrap());
    client.set_body_limit(10);
    assert!(matches!(
        client.send(&request("/chunked"), b"").await,
        Err(HttpError::BodyTooLarge)
    ));
    assert!(client.is_closed());
    child.kill().await.unwrap();
}

/// The download path cwmpd uses: head through `BufferedStream`, then the raw stream for the
/// rest of a Content-Length body (here a read loop standing in for `recv_to_file`), then back
/// to HTTP on the same connection.
#[tokio::test]
async fn into_parts_hands_over_the_body() {
    let body: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let (client_io, mut server_io) = tokio::io::duplex(64 * 1024);
    let body2 = body.clone();
    let server = tokio::spawn(async move {
        let mut conn = BufferedStream::new(&mut server_io);
        let req = read_request(&mut conn).await.unwrap().unwrap();
        assert_eq!(req.target(), "/fw.bin");
        let mut head = ResponseHead::new(200).unwrap();
        head.headers_mut()
            .append("Content-Length", &body2.len().to_string())
            .unwrap();
        // Head, body and the next response in one write, so the client's first read surely
        // takes body bytes along with the head.
        let mut all = head.to_bytes();
        all.extend_from_slice(&body2);
        all.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
        conn.write_all(&all).await.unwrap();
        conn.flush().await.unwrap();
        // Wait for the client to finish.
        let mut rest = Vec::new();
        let _ = conn.read_to_end(&mut rest).await;
    });

    let mut conn = BufferedStream::new(client_io);
    let mut req = RequestHead::new("GET", "/fw.bin").unwrap();
    req.headers_mut().append("Host", "files").unwrap();
    write_request(&mut conn, &req, b"").await.unwrap();
    let resp = read_response_head(&mut conn).await.unwrap();
    let BodyFraming::Length(len) = resp.body_framing("GET").unwrap() else {
        panic!("length expected")
    };
    let (mut raw, already) = conn.into_parts();
    assert!(
        !already.is_empty() && already.len() <= READ_CHUNK,
        "{}",
        already.len()
    );

    let path = std::env::temp_dir().join(format!("httpwire-dl-{}", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    use std::os::unix::fs::FileExt;
    let first = already.len().min(len as usize);
    file.write_all_at(&already[..first], 0).unwrap();
    // Stand-in for TlsStream::recv_to_file(&file, first, len - first): reads at most the limit.
    let mut done = first as u64;
    let mut chunk = vec![0u8; 16 * 1024];
    while done < len {
        let want = ((len - done) as usize).min(chunk.len());
        let n = raw.read(&mut chunk[..want]).await.unwrap();
        assert!(n > 0);
        file.write_all_at(&chunk[..n], done).unwrap();
        done += n as u64;
    }
    drop(file);
    assert_eq!(std::fs::read(&path).unwrap(), body);
    std::fs::remove_file(&path).unwrap();

    // Back to HTTP: the next response is read from the same connection.
    let mut conn = BufferedStream::with_buffered(raw, already[first..].to_vec());
    let next = read_response_head(&mut conn).await.unwrap();
    assert_eq!(next.status(), 204);
    drop(conn);
    server.await.unwrap();
}

#[tokio::test]
async fn helpers_on_duplex_streams() {
    // Requests written in tiny pieces, pipelined, with bodies; then a clean close.
    let (mut a, b) = tokio::io::duplex(1024);
    let writer = tokio::spawn(async move {
        let msgs = b"\r\nPOST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /y HTTP/1.1\r\nHost: h\r\n\r\n\
PUT /z HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
        for piece in msgs.chunks(3) {
            a.write_all(piece).await.unwrap();
            tokio::task::yield_now().await;
        }
    });
    let mut conn = BufferedStream::new(b);
    let mut got = Vec::new();
    while let Some(req) = read_request(&mut conn).await.unwrap() {
        let body = read_body_to_vec(&mut conn, req.body_framing().unwrap(), 100)
            .await
            .unwrap();
        got.push((req.method().to_owned(), req.target().to_owned(), body));
    }
    writer.await.unwrap();
    assert_eq!(
        got,
        vec![
            ("POST".into(), "/x".into(), b"abc".to_vec()),
            ("GET".into(), "/y".into(), vec![]),
            ("PUT".into(), "/z".into(), b"hi".to_vec()),
        ]
    );

    // A close in the middle of a head or body is an error, not a clean end.
    for (data, framing) in [
        (&b"GET / HTTP/1.1\r\nHo"[..], None),
        (&b"abc"[..], Some(BodyFraming::Length(5))),
    ] {
        let (mut a, b) = tokio::io::duplex(1024);
        a.write_all(data).await.unwrap();
        drop(a);
        let mut conn = BufferedStream::new(b);
        let err = match framing {
            None => read_request(&mut conn).await.map(|_| ()).unwrap_err(),
            Some(f) => read_body_to_vec(&mut conn, f, 100).await.map(|_| ()).unwrap_err(),
        };
        assert!(matches!(err, HttpError::UnexpectedEof), "{err:?}");
    }
    // A Content-Length over the limit is refused before reading.
    let (_a, b) = tokio::io::duplex(16);
    let mut conn = BufferedStream::new(b);
    assert!(matches!(
        read_body_to_vec(&mut conn, BodyFraming::Length(101), 100).await,
        Err(HttpError::BodyTooLarge)
    ));
    // Garbage instead of a response.
    let (mut a, b) = tokio::io::duplex(1024);
    a.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await.unwrap();
    let mut conn = BufferedStream::new(b);
    assert!(read_response_head(&mut conn).await.is_err());
}

#[tokio::test]
async fn write_rules() {
    async fn written(
        f: impl AsyncFnOnce(&mut Vec<u8>) -> Result<(), HttpError>,
    ) -> Result<String, HttpError> {
        let mut out = Vec::new();
        f(&mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }
    let mut get = RequestHead::new("GET", "/").unwrap();
    get.headers_mut().append("Host", "h").unwrap();
    assert_eq!(
        written(async |o| write_request(o, &get, b"").await)
            .await
            .unwrap(),
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    );
    let mut post = RequestHead::new("POST", "/").unwrap();
    post.headers_mut().append("Host", "h").unwrap();
    assert_eq!(
        written(async |o| write_request(o, &post, b"").await)
            .await
            .unwrap(),
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        written(async |o| write_request(o, &post, b"xy").await)
            .await
            .unwrap(),
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nxy"
    );
    post.headers_mut().append("Content-Length", "3").unwrap();
    assert!(written(async |o| write_request(o, &post, b"xy").await)
        .await
        .is_err());
    post.headers_mut().set("Transfer-Encoding", "chunked").unwrap();
    post.headers_mut().remove("content-length");
    assert!(written(async |o| write_request(o, &post, b"xy").await)
        .await
        .is_err());

    let ok = ResponseHead::new(200).unwrap();
    assert_eq!(
        written(async |o| write_response(o, &ok, b"hi").await)
            .await
            .unwrap(),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    );
    let no = ResponseHead::new(204).unwrap();
    assert_eq!(
        written(async |o| write_response(o, &no, b"").await)
            .await
            .unwrap(),
        "HTTP/1.1 204 No Content\r\n\r\n"
    );
    assert!(written(async |o| write_response(o, &no, b"x").await)
        .await
        .is_err());
    // A HEAD answer keeps its Content-Length with no body.
    let mut head_answer = ResponseHead::new(200).unwrap();
    head_answer.headers_mut().append("Content-Length", "10").unwrap();
    assert_eq!(
        written(async |o| write_response(o, &head_answer, b"").await)
            .await
            .unwrap(),
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    );
    assert!(written(async |o| write_response(o, &head_answer, b"short").await)
        .await
        .is_err());
    // A large body goes out whole.
    let big = vec![b'z'; 100_000];
    let s = written(async |o| write_response(o, &ok, &big).await)
        .await
        .unwrap();
    assert!(s.ends_with(&"z".repeat(100_000)) && s.contains("Content-Length: 100000\r\n"));
}
