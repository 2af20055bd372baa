//! What operators import into the certificate stores: PEM (certificates,
//! keys in every accepted form, encrypted keys, odd blocks) and DER. Any
//! bytes must give a result or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki::{CipherSuiteParam, PkiSnapshot, TlsVersionParam, Usage, ValidationLevel};

fuzz_target!(|data: &[u8]| {
    for usage in [Usage::TlsServer, Usage::TlsClient] {
        match pki::parse_host_pem(data, usage) {
            Ok(bundle) => {
                let _ = format!("{bundle:?} {}", bundle.summary());
                assert!(!bundle.chain().is_empty());
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    match pki::parse_others(data) {
        Ok(certs) => assert!(!certs.is_empty()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let mut snap = PkiSnapshot::new();
    let _ = snap.add_others_pem(data);
    // The parameter parsers the configuration layer calls.
    let text = String::from_utf8_lossy(data);
    let _ = pki::validate_file_name(&text);
    let _ = TlsVersionParam::parse(&text).map_err(|e| e.to_string());
    let _ = CipherSuiteParam::parse(&text).map_err(|e| e.to_string());
    let _ = ValidationLevel::parse(&text).map_err(|e| e.to_string());
});
