//! TLS settings: the rustls server configuration built from the `tls-*` parameters.
//!
//! rustls with the `ring` provider (no C toolchain or cmake needed, unlike aws-lc-rs). The connection loop drives
//! the session itself (`transport.rs`), so a TLS port and a plain port share one code path.

use crate::config::{Config, Id};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use std::sync::Arc;

/// The TLS server configuration for `cfg`, or `None` when `tls-port` is 0.
///
/// # Errors
/// A message naming the file or setting that is wrong (missing files, unreadable PEM, unknown protocol names,
/// client authentication without a CA file).
pub fn server_config(cfg: &Config) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    let port = cfg.u64(Id::TlsPort);
    if port == 0 {
        return Ok(None);
    }
    let file = |id: Id| -> Result<String, String> {
        match cfg.str(id) {
            "" => Err(format!("tls-port is set but {} is not", crate::config::spec(id).name)),
            v => Ok(v.to_string()),
        }
    };
    let cert_file = file(Id::TlsCertFile)?;
    let key_file = file(Id::TlsKeyFile)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_file)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("Failed to load certificate: {cert_file}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("Failed to load certificate: {cert_file}: no certificate found"));
    }
    let key =
        PrivateKeyDer::from_pem_file(&key_file).map_err(|e| format!("Failed to load private key: {key_file}: {e}"))?;
    let versions = protocols(cfg.str(Id::TlsProtocols))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls-protocols: {e}"))?;
    let auth = cfg.word(Id::TlsAuthClients);
    let builder = if auth == "no" {
        builder.with_no_client_auth()
    } else {
        let ca_file = Some(cfg.str(Id::TlsCaCertFile))
            .filter(|v| !v.is_empty())
            .ok_or("tls-auth-clients needs tls-ca-cert-file (or set tls-auth-clients no)")?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca_file).map_err(|e| format!("Failed to load CA: {ca_file}: {e}"))? {
            let cert = cert.map_err(|e| format!("Failed to load CA: {ca_file}: {e}"))?;
            roots.add(cert).map_err(|e| format!("Failed to load CA: {ca_file}: {e}"))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let verifier = if auth == "optional" { verifier.allow_unauthenticated() } else { verifier };
        builder.with_client_cert_verifier(verifier.build().map_err(|e| format!("tls-ca-cert-file: {e}"))?)
    };
    let config = builder.with_single_cert(certs, key).map_err(|e| format!("tls-cert-file/tls-key-file: {e}"))?;
    Ok(Some(Arc::new(config)))
}

/// `tls-protocols` ("TLSv1.2 TLSv1.3"; empty means both) as rustls versions.
fn protocols(value: &str) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    if value.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    value
        .split_whitespace()
        .map(|p| match p.to_ascii_lowercase().as_str() {
            "tlsv1.2" => Ok(&rustls::version::TLS12),
            "tlsv1.3" => Ok(&rustls::version::TLS13),
            _ => Err(format!("tls-protocols: unsupported protocol '{p}' (TLSv1.2 and TLSv1.3 are)")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names() {
        assert_eq!(protocols("").unwrap().len(), 2);
        assert_eq!(protocols("TLSv1.3").unwrap().len(), 1);
        assert!(protocols("TLSv1.1").is_err());
    }

    #[test]
    fn no_tls_port_means_no_tls() {
        assert!(server_config(&Config::default()).unwrap().is_none());
    }

    #[test]
    fn a_tls_port_needs_a_certificate() {
        let mut cfg = Config::default();
        cfg.set("tls-port", &[b"6380".as_slice()]).unwrap();
        assert_eq!(server_config(&cfg).unwrap_err(), "tls-port is set but tls-cert-file is not");
    }
}
