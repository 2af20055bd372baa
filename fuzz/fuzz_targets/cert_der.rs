//! Certificates from peers and from operators' PEM files, summarised for
//! display: any bytes must give a summary or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = tlsdiag::CertSummary::from_der(data) {
        let _ = s.to_string();
    }
});
