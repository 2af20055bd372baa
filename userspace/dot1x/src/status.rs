//! The 802.1X status of a link, and how wpa_supplicant's D-Bus signals
//! (the interface `State` property and the `EAP` signal) map to it.

use std::fmt;
use std::time::{Duration, Instant};

/// The 802.1X status of one link, as the daemon publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// 802.1X is off for this link (`Eth.Ieee8021X.Enable` is `Disable`, or
    /// nothing has been applied yet). The port is not authenticated.
    Disabled,
    /// `Eth.Eap.CertificateValidation` is `TrustedAndValid` and the clock is
    /// not synchronised yet: no attempt is made until it is, since neither
    /// the server's nor our certificate validity can be judged before.
    WaitingForTimeSync,
    /// No host certificate can be used: none has usage `TlsClient` and is
    /// associated to the `Eap` service, or (with `TrustedAndValid`) none of
    /// those is valid now.
    NoCertificate,
    /// wpa_supplicant is configured and the EAP exchange is under way, or
    /// it is waiting for the authenticator to answer.
    Authenticating,
    /// EAP-TLS succeeded: the authenticator authorised the port.
    Authenticated,
    /// The last attempt failed, or could not be made, for the given reason.
    /// wpa_supplicant tries again by itself after its held period (60 s).
    Failed(String),
    /// Several attempts in a row failed ([`HELD_AFTER`]); the reason is the
    /// last one's. wpa_supplicant keeps retrying once per held period, but
    /// the problem is likely to need an operator (a certificate or the
    /// authentication server's configuration).
    Held(String),
}

/// How many failed attempts in a row turn [`Status::Failed`] into
/// [`Status::Held`].
pub const HELD_AFTER: u32 = 3;

/// How long to wait for an authenticator to start an EAP exchange before
/// reporting that none answers. wpa_supplicant sends EAPOL-Start three times
/// 30 s apart and then gives up silently (no D-Bus signal), hence a little
/// more than 90 s.
pub const NO_ANSWER_TIMEOUT: Duration = Duration::from_secs(100);

impl Status {
    /// The status name without its reason: `Disabled`, `WaitingForTimeSync`,
    /// `NoCertificate`, `Authenticating`, `Authenticated`, `Failed`, `Held`.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Disabled => "Disabled",
            Status::WaitingForTimeSync => "WaitingForTimeSync",
            Status::NoCertificate => "NoCertificate",
            Status::Authenticating => "Authenticating",
            Status::Authenticated => "Authenticated",
            Status::Failed(_) => "Failed",
            Status::Held(_) => "Held",
        }
    }

    /// The reason of `Failed` and `Held`.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::Failed(r) | Status::Held(r) => Some(r),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            Some(r) => write!(f, "{}: {r}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

const LINK_DOWN: &str = "the link is down (wpa_supplicant reports the interface disabled)";
const NO_ANSWER: &str = "no 802.1X authenticator answered on the link";
const REJECTED: &str = "the authentication server rejected us (EAP-Failure)";
const REJECTED_BEFORE_TLS: &str =
    "the authentication server rejected us before EAP-TLS started (is our identity known to it?)";
const REJECTED_AFTER_TLS: &str = "the authentication server rejected us after checking our \
     certificate (is it issued by a CA the server trusts?)";

/// Follows one configured network: fed with wpa_supplicant's `State`
/// changes and `EAP` signals, it keeps the [`Status`]. Pure, so that the
/// mapping is unit-tested without wpa_supplicant.
#[derive(Debug)]
pub(crate) struct Tracker {
    status: Status,
    /// Consecutive failed attempts.
    failures: u32,
    /// What went wrong in the current attempt, before its EAP-Failure.
    reason: Option<String>,
    /// Subject of the server certificate seen in the current attempt.
    server_subject: Option<String>,
    /// The current attempt got as far as EAP-TLS...
    tls_started: bool,
    /// ...and as far as a trusted server certificate.
    server_verified: bool,
    link_down: bool,
    /// When to report that no authenticator answers.
    deadline: Option<Instant>,
}

impl Tracker {
    pub(crate) fn new() -> Tracker {
        Tracker {
            status: Status::Authenticating,
            failures: 0,
            reason: None,
            server_subject: None,
            tls_started: false,
            server_verified: false,
            link_down: false,
            deadline: None,
        }
    }

    pub(crate) fn status(&self) -> &Status {
        &self.status
    }

    /// A new network was just selected, and `state` is the interface's
    /// `State` read right after: start over.
    pub(crate) fn restart(&mut self, state: &str, now: Instant) {
        *self = Tracker::new();
        self.deadline = Some(now + NO_ANSWER_TIMEOUT);
        self.on_state(state, now);
    }

