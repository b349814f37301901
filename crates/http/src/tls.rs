//! The API listener's rustls configuration: TLS 1.2 and 1.3, a mandatory client
//! certificate chaining to the configured CA bundle, CRLs honoured, every refused
//! client certificate counted and logged (rustls does neither by itself), and the CA
//! bundle, CRLs and server certificate reloadable while serving ([`TlsReloader`]).

use std::fs;
use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};

use crate::config::TlsPaths;
use crate::metrics::Metrics;

/// A listener's TLS configuration, as [`server_configs`] and [`TlsReloader::browser_config`]
/// make it (for the composition root, which binds the listeners).
pub use rustls::ServerConfig as ListenerTls;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Pem { path: String, what: String },
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn pem_err(path: &Path, what: impl ToString) -> TlsError {
    TlsError::Pem {
        path: path.display().to_string(),
        what: what.to_string(),
    }
}

/// Every certificate of a PEM file; a bad entry is an error, never skipped.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(path, e))?;
    if certs.is_empty() {
        return Err(pem_err(path, "no certificate found"));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| pem_err(path, e))
}

fn load_crl(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let bytes = read(path)?;
    if bytes.starts_with(b"-----") {
        CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_err(path, e))
    } else {
        Ok(vec![CertificateRevocationListDer::from(bytes)])
    }
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(paths: &TlsPaths) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for ca in load_certs(&paths.client_ca)? {
        roots.add(ca).map_err(|e| pem_err(&paths.client_ca, e))?;
    }
    Ok(Arc::new(roots))
}

fn certified_key(
    paths: &TlsPaths,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = load_certs(&paths.server_cert)?;
    let key = load_key(&paths.server_key)?;
    let ck = CertifiedKey::from_der(chain, key, provider)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    Ok(Arc::new(ck))
}

fn webpki_verifier(
    paths: &TlsPaths,
    provider: &Arc<CryptoProvider>,
    mandatory: bool,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    let mut crls = Vec::new();
    for path in &paths.crls {
        crls.extend(load_crl(path)?);
    }
    let builder = WebPkiClientVerifier::builder_with_provider(roots(paths)?, provider.clone())
        .with_crls(crls);
    let builder = if mandatory {
        builder
    } else {
        builder.allow_unauthenticated()
    };
    builder.build().map_err(|e| TlsError::Rustls(e.to_string()))
}

/// Reloads the CA bundle, CRLs and server certificate of running listeners (SIGHUP):
/// new handshakes use the new material, open connections keep theirs. A failed reload
/// changes nothing.
#[derive(Clone)]
pub struct TlsReloader {
    paths: TlsPaths,
    provider: Arc<CryptoProvider>,
    resolver: Arc<ReloadingResolver>,
    verifiers: Vec<Arc<ReloadingVerifier>>,
}

impl std::fmt::Debug for TlsReloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsReloader")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

impl TlsReloader {
    /// A server configuration without client certificates (Mina sidor, for browsers)
    /// that presents the same, reloadable server certificate.
    pub fn browser_config(&self) -> Result<ServerConfig, TlsError> {
        Ok(ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.resolver.clone()))
    }

    pub fn reload(&self) -> Result<(), TlsError> {
        // Build everything first, swap only when all of it loaded.
        let key = certified_key(&self.paths, &self.provider)?;
        let mut fresh = Vec::new();
        for v in &self.verifiers {
            fresh.push(webpki_verifier(&self.paths, &self.provider, v.mandatory)?);
        }
        self.resolver.set(key);
        for (v, inner) in self.verifiers.iter().zip(fresh) {
            v.set(inner);
        }
        Ok(())
    }
}

/// The server configurations of the public (client certificate required) and internal
/// (client certificate optional) listeners, sharing reloadable material.
pub fn server_configs(
    paths: &TlsPaths,
    metrics: Option<Metrics>,
) -> Result<(ServerConfig, ServerConfig, TlsReloader), TlsError> {
    let provider = provider();
    let resolver = Arc::new(ReloadingResolver::new(certified_key(paths, &provider)?));
    let public = Arc::new(ReloadingVerifier::new(
        webpki_verifier(paths, &provider, true)?,
        true,
        metrics,
    ));
    let intern = Arc::new(ReloadingVerifier::new(
        webpki_verifier(paths, &provider, false)?,
        false,
        None,
    ));
    let config = |verifier: Arc<ReloadingVerifier>| -> Result<ServerConfig, TlsError> {
        Ok(ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(resolver.clone()))
    };
    let reloader = TlsReloader {
        paths: paths.clone(),
        provider: provider.clone(),
        resolver: resolver.clone(),
        verifiers: vec![public.clone(), intern.clone()],
    };
    Ok((config(public)?, config(intern)?, reloader))
}

