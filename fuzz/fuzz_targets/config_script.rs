//! Configuration scripts come from operators, TR-069 downloads and DHCP-
//! provided URLs: any text must be applied or refused, never panic, and a
//! refused script must leave the configuration untouched. An applied script
//! must export to a script that gives the same configuration back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use params::{script, Config};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let base = Config::factory();
    match script::apply(&base, text) {
        Ok(applied) => {
            let exported = script::export(&applied.config, true);
            let again = script::apply(&Config::factory(), &exported).expect("an export applies");
            assert_eq!(again.config, applied.config, "export round trip");
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
});
