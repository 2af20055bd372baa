//! The sans-IO SNTP client: a state machine that decides which server to
//! query and when, checks replies and keeps the status. It does no I/O and
//! reads no clock: the caller passes the monotonic time (`Instant`) and the
//! wall-clock time (`SystemTime`) into every call, so tests drive it with a
//! fake clock, and the tokio driver ([`crate::run`]) is a thin loop around it.
//!
//! # Scheduling
//!
//! Servers are tried in *rounds*. A round asks the servers one at a time in
//! priority order and ends at the first good reply, or when every usable
//! server failed (timeout, unusable reply, Kiss-o'-Death, resolution or
//! network error). Then:
//!
//! - after a success the next round starts `period` later
//!   (`Hoc.SntpSynchronizationPeriod`), from the highest-priority server
//!   again, and the back-off is reset;
//! - after a failed round the next one starts after the back-off, which is
//!   [`MIN_POLL_INTERVAL`] (15 s) and doubles with every failed round up to
//!   `period_on_error` (`Hoc.SntpSynchronizationPeriodOnError`).
//!
//! Whatever happens, one server is never sent two queries less than
//! [`MIN_POLL_INTERVAL`] apart (RFC 4330 §10), nor less than its Kiss-o'-Death
//! RATE interval; a server still held back is passed over for the others in
//! the round and tried when it may be.
//!
//! # Kiss-o'-Death (RFC 5905 §7.4)
//!
//! - `RATE`: that server's minimum interval becomes at least twice both its
//!   previous minimum and the spacing of our last two queries to it (capped
//!   at [`MAX_RATE_INTERVAL`]); the round goes on with the next server.
//! - `DENY`, `RSTR`: that server is not used again until the configuration
//!   changes.
//! - other codes: no protocol meaning; the query just failed.
//!
//! KoD replies are only believed once their origin timestamp matched our
//! request, so a forged KoD cannot silence a server.
//!
//! # Replies that do not answer our query
//!
//! A reply that is too short, not a server reply, or whose origin timestamp
//! is not our request's may come from anyone: it is ignored and the query
//! keeps waiting for the genuine reply until its timeout (the failure then
//! names the last ignored reply). A reply whose origin matched but whose
//! content is unusable (leap 3, bad stratum, zero timestamps...) ends the
//! query at once and the round moves to the next server.
//!
//! # The synchronised state
//!
//! [`TimeStatus::synchronised`] is false at start. It becomes true when a
//! reply passed every check (the caller then sets the clock; if that fails
//! it calls [`Client::clock_error`]). It stays true through later failures:
//! once set, the clock runs on its own and drifts by seconds per day at
//! worst, which matters nothing to certificate validity (what the DGW gates
//! on `Hoc.ClockSynchronized`), while dropping it would stop SIP-TLS and
//! HTTPS whenever an SNTP server is down — not what a DGW user expects. It
//! goes back to false only when the clock can no longer be trusted:
//!
//! - the caller could not set the clock ([`Client::clock_error`]);
//! - the wall clock moved against the monotonic clock by more than
//!   [`CLOCK_JUMP_TOLERANCE`] since the last synchronisation (someone set the
//!   time by hand, or the unit resumed from suspend): a new round starts at
//!   once;
//! - the process restarts (the state is not persisted).
//!
//! A configuration change does not clear it: the clock is no worse for it.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use crate::config::{ConfigSource, ServerNameError, SntpConfig};
use crate::packet::{check_reply, compute_sample, KissCode, Packet, ReplyError, PACKET_LEN};
use crate::timestamp::{system_time_to_unix_nanos, unix_nanos_to_system_time, NtpTimestamp, Offset};

/// The shortest interval between two queries to one server (RFC 4330 §10:
/// a client must never poll more often than every 15 s), and the first
/// back-off step after a failed round.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(15);
/// Cap of a server's RATE interval: the longest DGW synchronisation period
/// (1440 minutes); past that, a server asking for less is still asked daily.
pub const MAX_RATE_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// How far the wall clock may move against the monotonic clock, after a
/// synchronisation, before the clock is taken as set by someone else. Above
/// [`crate::clock::STEP_THRESHOLD`], so an ongoing slew never trips it.
pub const CLOCK_JUMP_TOLERANCE: Duration = Duration::from_secs(1);
/// Most servers the client keeps (4 DHCP + 4 static in
/// `AutomaticWithFallback`); any more are dropped.
pub const MAX_SERVERS: usize = 8;
/// Events kept for [`Client::poll_event`]; older ones are dropped if the
/// caller does not drain them, so memory stays bounded.
const MAX_QUEUED_EVENTS: usize = 64;