/// The server certificate, swappable.
#[derive(Debug)]
struct ReloadingResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingResolver {
    fn new(key: Arc<CertifiedKey>) -> Self {
        Self {
            current: RwLock::new(key),
        }
    }

    fn set(&self, key: Arc<CertifiedKey>) {
        if let Ok(mut k) = self.current.write() {
            *k = key;
        }
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|k| k.clone())
    }
}

/// How many CA name lists reloads have leaked (see `ReloadingVerifier::hints`).
static LEAKED_HINT_LISTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many CA name lists TLS reloads have leaked in this process: one per reload that
/// changed the CA bundle, none for a reload with the same CAs.
pub fn leaked_hint_lists() -> usize {
    LEAKED_HINT_LISTS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Delegates to webpki's verifier (swappable) and records each refusal.
#[derive(Debug)]
struct ReloadingVerifier {
    inner: RwLock<Arc<dyn ClientCertVerifier>>,
    /// The CA names offered to clients. `root_hint_subjects` must hand out a reference,
    /// so a reload that changes the CA bundle leaks its (small) list once; reloads with
    /// the same CAs leak nothing.
    hints: RwLock<&'static [DistinguishedName]>,
    mandatory: bool,
    metrics: Option<Metrics>,
}

impl ReloadingVerifier {
    fn new(inner: Arc<dyn ClientCertVerifier>, mandatory: bool, metrics: Option<Metrics>) -> Self {
        let hints: &'static [DistinguishedName] =
            Box::leak(inner.root_hint_subjects().to_vec().into_boxed_slice());
        Self {
            inner: RwLock::new(inner),
            hints: RwLock::new(hints),
            mandatory,
            metrics,
        }
    }

    fn set(&self, inner: Arc<dyn ClientCertVerifier>) {
        if let Ok(mut h) = self.hints.write() {
            // Only a changed list is leaked: a SIGHUP with the same CA bundle (the usual
            // case: a new server certificate or CRL) costs nothing.
            let same = h.len() == inner.root_hint_subjects().len()
                && h.iter()
                    .zip(inner.root_hint_subjects())
                    .all(|(a, b)| a.as_ref() == b.as_ref());
            if !same {
                LEAKED_HINT_LISTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                *h = Box::leak(inner.root_hint_subjects().to_vec().into_boxed_slice());
            }
        }
        if let Ok(mut i) = self.inner.write() {
            *i = inner;
        }
    }

    fn current(&self) -> Option<Arc<dyn ClientCertVerifier>> {
        self.inner.read().ok().map(|i| i.clone())
    }
}

fn reason(e: &rustls::Error) -> &'static str {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "expired",
            C::NotValidYet | C::NotValidYetContext { .. } => "not_yet_valid",
            C::Revoked => "revoked",
            C::UnknownIssuer => "unknown_issuer",
            C::BadSignature => "bad_signature",
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => "wrong_purpose",
            _ => "invalid",
        },
        _ => "other",
    }
}

fn poisoned() -> rustls::Error {
    rustls::Error::General("TLS verifier unavailable".into())
}

impl ClientCertVerifier for ReloadingVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.hints.read().map(|h| *h).unwrap_or(&[])
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let result =
            self.current()
                .ok_or_else(poisoned)?
                .verify_client_cert(end_entity, intermediates, now);
        if let Err(e) = &result {
            let why = reason(e);
            tracing::warn!(reason = why, error = %e, "client certificate refused at TLS handshake");
            if let Some(m) = &self.metrics {
                m.handshake_failures.with_label_values(&[why]).inc();
            }
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.current()
            .ok_or_else(poisoned)?
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.current()
            .ok_or_else(poisoned)?
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.current()
            .map(|v| v.supported_verify_schemes())
            .unwrap_or_default()
    }
}
