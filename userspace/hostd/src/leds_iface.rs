//! `net.dgw.Leds1`: LED roles, their patterns, and the Ready indicator fed by
//! the services that own TLS connections.

use std::collections::BTreeMap;
use std::sync::Mutex;

use leds::{Indicators, LedClass, Pattern, ReadyIndicator, ReadyInputs, Role, RoleMap};
use zbus::object_server::SignalEmitter;

use crate::HostError;

/// Object path.
pub const PATH: &str = "/net/dgw/Host/Leds";

/// Parses a pattern as D-Bus callers write it: `off`, `on`, `updating`,
/// or `blink:ON_MS:OFF_MS`.
pub fn parse_pattern(s: &str) -> Result<Pattern, HostError> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "off" => return Ok(Pattern::Off),
        "on" => return Ok(Pattern::On),
        "updating" => return Ok(Pattern::Updating),
        _ => {}
    }
    let bad = || HostError::Invalid(format!("{s:?}: expected off, on, updating or blink:ON_MS:OFF_MS"));
    let rest = t.strip_prefix("blink:").ok_or_else(bad)?;
    let (on, off) = rest.split_once(':').ok_or_else(bad)?;
    let (on, off) = (on.parse().map_err(|_| bad())?, off.parse().map_err(|_| bad())?);
    Pattern::blink(on, off).map_err(|e| HostError::Invalid(e.to_string()))
}

/// Writes a pattern the way [`parse_pattern`] reads it.
pub fn pattern_text(p: &Pattern) -> String {
    match p {
        Pattern::Off => "off".into(),
        Pattern::On => "on".into(),
        Pattern::Updating => "updating".into(),
        Pattern::Blink { on_ms, off_ms } => format!("blink:{on_ms}:{off_ms}"),
    }
}

struct State {
    map: RoleMap,
    indicators: Indicators,
    /// TLS connections (expected, up) per reporting service.
    tls: BTreeMap<String, (u32, u32)>,
    updating: bool,
    ready: ReadyIndicator,
}

/// The LED service.
pub struct Leds {
    state: Mutex<State>,
}

impl Leds {
    /// Opens the LEDs named in `roles` (e.g. `Ready=dgw:green:ready`) under
    /// `class`. Missing LEDs are reported by `Roles`, not fatal.
    pub fn new(class: &LedClass, roles: RoleMap) -> Leds {
        let indicators = Indicators::open(class, &roles);
        for (role, why) in indicators.problems() {
            log::warn!("LED for role {role}: {why}");
        }
        Leds {
            state: Mutex::new(State {
                map: roles,
                indicators,
                tls: BTreeMap::new(),
                updating: false,
                ready: ReadyIndicator::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Recomputes the Ready LED from what services reported.
    fn refresh_ready(st: &mut State) -> Option<Pattern> {
        let (expected, up) = st
            .tls
            .values()
            .fold((0, 0), |(e, u), (a, b)| (e + a, u + b.min(a)));
        let inputs = ReadyInputs {
            tls_expected: expected,
            tls_up: up,
            update_in_progress: st.updating,
            service_failed: false,
        };
        let p = st.ready.update(&inputs)?;
        if let Err(e) = st.indicators.set(&Role::Ready, p) {
            log::warn!("Ready LED: {e}");
        }
        Some(p)
    }
}

fn role(s: &str) -> Result<Role, HostError> {
    s.parse()
        .map_err(|e| HostError::Invalid(format!("role {s:?}: {e}")))
}

// The interface macro generates undocumented helpers.
#[allow(missing_docs)]
mod object {
    use super::*;

    #[zbus::interface(name = "net.dgw.Leds1")]
    impl Leds {
        /// Every configured role: (role, LED name, current pattern or the problem).
        async fn roles(&self) -> Vec<(String, String, String)> {
            let st = self.lock();
            st.map
                .iter()
                .map(|(r, name)| {
                    let now = match st.indicators.led(r) {
                        Some(led) => match led.pattern() {
                            Ok(Some(p)) => pattern_text(&p),
                            Ok(None) => "other (set outside dgw)".into(),
                            Err(e) => format!("error: {e}"),
                        },
                        None => "unavailable".into(),
                    };
                    (r.to_string(), name.to_string(), now)
                })
                .collect()
        }

        /// Shows a pattern on a role's LED: `off`, `on`, `updating`, `blink:ON_MS:OFF_MS`.
        async fn set_pattern(
            &self,
            role_name: String,
            pattern: String,
            #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        ) -> Result<(), HostError> {
            let r = role(&role_name)?;
            let p = parse_pattern(&pattern)?;
            self.lock()
                .indicators
                .set(&r, p)
                .map_err(|e| HostError::Failed(e.to_string()))?;
            let _ = Self::pattern_changed(&emitter, r.to_string(), pattern_text(&p)).await;
            Ok(())
        }

        /// The pattern a role's LED shows now, read back from the device.
        async fn get_pattern(&self, role_name: String) -> Result<String, HostError> {
            let r = role(&role_name)?;
            let st = self.lock();
            let led = st
                .indicators
                .led(&r)
                .ok_or_else(|| HostError::Failed(format!("no LED for role {r}")))?;
            match led.pattern() {
                Ok(Some(p)) => Ok(pattern_text(&p)),
                Ok(None) => Ok("other".into()),
                Err(e) => Err(HostError::Failed(e.to_string())),
            }
        }

        /// A service reports its TLS connections: how many it should have and
        /// how many are up. The Ready LED is steady when every reported
        /// connection is up and blinks while any is missing.
        async fn report_tls_connections(
            &self,
            service: String,
            expected: u32,
            up: u32,
            #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        ) -> Result<(), HostError> {
            if service.is_empty() || service.len() > 64 {
                return Err(HostError::Invalid("service name must be 1-64 characters".into()));
            }
            let changed = {
                let mut st = self.lock();
                st.tls.insert(service, (expected, up));
                Self::refresh_ready(&mut st)
            };
            if let Some(p) = changed {
                let _ = Self::pattern_changed(&emitter, "Ready".into(), pattern_text(&p)).await;
            }
            Ok(())
        }

        /// An image update starts or ends: the Ready LED shows the update pattern meanwhile.
        async fn set_updating(
            &self,
            updating: bool,
            #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
        ) -> Result<(), HostError> {
            let changed = {
                let mut st = self.lock();
                st.updating = updating;
                Self::refresh_ready(&mut st)
            };
            if let Some(p) = changed {
                let _ = Self::pattern_changed(&emitter, "Ready".into(), pattern_text(&p)).await;
            }
            Ok(())
        }

        /// A role's pattern changed.
        #[zbus(signal)]
        async fn pattern_changed(
            emitter: &SignalEmitter<'_>,
            role_name: String,
            pattern: String,
        ) -> zbus::Result<()>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_round_trip_and_refuse_nonsense() {
        for s in ["off", "on", "updating", "blink:500:500", "BLINK:20:10000"] {
            let p = parse_pattern(s).unwrap();
            assert_eq!(parse_pattern(&pattern_text(&p)).unwrap(), p);
        }
        for s in ["", "blink", "blink:1:1", "blink:a:b", "dim", "blink:500"] {
            assert!(parse_pattern(s).is_err(), "{s}");
        }
    }
}