/// What the client needs to know: the servers by priority and the timing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// `host[:port]` names, highest priority first.
    pub servers: Vec<String>,
    /// Where the list came from (reported in the status only).
    pub source: ConfigSource,
    /// Time between rounds after a success (kept within 15 s..366 days).
    pub period: Duration,
    /// Cap of the back-off after failed rounds (kept within 15 s..366 days).
    pub period_on_error: Duration,
    /// Time allowed for resolving a name, and again for the reply (kept
    /// within 1 ms..60 s).
    pub query_timeout: Duration,
}

/// Longest period used: a year, so that no configured value can make the
/// schedule overflow `Instant`.
const MAX_PERIOD: Duration = Duration::from_secs(366 * 24 * 3600);

impl ClientConfig {
    /// The configuration with every duration in its range: the RFC's 15 s
    /// floor for periods, and bounds that keep time arithmetic finite.
    fn clamped(mut self) -> ClientConfig {
        self.period = self.period.clamp(MIN_POLL_INTERVAL, MAX_PERIOD);
        self.period_on_error = self.period_on_error.clamp(MIN_POLL_INTERVAL, MAX_PERIOD);
        self.query_timeout = self
            .query_timeout
            .clamp(Duration::from_millis(1), Duration::from_secs(60));
        self
    }
}

impl From<&SntpConfig> for ClientConfig {
    fn from(c: &SntpConfig) -> Self {
        ClientConfig {
            servers: c.servers(),
            source: c.source,
            period: c.period,
            period_on_error: c.period_on_error,
            query_timeout: c.query_timeout,
        }
    }
}

/// Identifies one query; stale identifiers are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryId(u64);

/// What the caller must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Resolve `server` (`host[:port]`), then call [`Client::transmit`]
    /// just before sending, or [`Client::query_error`] if that fails.
    Query {
        /// This query.
        id: QueryId,
        /// The server, as configured.
        server: String,
    },
    /// Call [`Client::poll`] again at this time (or on a reply).
    WaitUntil(Instant),
    /// Nothing to do until the configuration changes: no server configured,
    /// or every server refused us (DENY/RSTR).
    Idle,
}

/// Why a query, or the service, failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// No usable reply in time. `ignored` is the last reply that was
    /// discarded as not answering our query, if any.
    Timeout {
        /// Why the last reply received (if any) was ignored.
        ignored: Option<ReplyError>,
    },
    /// The server answered our query with an unusable reply.
    Rejected(ReplyError),
    /// The server answered with a Kiss-o'-Death.
    KissOfDeath(KissCode),
    /// The configured name is not a valid `host[:port]`.
    BadServerName(ServerNameError),
    /// Name resolution failed.
    Resolve(String),
    /// Socket error (e.g. ICMP port unreachable).
    Network(String),
    /// No server is configured for the selected source.
    NoServers,
    /// Every configured server refused us (DENY/RSTR).
    AllServersRefused,
    /// A good reply was received but the clock could not be set.
    ClockNotSet(String),
    /// The wall clock was moved by someone else since the last
    /// synchronisation (by this much).
    ClockStepped(Offset),
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Timeout { ignored: None } => f.write_str("no reply"),
            FailureReason::Timeout { ignored: Some(e) } => {
                write!(f, "no valid reply (last reply ignored: {e})")
            }
            FailureReason::Rejected(e) => write!(f, "reply rejected: {e}"),
            FailureReason::KissOfDeath(code) => {
                write!(f, "{}", ReplyError::KissOfDeath(*code))
            }
            FailureReason::BadServerName(e) => write!(f, "bad server name: {e}"),
            FailureReason::Resolve(e) => write!(f, "name resolution failed: {e}"),
            FailureReason::Network(e) => write!(f, "network error: {e}"),
            FailureReason::NoServers => f.write_str("no SNTP server configured"),
            FailureReason::AllServersRefused => {
                f.write_str("every SNTP server refused service (Kiss-o'-Death DENY/RSTR)")
            }
            FailureReason::ClockNotSet(e) => write!(f, "could not set the clock: {e}"),
            FailureReason::ClockStepped(by) => {
                write!(f, "the clock was set by someone else (moved {by})")
            }
        }
    }
}

