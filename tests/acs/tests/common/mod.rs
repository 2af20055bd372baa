//! A scripted fake CPE for the ACS's own tests: `cwmp::session::CpeSession` for the CWMP flow,
//! `httpwire::Client` for HTTP (cookies, Basic/Digest), plain TCP or TLS.
#![allow(dead_code)] // Each test binary uses a different part.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use cwmp::session::{CpeSession, Step};
use cwmp::*;
use httpwire::{Client, Credentials, RequestHead, Response, Url};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Every network step of the tests is bounded by this.
pub const STEP: Duration = Duration::from_secs(10);

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub type Stream = Box<dyn Io>;

/// A rustls client trusting `roots` only.
pub fn client_config(roots: rustls::RootCertStore) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Connects to the host and port of `url` (always 127.0.0.1 here), with TLS for https.
pub async fn connect(url: &Url, tls: Option<&Arc<ClientConfig>>) -> std::io::Result<Stream> {
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, url.port())).await?;
    match tls {
        None => Ok(Box::new(tcp)),
        Some(config) => {
            let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
            let s =
                ktls_offload::connect(config.clone(), name, tcp, &ktls_offload::Options::default()).await?;
            Ok(Box::new(s))
        }
    }
}

pub fn creds(user: &str, password: &str) -> Credentials {
    Credentials {
        username: user.into(),
        password: password.into(),
    }
}

pub fn event(code: EventCode) -> Event {
    Event {
        code,
        command_key: String::new(),
    }
}

pub fn inform(serial: &str, events: Vec<Event>) -> Inform {
    Inform {
        device_id: DeviceId {
            manufacturer: "dgw".into(),
            oui: "00256D".into(),
            product_class: "DGW".into(),
            serial_number: serial.into(),
        },
        events,
        max_envelopes: 1,
        current_time: DateTime::from_unix(1_700_000_000).expect("a valid time"),
        retry_count: 0,
        parameters: vec![ParameterValue::new(
            "Device.ManagementServer.ConnectionRequestURL",
            "http://127.0.0.1:7547/cr",
            ValueType::String,
        )],
    }
}

/// Answers from a tiny data model: every name has the value "v-NAME-LENGTH", sets and the
/// rest succeed, transfers are pending.
pub fn default_answer(request: &Envelope) -> Body {
    match &request.body {
        Body::GetParameterValues(names) => Body::GetParameterValuesResponse(
            names
                .iter()
                .map(|n| ParameterValue::new(n, format!("v{}", n.len()), ValueType::String))
                .collect(),
        ),
        Body::SetParameterValues { .. } => Body::SetParameterValuesResponse(Status::Applied),
        Body::GetParameterNames { parameter_path, .. } => {
            Body::GetParameterNamesResponse(vec![ParameterInfo {
                name: format!("{parameter_path}X"),
                writable: true,
            }])
        }
        Body::AddObject { .. } => Body::AddObjectResponse {
            instance_number: 1,
            status: Status::Applied,
        },
        Body::DeleteObject { .. } => Body::DeleteObjectResponse(Status::Applied),
        Body::Reboot { .. } => Body::RebootResponse,
        Body::Download(_) => Body::DownloadResponse(pending()),
        Body::Upload(_) => Body::UploadResponse(pending()),
        Body::GetRpcMethods => Body::GetRpcMethodsResponse(vec!["GetParameterValues".into()]),
        _ => Body::Fault(Fault::new(FaultCode::METHOD_NOT_SUPPORTED)),
    }
}

fn pending() -> TransferResponse {
    TransferResponse {
        status: Status::Pending,
        start_time: DateTime::unknown(),
        complete_time: DateTime::unknown(),
    }
}

/// What a fake CPE session did.
#[derive(Debug, Default)]
pub struct Run {
    /// HTTP status of every response, in order.
    pub statuses: Vec<u16>,
    /// The ACS requests the CPE answered.
    pub requests: Vec<Envelope>,
    /// Why the session failed, if it did.
    pub error: Option<String>,
    /// CPE requests the ACS refused.
    pub failed: Vec<(Body, Fault)>,
}

/// A fake CPE: one device, one ACS URL.
#[derive(Clone)]
pub struct FakeCpe {
    pub url: Url,
    pub serial: String,
    pub credentials: Option<Credentials>,
    pub tls: Option<Arc<ClientConfig>>,
    /// Send back the ACS's cookies (a broken CPE does not).
    pub send_cookies: bool,
    /// Put a SOAPAction header on empty POSTs (forbidden by TR-069 3.4.1).
    pub soapaction_on_empty: bool,
}

impl FakeCpe {
    pub fn new(url: &str) -> FakeCpe {
        FakeCpe {
            url: Url::parse(url).expect("ACS URL"),
            serial: "SN0001".into(),
            credentials: None,
            tls: None,
            send_cookies: true,
            soapaction_on_empty: false,
        }
    }

