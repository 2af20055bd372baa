//! Named roles (Ready, Power, ...) mapped to LEDs by configuration.

use crate::sysfs::validate_name;
use crate::{Led, LedClass, LedError, Pattern};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// What an LED means to the user of the device.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The service is ready: every configured TLS connection is up.
    Ready,
    /// The unit is powered and running.
    Power,
    /// Any other role, by name (ASCII letter, then letters, digits, `_` or `-`; at most 32 bytes).
    Named(String),
}

/// Longest custom role name.
const ROLE_NAME_MAX: usize = 32;

impl FromStr for Role {
    type Err = &'static str;

    /// `Ready` and `Power` are matched case-insensitively; other names are
    /// kept as written.
    fn from_str(s: &str) -> Result<Role, &'static str> {
        if s.eq_ignore_ascii_case("ready") {
            return Ok(Role::Ready);
        }
        if s.eq_ignore_ascii_case("power") {
            return Ok(Role::Power);
        }
        let mut chars = s.chars();
        match chars.next() {
            None => return Err("empty role name"),
            Some(c) if !c.is_ascii_alphabetic() => return Err("role name must start with an ASCII letter"),
            Some(_) => {}
        }
        if s.len() > ROLE_NAME_MAX {
            return Err("role name longer than 32 bytes");
        }
        if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err("role name may only hold ASCII letters, digits, '_' and '-'");
        }
        Ok(Role::Named(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Ready => f.write_str("Ready"),
            Role::Power => f.write_str("Power"),
            Role::Named(n) => f.write_str(n),
        }
    }
}

/// A role map entry that could not be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleMapError {
    /// 1-based position of the entry in the comma-separated list.
    pub entry: usize,
    /// The entry as written (trimmed, at most 80 characters).
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for RoleMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LED role map entry {} ({:?}): {}",
            self.entry, self.text, self.reason
        )
    }
}

impl std::error::Error for RoleMapError {}

/// Which LED plays which role, e.g. from `Ready=dgw:green:ready,Power=dgw:green:power`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleMap {
    map: BTreeMap<Role, String>,
}

impl RoleMap {
    /// Parses `Role=led-name` entries separated by commas. Blanks around
    /// names are ignored; an empty (or all-blank) string is an empty map.
    ///
    /// Rejected, with the entry number and reason: an empty entry, a missing
    /// `=`, a bad role or LED name, a role given twice, and one LED given to
    /// two roles (they would overwrite each other's pattern).
    pub fn parse(s: &str) -> Result<RoleMap, RoleMapError> {
        let mut map = RoleMap::default();
        if s.trim().is_empty() {
            return Ok(map);
        }
        for (i, raw) in s.split(',').enumerate() {
            let text = raw.trim();
            let err = |reason: String| RoleMapError {
                entry: i + 1,
                text: text.chars().take(80).collect(),
                reason,
            };
            if text.is_empty() {
                return Err(err("empty entry (stray comma?)".into()));
            }
            let Some((role, led)) = text.split_once('=') else {
                return Err(err("expected Role=led-name".into()));
            };
            let role: Role = role.trim().parse().map_err(|e: &str| err(e.to_owned()))?;
            map.insert(role, led.trim()).map_err(err)?;
        }
        Ok(map)
    }

    /// Adds one mapping, with the same checks as [`RoleMap::parse`].
    pub fn insert(&mut self, role: Role, led: &str) -> Result<(), String> {
        if let Err(e) = validate_name(led) {
            return Err(match e {
                LedError::InvalidName { reason, .. } => format!("LED name {led:?}: {reason}"),
                other => other.to_string(),
            });
        }
        if self.map.contains_key(&role) {
            return Err(format!("role {role} is given more than once"));
        }
        if let Some((other, _)) = self.map.iter().find(|(_, l)| *l == led) {
            return Err(format!("LED {led} is already used by role {other}"));
        }
        self.map.insert(role, led.to_owned());
        Ok(())
    }

    /// The LED name for `role`.
    pub fn get(&self, role: &Role) -> Option<&str> {
        self.map.get(role).map(String::as_str)
    }

    /// All mappings, ordered by role.
    pub fn iter(&self) -> impl Iterator<Item = (&Role, &str)> {
        self.map.iter().map(|(r, l)| (r, l.as_str()))
    }