/// The client's answer to a Kiss-o'-Death.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KodResponse {
    /// RATE: that server is not queried again sooner than this.
    BackOff {
        /// Its new minimum interval.
        min_interval: Duration,
    },
    /// DENY/RSTR: that server is not used until the configuration changes.
    Disabled,
    /// Other codes: the query failed, nothing else.
    Ignored,
}

/// Something that happened, for logs and tests ([`Client::poll_event`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A reply passed every check: the caller sets the clock by `offset`.
    Synchronised {
        /// The server, as configured.
        server: String,
        /// True time minus local time.
        offset: Offset,
        /// Round-trip delay.
        delay: Duration,
        /// The server's stratum.
        stratum: u8,
    },
    /// A query failed; the round goes on with the next server.
    QueryFailed {
        /// The server, as configured.
        server: String,
        /// Why.
        reason: FailureReason,
    },
    /// A server answered our query with a Kiss-o'-Death.
    KissOfDeath {
        /// The server, as configured.
        server: String,
        /// The kiss code.
        code: KissCode,
        /// What the client did about it.
        response: KodResponse,
    },
    /// A datagram was discarded without ending the query.
    ReplyIgnored {
        /// The server queried, if a query was waiting.
        server: Option<String>,
        /// Why it was discarded.
        reason: ReplyError,
    },
    /// Every usable server failed in this round.
    RoundFailed {
        /// When the next round starts.
        retry_in: Duration,
    },
    /// The wall clock moved by itself since the last synchronisation; the
    /// state is now unsynchronised.
    ClockStepped {
        /// How far it moved against the monotonic clock.
        by: Offset,
    },
}

/// The last failure, and the server it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastError {
    /// The server, if the failure was about one.
    pub server: Option<String>,
    /// What went wrong.
    pub reason: FailureReason,
}

impl fmt::Display for LastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.server {
            Some(s) => write!(f, "{s}: {}", self.reason),
            None => write!(f, "{}", self.reason),
        }
    }
}

/// The status the time service publishes (the DGW's `Hoc.ClockSynchronized`
/// and `Hoc.SntpCurrentSource`, plus details for diagnostics).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeStatus {
    /// Whether the clock is synchronised (see the module docs for when it
    /// turns back to false). TLS validation waits for it.
    pub synchronised: bool,
    /// `Hoc.SntpConfigSource` in force.
    pub config_source: ConfigSource,
    /// `Hoc.SntpCurrentSource`: the server the clock was last set from.
    pub current_source: Option<String>,
    /// Offset measured at the last synchronisation (applied to the clock).
    pub last_offset: Option<Offset>,
    /// Round-trip delay at the last synchronisation.
    pub last_delay: Option<Duration>,
    /// Stratum of the server at the last synchronisation.
    pub last_stratum: Option<u8>,
    /// Corrected wall-clock time of the last synchronisation.
    pub last_sync: Option<SystemTime>,
    /// The most recent failure. Kept after a later success, so that a
    /// failing primary server stays visible while a secondary one serves.
    pub last_error: Option<LastError>,
    /// Each server in use, by priority.
    pub servers: Vec<ServerStatus>,
}

/// One server's state, for diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerStatus {
    /// `host[:port]` as configured.
    pub name: String,
    /// Why its last query failed; `None` once it answered well, or if
    /// never asked.
    pub last_error: Option<FailureReason>,
    /// Set when it refused us (DENY/RSTR): not used until the configuration
    /// changes.
    pub refused: Option<KissCode>,
    /// Its minimum interval between queries (15 s, or more after RATE).
    pub min_interval: Duration,
}

