//! How SheetSight connects to an MQTT broker over TLS (`mqtts://`), for the edge's links
//! (`[mqtt]`, `[hub]`) and the hub's (`[mqtt]` of its file).
//!
//! [`transport`] reads the files. `run` and `hub` call it before anything starts, so that
//! a missing or unreadable certificate is an error that names the file; each link then
//! builds its transport once when it starts and clones it into every connection
//! attempt. The broker's certificate is
//! verified against the configured CA (or the system's roots) and its host name;
//! rustls with the `ring` provider (already in the build for HTTPS) does the TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rumqttc::{TlsConfiguration, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sheetsight_config::BrokerTls;

/// Why TLS to a broker cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {what}")]
    File { path: PathBuf, what: String },
    #[error("no CA certificates: {0}")]
    NoRoots(String),
    #[error("TLS set-up: {0}")]
    Rustls(#[from] rustls::Error),
}

fn file_error(path: &Path, what: impl std::fmt::Display) -> TlsError {
    TlsError::File { path: path.to_path_buf(), what: what.to_string() }
}

/// The certificates in PEM file `path` (at least one).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, format!("cannot read PEM certificates: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not a PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(path, "holds no certificate (expected -----BEGIN CERTIFICATE-----)"));
    }
    Ok(certs)
}

/// The rustls client configuration of `tls`.
pub fn client_config(tls: &BrokerTls) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca_file {
        Some(path) => {
            for cert in certificates(path)? {
                roots.add(cert).map_err(|e| file_error(path, format!("not a usable CA certificate: {e}")))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for error in &native.errors {
                tracing::warn!(%error, "a system CA certificate could not be read");
            }
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                return Err(TlsError::NoRoots(
                    "the system has none (install ca-certificates) and no ca_file is configured".into(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| file_error(key, format!("not a PEM private key: {e}")))?;
            builder.with_client_auth_cert(chain, key)?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(config)
}

/// The transport for `tls`: TLS verified as configured, or plain TCP without it.
pub fn transport(tls: Option<&BrokerTls>) -> Result<Transport, TlsError> {
    match tls {
        None => Ok(Transport::Tcp),
        Some(tls) => Ok(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(client_config(tls)?)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let text = dir.path().join("text.pem");
        std::fs::write(&text, "not a certificate\n").expect("write");
        for (ca, words) in [(&missing, "cannot read"), (&text, "holds no certificate")] {
            let tls = BrokerTls { ca_file: Some(ca.clone()), ..Default::default() };
            let error = client_config(&tls).expect_err("refused").to_string();
            assert!(error.contains(&ca.display().to_string()) && error.contains(words), "{error}");
        }
        assert!(matches!(transport(None), Ok(Transport::Tcp)));
    }
}
