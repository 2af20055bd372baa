//! The server-certificate verifier behind the DGW validation levels.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::params::ValidationLevel;

/// Checks a server's certificate as the configured level says; the
/// handshake signature is verified at every level.
#[derive(Debug)]
pub(crate) struct LevelVerifier {
    pub level: ValidationLevel,
    pub roots: Arc<RootCertStore>,
    /// The configured name; `None`: the name given to `connect`.
    pub host_name: Option<ServerName<'static>>,
    /// Extra names accepted at `DnsSrvResponse`.
    pub srv_names: Vec<ServerName<'static>>,
    pub algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for LevelVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // rustls refuses an empty Certificate message before calling us, so
        // the peer did present one; it must at least be a certificate.
        let cert = ParsedCertificate::try_from(end_entity)?;
        if self.level == ValidationLevel::NoValidation {
            return Ok(ServerCertVerified::assertion());
        }
        // Chain to a trusted CA, validity periods, serverAuth EKU.
        verify_server_cert_signed_by_trust_anchor(&cert, &self.roots, intermediates, now, self.algs.all)?;
        let configured = self.host_name.as_ref().unwrap_or(server_name);
        match self.level {
            ValidationLevel::NoValidation | ValidationLevel::TrustedCertificate => {}
            ValidationLevel::HostName => verify_server_name(&cert, configured)?,
            ValidationLevel::DnsSrvResponse => {
                if let Err(e) = verify_server_name(&cert, configured) {
                    if !self
                        .srv_names
                        .iter()
                        .any(|n| verify_server_name(&cert, n).is_ok())
                    {
                        return Err(e);
                    }
                }
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
