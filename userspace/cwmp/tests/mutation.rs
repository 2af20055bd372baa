//! A deterministic mutation loop over the samples and every generated message: thousands of
//! damaged envelopes must each give `Ok` or `Err`, never a panic, and every `Ok` must be valid
//! and survive the round trip (the property the fuzz target checks at random).

mod common;

use cwmp::Envelope;

use mutation::Rng;

/// Fragments that reach the parser's interesting paths.
const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"</",
    b"/>",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x10FFFF;",
    b"&lol;",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"<!DOCTYPE x>",
    b"<?pi?>",
    b"\"",
    b"'",
    b"=",
    b" xmlns:cwmp=\"urn:dslforum-org:cwmp-1-0\"",
    b" xmlns=\"urn:dslforum-org:cwmp-1-2\"",
    b" xsi:type=\"xsd:int\"",
    b" soap-env:mustUnderstand=\"1\"",
    b"<string>x</string>",
    b"<ParameterValueStruct><Name>A</Name><Value>1</Value></ParameterValueStruct>",
    b"\xff",
    b"\xc3",
    b"\r",
    b"\0",
    b"9003",
    b"-1",
    b"4294967296",
    b"0001-01-01T00:00:00Z",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, t.iter().copied());
            }
            2 => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                let chunk = out[at.min(end)..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, chunk);
            }
            4 => out.truncate(at),
            5 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = b"<>/&\"' =:x0"[rng.below(11)];
            }
            _ => {
                // Reverse a range: scrambles tags and text in ways the other moves do not.
                let a = rng.below(out.len() + 1);
                let b = rng.below(out.len() + 1);
                let (lo, hi) = (a.min(b), a.max(b));
                out[lo..hi].reverse();
            }
        }
    }
    out
}

#[test]
fn mutations_never_panic_and_ok_round_trips() {
    let mut seeds: Vec<Vec<u8>> = common::samples().into_iter().map(|(_, b)| b).collect();
    seeds.extend(common::every_message().iter().map(|e| e.to_xml().into_bytes()));
    // CWMP_MUTATIONS=n runs n mutations per seed instead of 300 (for a longer hunt).
    let rounds = std::env::var("CWMP_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let mut rng = Rng::new(0x5eed_c3a9_0000_0069);
    let (mut ok, mut total) = (0, 0);
    for seed in &seeds {
        for _ in 0..rounds {
            let input = mutate(&mut rng, seed);
            total += 1;
            let Ok(env) = Envelope::parse(&input) else {
                continue;
            };
            ok += 1;
            env.validate().expect("a parsed envelope is valid");
            let xml = env.to_xml();
            let again = Envelope::parse(xml.as_bytes())
                .unwrap_or_else(|e| panic!("{e}\ninput: {}\nxml: {xml}", String::from_utf8_lossy(&input)));
            assert_eq!(again, env, "input: {}", String::from_utf8_lossy(&input));
        }
    }
    assert!(total >= seeds.len() * rounds.min(300), "{total}");
    // Some mutations are harmless (white space, comments): the Ok path is exercised too.
    assert!(ok > 100, "{ok} of {total} parsed");
    eprintln!("{ok} of {total} mutated envelopes parsed");
}
