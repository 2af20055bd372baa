//! The parameter reference, generated from the schema (`docs/parameters.md`).

use crate::schema::{self, Access, Apply, Kind};

fn access(a: Access) -> &'static str {
    match a {
        Access::ReadWrite => "read-write",
        Access::ReadOnly => "status (read-only)",
        Access::Secret => "secret (write-only)",
    }
}

fn apply(a: Apply) -> &'static str {
    match a {
        Apply::Live => "live",
        Apply::Restart => "restart",
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Renders the reference as Markdown.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Parameter reference\n\n\
         Generated from the schema in `userspace/params/src/schema.rs` by `dgw ctl schema --markdown`;\n\
         do not edit by hand (a test checks this file is current).\n\n\
         Names are case-insensitive. *Apply* says whether a change takes effect at once (live) or marks\n\
         the service restart-required. Where our default differs from the Mediatrix DGW's for security,\n\
         the DGW column says what the DGW ships and why we do not.\n",
    );
    for (svc, what) in schema::SERVICES {
        let params: Vec<_> = schema::PARAMS.iter().filter(|p| p.service == *svc).collect();
        let tables: Vec<_> = schema::TABLES.iter().filter(|t| t.service == *svc).collect();
        let cmds: Vec<_> = schema::COMMANDS
            .iter()
            .filter(|(c, _)| c.starts_with(&format!("{svc}.")))
            .collect();
        if params.is_empty() && tables.is_empty() && cmds.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {svc}: {what}\n"));
        if !params.is_empty() {
            out.push_str("\n| parameter | allowed | default | access | apply | description | DGW default |\n|---|---|---|---|---|---|---|\n");
            for p in params {
                let mut desc = cell(p.doc);
                if let Some(t) = p.tr181 {
                    desc.push_str(&format!(" TR-181: `{t}`."));
                }
                if let Kind::Enum { refused, .. } = &p.kind {
                    if !refused.is_empty() {
                        let r: Vec<&str> = refused.iter().map(|(v, _)| *v).collect();
                        desc.push_str(&format!(" Refused: {}.", r.join(", ")));
                    }
                }
                let dgw = p
                    .dgw_default
                    .map(|(d, why)| format!("{d}: {why}"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "| `{}` | {} | `{}` | {} | {} | {} | {} |\n",
                    p.full_name(),
                    cell(&p.kind.describe()),
                    p.default,
                    access(p.access),
                    apply(p.apply),
                    desc,
                    cell(&dgw)
                ));
            }
        }
        for t in tables {
            out.push_str(&format!(
                "\n### Table `{}[{}]`\n\n{} Key `{}`: {}. At most {} rows; apply: {}.{}\n\n| column | allowed | default | access | description |\n|---|---|---|---|---|\n",
                t.full_name(),
                t.key.0,
                t.doc,
                t.key.0,
                cell(&t.key.1.describe()),
                t.max_rows,
                apply(t.apply),
                if t.default_rows.is_empty() { String::new() } else { format!(" Factory rows: {}.", t.default_rows.join(", ")) }
            ));
            for c in t.columns {
                out.push_str(&format!(
                    "| `{}` | {} | `{}` | {} | {} |\n",
                    c.name,
                    cell(&c.kind.describe()),
                    c.default,
                    access(c.access),
                    cell(c.doc)
                ));
            }
        }
        if !cmds.is_empty() {
            out.push_str("\nCommands:\n\n");
            for (c, d) in cmds {
                out.push_str(&format!("- `{c}`: {d}\n"));
            }
        }
    }
    out
}
