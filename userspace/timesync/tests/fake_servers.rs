//! The driver against fake SNTP servers on loopback that answer with
//! Kiss-o'-Death, nonsense, or nothing. Each bad answer must be rejected
//! with its reason, never set the clock, not be retried within 15 s, and
//! the next server by priority must take over. (Back-off timing is checked
//! exactly on the sans-IO core in client_core.rs, without sleeps.)

mod common;

use std::time::Duration;

use common::{quick_config, Behaviour, FakeServer, Service};
use timesync::{FailureReason, KissCode, Offset, ReplyError, SimulatedClock};

const START_OFFSET: Offset = Offset::from_secs(600);

async fn rejected_then_next_server(behaviour: Behaviour, expected: FailureReason) {
    let bad = FakeServer::start(behaviour);
    let good = FakeServer::start(Behaviour::Good);

    // The bad server alone.
    let clock = SimulatedClock::new(START_OFFSET);
    let mut svc = Service::start(quick_config(&[bad.name()]), clock.clone());
    let st = svc
        .wait_for("bad server rejected", Duration::from_secs(5), |s| {
            s.servers.first().is_some_and(|x| x.last_error.is_some())
        })
        .await;
    assert_eq!(st.servers[0].last_error, Some(expected.clone()), "{behaviour:?}");
    assert!(!st.synchronised);
    assert_eq!(st.current_source, None);
    // Give a faulty retry loop time to show itself: the next round is 15 s
    // away, so still one request, and the clock untouched.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(bad.requests(), 1, "{behaviour:?}: asked again within 15 s");
    assert_eq!(clock.offset(), START_OFFSET, "{behaviour:?} set the clock");
    assert!(!svc.status.borrow().synchronised);

    // A good server added below it: the change applies at once; the bad
    // one, asked less than 15 s ago, is passed over and the good one serves.
    svc.config.send_modify(|c| c.static_servers.push(good.name()));
    let st = svc
        .wait_for("synchronised by the second server", Duration::from_secs(5), |s| {
            s.synchronised
        })
        .await;
    assert_eq!(st.current_source, Some(good.name()));
    assert_eq!(bad.requests(), 1);
    assert!(
        clock.offset().abs() < Duration::from_secs(1),
        "{}",
        clock.offset()
    );
    svc.stop().await;

    // Both from the start: the bad one is asked first, then the next one by
    // priority.
    let clock = SimulatedClock::new(START_OFFSET);
    let mut svc = Service::start(quick_config(&[bad.name(), good.name()]), clock.clone());
    let st = svc
        .wait_for("fall-through", Duration::from_secs(5), |s| s.synchronised)
        .await;
    assert_eq!(bad.requests(), 2);
    assert_eq!(st.current_source, Some(good.name()));
    let err = st.last_error.expect("the bad server's failure stays visible");
    assert_eq!((err.server, err.reason), (Some(bad.name()), expected));
    assert!(clock.offset().abs() < Duration::from_secs(1));
    svc.stop().await;
}

#[tokio::test]
async fn kiss_of_death_rate() {
    rejected_then_next_server(
        Behaviour::Kiss(b"RATE"),
        FailureReason::KissOfDeath(KissCode::Rate),
    )
    .await;
}

#[tokio::test]
async fn kiss_of_death_rate_doubles_the_interval() {
    let bad = FakeServer::start(Behaviour::Kiss(b"RATE"));
    let mut svc = Service::start(quick_config(&[bad.name()]), SimulatedClock::default());
    let st = svc
        .wait_for("RATE", Duration::from_secs(5), |s| {
            s.servers.first().is_some_and(|x| x.last_error.is_some())
        })
        .await;
    assert_eq!(st.servers[0].min_interval, Duration::from_secs(30));
    svc.stop().await;
}