/// What [`Client::handle_reply`] made of a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// Good reply: the query is over, [`Event::Synchronised`] queued.
    Synchronised,
    /// Our query was answered but unusably: the query is over.
    Failed,
    /// Not an answer to the waiting query: keep waiting.
    Ignored,
}

#[derive(Debug)]
struct ServerState {
    name: String,
    /// When the last query to it was issued.
    last_query: Option<Instant>,
    /// The query before that, to measure the spacing a RATE complains of.
    prev_query: Option<Instant>,
    /// Its minimum interval: 15 s, raised by RATE.
    min_interval: Duration,
    /// Set by DENY/RSTR: not used until the configuration changes.
    refused: Option<KissCode>,
    /// Already asked in the current round.
    tried: bool,
    /// Why its last query failed, if it did.
    last_error: Option<FailureReason>,
}

impl ServerState {
    fn new(name: String) -> Self {
        ServerState {
            name,
            last_query: None,
            prev_query: None,
            min_interval: MIN_POLL_INTERVAL,
            refused: None,
            tried: false,
            last_error: None,
        }
    }

    fn allowed_at(&self, now: Instant) -> Instant {
        match self.last_query {
            Some(t) => t.checked_add(self.min_interval).unwrap_or(now).max(now),
            None => now,
        }
    }
}

#[derive(Debug)]
enum Phase {
    /// Between rounds.
    Waiting { until: Instant },
    /// In a round, choosing the next server.
    Round,
    /// The caller is resolving the server's name.
    Resolving {
        id: QueryId,
        server: usize,
        deadline: Instant,
    },
    /// The request is sent; waiting for the reply.
    Awaiting {
        id: QueryId,
        server: usize,
        deadline: Instant,
        sent: Instant,
        /// Our send time, Unix nanoseconds, from the wall clock.
        t1: i128,
        /// The transmit timestamp we sent (random), to match the origin.
        nonce: NtpTimestamp,
        ignored: Option<ReplyError>,
    },
    /// Nothing to do until the configuration changes.
    Idle,
}

/// Where the clock should be since the last synchronisation.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    instant: Instant,
    /// Corrected wall time at `instant`, Unix nanoseconds.
    wall: i128,
}

/// The SNTP client state machine. See the module docs.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    servers: Vec<ServerState>,
    phase: Phase,
    /// Wait before the next round if the current one fails.
    backoff: Duration,
    next_id: u64,
    events: VecDeque<Event>,
    status: TimeStatus,
    anchor: Option<Anchor>,
}

impl Client {
    /// A client that starts its first round at `now`.
    pub fn new(config: ClientConfig, now: Instant) -> Client {
        let config = config.clamped();
        let mut c = Client {
            servers: Vec::new(),
            phase: Phase::Waiting { until: now },
            backoff: MIN_POLL_INTERVAL,
            next_id: 0,
            events: VecDeque::new(),
            status: TimeStatus {
                config_source: config.source,
                ..TimeStatus::default()
            },
            anchor: None,
            config,
        };
        c.servers = c.build_servers(Vec::new());
        c.refresh_server_status();
        c
    }

    /// The configuration in force (durations brought within their ranges).
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The current status.
    pub fn status(&self) -> &TimeStatus {
        &self.status
    }

    /// Applies a new configuration. Nothing happens if it is equal to the
    /// current one. Otherwise any query in flight is dropped, DENY/RSTR
    /// refusals are forgotten, and a new round starts at once; servers that
    /// stay keep their last query time and RATE interval, so a configuration
    /// change never makes us poll a server faster than allowed. The
    /// synchronised state is kept.
    pub fn reconfigure(&mut self, config: ClientConfig, now: Instant) {
        let config = config.clamped();
        if config == self.config {
            return;
        }
        self.config = config;
        self.status.config_source = self.config.source;
        let old = std::mem::take(&mut self.servers);
        self.servers = self.build_servers(old);
        self.backoff = MIN_POLL_INTERVAL;
        self.phase = Phase::Waiting { until: now };
        self.refresh_server_status();
    }

