//! The SIP stream framer reads TCP/TLS connections from any peer: any byte stream, cut into any
//! reads, must give frames or errors, never panic. Used as documented (push at most one chunk,
//! then drain), the buffer must never hold more than the limit plus one chunk, no message frame
//! may exceed the limit, and a fatal error must stick.
//!
//! The first byte picks the limit (small ones reach the oversize paths quickly), the second seeds
//! the read sizes; the rest is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipmsg::{Frame, FrameError, Framer, Message, MAX_MESSAGE};

fuzz_target!(|data: &[u8]| {
    let [limit, seed, stream @ ..] = data else { return };
    let max = match limit % 4 {
        0 => MAX_MESSAGE,
        1 => 64,
        2 => 300,
        _ => 4 + usize::from(*limit),
    };
    let mut framer = Framer::new(max);
    let mut state = u32::from(*seed) | 1;
    let mut rest = stream;
    while !rest.is_empty() {
        // A small linear congruential generator gives read sizes of 1..=4096.
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let chunk = 1 + (state >> 16) as usize % if state & 1 == 0 { 16 } else { 4096 };
        let (piece, tail) = rest.split_at(chunk.min(rest.len()));
        rest = tail;
        framer.push(piece);
        assert!(framer.buffered() <= max + chunk, "buffer over max + chunk");
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(bytes))) => {
                    assert!(bytes.len() <= max, "frame over max");
                    let _ = Message::parse(&bytes);
                }
                Ok(Some(Frame::Ping | Frame::Pong)) => {}
                Ok(None) => break,
                Err(FrameError::TooLarge { head, content_length }) => {
                    assert!(head.len() <= max);
                    assert!(head.len() + content_length > max);
                }
                Err(e) => {
                    assert!(e.is_fatal());
                    assert_eq!(framer.next_frame(), Err(e), "fatal errors stick");
                    assert_eq!(framer.buffered(), 0);
                    return;
                }
            }
        }
        assert!(framer.buffered() <= max, "buffer over max after draining");
        let _ = framer.in_message();
    }
    let _ = framer.flush_keepalive();
});