    /// The interface's `State` property changed.
    pub(crate) fn on_state(&mut self, state: &str, now: Instant) {
        match state {
            "interface_disabled" => {
                self.link_down = true;
                self.deadline = None;
                self.status = Status::Failed(LINK_DOWN.to_string());
            }
            // "completed" alone proves nothing: wpa_supplicant also gets
            // there when no authenticator ever answers (it then treats the
            // port as uncontrolled). Only an EAP success counts.
            "completed" => {}
            _ => {
                if self.link_down {
                    // The link came back: a fresh start, as after a restart.
                    self.link_down = false;
                    self.failures = 0;
                    self.status = Status::Authenticating;
                    self.deadline = Some(now + NO_ANSWER_TIMEOUT);
                } else if self.status == Status::Authenticated {
                    // Leaving "completed" (link flap, disconnection): the
                    // port has to be authorised again.
                    self.status = Status::Authenticating;
                    self.deadline = Some(now + NO_ANSWER_TIMEOUT);
                }
            }
        }
    }

    /// wpa_supplicant's `EAP(status, parameter)` signal.
    pub(crate) fn on_eap(&mut self, status: &str, parameter: &str) {
        match status {
            "started" => {
                // An authenticator answers; a new exchange begins. Failed
                // and Held stay until an attempt succeeds, so that the
                // status does not flap on every retry.
                self.deadline = None;
                self.reason = None;
                self.server_subject = None;
                self.tls_started = false;
                self.server_verified = false;
            }
            "accept proposed method" => self.tls_started = true,
            "remote certificate verification" if parameter == "success" => {
                self.server_verified = true;
            }
            "remote certificate verification" => {
                let server = match &self.server_subject {
                    Some(s) => format!(" (server certificate {s})"),
                    None => String::new(),
                };
                self.reason = Some(format!(
                    "the authentication server's certificate is not trusted: {parameter}{server}"
                ));
            }
            "local TLS alert" => {
                self.reason
                    .get_or_insert_with(|| format!("TLS handshake aborted by us: {parameter}"));
            }
            "remote TLS alert" => {
                self.reason.get_or_insert_with(|| {
                    format!(
                        "the authentication server aborted the TLS handshake: {parameter} \
                         (does it trust our certificate?)"
                    )
                });
            }
            "eap parameter needed" => {
                // Nothing we configure is ever asked for; waiting would be
                // forever.
                self.deadline = None;
                self.status = Status::Failed(format!(
                    "wpa_supplicant asks for a missing parameter: {parameter}"
                ));
            }
            "completion" if parameter == "success" => {
                self.deadline = None;
                self.failures = 0;
                self.reason = None;
                self.status = Status::Authenticated;
            }
            "completion" => {
                self.deadline = None;
                self.failures = self.failures.saturating_add(1);
                // hostapd, for one, answers a client certificate it does
                // not trust with a bare EAP-Failure, without a TLS alert:
                // how far the attempt went is the best hint.
                let reason = self.reason.take().unwrap_or_else(|| {
                    if self.server_verified {
                        REJECTED_AFTER_TLS
                    } else if self.tls_started {
                        REJECTED
                    } else {
                        REJECTED_BEFORE_TLS
                    }
                    .to_string()
                });
                self.status = if self.failures >= HELD_AFTER {
                    Status::Held(reason)
                } else {
                    Status::Failed(reason)
                };
            }
            _ => {}
        }
    }

    /// wpa_supplicant's `Certification` signal: a certificate the server
    /// sent, `depth` 0 being its own.
    pub(crate) fn on_certificate(&mut self, depth: u32, subject: &str) {
        if depth == 0 {
            self.server_subject = Some(subject.to_string());
        }
    }