    /// Number of roles.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No roles at all.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl FromStr for RoleMap {
    type Err = RoleMapError;

    fn from_str(s: &str) -> Result<RoleMap, RoleMapError> {
        RoleMap::parse(s)
    }
}

impl fmt::Display for RoleMap {
    /// The parameter-string form, which [`RoleMap::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (role, led)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{role}={led}")?;
        }
        Ok(())
    }
}

/// The LEDs of a [`RoleMap`], opened. A missing LED does not stop the
/// others from working: it is recorded in [`Indicators::problems`] and
/// setting its role fails with [`LedError::RoleUnavailable`].
#[derive(Debug)]
pub struct Indicators {
    leds: BTreeMap<Role, Led>,
    problems: BTreeMap<Role, String>,
}

impl Indicators {
    /// Opens every LED named in `map`.
    pub fn open(class: &LedClass, map: &RoleMap) -> Indicators {
        let mut leds = BTreeMap::new();
        let mut problems = BTreeMap::new();
        for (role, name) in map.iter() {
            match class.open(name) {
                Ok(led) => {
                    leds.insert(role.clone(), led);
                }
                Err(e) => {
                    log::warn!("LED role {role}: {e}");
                    problems.insert(role.clone(), e.to_string());
                }
            }
        }
        Indicators { leds, problems }
    }

    /// Shows `pattern` on the LED of `role`.
    pub fn set(&mut self, role: &Role, pattern: Pattern) -> Result<(), LedError> {
        match self.leds.get_mut(role) {
            Some(led) => led.set_pattern(pattern),
            None => Err(LedError::RoleUnavailable {
                role: role.to_string(),
                reason: self
                    .problems
                    .get(role)
                    .cloned()
                    .unwrap_or_else(|| "not in the LED role map".into()),
            }),
        }
    }

    /// The LED of `role`, if it could be opened.
    pub fn led(&self, role: &Role) -> Option<&Led> {
        self.leds.get(role)
    }

    /// Roles whose LED could not be opened, with the reason.
    pub fn problems(&self) -> impl Iterator<Item = (&Role, &str)> {
        self.problems.iter().map(|(r, e)| (r, e.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_form() {
        let m = RoleMap::parse("Ready=dgw:green:ready,Power=dgw:green:power").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m.get(&Role::Ready), Some("dgw:green:ready"));
        assert_eq!(m.get(&Role::Power), Some("dgw:green:power"));
        assert_eq!(m.to_string(), "Ready=dgw:green:ready,Power=dgw:green:power");
        assert_eq!(m.to_string().parse::<RoleMap>().unwrap(), m);
    }

    #[test]
    fn blanks_case_and_custom_roles() {
        let m = RoleMap::parse(" ready = a:b:c ,  POWER=d , Alarm-2=e:red:alarm ").unwrap();
        assert_eq!(m.get(&Role::Ready), Some("a:b:c"));
        assert_eq!(m.get(&Role::Power), Some("d"));
        assert_eq!(m.get(&Role::Named("Alarm-2".into())), Some("e:red:alarm"));
        assert!(RoleMap::parse("").unwrap().is_empty());
        assert!(RoleMap::parse("  ").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_entry_and_reason() {
        let cases: &[(&str, usize, &str)] = &[
            ("Ready=a,", 2, "empty entry"),
            (",Ready=a", 1, "empty entry"),
            ("Ready", 1, "expected Role=led-name"),
            ("Ready=a,Power", 2, "expected Role=led-name"),
            ("=a", 1, "empty role name"),
            ("1x=a", 1, "must start with an ASCII letter"),
            ("a b=c", 1, "may only hold"),
            ("Ready=", 1, "empty"),
            ("Ready=../x", 1, "contains '/'"),
            ("Ready=a b", 1, "whitespace"),
            ("Ready=a,ready=b", 2, "more than once"),
            ("Ready=a,Power=a", 2, "already used by role Ready"),
        ];
        for (input, entry, needle) in cases {
            let e = RoleMap::parse(input).unwrap_err();
            assert_eq!(e.entry, *entry, "{input}: {e}");
            assert!(e.to_string().contains(needle), "{input}: {e}");
        }
        let long = format!("{}=a", "r".repeat(33));
        assert!(RoleMap::parse(&long).unwrap_err().reason.contains("longer"));
    }
}