    fn build_servers(&self, mut old: Vec<ServerState>) -> Vec<ServerState> {
        let mut out: Vec<ServerState> = Vec::new();
        for name in &self.config.servers {
            if out.len() == MAX_SERVERS {
                break;
            }
            if out.iter().any(|s| &s.name == name) {
                continue;
            }
            let mut state = ServerState::new(name.clone());
            if let Some(pos) = old.iter().position(|s| &s.name == name) {
                let prev = old.swap_remove(pos);
                state.last_query = prev.last_query;
                state.prev_query = prev.prev_query;
                state.min_interval = prev.min_interval;
            }
            out.push(state);
        }
        out
    }

    /// Advances the state machine to `now` (monotonic) with the wall clock
    /// reading `wall`, and says what to do next. Call it at start, when the
    /// time of the last [`Action::WaitUntil`] is reached, and after every
    /// other call.
    pub fn poll(&mut self, now: Instant, wall: SystemTime) -> Action {
        self.check_clock_jump(now, wall);
        // Each pass either returns or moves to a later phase of the round;
        // the bound is a guard only, against looping on a logic error.
        for _ in 0..(4 * MAX_SERVERS + 8) {
            match self.phase {
                Phase::Resolving { deadline, .. } | Phase::Awaiting { deadline, .. } => {
                    if now < deadline {
                        return Action::WaitUntil(deadline);
                    }
                    let ignored = match &mut self.phase {
                        Phase::Awaiting { ignored, .. } => ignored.take(),
                        _ => None,
                    };
                    self.fail_query(FailureReason::Timeout { ignored });
                }
                Phase::Waiting { until } => {
                    if now < until {
                        return Action::WaitUntil(until);
                    }
                    for s in &mut self.servers {
                        s.tried = false;
                    }
                    self.phase = Phase::Round;
                }
                Phase::Idle => return Action::Idle,
                Phase::Round => return self.next_in_round(now),
            }
        }
        Action::WaitUntil(now + MIN_POLL_INTERVAL)
    }

    fn next_in_round(&mut self, now: Instant) -> Action {
        if self.servers.is_empty() {
            self.phase = Phase::Idle;
            self.set_error(None, FailureReason::NoServers);
            return Action::Idle;
        }
        if self.servers.iter().all(|s| s.refused.is_some()) {
            self.phase = Phase::Idle;
            self.set_error(None, FailureReason::AllServersRefused);
            return Action::Idle;
        }
        let usable = |s: &ServerState| s.refused.is_none() && !s.tried;
        let ready = self
            .servers
            .iter()
            .position(|s| usable(s) && s.allowed_at(now) <= now);
        if let Some(i) = ready {
            let id = QueryId(self.next_id);
            self.next_id += 1;
            let deadline = now + self.config.query_timeout;
            let s = &mut self.servers[i];
            s.tried = true;
            s.prev_query = s.last_query;
            s.last_query = Some(now);
            self.phase = Phase::Resolving {
                id,
                server: i,
                deadline,
            };
            return Action::Query {
                id,
                server: s.name.clone(),
            };
        }
        let held_back = self
            .servers
            .iter()
            .filter(|s| usable(s))
            .map(|s| s.allowed_at(now))
            .min();
        if let Some(t) = held_back {
            return Action::WaitUntil(t);
        }
        // Every usable server was tried: the round failed.
        let retry_in = self.backoff;
        self.backoff = (self.backoff.saturating_mul(2)).min(self.config.period_on_error);
        self.phase = Phase::Waiting {
            until: now + retry_in,
        };
        self.push(Event::RoundFailed { retry_in });
        Action::WaitUntil(now + retry_in)
    }

    /// The request for query `id`, to send right away: call it just before
    /// the send, after name resolution, because its wall time (`wall`, our
    /// T1) is what the offset is measured against. Returns `None` if `id` is
    /// not the query in progress (e.g. the configuration changed).
    ///
    /// The transmit timestamp sent is a random 64-bit nonce, not our clock
    /// (as chrony and ntpd-rs do): the server echoes it back unchanged, so
    /// an off-path attacker must guess 64 random bits to forge a reply, and
    /// our clock is not disclosed; T1 is kept here.
    pub fn transmit(&mut self, id: QueryId, now: Instant, wall: SystemTime) -> Option<[u8; PACKET_LEN]> {
        let Phase::Resolving { id: qid, server, .. } = self.phase else {
            return None;
        };
        if qid != id {
            return None;
        }
        let nonce = random_nonce();
        let s = &mut self.servers[server];
        // The interval counts from the actual send as well.
        s.last_query = Some(now);
        self.phase = Phase::Awaiting {
            id,
            server,
            deadline: now + self.config.query_timeout,
            sent: now,
            t1: system_time_to_unix_nanos(wall),
            nonce,
            ignored: None,
        };
        Some(Packet::client_request(nonce).encode())
    }

