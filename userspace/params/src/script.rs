//! Configuration scripts, as on a DGW unit:
//!
//! ```text
//! # SIP over TLS trunk
//! SipEp.TransportTlsVersion=TLSv1_3
//! SipEp.DefaultStaticRegistrarHost=sip.example.net:5061
//! SipEp.Registration[alice].AuthPassword="correct horse"
//! Hoc.StaticSntpServers[2].Delete
//! Scm.RestartRequiredServices
//! ```
//!
//! - one statement per line; blank lines and lines starting with `#` are
//!   ignored; names are case-insensitive;
//! - `Name=Value` assigns (the value runs to the end of the line, trimmed;
//!   double quotes keep spaces and allow `\"` and `\\`);
//! - `Service.Table[Key].Column=Value` sets a cell, creating the row;
//! - `Service.Table[Key].Delete` deletes a row;
//! - a bare command (`Scm.RestartRequiredServices`, `Conf.FactoryReset`)
//!   runs after the script applied; `Conf.FactoryReset` is allowed only as
//!   the first statement and makes the script start from factory defaults.
//!
//! A script applies atomically: if any line is wrong, nothing changes and
//! every wrong line is reported with its number, the parameter and what is
//! allowed.

use std::fmt;

use crate::config::{ChangeSet, Config, ParamError};
use crate::schema;

/// Largest script accepted.
pub const MAX_SCRIPT_BYTES: usize = 256 * 1024;
/// Longest line accepted.
pub const MAX_LINE_BYTES: usize = 4096;

/// One statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    /// `Name=Value`.
    Assign {
        /// Name as written.
        name: String,
        /// Value, unquoted.
        value: String,
    },
    /// `Service.Table[Key].Delete`.
    DeleteRow {
        /// `Service.Table[Key]` as written.
        row: String,
    },
    /// A command, canonical name.
    Command(&'static str),
}

/// A problem on one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    /// 1-based line number (0: the script as a whole).
    pub line: usize,
    /// What is wrong, naming the parameter and what is allowed.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "script: {}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ScriptError {}

