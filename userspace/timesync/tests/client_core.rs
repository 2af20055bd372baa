//! The sans-IO client on a fake clock: which server is asked when, what each
//! reply does, back-off, Kiss-o'-Death, the synchronised state. No sockets,
//! no sleeps: time is an `Instant` the test moves.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use timesync::{
    Action, Client, ClientConfig, ConfigSource, Event, FailureReason, KissCode, KodResponse, NtpTimestamp,
    Packet, QueryId, ReplyError, ReplyOutcome,
};

const NS: i128 = 1_000_000_000;
/// True time at the start of every test: 2026-06-01 12:00:00 UTC.
const TRUE_T0: i128 = 1_780_315_200 * NS;
/// Network round trip of the fake servers.
const RTT: Duration = Duration::from_millis(20);
const MIN: u64 = 60;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn config(servers: &[&str], period_min: u64, error_min: u64) -> ClientConfig {
    ClientConfig {
        servers: servers.iter().map(|s| s.to_string()).collect(),
        source: ConfigSource::Static,
        period: secs(period_min * MIN),
        period_on_error: secs(error_min * MIN),
        query_timeout: secs(5),
    }
}

/// What a fake server does with a request.
#[derive(Clone, Debug)]
enum Answer {
    Good,
    Silent,
    /// A reply built from the good one by `f`, sent after RTT.
    Mangled(fn(&mut Packet)),
    Kiss(&'static [u8; 4]),
    Raw(Vec<u8>),
}

/// A client, a fake monotonic clock and a fake wall clock that is
/// `local_offset` away from true time. Synchronised offsets are applied to
/// the wall clock, as the driver does.
struct World {
    client: Client,
    t0: Instant,
    now: Instant,
    local_offset: i128,
    events: Vec<Event>,
    /// (seconds since t0, server) of every request sent.
    sent: Vec<(Duration, String)>,
    clock_sets: usize,
}

impl World {
    fn new(cfg: ClientConfig) -> World {
        let t0 = Instant::now();
        World {
            client: Client::new(cfg, t0),
            t0,
            now: t0,
            local_offset: 0,
            events: Vec::new(),
            sent: Vec::new(),
            clock_sets: 0,
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn true_ns(&self) -> i128 {
        TRUE_T0 + self.elapsed().as_nanos() as i128
    }

    fn wall(&self) -> SystemTime {
        let n = self.true_ns() + self.local_offset;
        UNIX_EPOCH + Duration::from_nanos(n as u64)
    }

    fn drain(&mut self) {
        while let Some(e) = self.client.poll_event() {
            if let Event::Synchronised { offset, .. } = &e {
                self.local_offset += i128::from(offset.as_nanos());
                self.clock_sets += 1;
            }
            self.events.push(e);
        }
    }

    fn poll(&mut self) -> Action {
        let a = self.client.poll(self.now, self.wall());
        self.drain();
        a
    }

    /// Polls, following `WaitUntil`s, until a query is due; gives up (None)
    /// at `limit` after t0 or on `Idle`.
    fn next_query(&mut self, limit: Duration) -> Option<(QueryId, String)> {
        loop {
            match self.poll() {
                Action::Query { id, server } => return Some((id, server)),
                Action::Idle => return None,
                Action::WaitUntil(t) => {
                    assert!(t > self.now, "WaitUntil must move time forward");
                    if t - self.t0 > limit {
                        return None;
                    }
                    self.now = t;
                }
            }
        }
    }

    /// Runs one query to its end with the server answering `answer`.
    fn exchange(&mut self, answer: &Answer) -> (QueryId, String, Option<ReplyOutcome>) {
        let (id, server) = self.next_query(Duration::MAX).expect("a query");
        let request = self.client.transmit(id, self.now, self.wall()).expect("request");
        self.sent.push((self.elapsed(), server.clone()));
        let outcome = match self.reply_bytes(&request, answer) {
            None => {
                self.now += secs(5);
                None
            }
            Some(bytes) => {
                self.now += RTT;
                let o = self.client.handle_reply(id, self.now, &bytes);
                self.drain();
                Some(o)
            }
        };
        (id, server, outcome)
    }

    fn reply_bytes(&self, request: &[u8; 48], answer: &Answer) -> Option<Vec<u8>> {
        let req = Packet::decode(request).unwrap();
        // The server stamps T2 = T3 half-way through the round trip.
        let t = NtpTimestamp::from_unix_nanos(self.true_ns() + RTT.as_nanos() as i128 / 2);
        let mut p = Packet {
            leap: 0,
            version: 4,
            mode: 4,
            stratum: 2,
            poll: 6,
            precision: -20,
            root_delay: 0x100,
            root_dispersion: 0x100,
            reference_id: [192, 0, 2, 1],
            reference_timestamp: t,
            origin_timestamp: req.transmit_timestamp,
            receive_timestamp: t,
            transmit_timestamp: t,
        };
        match answer {
            Answer::Good => Some(p.encode().to_vec()),
            Answer::Silent => None,
            Answer::Mangled(f) => {
                f(&mut p);
                Some(p.encode().to_vec())
            }
            Answer::Kiss(code) => {
                p.stratum = 0;
                p.leap = 3;
                p.reference_id = **code;
                Some(p.encode().to_vec())
            }
            Answer::Raw(b) => Some(b.clone()),
        }
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn synced(&self) -> bool {
        self.client.status().synchronised
    }
}

fn failures(events: &[Event]) -> Vec<(String, FailureReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::QueryFailed { server, reason } => Some((server.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

/// No server was sent two requests less than 15 s apart.
fn assert_min_spacing(sent: &[(Duration, String)]) {
    for (i, (t, s)) in sent.iter().enumerate() {
        if let Some((prev, _)) = sent[..i].iter().rev().find(|(_, p)| p == s) {
            assert!(*t - *prev >= secs(15), "{s} asked at {prev:?} and {t:?}");
        }
    }
}

#[test]
fn first_query_is_immediate_and_a_good_reply_synchronises_and_waits_a_period() {
    let mut w = World::new(config(&["a", "b"], 1440, 60));
    w.local_offset = -3600 * NS; // an hour behind
    assert!(!w.synced(), "not synchronised at start");
    let (_, server, outcome) = w.exchange(&Answer::Good);
    assert_eq!(
        (server.as_str(), outcome),
        ("a", Some(ReplyOutcome::Synchronised))
    );
    assert_eq!(w.sent[0].0, Duration::ZERO, "first query at once");
    let ev = w.take_events();
    let Some(Event::Synchronised {
        server,
        offset,
        delay,
        stratum,
    }) = ev.first()
    else {
        panic!("{ev:?}")
    };
    assert_eq!(server, "a");
    assert!(
        (offset.as_nanos() - 3600 * 1_000_000_000).abs() < 1000,
        "{offset}"
    );
    assert!(delay.abs_diff(RTT) < Duration::from_micros(1), "{delay:?}");
    assert_eq!(*stratum, 2);
    assert!(w.local_offset.abs() < 1000, "clock corrected to within 1 µs");
    let st = w.client.status().clone();
    assert!(st.synchronised);
    assert_eq!(st.current_source.as_deref(), Some("a"));
    assert_eq!(st.last_offset, Some(*offset));
    assert_eq!(st.last_stratum, Some(2));
    assert_eq!(st.last_error, None);
    let last_sync = st
        .last_sync
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128;
    assert!((last_sync - w.true_ns()).abs() < 1000);
    // Next: the primary again, one period later.
    let (_, server) = w.next_query(Duration::MAX).unwrap();
    assert_eq!(server, "a");
    assert_eq!(w.elapsed(), RTT + secs(1440 * MIN));
}

#[test]
fn failed_rounds_fall_through_by_priority_and_back_off_exponentially_to_the_error_period() {
    let mut w = World::new(config(&["a", "b", "c"], 1440, 60));
    let mut round_starts = Vec::new();
    for _ in 0..12 {
        for expected in ["a", "b", "c"] {
            let (_, server, outcome) = w.exchange(&Answer::Silent);
            assert_eq!((server.as_str(), outcome), (expected, None));
            if expected == "a" {
                round_starts.push(w.sent.last().unwrap().0.as_secs());
            }
        }
    }
    w.poll(); // notices the last timeout
              // Each round takes 3 × 5 s of timeouts; the waits between rounds are
              // 15, 30, 60 ... s, capped at 60 min.
    let waits: Vec<u64> = round_starts.windows(2).map(|p| p[1] - p[0] - 15).collect();
    assert_eq!(waits, [15, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    assert_min_spacing(&w.sent);
    let ev = w.take_events();
    let f = failures(&ev);
    assert!(f
        .iter()
        .all(|(_, r)| *r == FailureReason::Timeout { ignored: None }));
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::RoundFailed { .. }))
            .count(),
        12
    );
    assert!(!w.synced());
    assert_eq!(w.clock_sets, 0);
    let err = w.client.status().last_error.clone().unwrap();
    assert_eq!(err.server.as_deref(), Some("c"));
    assert_eq!(err.to_string(), "c: no reply");
}

#[test]
fn a_short_error_period_caps_the_back_off_early() {
    let mut w = World::new(config(&["a"], 1440, 1));
    let mut starts = Vec::new();
    for _ in 0..6 {
        w.exchange(&Answer::Silent);
        starts.push(w.sent.last().unwrap().0.as_secs());
    }
    let waits: Vec<u64> = starts.windows(2).map(|p| p[1] - p[0] - 5).collect();
    assert_eq!(waits, [15, 30, 60, 60, 60]);
}

#[test]
fn success_resets_the_back_off_and_failures_after_it_start_again_at_15_s() {
    let mut w = World::new(config(&["a"], 1, 60));
    w.exchange(&Answer::Silent); // t 0, fails at 5, retry in 15
    w.exchange(&Answer::Silent); // t 20, fails at 25, retry in 30
    w.exchange(&Answer::Good); // t 55
    assert_eq!(
        w.sent.iter().map(|s| s.0.as_secs()).collect::<Vec<_>>(),
        [0, 20, 55]
    );
    w.exchange(&Answer::Silent); // one period (1 min) after the success
    w.exchange(&Answer::Silent);
    let t: Vec<Duration> = w.sent.iter().map(|s| s.0).collect();
    assert_eq!(t[3], secs(55) + RTT + secs(60));
    assert_eq!(t[4], t[3] + secs(5) + secs(15), "back-off starts again at 15 s");
    assert!(w.synced(), "still synchronised after later failures");
}

#[test]
fn one_server_is_never_asked_twice_within_15_s_even_across_reconfiguration() {
    let mut w = World::new(config(&["a"], 1440, 60));
    w.exchange(&Answer::Good);
    w.now += secs(2);
    // A configuration change starts a new round at once...
    w.client.reconfigure(config(&["a"], 30, 60), w.now);
    // ...but "a" was asked 2 s ago: it waits until 15 s after that.
    let (_, server) = w.next_query(Duration::MAX).unwrap();
    assert_eq!(server, "a");
    assert_eq!(w.elapsed(), secs(15));
    // Same for instant authentic failures: with two servers rejecting at
    // once, the next round is 15 s later, never sooner.
    let mut w = World::new(config(&["a", "b"], 1440, 60));
    for _ in 0..4 {
        w.exchange(&Answer::Mangled(|p| p.leap = 3));
    }
    assert_eq!(
        w.sent
            .iter()
            .map(|(t, s)| (t.as_millis() as u64, s.as_str()))
            .collect::<Vec<_>>(),
        [(0, "a"), (20, "b"), (15_040, "a"), (15_060, "b")]
    );
    assert_min_spacing(&w.sent);
}

#[test]
fn kiss_of_death_rate_backs_that_server_off_and_the_next_one_serves() {
    let mut w = World::new(config(&["a", "b"], 1, 60));
    let (_, s, o) = w.exchange(&Answer::Kiss(b"RATE"));
    assert_eq!((s.as_str(), o), ("a", Some(ReplyOutcome::Failed)));
    let ev = w.take_events();
    assert_eq!(
        ev,
        [Event::KissOfDeath {
            server: "a".into(),
            code: KissCode::Rate,
            response: KodResponse::BackOff {
                min_interval: secs(30)
            },
        }]
    );
    let (_, s, _) = w.exchange(&Answer::Good);
    assert_eq!(s, "b", "falls through to the next server at once");
    assert_eq!(w.sent[1].0, RTT);
    assert_eq!(w.client.status().current_source.as_deref(), Some("b"));
    assert_eq!(
        w.client.status().last_error.as_ref().map(|e| e.reason.clone()),
        Some(FailureReason::KissOfDeath(KissCode::Rate))
    );
    w.take_events();
    // One period later, "a" (allowed again after 30 s) is asked first and
    // says RATE again: its interval becomes twice the 60 s spacing.
    let (_, s, _) = w.exchange(&Answer::Kiss(b"RATE"));
    assert_eq!(s, "a");
    let spacing = w.sent[2].0 - w.sent[0].0;
    let ev = w.take_events();
    assert_eq!(
        ev[0],
        Event::KissOfDeath {
            server: "a".into(),
            code: KissCode::Rate,
            response: KodResponse::BackOff {
                min_interval: spacing * 2
            },
        }
    );
    w.exchange(&Answer::Good); // b
                               // Next round: "a" is still held back, so "b" is asked first...
    let (_, s, _) = w.exchange(&Answer::Good);
    assert_eq!(s, "b");
    // ...and "a" only once its doubled interval has passed.
    loop {
        let (_, s, _) = w.exchange(&Answer::Good);
        if s == "a" {
            break;
        }
    }
    let last_a = w.sent.iter().rev().find(|x| x.1 == "a").unwrap().0;
    assert!(last_a - w.sent[2].0 >= spacing * 2, "{:?}", w.sent);
    assert_min_spacing(&w.sent);
}

#[test]
fn kiss_of_death_deny_and_rstr_stop_using_the_server_until_the_configuration_changes() {
    let mut w = World::new(config(&["a", "b", "c"], 1, 60));
    assert_eq!(w.exchange(&Answer::Kiss(b"DENY")).1, "a");
    assert_eq!(w.exchange(&Answer::Kiss(b"RSTR")).1, "b");
    let refused: Vec<_> = w.client.status().servers.iter().map(|s| s.refused).collect();
    assert_eq!(refused, [Some(KissCode::Deny), Some(KissCode::Rstr), None]);
    let ev = w.take_events();
    assert!(ev.iter().all(|e| matches!(
        e,
        Event::KissOfDeath {
            response: KodResponse::Disabled,
            ..
        }
    )));
    assert_eq!(w.exchange(&Answer::Good).1, "c");
    for _ in 0..5 {
        assert_eq!(
            w.exchange(&Answer::Silent).1,
            "c",
            "a and b are never asked again"
        );
    }
    assert_eq!(w.exchange(&Answer::Kiss(b"DENY")).1, "c");
    // Every server refused: nothing more to do until the configuration
    // changes.
    assert_eq!(w.poll(), Action::Idle);
    assert_eq!(
        w.client.status().last_error.as_ref().map(|e| &e.reason),
        Some(&FailureReason::AllServersRefused)
    );
    // The same configuration again is no change.
    w.client.reconfigure(config(&["a", "b", "c"], 1, 60), w.now);
    assert_eq!(w.poll(), Action::Idle);
    // A real change re-enables them.
    w.client.reconfigure(config(&["a", "b", "c"], 2, 60), w.now);
    assert_eq!(w.exchange(&Answer::Good).1, "a");
    assert!(w.synced(), "synchronised state survives all of that");
}

#[test]
fn other_kiss_codes_only_fail_the_query() {
    let mut w = World::new(config(&["a", "b"], 1, 60));
    w.exchange(&Answer::Kiss(b"INIT"));
    w.exchange(&Answer::Good);
    let ev = w.take_events();
    assert_eq!(
        ev[0],
        Event::KissOfDeath {
            server: "a".into(),
            code: KissCode::Other(*b"INIT"),
            response: KodResponse::Ignored,
        }
    );
    // "a" is first again next round.
    assert_eq!(w.exchange(&Answer::Good).1, "a");
}

#[test]
fn replies_that_do_not_answer_our_query_are_ignored_and_the_genuine_one_still_counts() {
    let wrong_origin = |p: &mut Packet| p.origin_timestamp = NtpTimestamp(p.origin_timestamp.0 ^ 1);
    let wrong_mode = |p: &mut Packet| p.mode = 3;
    let cases: Vec<(Answer, ReplyError)> = vec![
        (Answer::Raw(vec![0x24; 20]), ReplyError::TooShort { len: 20 }),
        (Answer::Mangled(wrong_mode), ReplyError::WrongMode { mode: 3 }),
        (
            Answer::Mangled(|p| p.version = 1),
            ReplyError::UnsupportedVersion { version: 1 },
        ),
        (Answer::Mangled(wrong_origin), ReplyError::OriginMismatch),
        // A forged KoD (wrong origin) must not silence the server either.
        (
            Answer::Mangled(|p| {
                p.stratum = 0;
                p.reference_id = *b"DENY";
                p.origin_timestamp = NtpTimestamp(7);
            }),
            ReplyError::OriginMismatch,
        ),
    ];
    for (bad, reason) in cases {
        let mut w = World::new(config(&["a", "b"], 1440, 60));
        let (id, _) = w.next_query(Duration::ZERO).unwrap();
        let request = w.client.transmit(id, w.now, w.wall()).unwrap();
        w.now += RTT;
        let bytes = w.reply_bytes(&request, &bad).unwrap();
        assert_eq!(w.client.handle_reply(id, w.now, &bytes), ReplyOutcome::Ignored);
        w.drain();
        assert_eq!(
            w.take_events(),
            [Event::ReplyIgnored {
                server: Some("a".into()),
                reason: reason.clone()
            }]
        );
        assert_eq!(w.client.current_query(), Some(id), "still waiting");
        assert_eq!(w.poll(), Action::WaitUntil(w.t0 + secs(5)));
        // The genuine reply, later, is accepted.
        w.now += RTT;
        let good = w.reply_bytes(&request, &Answer::Good).unwrap();
        assert_eq!(
            w.client.handle_reply(id, w.now, &good),
            ReplyOutcome::Synchronised
        );
        // The same with no genuine reply: at the timeout the failure says
        // what was ignored, and "b" is asked next.
        let mut w = World::new(config(&["a", "b"], 1440, 60));
        let (_, s, outcome) = w.exchange(&bad);
        assert_eq!((s.as_str(), outcome), ("a", Some(ReplyOutcome::Ignored)));
        let (_, s) = w.next_query(Duration::MAX).unwrap();
        assert_eq!(s, "b");
        assert_eq!(w.elapsed(), secs(5), "after the 5 s timeout");
        let f = failures(&w.take_events());
        assert_eq!(
            f,
            [(
                "a".to_string(),
                FailureReason::Timeout {
                    ignored: Some(reason.clone())
                }
            )]
        );
        assert_eq!(w.clock_sets, 0);
        assert!(!w.synced());
    }
}

#[test]
fn unusable_answers_to_our_query_fail_at_once_and_never_set_the_clock() {
    let cases: Vec<(Answer, ReplyError)> = vec![
        (Answer::Mangled(|p| p.leap = 3), ReplyError::ServerUnsynchronised),
        (
            Answer::Mangled(|p| {
                p.stratum = 0;
                p.reference_id = [0; 4];
            }),
            ReplyError::StratumZero { reference_id: [0; 4] },
        ),
        (
            Answer::Mangled(|p| p.stratum = 16),
            ReplyError::BadStratum { stratum: 16 },
        ),
        (
            Answer::Mangled(|p| p.transmit_timestamp = NtpTimestamp::ZERO),
            ReplyError::ZeroTransmitTimestamp,
        ),
        (
            Answer::Mangled(|p| p.receive_timestamp = NtpTimestamp::ZERO),
            ReplyError::ZeroReceiveTimestamp,
        ),
        (
            Answer::Mangled(|p| p.root_dispersion = 20 << 16),
            ReplyError::RootDispersionTooLarge {
                root_dispersion: secs(20),
            },
        ),
    ];
    for (bad, reason) in cases {
        let mut w = World::new(config(&["a", "b"], 1440, 60));
        w.local_offset = 3600 * NS;
        let (_, s, outcome) = w.exchange(&bad);
        assert_eq!((s.as_str(), outcome), ("a", Some(ReplyOutcome::Failed)));
        let f = failures(&w.take_events());
        assert_eq!(f, [("a".to_string(), FailureReason::Rejected(reason.clone()))]);
        assert_eq!(w.client.current_query(), None);
        assert_eq!(w.clock_sets, 0, "{reason}");
        assert_eq!(w.local_offset, 3600 * NS);
        assert!(!w.synced());
        // Next server at once.
        let (_, s) = w.next_query(Duration::MAX).unwrap();
        assert_eq!((s.as_str(), w.elapsed()), ("b", RTT));
    }
}

#[test]
fn replayed_and_late_replies_are_unsolicited() {
    let mut w = World::new(config(&["a", "b"], 1440, 60));
    let (id, _) = w.next_query(Duration::ZERO).unwrap();
    let request = w.client.transmit(id, w.now, w.wall()).unwrap();
    w.now += RTT;
    let good = w.reply_bytes(&request, &Answer::Good).unwrap();
    assert_eq!(
        w.client.handle_reply(id, w.now, &good),
        ReplyOutcome::Synchronised
    );
    assert_eq!(w.client.handle_reply(id, w.now, &good), ReplyOutcome::Ignored);
    w.drain();
    assert_eq!(w.clock_sets, 1, "a replay does not set the clock again");
    assert!(matches!(
        w.take_events().last(),
        Some(Event::ReplyIgnored {
            reason: ReplyError::Unsolicited,
            ..
        })
    ));
    // A reply after the timeout, for a query that is over.
    let mut w = World::new(config(&["a", "b"], 1440, 60));
    let (id, _) = w.next_query(Duration::ZERO).unwrap();
    let request = w.client.transmit(id, w.now, w.wall()).unwrap();
    w.now += secs(6);
    let late = w.reply_bytes(&request, &Answer::Good).unwrap();
    let (_, s) = w.next_query(Duration::MAX).unwrap(); // timeout, then b
    assert_eq!(s, "b");
    assert_eq!(w.client.handle_reply(id, w.now, &late), ReplyOutcome::Ignored);
    w.drain();
    assert_eq!(w.clock_sets, 0);
}

#[test]
fn synchronised_stays_true_through_days_of_failures() {
    let mut w = World::new(config(&["a"], 1440, 60));
    w.exchange(&Answer::Good);
    while w.elapsed() < secs(5 * 86_400) {
        w.exchange(&Answer::Silent);
    }
    let st = w.client.status();
    assert!(st.synchronised);
    assert_eq!(st.current_source.as_deref(), Some("a"));
    assert_eq!(
        st.last_error.as_ref().map(|e| &e.reason),
        Some(&FailureReason::Timeout { ignored: None })
    );
    assert_min_spacing(&w.sent);
}

#[test]
fn a_clock_set_by_someone_else_is_no_longer_synchronised() {
    let mut w = World::new(config(&["a"], 1440, 60));
    w.exchange(&Answer::Good);
    assert!(w.synced());
    // Drift and rounding under a second: still synchronised.
    w.now += secs(3600);
    w.local_offset += 300_000_000;
    assert!(matches!(w.poll(), Action::WaitUntil(_)));
    assert!(w.synced());
    // Someone sets the clock 5 s off: unsynchronised, and a new round
    // starts now instead of in a day.
    w.local_offset += 5 * NS;
    let (_, s) = w.next_query(Duration::MAX).unwrap();
    assert_eq!(s, "a");
    assert_eq!(w.elapsed(), RTT + secs(3600));
    assert!(!w.synced());
    let ev = w.take_events();
    assert!(
        matches!(ev.last(), Some(Event::ClockStepped { by }) if (by.as_nanos() - 5_300_000_000).abs() < 1000),
        "{ev:?}"
    );
    let request = w
        .client
        .transmit(w.client.current_query().unwrap(), w.now, w.wall());
    assert!(request.is_some());
}

#[test]
fn a_clock_that_could_not_be_set_is_not_synchronised() {
    let mut w = World::new(config(&["a"], 1440, 60));
    w.exchange(&Answer::Good);
    w.client.clock_error(w.now, "Operation not permitted".into());
    let st = w.client.status().clone();
    assert!(!st.synchronised);
    assert_eq!(
        st.last_error.unwrap().reason,
        FailureReason::ClockNotSet("Operation not permitted".into())
    );
    // Retried as after a failure (15 s), not after a period.
    w.next_query(Duration::MAX).unwrap();
    assert_eq!(w.elapsed(), RTT + secs(15));
}

#[test]
fn no_server_means_idle_until_configured() {
    let mut w = World::new(config(&[], 1440, 60));
    assert_eq!(w.poll(), Action::Idle);
    assert_eq!(
        w.client.status().last_error.as_ref().map(|e| &e.reason),
        Some(&FailureReason::NoServers)
    );
    w.now += secs(100);
    w.client
        .reconfigure(config(&["ntp.example.net:1123"], 1440, 60), w.now);
    let (_, s) = w.next_query(Duration::MAX).unwrap();
    assert_eq!((s.as_str(), w.elapsed()), ("ntp.example.net:1123", secs(100)));
}

#[test]
fn resolution_and_network_errors_fall_through() {
    let mut w = World::new(config(&["bad", "b"], 1440, 60));
    let (id, s) = w.next_query(Duration::ZERO).unwrap();
    assert_eq!(s, "bad");
    w.client
        .query_error(id, FailureReason::Resolve("Name or service not known".into()));
    let (id2, s) = w.next_query(Duration::ZERO).unwrap();
    assert_eq!(s, "b");
    // A stale id changes nothing.
    w.client.query_error(id, FailureReason::Network("late".into()));
    assert_eq!(w.client.current_query(), Some(id2));
    assert_eq!(w.client.transmit(id, w.now, w.wall()), None);
    w.client
        .query_error(id2, FailureReason::Network("Connection refused".into()));
    assert!(matches!(w.poll(), Action::WaitUntil(t) if t == w.t0 + secs(15)));
    let f = failures(&w.take_events());
    assert_eq!(f.len(), 2);
}

#[test]
fn reconfiguration_drops_the_query_in_flight() {
    let mut w = World::new(config(&["a"], 1440, 60));
    let (id, _) = w.next_query(Duration::ZERO).unwrap();
    let request = w.client.transmit(id, w.now, w.wall()).unwrap();
    w.now += RTT;
    w.client.reconfigure(config(&["b"], 1440, 60), w.now);
    let good = w.reply_bytes(&request, &Answer::Good).unwrap();
    assert_eq!(w.client.handle_reply(id, w.now, &good), ReplyOutcome::Ignored);
    let (_, s) = w.next_query(Duration::ZERO).unwrap();
    assert_eq!(s, "b");
    assert_eq!(w.client.status().config_source, ConfigSource::Static);
}

#[test]
fn requests_carry_a_fresh_random_nonce_not_the_clock() {
    let mut w = World::new(config(&["a", "b"], 1440, 60));
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2 {
        let (id, _) = w.next_query(Duration::MAX).unwrap();
        let r = Packet::decode(&w.client.transmit(id, w.now, w.wall()).unwrap()).unwrap();
        assert_eq!((r.mode, r.version, r.stratum), (3, 4, 0));
        assert!(!r.transmit_timestamp.is_zero());
        let clock = NtpTimestamp::from_system_time(w.wall()).0 >> 32;
        assert_ne!(r.transmit_timestamp.0 >> 32, clock, "does not disclose our clock");
        assert!(seen.insert(r.transmit_timestamp));
        w.now += secs(5);
    }
}

#[test]
fn out_of_range_durations_are_brought_within_bounds() {
    let mut cfg = config(&["a"], 0, 0);
    cfg.query_timeout = Duration::MAX;
    let mut w = World::new(cfg);
    let c = w.client.config().clone();
    assert_eq!(
        (c.period, c.period_on_error, c.query_timeout),
        (secs(15), secs(15), secs(60))
    );
    w.exchange(&Answer::Good);
    w.next_query(Duration::MAX).unwrap();
    assert_eq!(w.elapsed(), RTT + secs(15), "never faster than every 15 s");
}