    /// Query `id` failed before any reply (bad name, resolution, socket).
    /// The round goes on with the next server at the next [`Client::poll`].
    pub fn query_error(&mut self, id: QueryId, reason: FailureReason) {
        if self.current_query() == Some(id) {
            self.fail_query(reason);
        }
    }

    /// The id of the query in progress, if any.
    pub fn current_query(&self) -> Option<QueryId> {
        match self.phase {
            Phase::Resolving { id, .. } | Phase::Awaiting { id, .. } => Some(id),
            _ => None,
        }
    }

    /// A datagram received at `now` on the socket of query `id`. Bytes past
    /// the 48-byte header are ignored, so the caller may pass a truncated
    /// read of a longer datagram.
    pub fn handle_reply(&mut self, id: QueryId, now: Instant, bytes: &[u8]) -> ReplyOutcome {
        let Phase::Awaiting {
            id: qid,
            server,
            sent,
            t1,
            nonce,
            ..
        } = self.phase
        else {
            self.push(Event::ReplyIgnored {
                server: None,
                reason: ReplyError::Unsolicited,
            });
            return ReplyOutcome::Ignored;
        };
        let name = self.servers[server].name.clone();
        if qid != id {
            self.push(Event::ReplyIgnored {
                server: Some(name),
                reason: ReplyError::Unsolicited,
            });
            return ReplyOutcome::Ignored;
        }
        // T4 from the monotonic clock: a step of the wall clock during the
        // query (by someone else) cannot distort the measurement.
        let elapsed = now.saturating_duration_since(sent).as_nanos() as i128;
        let t4 = t1 + elapsed;
        let checked = check_reply(bytes, nonce).and_then(|p| compute_sample(&p, t1, t4));
        match checked {
            Ok(sample) => {
                self.servers[server].last_error = None;
                self.status.synchronised = true;
                self.status.current_source = Some(name.clone());
                self.status.last_offset = Some(sample.offset);
                self.status.last_delay = Some(sample.delay);
                self.status.last_stratum = Some(sample.stratum);
                let corrected = t4 + i128::from(sample.offset.as_nanos());
                self.status.last_sync = unix_nanos_to_system_time(corrected);
                self.anchor = Some(Anchor {
                    instant: now,
                    wall: corrected,
                });
                self.backoff = MIN_POLL_INTERVAL;
                self.phase = Phase::Waiting {
                    until: now + self.config.period,
                };
                self.push(Event::Synchronised {
                    server: name,
                    offset: sample.offset,
                    delay: sample.delay,
                    stratum: sample.stratum,
                });
                ReplyOutcome::Synchronised
            }
            Err(e) if !e.matched_origin() => {
                if let Phase::Awaiting { ignored, .. } = &mut self.phase {
                    *ignored = Some(e.clone());
                }
                self.push(Event::ReplyIgnored {
                    server: Some(name),
                    reason: e,
                });
                ReplyOutcome::Ignored
            }
            Err(ReplyError::KissOfDeath(code)) => {
                self.kiss_of_death(server, code);
                ReplyOutcome::Failed
            }
            Err(e) => {
                self.fail_query(FailureReason::Rejected(e));
                ReplyOutcome::Failed
            }
        }
    }