    /// One session: Inform with `events`, then `queued` CPE requests, then the ACS's requests
    /// answered by `answer`. Bounded by 20 s overall.
    pub async fn session(
        &self,
        events: Vec<Event>,
        queued: Vec<Body>,
        answer: impl FnMut(&Envelope) -> Body,
    ) -> Run {
        let mut run = Run::default();
        let result = tokio::time::timeout(
            Duration::from_secs(20),
            self.drive(&mut run, events, queued, answer),
        )
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => run.error = Some(e),
            Err(_) => run.error = Some("fake CPE session timed out".into()),
        }
        run
    }

    async fn drive(
        &self,
        run: &mut Run,
        events: Vec<Event>,
        queued: Vec<Body>,
        mut answer: impl FnMut(&Envelope) -> Body,
    ) -> Result<(), String> {
        let stream = connect(&self.url, self.tls.as_ref())
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let mut client = Client::new(stream)
            .secure(self.tls.is_some())
            .allow_basic_without_tls(true);
        if let Some(c) = &self.credentials {
            client.set_credentials(c.clone());
        }
        let mut session = CpeSession::new(inform(&self.serial, events));
        for body in queued {
            session.queue_request(body);
        }
        let mut post = session.start();
        loop {
            if !self.send_cookies {
                client.cookies_mut().clear();
            }
            let resp = tokio::time::timeout(STEP, client.send(&self.head(&post), post.as_bytes()))
                .await
                .map_err(|_| "POST timed out".to_string())?
                .map_err(|e| format!("POST: {e}"))?;
            run.statuses.push(resp.status());
            let body: &[u8] = match resp.status() {
                200 => &resp.body,
                204 => b"",
                other => return Err(format!("HTTP {other}")),
            };
            let step = session
                .on_http_response(body)
                .map_err(|e| format!("session: {e}"))?;
            run.failed.extend(session.take_failed_requests());
            match step {
                Step::Send(next) => post = next,
                Step::Request(env) => {
                    let reply = answer(&env);
                    run.requests.push(*env);
                    post = session.respond(reply).map_err(|e| format!("respond: {e}"))?;
                }
                Step::Done => return Ok(()),
            }
        }
    }

    fn head(&self, body: &str) -> RequestHead {
        let mut head = RequestHead::new("POST", self.url.target()).expect("request line");
        let h = head.headers_mut();
        h.append("Host", &self.url.host_header()).expect("Host");
        if !body.is_empty() {
            h.append("Content-Type", r#"text/xml; charset="utf-8""#)
                .expect("Content-Type");
            h.append("SOAPAction", "").expect("SOAPAction");
        } else if self.soapaction_on_empty {
            h.append("SOAPAction", "").expect("SOAPAction");
        }
        head
    }
}

/// A bare HTTP client to send whatever a test wants.
pub struct RawClient {
    pub url: Url,
    pub client: Client<Stream>,
}

impl RawClient {
    pub async fn connect(url: &str, tls: Option<&Arc<ClientConfig>>) -> RawClient {
        let url = Url::parse(url).expect("URL");
        let stream = connect(&url, tls).await.expect("connect");
        let client = Client::new(stream)
            .secure(tls.is_some())
            .allow_basic_without_tls(true);
        RawClient { url, client }
    }

    pub fn with_credentials(mut self, c: Credentials) -> RawClient {
        self.client.set_credentials(c);
        self
    }

    /// Sends `method` to the URL's target, with `body` and extra header fields.
    pub async fn send(&mut self, method: &str, body: &[u8], headers: &[(&str, &str)]) -> Response {
        let mut head = RequestHead::new(method, self.url.target()).expect("request line");
        head.headers_mut()
            .append("Host", &self.url.host_header())
            .expect("Host");
        for (n, v) in headers {
            head.headers_mut().append(n, v).expect("header");
        }
        tokio::time::timeout(STEP, self.client.send(&head, body))
            .await
            .expect("HTTP exchange timed out")
            .expect("HTTP exchange")
    }

    /// POSTs a CWMP body the way a CPE does.
    pub async fn post(&mut self, body: &str) -> Response {
        if body.is_empty() {
            self.send("POST", b"", &[]).await
        } else {
            let ct = ("Content-Type", r#"text/xml; charset="utf-8""#);
            self.send("POST", body.as_bytes(), &[ct, ("SOAPAction", "")])
                .await
        }
    }
}

/// GETs `url` (a file on the ACS's file server), answering a challenge with `credentials`.
pub async fn fetch(url: &str, tls: Option<&Arc<ClientConfig>>, credentials: Option<Credentials>) -> Response {
    let mut c = RawClient::connect(url, tls).await;
    c.client.set_body_limit(64 * 1024 * 1024);
    if let Some(creds) = credentials {
        c.client.set_credentials(creds);
    }
    c.send("GET", b"", &[]).await
}

pub fn inform_envelope(serial: &str, events: Vec<Event>) -> String {
    Envelope::new(Body::Inform(inform(serial, events)))
        .with_id("1")
        .to_xml()
}