fn unquote(v: &str) -> Result<String, String> {
    let Some(inner) = v.strip_prefix('"') else {
        return Ok(v.to_string());
    };
    let inner = inner.strip_suffix('"').ok_or("unterminated quoted value")?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('"' | '\\')) => out.push(e),
                _ => return Err("in quotes, \\ may only escape \" or \\".into()),
            },
            '"' => return Err("a quote inside a quoted value must be written \\\"".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

/// Parses a script into numbered statements, or every syntax error.
pub fn parse(text: &str) -> Result<Vec<(usize, Stmt)>, Vec<ScriptError>> {
    if text.len() > MAX_SCRIPT_BYTES {
        return Err(vec![ScriptError {
            line: 0,
            message: format!("{} bytes, over the {MAX_SCRIPT_BYTES}-byte limit", text.len()),
        }]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let mut e = |m: String| errors.push(ScriptError { line, message: m });
        if raw.len() > MAX_LINE_BYTES {
            e(format!("line longer than {MAX_LINE_BYTES} bytes"));
            continue;
        }
        let s = raw.trim();
        if s.is_empty() || s.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = s.split_once('=') {
            let name = name.trim();
            if name.is_empty() {
                e("missing parameter name before '='".into());
                continue;
            }
            match unquote(value.trim()) {
                Ok(value) => out.push((
                    line,
                    Stmt::Assign {
                        name: name.to_string(),
                        value,
                    },
                )),
                Err(m) => e(format!("{name}: {m}")),
            }
        } else if let Some(row) = strip_suffix_ci(s, ".Delete").filter(|r| r.ends_with(']')) {
            out.push((line, Stmt::DeleteRow { row: row.to_string() }));
        } else if let Some(c) = schema::command(s) {
            out.push((line, Stmt::Command(c)));
        } else {
            let known: Vec<&str> = schema::COMMANDS.iter().map(|(c, _)| *c).collect();
            // Echo only the first word: the rest may be a password typed
            // without its '='.
            let first: String = s
                .split_whitespace()
                .next()
                .unwrap_or("")
                .chars()
                .take(80)
                .collect();
            e(format!(
                "{first:?}... is neither an assignment (Name=Value) nor a command ({})",
                known.join(", ")
            ));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The outcome of a script that applied (or would apply, in a dry run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The resulting configuration.
    pub config: Config,
    /// What changed.
    pub changes: ChangeSet,
    /// Commands to run now, in order (the factory reset already happened).
    pub commands: Vec<&'static str>,
}

fn line_err(line: usize, e: ParamError) -> ScriptError {
    ScriptError {
        line,
        message: e.to_string(),
    }
}

/// Applies a script to `base`, all or nothing. Nothing is saved here: the
/// caller saves `Applied::config` (or, in a dry run, only reports it).
pub fn apply(base: &Config, text: &str) -> Result<Applied, Vec<ScriptError>> {
    let stmts = parse(text)?;
    let mut txn = base.begin();
    let mut errors = Vec::new();
    let mut commands = Vec::new();
    for (idx, (line, stmt)) in stmts.iter().enumerate() {
        match stmt {
            Stmt::Assign { name, value } => {
                if let Err(e) = txn.assign(name, value) {
                    errors.push(line_err(*line, e));
                }
            }
            Stmt::DeleteRow { row } => {
                if let Err(e) = txn.delete_row(row) {
                    errors.push(line_err(*line, e));
                }
            }
            Stmt::Command("Conf.FactoryReset") if idx == 0 => txn.factory_reset(),
            Stmt::Command("Conf.FactoryReset") => errors.push(ScriptError {
                line: *line,
                message: "Conf.FactoryReset is only allowed as the first statement (it would discard the lines above)".into(),
            }),
            Stmt::Command(c) => commands.push(*c),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    match txn.commit() {
        Ok((config, changes)) => Ok(Applied {
            config,
            changes,
            commands,
        }),
        Err(rule_errors) => Err(rule_errors
            .into_iter()
            .map(|e| ScriptError {
                line: 0,
                message: e.to_string(),
            })
            .collect()),
    }
}

fn quote_if_needed(v: &str) -> String {
    if v.is_empty() || v != v.trim() || v.starts_with('"') || v.starts_with('#') {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

/// Writes a configuration as a script that, applied to a factory
/// configuration, gives it back. Secrets are included only if asked for.
pub fn export(cfg: &Config, include_secrets: bool) -> String {
    let factory = Config::factory();
    let mut out = String::from("# dgw configuration export\n");
    if !include_secrets {
        out.push_str("# secrets (passwords) are not included\n");
    }
    for (svc, _) in schema::SERVICES {
        let mut section = String::new();
        for p in schema::PARAMS.iter().filter(|p| p.service == *svc) {
            if p.access == schema::Access::ReadOnly
                || (p.access == schema::Access::Secret && !include_secrets)
            {
                continue;
            }
            let v = cfg.get_secret(&p.full_name()).unwrap_or_default();
            if v != p.default {
                section.push_str(&format!("{}={}\n", p.full_name(), quote_if_needed(&v)));
            }
        }
        for t in schema::TABLES.iter().filter(|t| t.service == *svc) {
            let name = t.full_name();
            let rows = cfg.tables.get(&name).cloned().unwrap_or_default();
            if factory.tables.get(&name) == Some(&rows) {
                continue;
            }
            for k in factory.tables.get(&name).into_iter().flatten().map(|(k, _)| k) {
                if !rows.contains_key(k) {
                    section.push_str(&format!("{name}[{k}].Delete\n"));
                }
            }
            for (k, cells) in &rows {
                for c in t.columns {
                    if c.access == schema::Access::Secret && !include_secrets {
                        continue;
                    }
                    let v = cells.get(c.name).cloned().unwrap_or_default();
                    section.push_str(&format!("{name}[{k}].{}={}\n", c.name, quote_if_needed(&v)));
                }
            }
        }
        if !section.is_empty() {
            out.push_str(&format!("\n# {svc}\n"));
            out.push_str(&section);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_script_applies_with_commands() {
        let s = "# trunk\n\nsipep.transporttlsversion = TLSv1_3\nSipEp.DefaultStaticRegistrarHost=sip.example.net:5061\n\
                 SipEp.Registration[alice].AuthPassword=\"correct horse\"\nScm.RestartRequiredServices\n";
        let a = apply(&Config::factory(), s).unwrap();
        assert_eq!(a.config.get("SipEp.TransportTlsVersion").unwrap(), "TLSv1_3");
        assert_eq!(
            a.config
                .get_secret("SipEp.Registration[alice].AuthPassword")
                .unwrap(),
            "correct horse"
        );
        assert_eq!(a.commands, vec!["Scm.RestartRequiredServices"]);
        assert!(a.changes.restart_required.contains("SipEp"));
    }

    #[test]
    fn every_bad_line_is_reported_and_nothing_applies() {
        let s = "Web.ServerPort=8080\nSipEp.TransportTlsCipherSuite=CS1\nFoo.Bar=1\nWeb.ServerPort=http\njunk line\n\
                 Hoc.StaticTimeZone=EST5EDT\nHoc.SystemTime=1\nWeb.HttpMode=\"unterminated\nConf.FactoryReset\n";
        let errs = match apply(&Config::factory(), s) {
            Err(e) => e,
            Ok(_) => panic!("bad script applied"),
        };
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        // Syntax errors come first (parse), so the parse-level ones are 5 and 8.
        assert_eq!(lines, vec![5, 8], "{errs:?}");
        let s2 = "Web.ServerPort=8080\nSipEp.TransportTlsCipherSuite=CS1\nFoo.Bar=1\nWeb.ServerPort=http\nHoc.StaticTimeZone=EST5EDT\nHoc.SystemTime=1\nConf.FactoryReset\nHoc.StaticSntpServers[9].HostName=x\n";
        let errs = apply(&Config::factory(), s2).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8], "{errs:?}");
        assert!(
            errs[0]
                .to_string()
                .starts_with("line 2: SipEp.TransportTlsCipherSuite: \"CS1\" is refused"),
            "{}",
            errs[0]
        );
        assert!(errs[2].to_string().contains("allowed: 1..65535"), "{}", errs[2]);
    }

    #[test]
    fn rule_errors_name_the_rule() {
        let errs = apply(
            &Config::factory(),
            "SipEp.TransportConfig[default].UdpEnable=Enable\n",
        )
        .unwrap_err();
        assert_eq!(errs[0].line, 0);
        assert!(errs[0].message.contains("TLS excludes UDP"));
    }

    #[test]
    fn factory_reset_first_only() {
        let mut c = Config::factory();
        c.set_many(&[("Web.ServerPort".into(), "81".into())]).unwrap();
        let a = apply(&c, "Conf.FactoryReset\nWeb.SecureServerPort=8443\n").unwrap();
        assert_eq!(a.config.get("Web.ServerPort").unwrap(), "80");
        assert_eq!(a.config.get("Web.SecureServerPort").unwrap(), "8443");
    }

    #[test]
    fn export_round_trips() {
        let s = "Web.ServerPort=8080\nHoc.StaticTimeZone=\"CET-1CEST,M3.5.0,M10.5.0/3\"\nCwmp.AcsPassword=\" x\\\"y \"\n\
                 SipEp.TransportConfig[default].Delete\nSipEp.TransportConfig[trunk].TlsEnable=Enable\n\
                 SipEp.Registration[bob].GatewayName=trunk\nSipEp.Registration[bob].AuthPassword=pw\nHoc.StaticSntpServers[1].HostName=ntp.example.net\n";
        let a = apply(&Config::factory(), s).unwrap();
        let exported = export(&a.config, true);
        let b = apply(&Config::factory(), &exported).unwrap();
        assert_eq!(a.config, b.config, "export:\n{exported}");
        let public = export(&a.config, false);
        assert!(
            !public.contains("AuthPassword") && !public.contains("AcsPassword"),
            "{public}"
        );
    }

    #[test]
    fn secrets_are_not_echoed_and_delete_ignores_case() {
        let errs = parse("Cwmp.AcsPassword hunter2\n").unwrap_err();
        assert!(!errs[0].message.contains("hunter2"), "{}", errs[0]);
        let stmts = parse("Hoc.StaticSntpServers[1].DELETE\n").unwrap();
        assert_eq!(
            stmts[0].1,
            Stmt::DeleteRow {
                row: "Hoc.StaticSntpServers[1]".into()
            }
        );
    }

    #[test]
    fn size_limits() {
        let big = "#".repeat(MAX_SCRIPT_BYTES + 1);
        assert_eq!(parse(&big).unwrap_err()[0].line, 0);
        let long_line = format!("Web.ServerPort={}\n", "1".repeat(MAX_LINE_BYTES));
        assert_eq!(parse(&long_line).unwrap_err()[0].line, 1);
    }
}