    /// When [`Tracker::on_time`] has something to do.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time passes: reports a missing authenticator once the deadline is
    /// reached.
    pub(crate) fn on_time(&mut self, now: Instant) {
        if self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.deadline = None;
        if self.status == Status::Authenticating {
            self.status = Status::Failed(NO_ANSWER.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(t: &mut Tracker) {
        t.on_eap("started", "");
        t.on_eap("accept proposed method", "TLS");
    }

    #[test]
    fn success_needs_an_eap_success_not_just_completed() {
        let now = Instant::now();
        let mut t = Tracker::new();
        t.restart("associated", now);
        assert_eq!(t.status(), &Status::Authenticating);
        t.on_state("completed", now);
        assert_eq!(t.status(), &Status::Authenticating);
        started(&mut t);
        t.on_eap("remote certificate verification", "success");
        t.on_eap("completion", "success");
        assert_eq!(t.status(), &Status::Authenticated);
        assert_eq!(t.deadline(), None);
    }

    #[test]
    fn failure_reasons_and_held_after_repeated_failures() {
        let now = Instant::now();
        let mut t = Tracker::new();
        t.restart("associated", now);
        for i in 1..=HELD_AFTER {
            started(&mut t);
            t.on_certificate(1, "/CN=Some CA");
            t.on_certificate(0, "/CN=radius");
            t.on_eap(
                "remote certificate verification",
                "self-signed certificate in certificate chain",
            );
            t.on_eap("local TLS alert", "unknown CA");
            t.on_eap("completion", "failure");
            let reason = t.status().reason().unwrap_or_default().to_string();
            assert!(reason.contains("not trusted"), "{reason}");
            assert!(reason.contains("/CN=radius"), "{reason}");
            if i < HELD_AFTER {
                assert_eq!(t.status().name(), "Failed");
            } else {
                assert_eq!(t.status().name(), "Held");
            }
        }
        // A success clears everything.
        started(&mut t);
        t.on_eap("completion", "success");
        assert_eq!(t.status(), &Status::Authenticated);
        started(&mut t);
        t.on_eap("completion", "failure");
        assert_eq!(
            t.status(),
            &Status::Failed(REJECTED.to_string()),
            "the failure count restarts after a success"
        );
    }

    #[test]
    fn bare_failures_say_how_far_the_attempt_went() {
        let mut t = Tracker::new();
        t.restart("associated", Instant::now());
        t.on_eap("started", "");
        t.on_eap("completion", "failure");
        assert_eq!(t.status().reason(), Some(REJECTED_BEFORE_TLS));
        started(&mut t);
        t.on_eap("remote certificate verification", "success");
        t.on_eap("completion", "failure");
        assert_eq!(t.status().reason(), Some(REJECTED_AFTER_TLS));
    }

    #[test]
    fn remote_alert_says_the_server_refused() {
        let mut t = Tracker::new();
        t.restart("associated", Instant::now());
        started(&mut t);
        t.on_eap("remote certificate verification", "success");
        t.on_eap("remote TLS alert", "unknown CA");
        t.on_eap("completion", "failure");
        let reason = t.status().reason().unwrap_or_default();
        assert!(reason.contains("unknown CA") && reason.contains("trust our certificate"));
    }

    #[test]
    fn no_authenticator_times_out_and_late_success_recovers() {
        let now = Instant::now();
        let mut t = Tracker::new();
        t.restart("associated", now);
        assert_eq!(t.deadline(), Some(now + NO_ANSWER_TIMEOUT));
        t.on_time(now + NO_ANSWER_TIMEOUT / 2);
        assert_eq!(t.status(), &Status::Authenticating);
        t.on_time(now + NO_ANSWER_TIMEOUT);
        assert_eq!(t.status(), &Status::Failed(NO_ANSWER.to_string()));
        // A retry does not flap back to Authenticating; success does end it.
        started(&mut t);
        assert_eq!(t.status().name(), "Failed");
        t.on_eap("completion", "success");
        assert_eq!(t.status(), &Status::Authenticated);
    }

    #[test]
    fn the_deadline_stops_once_the_exchange_starts() {
        let now = Instant::now();
        let mut t = Tracker::new();
        t.restart("associated", now);
        started(&mut t);
        assert_eq!(t.deadline(), None);
        t.on_time(now + NO_ANSWER_TIMEOUT * 2);
        assert_eq!(t.status(), &Status::Authenticating);
    }

    #[test]
    fn link_down_and_up() {
        let now = Instant::now();
        let mut t = Tracker::new();
        t.restart("associated", now);
        started(&mut t);
        t.on_eap("completion", "success");
        t.on_state("completed", now);
        t.on_state("interface_disabled", now);
        assert_eq!(t.status(), &Status::Failed(LINK_DOWN.to_string()));
        t.on_state("disconnected", now);
        assert_eq!(t.status(), &Status::Authenticating);
        assert!(t.deadline().is_some());
        t.on_state("associated", now);
        started(&mut t);
        t.on_eap("completion", "success");
        assert_eq!(t.status(), &Status::Authenticated);
        // Leaving "completed" otherwise means authenticating again.
        t.on_state("disconnected", now);
        assert_eq!(t.status(), &Status::Authenticating);
    }

    #[test]
    fn a_missing_parameter_is_a_failure() {
        let mut t = Tracker::new();
        t.restart("associated", Instant::now());
        t.on_eap("eap parameter needed", "PASSPHRASE");
        assert_eq!(t.status().name(), "Failed");
    }

    #[test]
    fn display_and_names() {
        assert_eq!(Status::Authenticated.to_string(), "Authenticated");
        assert_eq!(Status::Failed("x".into()).to_string(), "Failed: x");
        assert_eq!(Status::Held("y".into()).reason(), Some("y"));
        assert_eq!(Status::WaitingForTimeSync.name(), "WaitingForTimeSync");
    }
}
