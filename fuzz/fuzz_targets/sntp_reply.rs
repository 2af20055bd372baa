//! What an SNTP server (or anyone on the path) can send the time client:
//! arbitrary datagrams, checked alone and fed to a client waiting for a
//! reply, at arbitrary local clock readings and round-trip times. Any bytes
//! must give a sample or a typed rejection, never a panic. Input layout:
//! 8 bytes local send time (i64 ns since 1970), 8 bytes round-trip time,
//! then the datagram.
#![no_main]

use std::time::{Duration, Instant, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use timesync::timestamp::unix_nanos_to_system_time;
use timesync::{check_reply, compute_sample, Action, Client, ClientConfig, ConfigSource, Packet};

fuzz_target!(|data: &[u8]| {
    let Some((head, datagram)) = data.split_first_chunk::<16>() else {
        return;
    };
    let t1 = i128::from(i64::from_le_bytes(head[..8].try_into().unwrap()));
    let rtt = Duration::from_nanos(u64::from_le_bytes(head[8..].try_into().unwrap()) % 10_000_000_000);

    // The checks alone, with the origin the datagram claims (so that the
    // checks past the origin run too).
    let origin = Packet::decode(datagram).map(|p| p.origin_timestamp).unwrap_or_default();
    match check_reply(datagram, origin) {
        Ok(p) => {
            if let Ok(s) = compute_sample(&p, t1, t1 + rtt.as_nanos() as i128) {
                let _ = s.offset.to_string();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }

    // Through the state machine, as the reply to a query in flight.
    let wall = unix_nanos_to_system_time(t1).unwrap_or(UNIX_EPOCH);
    let now = Instant::now();
    let config = ClientConfig {
        servers: vec!["a".into(), "b".into()],
        source: ConfigSource::Static,
        period: Duration::from_secs(60),
        period_on_error: Duration::from_secs(3600),
        query_timeout: Duration::from_secs(5),
    };
    let mut client = Client::new(config, now);
    let Action::Query { id, .. } = client.poll(now, wall) else {
        panic!("a first query is due at once");
    };
    let request = client.transmit(id, now, wall).expect("query in progress");
    let mut reply = datagram.to_vec();
    if reply.len() >= 48 && head[15] & 1 == 1 {
        // Make it answer our nonce, to reach the content checks.
        reply[24..32].copy_from_slice(&request[40..48]);
    }
    let _ = client.handle_reply(id, now + rtt, &reply);
    let _ = client.handle_reply(id, now + rtt, &reply);
    while let Some(e) = client.poll_event() {
        let _ = format!("{e:?}");
    }
    let _ = client.poll(now + rtt, wall);
    if let Some(e) = &client.status().last_error {
        let _ = e.to_string();
    }
    let _ = timesync::parse_host_port(&String::from_utf8_lossy(datagram));
});
