//! Post-handshake control records as the kernel hands them to userspace:
//! alerts and handshake messages, split into records at arbitrary points.
//! The parser must never panic and must bound what it buffers.
#![no_main]

use ktls_offload::control::{Alert, HandshakeReassembler, PostHandshake, MAX_HANDSHAKE_MESSAGE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Alert::parse(data).map(|a| (a.name(), a.is_fatal(true), a.is_fatal(false), a.to_string()));
    // First byte picks record sizes, the rest is the byte stream.
    let Some((&split, rest)) = data.split_first() else { return };
    let step = usize::from(split).max(1);
    let mut r = HandshakeReassembler::default();
    for rec in rest.chunks(step) {
        match r.push_record(rec) {
            Ok(msgs) => {
                for m in msgs {
                    if let PostHandshake::NewSessionTicket(b) = m {
                        assert!(b.len() <= MAX_HANDSHAKE_MESSAGE);
                    }
                }
            }
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
});
