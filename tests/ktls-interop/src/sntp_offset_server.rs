//! sntp-offset-server: a test SNTP server whose clock runs OFFSET seconds
//! ahead of the machine's, so a client that sets the system clock from it
//! visibly moves the clock (used in the test VM, where stepping the clock
//! harms nothing). Test infrastructure only.
//!
//! usage: sntp-offset-server PORT OFFSET_SECS

use std::net::UdpSocket;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds from 1900 (NTP era 0) to 1970.
const NTP_UNIX_DELTA: u64 = 2_208_988_800;

fn ntp_now(offset: i64) -> [u8; 8] {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    let secs = (d.as_secs() as i64 + offset) as u64 + NTP_UNIX_DELTA;
    let frac = ((u64::from(d.subsec_nanos())) << 32) / 1_000_000_000;
    (((secs & 0xffff_ffff) << 32) | frac).to_be_bytes()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(offset)) = (args.next(), args.next()) else {
        eprintln!("usage: sntp-offset-server PORT OFFSET_SECS");
        std::process::exit(2);
    };
    let offset: i64 = offset.parse().expect("OFFSET_SECS is an integer");
    let sock = UdpSocket::bind(("127.0.0.1", port.parse::<u16>().expect("PORT"))).expect("bind");
    let mut buf = [0u8; 512];
    loop {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        if n < 48 {
            continue;
        }
        let rx = ntp_now(offset);
        let mut r = [0u8; 48];
        r[0] = (4 << 3) | 4; // LI 0, version 4, mode 4 (server)
        r[1] = 2; // stratum 2
        r[2] = 6; // poll
        r[3] = 0xec; // precision 2^-20
        r[12..16].copy_from_slice(b"FAKE");
        r[16..24].copy_from_slice(&rx); // reference
        r[24..32].copy_from_slice(&buf[40..48]); // origin = the client's transmit
        r[32..40].copy_from_slice(&rx); // receive
        r[40..48].copy_from_slice(&ntp_now(offset)); // transmit
        let _ = sock.send_to(&r, from);
    }
}