#[tokio::test]
async fn kiss_of_death_deny_disables_the_server() {
    rejected_then_next_server(
        Behaviour::Kiss(b"DENY"),
        FailureReason::KissOfDeath(KissCode::Deny),
    )
    .await;
    let bad = FakeServer::start(Behaviour::Kiss(b"DENY"));
    let mut svc = Service::start(quick_config(&[bad.name()]), SimulatedClock::default());
    let st = svc
        .wait_for("DENY", Duration::from_secs(5), |s| {
            s.last_error
                .as_ref()
                .is_some_and(|e| e.reason == FailureReason::AllServersRefused)
        })
        .await;
    assert_eq!(st.servers[0].refused, Some(KissCode::Deny));
    svc.stop().await;
}

#[tokio::test]
async fn short_packet() {
    rejected_then_next_server(
        Behaviour::Short,
        FailureReason::Timeout {
            ignored: Some(ReplyError::TooShort { len: 20 }),
        },
    )
    .await;
}

#[tokio::test]
async fn wrong_mode() {
    rejected_then_next_server(
        Behaviour::WrongMode,
        FailureReason::Timeout {
            ignored: Some(ReplyError::WrongMode { mode: 3 }),
        },
    )
    .await;
}

#[tokio::test]
async fn wrong_origin_timestamp() {
    rejected_then_next_server(
        Behaviour::WrongOrigin,
        FailureReason::Timeout {
            ignored: Some(ReplyError::OriginMismatch),
        },
    )
    .await;
}

#[tokio::test]
async fn stratum_zero_without_kiss_code() {
    rejected_then_next_server(
        Behaviour::StratumZero,
        FailureReason::Rejected(ReplyError::StratumZero { reference_id: [0; 4] }),
    )
    .await;
}

#[tokio::test]
async fn leap_indicator_unsynchronised() {
    rejected_then_next_server(
        Behaviour::Leap3,
        FailureReason::Rejected(ReplyError::ServerUnsynchronised),
    )
    .await;
}

#[tokio::test]
async fn zero_transmit_timestamp() {
    rejected_then_next_server(
        Behaviour::ZeroTransmit,
        FailureReason::Rejected(ReplyError::ZeroTransmitTimestamp),
    )
    .await;
}

#[tokio::test]
async fn no_answer_at_all() {
    rejected_then_next_server(Behaviour::Silent, FailureReason::Timeout { ignored: None }).await;
}

#[tokio::test]
async fn closed_port_and_unresolvable_name_fall_through() {
    let closed = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().to_string()
    };
    let good = FakeServer::start(Behaviour::Good);
    let servers = vec![closed.clone(), "no-such-host.invalid".to_string(), good.name()];
    let mut svc = Service::start(quick_config(&servers), SimulatedClock::new(START_OFFSET));
    let st = svc
        .wait_for("synchronised", Duration::from_secs(5), |s| s.synchronised)
        .await;
    assert_eq!(st.current_source, Some(good.name()));
    assert!(
        matches!(&st.servers[0].last_error, Some(FailureReason::Network(_))),
        "ICMP port unreachable: {:?}",
        st.servers[0]
    );
    assert!(
        matches!(&st.servers[1].last_error, Some(FailureReason::Resolve(_))),
        "{:?}",
        st.servers[1]
    );
    assert_eq!(st.servers[2].last_error, None);
    svc.stop().await;
}

#[tokio::test]
async fn ipv6_fake_server() {
    let good = FakeServer::start_on("[::1]:0", Behaviour::Good);
    assert!(good.name().starts_with("[::1]:"));
    let clock = SimulatedClock::new(Offset::from_secs(-5));
    let mut svc = Service::start(quick_config(&[good.name()]), clock.clone());
    let st = svc
        .wait_for("synchronised", Duration::from_secs(5), |s| s.synchronised)
        .await;
    assert_eq!(st.current_source, Some(good.name()));
    assert!(clock.offset().abs() < Duration::from_secs(1));
    svc.stop().await;
}
