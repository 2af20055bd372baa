//! The data model reference, generated from the model itself (`docs/tr069-datamodel.md`).

use super::tree::{self, ActiveNotify, Conv, Node, Source};
use super::{forced_inform_parameters, Runtime, State, VENDOR_PREFIX, VENDOR_ROOT};

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Where a parameter's value lives, in words.
fn source(s: &Source) -> String {
    match s {
        Source::Const(v) => format!("constant `{v}`"),
        Source::Info(_) => "daemon (`DeviceInfo`)".into(),
        Source::UpTime => "daemon (`Runtime::up_time`)".into(),
        Source::ProvisioningCode | Source::ParameterKey | Source::PeriodicInformTime => {
            "agent state (`State`)".into()
        }
        Source::ConnectionRequestUrl => "daemon (`Runtime::connection_request_url`)".into(),
        Source::Param(p, Conv::Plain) => format!("`{}`", p.full_name()),
        Source::Param(p, Conv::EnableBool) => format!("`{}` (Enable = true)", p.full_name()),
        Source::CurrentLocalTime => "clock in `Hoc.StaticTimeZone` (as `Hoc.SystemTime`)".into(),
        Source::TimeStatus => "`Hoc.ClockSynchronized`".into(),
        Source::NtpServer(n) => format!("`Hoc.StaticSntpServers[{n}].HostName`"),
        Source::Key(t, _) => format!("`{}[{}]` (the key)", t.full_name(), t.key.0),
        Source::Cell(t, _, c) => format!("`{}[{}].{}`", t.full_name(), t.key.0, c.name),
        Source::RowCount(t) => format!("rows of `{}`", t.full_name()),
        Source::CertCount => "daemon (certificates)".into(),
        Source::Cert(..) => "daemon (`pki` stores)".into(),
    }
}

fn notify(n: ActiveNotify) -> &'static str {
    match n {
        ActiveNotify::Normal => "",
        ActiveNotify::CanDeny => "active refused",
        ActiveNotify::ForceDefaultEnabled => "active by default",
        ActiveNotify::ForceEnabled => "always active",
    }
}

/// Renders the reference as Markdown: every object and parameter with its type, access,
/// notification rule and what it maps to. Instance numbers show as `{i}`.
pub fn markdown() -> String {
    let config = params::Config::factory();
    let runtime = Runtime::default();
    let state = State::default();
    let t = tree::build(&config, &runtime, &state, tree::Mode::Template);
    let mut out = format!(
        "# TR-069 data model reference\n\n\
         Generated from `userspace/cwmpd/src/datamodel` by `cwmpd::datamodel::docs::markdown()`; do not edit\n\
         by hand (a test checks this file is current; `UPDATE_DOCS=1 cargo test -p cwmpd --test docs`\n\
         rewrites it).\n\n\
         The gateway's CWMP data model is a subset of TR-181 `Device:2` (issue 2.19 names) plus every DGW\n\
         parameter of [`docs/parameters.md`](parameters.md) under the vendor object `{VENDOR_ROOT}`\n\
         (TR-106 vendor prefix `{VENDOR_PREFIX}`: the `net.dgw` domain this project's D-Bus names use;\n\
         Media5's OUI would claim names Media5 did not define). Names are case-sensitive, as TR-069 requires.\n\n\
         - *Access*: `R` read-only, `W` read-write, `W secret` read-write but read as an empty string.\n\
         \x20 Objects marked `W` accept AddObject (tables) or DeleteObject (instances).\n\
         - *Notification*: what SetParameterAttributes may set besides the default off/passive/active\n\
         \x20 (`active refused`: 9009 for active; `always active`: 9009 for anything else).\n\
         - Multi-instance objects are DGW tables: `{{i}}` is an instance number kept by the agent (never\n\
         \x20 reused); AddObject creates a row under the placeholder key `new-<i>` (or the lowest free\n\
         \x20 number for numeric keys) with `Enable` off, and setting the key column renames the row.\n\
         - Forced inform (in every Inform): {}.\n",
        forced_inform_parameters()
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for node in &t.nodes {
        let Node::Object { path, writable, doc } = node else {
            continue;
        };
        // The parameters directly in this object (a parameter's parent is its path up to the
        // last dot).
        let leaves: Vec<&tree::Leaf> = t
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Leaf(l)
                    if l.path
                        .rsplit_once('.')
                        .is_some_and(|(p, _)| p.len() + 1 == path.len())
                        && l.path.starts_with(path.as_str()) =>
                {
                    Some(l)
                }
                _ => None,
            })
            .collect();
        let heading = if path.matches('.').count() <= 2 {
            "##"
        } else {
            "###"
        };
        out.push_str(&format!(
            "\n{heading} `{path}`{}\n",
            if *writable { " (W)" } else { "" }
        ));
        if !doc.is_empty() {
            out.push_str(&format!("\n{}\n", cell(doc)));
        }
        if leaves.is_empty() {
            continue;
        }
        out.push_str(
            "\n| parameter | type | access | notification | maps to | description |\n\
             |---|---|---|---|---|---|\n",
        );
        for l in leaves {
            let name = l.path.rsplit('.').next().unwrap_or(&l.path);
            let access = match (l.writable, l.secret) {
                (_, true) => "W secret",
                (true, false) => "W",
                (false, false) => "R",
            };
            let doc = l.doc;
            out.push_str(&format!(
                "| `{name}` | {} | {access} | {} | {} | {} |\n",
                l.ty.qname().trim_start_matches("xsd:"),
                notify(l.notify),
                cell(&source(&l.source)),
                cell(doc)
            ));
        }
    }
    out
}
