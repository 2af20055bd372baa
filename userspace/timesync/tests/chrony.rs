//! The driver against a real NTP server: Debian's chronyd, started by each
//! test on a private loopback port (see the crate docs for why chrony).

mod common;

use std::time::{Duration, SystemTime};

use common::{distance, quick_config, Behaviour, Chrony, FakeServer, Service};
use timesync::{Clock, ConfigSource, FailureReason, Offset, SimulatedClock, SntpConfig};

#[tokio::test]
async fn synchronises_against_chrony_and_reports_it_as_the_source() {
    let chrony = Chrony::start();
    let mut svc = Service::start(quick_config(&[chrony.v4()]), SimulatedClock::new(Offset::ZERO));
    assert!(!svc.status.borrow().synchronised, "false at start");
    let st = svc
        .wait_for("synchronised", Duration::from_secs(10), |s| s.synchronised)
        .await;
    assert_eq!(st.current_source, Some(chrony.v4()));
    assert_eq!(st.last_stratum, Some(8), "chrony's local stratum");
    let offset = st.last_offset.unwrap();
    // Same host clock on both sides: only loopback noise.
    assert!(offset.abs() < Duration::from_millis(50), "{offset}");
    assert!(st.last_delay.unwrap() < Duration::from_millis(100));
    assert!(distance(st.last_sync.unwrap(), SystemTime::now()) < Duration::from_secs(5));
    assert_eq!(st.last_error, None, "{}", chrony.log());
    assert_eq!(st.config_source, ConfigSource::Static);
    svc.stop().await;
}

#[tokio::test]
async fn corrects_a_clock_one_hour_off_to_within_a_second() {
    let chrony = Chrony::start();
    for start in [Offset::from_secs(-3600), Offset::from_secs(3600)] {
        let clock = SimulatedClock::new(start);
        let mut svc = Service::start(quick_config(&[chrony.v4()]), clock.clone());
        let st = svc
            .wait_for("synchronised", Duration::from_secs(10), |s| s.synchronised)
            .await;
        let measured = st.last_offset.unwrap();
        let expected = -start.as_nanos();
        assert!(
            (measured.as_nanos() - expected).abs() < 100_000_000,
            "measured {measured} for a clock {start} off"
        );
        assert!(
            clock.offset().abs() < Duration::from_secs(1),
            "left {}",
            clock.offset()
        );
        assert!(distance(clock.now(), SystemTime::now()) < Duration::from_secs(1));
        svc.stop().await;
    }
}

#[tokio::test]
async fn ipv6_server_after_a_silent_dhcp_server_with_fallback_to_static() {
    let chrony = Chrony::start();
    let silent = FakeServer::start(Behaviour::Silent);
    let config = SntpConfig {
        source: ConfigSource::AutomaticWithFallback,
        dhcp_servers: vec![silent.name()],
        static_servers: vec![chrony.v6()],
        query_timeout: Duration::from_millis(300),
        ..SntpConfig::default()
    };
    let clock = SimulatedClock::new(Offset::from_secs(-120));
    let mut svc = Service::start(config, clock.clone());
    let st = svc
        .wait_for("synchronised over IPv6", Duration::from_secs(10), |s| {
            s.synchronised
        })
        .await;
    assert_eq!(st.current_source, Some(chrony.v6()));
    assert_eq!(silent.requests(), 1);
    let err = st.last_error.unwrap();
    assert_eq!(err.server, Some(silent.name()));
    assert_eq!(err.reason, FailureReason::Timeout { ignored: None });
    assert!(clock.offset().abs() < Duration::from_secs(1));
    svc.stop().await;
}

#[tokio::test]
async fn configuration_changes_apply_live() {
    let chrony = Chrony::start();
    let clock = SimulatedClock::new(Offset::from_secs(30));
    // DHCP (the default source) has given nothing yet: idle, not synced.
    let mut svc = Service::start(
        SntpConfig {
            query_timeout: Duration::from_millis(300),
            ..SntpConfig::default()
        },
        clock.clone(),
    );
    let st = svc
        .wait_for("no server", Duration::from_secs(5), |s| s.last_error.is_some())
        .await;
    assert_eq!(st.last_error.unwrap().reason, FailureReason::NoServers);
    assert!(!st.synchronised);
    assert_eq!(clock.offset(), Offset::from_secs(30));
    // DHCP option 42 arrives.
    svc.config.send_modify(|c| c.dhcp_servers = vec![chrony.v4()]);
    let st = svc
        .wait_for("synchronised", Duration::from_secs(10), |s| s.synchronised)
        .await;
    assert_eq!(st.current_source, Some(chrony.v4()));
    assert!(clock.offset().abs() < Duration::from_secs(1));
    // Switching to an unusable static list does not unsynchronise.
    svc.config.send_modify(|c| {
        c.source = ConfigSource::Static;
        c.static_servers = vec!["bad host name".into()];
    });
    let st = svc
        .wait_for("bad name reported", Duration::from_secs(5), |s| {
            s.servers.first().is_some_and(|x| x.last_error.is_some())
        })
        .await;
    assert!(matches!(
        st.servers[0].last_error,
        Some(FailureReason::BadServerName(_))
    ));
    assert!(st.synchronised, "the clock is still right");
    assert_eq!(st.config_source, ConfigSource::Static);
    svc.stop().await;
}