    /// The caller could not set the clock after [`Event::Synchronised`]:
    /// the state goes back to unsynchronised and the next round is scheduled
    /// as after a failure.
    pub fn clock_error(&mut self, now: Instant, message: String) {
        self.status.synchronised = false;
        self.anchor = None;
        self.set_error(None, FailureReason::ClockNotSet(message));
        let retry_in = self.backoff;
        self.backoff = (self.backoff.saturating_mul(2)).min(self.config.period_on_error);
        if !matches!(self.phase, Phase::Idle) {
            self.phase = Phase::Waiting {
                until: now + retry_in,
            };
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn kiss_of_death(&mut self, server: usize, code: KissCode) {
        let s = &mut self.servers[server];
        let response = match code {
            KissCode::Rate => {
                let spacing = match (s.prev_query, s.last_query) {
                    (Some(a), Some(b)) => b.saturating_duration_since(a),
                    _ => Duration::ZERO,
                };
                s.min_interval = s
                    .min_interval
                    .max(spacing)
                    .saturating_mul(2)
                    .min(MAX_RATE_INTERVAL);
                KodResponse::BackOff {
                    min_interval: s.min_interval,
                }
            }
            KissCode::Deny | KissCode::Rstr => {
                s.refused = Some(code);
                KodResponse::Disabled
            }
            KissCode::Other(_) => KodResponse::Ignored,
        };
        s.last_error = Some(FailureReason::KissOfDeath(code));
        let name = s.name.clone();
        self.set_error(Some(name.clone()), FailureReason::KissOfDeath(code));
        self.push(Event::KissOfDeath {
            server: name,
            code,
            response,
        });
        self.phase = Phase::Round;
    }

    fn fail_query(&mut self, reason: FailureReason) {
        let server = match self.phase {
            Phase::Resolving { server, .. } | Phase::Awaiting { server, .. } => server,
            _ => return,
        };
        self.servers[server].last_error = Some(reason.clone());
        let name = self.servers[server].name.clone();
        self.set_error(Some(name.clone()), reason.clone());
        self.push(Event::QueryFailed { server: name, reason });
        self.phase = Phase::Round;
    }

    /// Compares the wall clock with where it should be since the last
    /// synchronisation. This also heals the rare case of someone stepping
    /// the clock while a query is in flight: that measurement is relative to
    /// the old clock, so after its correction the wall clock is off by the
    /// step, which the next poll sees here.
    fn check_clock_jump(&mut self, now: Instant, wall: SystemTime) {
        let Some(a) = self.anchor else { return };
        let Some(elapsed) = now.checked_duration_since(a.instant) else {
            return;
        };
        let expected = a.wall + elapsed.as_nanos() as i128;
        let moved = system_time_to_unix_nanos(wall) - expected;
        if moved.unsigned_abs() <= CLOCK_JUMP_TOLERANCE.as_nanos() {
            return;
        }
        let by = Offset::try_from_nanos_i128(moved).unwrap_or(if moved < 0 {
            Offset::from_nanos(i64::MIN)
        } else {
            Offset::from_nanos(i64::MAX)
        });
        self.anchor = None;
        self.status.synchronised = false;
        self.set_error(None, FailureReason::ClockStepped(by));
        self.push(Event::ClockStepped { by });
        if let Phase::Waiting { until } = &mut self.phase {
            *until = now;
        }
    }

    fn set_error(&mut self, server: Option<String>, reason: FailureReason) {
        self.status.last_error = Some(LastError { server, reason });
    }

    fn push(&mut self, e: Event) {
        if self.events.len() == MAX_QUEUED_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
        // Every server state change comes with an event.
        self.refresh_server_status();
    }

    fn refresh_server_status(&mut self) {
        self.status.servers = self
            .servers
            .iter()
            .map(|s| ServerStatus {
                name: s.name.clone(),
                last_error: s.last_error.clone(),
                refused: s.refused,
                min_interval: s.min_interval,
            })
            .collect();
    }
}

/// A random non-zero 64-bit transmit timestamp.
fn random_nonce() -> NtpTimestamp {
    let mut b = [0u8; 8];
    loop {
        if getrandom::getrandom(&mut b).is_err() {
            // getrandom(2) does not fail on Linux ≥ 3.17 once seeded; should
            // it, a SipHash keyed by std's per-process random keys over the
            // time is still unpredictable off-path.
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(system_time_to_unix_nanos(SystemTime::now()) as u128);
            b = h.finish().to_ne_bytes();
        }
        let v = u64::from_ne_bytes(b);
        if v != 0 {
            return NtpTimestamp(v);
        }
    }
}
