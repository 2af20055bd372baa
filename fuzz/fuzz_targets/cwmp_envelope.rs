//! CWMP envelopes arrive from the ACS (on the CPE) or from any CPE (on the test ACS): any bytes
//! must parse or be refused, never panic. A parsed envelope must pass its own schema checks
//! (`validate`), serialize to XML that parses again to an equal envelope, and the fault any
//! refusal maps to must serialize and parse as well.
#![no_main]

use cwmp::{Body, Envelope, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Envelope::parse(data) {
        Ok(env) => {
            env.validate().expect("a parsed envelope passes validate");
            let _ = (env.body.method_name(), env.body.kind(), format!("{env:?}"));
            let xml = env.to_xml();
            let again = Envelope::parse(xml.as_bytes()).expect("a serialized envelope parses");
            assert_eq!(again, env, "round trip");
        }
        Err(err) => {
            let _ = err.to_string();
            for role in [Role::Cpe, Role::Acs] {
                let fault = Envelope::new(Body::Fault(err.to_fault(role)));
                assert_eq!(Envelope::parse(fault.to_xml().as_bytes()).as_ref(), Ok(&fault), "fault round trip");
            }
        }
    }
});
