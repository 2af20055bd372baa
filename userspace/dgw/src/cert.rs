//! `dgw cert`: the certificate stores (Host: the unit's certificates and
//! keys; Others: trusted CAs), as the DGW's Cert service lists them.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

/// The stores live on the data partition, next to the configuration.
pub const DEFAULT_CERT_STORE: &str = "/var/lib/dgw/certs";

/// Largest file read for an import (the store refuses larger ones anyway).
const MAX_FILE: u64 = 1024 * 1024;

#[derive(Args)]
pub struct CertArgs {
    /// Certificate store directory.
    #[arg(long, global = true, default_value = DEFAULT_CERT_STORE)]
    store: PathBuf,
    /// Machine-readable output (JSON).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: CertCommand,
}

#[derive(Subcommand)]
enum CertCommand {
    /// List both stores with the DGW info columns.
    List,
    /// Import a host certificate: PEM with the certificate, its issuers and
    /// its private key (or the key in a separate file with --key).
    ImportHost {
        /// File name in the store (letters, digits, . _ -).
        name: String,
        /// PEM file: certificate chain, leaf first (and the key, unless --key).
        file: PathBuf,
        /// TlsClient (our side of mutual TLS) or TlsServer (HTTPS, SIP-TLS server).
        #[arg(long)]
        usage: String,
        /// Private key PEM, if not in FILE.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Import trusted CA certificates (PEM, root first then intermediates; or one DER).
    ImportCa {
        /// File name in the store.
        name: String,
        /// PEM or DER file.
        file: PathBuf,
    },
    /// Choose which services may use a host certificate, e.g. `Sip,Web` or `all`/`none`.
    Services {
        /// Host certificate file name.
        name: String,
        /// Comma-separated services: Sip, Web, Eap, Conf, Fpu, File, Cert, Sbc, Cwmp, Nlm.
        services: String,
    },
    /// Delete a host certificate and its key.
    DeleteHost {
        /// File name.
        name: String,
    },
    /// Delete trusted CA certificates.
    DeleteCa {
        /// File name.
        name: String,
    },
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    use std::io::Read;
    // Bounded: a FIFO or a device would defeat a size check by metadata().
    let mut data = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut data))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if data.len() as u64 > MAX_FILE {
        return Err(format!(
            "{}: too large for a certificate file (over {MAX_FILE} bytes)",
            path.display()
        ));
    }
    Ok(data)
}

pub fn run(a: CertArgs) -> i32 {
    match cert(&a) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dgw cert: {e}");
            1
        }
    }
}

fn cert(a: &CertArgs) -> Result<(), String> {
    let store = pki::CertStore::open(&a.store).map_err(|e| e.to_string())?;
    match &a.cmd {
        CertCommand::List => {
            let host = store.list_host().map_err(|e| e.to_string())?;
            let others = store.list_others().map_err(|e| e.to_string())?;
            if a.json {
                let h: Vec<_> = host
                    .iter()
                    .map(|c| {
                        json!({"FileName": c.file_name, "IssuedTo": c.issued_to, "IssuedBy": c.issued_by,
                        "ValidFrom": c.valid_from, "ValidTo": c.valid_to, "Usage": c.usage.to_string(),
                        "Services": c.services.to_string()})
                    })
                    .collect();
                let o: Vec<_> = others
                    .iter()
                    .map(|c| {
                        json!({"FileName": c.file_name, "Position": c.position, "IssuedTo": c.issued_to,
                        "IssuedBy": c.issued_by, "ValidFrom": c.valid_from, "ValidTo": c.valid_to,
                        "CertificateAuthority": c.certificate_authority_text()})
                    })
                    .collect();
                println!(
                    "{}",
                    json!({"HostCertificatesInfo": h, "OthersCertificatesInfo": o})
                );
                return Ok(());
            }
            println!("HostCertificatesInfo:");
            for c in &host {
                println!(
                    "  {} | IssuedTo {} | IssuedBy {} | ValidFrom {} | ValidTo {} | Usage {} | Services {}",
                    c.file_name, c.issued_to, c.issued_by, c.valid_from, c.valid_to, c.usage, c.services
                );
            }
            println!("OthersCertificatesInfo:");
            for c in &others {
                println!(
                    "  {}#{} | IssuedTo {} | IssuedBy {} | ValidFrom {} | ValidTo {} | CertificateAuthority {}",
                    c.file_name,
                    c.position,
                    c.issued_to,
                    c.issued_by,
                    c.valid_from,
                    c.valid_to,
                    c.certificate_authority_text()
                );
            }
        }
        CertCommand::ImportHost {
            name,
            file,
            usage,
            key,
        } => {
            let usage = pki::Usage::parse(usage).map_err(|e| e.to_string())?;
            let mut pem = read(file)?;
            if let Some(k) = key {
                pem.push(b'\n');
                pem.extend(read(k)?);
            }
            let info = store.import_host(name, usage, &pem).map_err(|e| e.to_string())?;
            println!(
                "imported host certificate {} ({}, {}), valid to {}",
                info.file_name, info.issued_to, info.usage, info.valid_to
            );
        }
        CertCommand::ImportCa { name, file } => {
            let infos = store
                .import_others(name, &read(file)?)
                .map_err(|e| e.to_string())?;
            for i in infos {
                println!(
                    "trusted {}#{}: {} (CA: {})",
                    i.file_name,
                    i.position,
                    i.issued_to,
                    i.certificate_authority_text()
                );
            }
        }
        CertCommand::Services { name, services } => {
            let set = pki::ServiceSet::parse_list(services).map_err(|e| e.to_string())?;
            let info = store.set_host_services(name, set).map_err(|e| e.to_string())?;
            println!("{}: services {}", info.file_name, info.services);
        }
        CertCommand::DeleteHost { name } => {
            store.delete_host(name).map_err(|e| e.to_string())?;
            println!("deleted host certificate {name}");
        }
        CertCommand::DeleteCa { name } => {
            store.delete_others(name).map_err(|e| e.to_string())?;
            println!("deleted {name} from the trusted CAs");
        }
    }
    Ok(())
}
