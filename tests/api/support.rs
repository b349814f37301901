//! A gateway on a random port with a throwaway PKI and database, and HTTPS clients
//! that present real client certificates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use komvux_api::ApiConfig;
use komvux_devkit::devpki::{DevCa, Issued, OrgIdForm};
use komvux_domain::{Kommunkod, Organisationsnummer};
use komvux_gateway::serve::Application;
use komvux_http::Mode;
use komvux_http::config::TlsPaths;
use komvux_persistence::testing::TestDatabase;
use komvux_persistence::{IdentityKeys, PoolSettings, Store};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

pub(crate) const STOCKHOLM_ORG: &str = "2120000142";
pub(crate) const GOTEBORG_ORG: &str = "2120001355";

#[derive(Debug, Clone, Copy)]
pub(crate) enum Db {
    Sqlite,
    Postgres,
    /// A database the test manages itself (e.g. a PostgreSQL it stops and starts).
    Url(&'static str),
}

/// A throwaway PKI in a temporary folder.
pub(crate) struct Pki {
    pub dir: PathBuf,
    pub ca: DevCa,
}

impl Pki {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("komvux-pki-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = DevCa::new("test CA").unwrap();
        std::fs::write(dir.join("ca.pem"), ca.issued.cert_pem().unwrap()).unwrap();
        std::fs::write(dir.join("crl.pem"), ca.crl(&[]).unwrap()).unwrap();
        let server = ca.server().unwrap();
        std::fs::write(dir.join("server.pem"), server.cert_pem().unwrap()).unwrap();
        std::fs::write(dir.join("server.key"), server.key_pem().unwrap()).unwrap();
        Self { dir, ca }
    }

    pub fn tls_paths(&self) -> TlsPaths {
        TlsPaths {
            server_cert: self.dir.join("server.pem"),
            server_key: self.dir.join("server.key"),
            client_ca: self.dir.join("ca.pem"),
            crls: vec![self.dir.join("crl.pem")],
        }
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        self.ca.issued.cert_pem().unwrap()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A client's credentials.
#[derive(Debug, Clone)]
pub(crate) struct Creds {
    pub id: String,
    pub secret: String,
}

/// An HTTPS client with a client certificate, and the credentials it sends.
#[derive(Clone)]
pub(crate) struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub creds: Option<Creds>,
}

/// A running gateway.
pub(crate) struct TestApp {
    pub store: Store,
    pub pki: Pki,
    pub port: u16,
    pub ops_port: u16,
    pub mode: Mode,
    pub intern_port: Option<u16>,
    /// Mina sidor, its SMTP sink and BankID test server, when spawned with them.
    pub mina_sidor: Option<MinaSidorEnv>,
    pub reloader: komvux_http::tls::TlsReloader,
    jwt_key: Vec<u8>,
    rsa_key: Vec<u8>,
    _db: Option<TestDatabase>,
    handles: Vec<actix_web::dev::ServerHandle>,
}

/// Mina sidor's listener and the services it talks to, all real and local.
pub(crate) struct MinaSidorEnv {
    pub port: u16,
    pub bankid_port: u16,
    pub mailbox: komvux_devkit::smtp_sink::Mailbox,
    _sink: komvux_devkit::smtp_sink::SmtpSink,
    bankid: actix_web::dev::ServerHandle,
}

/// What invitation links start with in tests (the listener's port is not known before).
pub(crate) const MS_PUBLIC_URL: &str = "https://mina-sidor.test.invalid";

pub(crate) const ISSUER: &str = "https://idp.test.invalid";
pub(crate) const AUDIENCE: &str = "komvux-gateway";

/// A client for plain HTTP (the operations port).
pub(crate) fn plain_client() -> reqwest::Client {
    tls_client(&[], None)
}

/// The metrics exposition of the operations listener on `ops_port`.
pub(crate) async fn metrics_text(ops_port: u16) -> String {
    plain_client()
        .get(format!("http://127.0.0.1:{ops_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub(crate) fn tls_client(ca_pem: &[u8], identity: Option<&Issued>) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(ca_pem, identity))
        .build()
        .unwrap()
}

/// The rustls client configuration of [`tls_client`]: trusts `ca_pem`, presents `identity`.
pub(crate) fn tls_config(ca_pem: &[u8], identity: Option<&Issued>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    match identity {
        Some(id) => {
            let chain = vec![CertificateDer::from(id.cert.to_der().unwrap())];
            let key = PrivateKeyDer::from_pem_slice(&id.key_pem().unwrap()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    }
}

/// Sends `request` as raw bytes over TLS to `port` (with `identity`'s certificate, if
/// any) and returns everything the server answered until it closed the connection.
pub(crate) async fn raw_tls_exchange(
    ca_pem: &[u8],
    port: u16,
    identity: Option<&Issued>,
    request: &[u8],
) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config(ca_pem, identity)));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(request).await?;
    tls.flush().await?;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tls.read_to_end(&mut answer),
    )
    .await;
    match read {
        Ok(Ok(_)) => {}
        // A close without close_notify still delivered the answer.
        Ok(Err(e))
            if !answer.is_empty()
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

impl TestApp {
    pub async fn spawn(db: Db) -> Option<Self> {
        Self::spawn_with(db, Mode::Test, |_| {}).await
    }

    pub async fn spawn_with(
        db: Db,
        mode: Mode,
        tweak: impl FnOnce(&mut ApiConfig),
    ) -> Option<Self> {
        Self::spawn_full(
            db,
            mode,
            None::<fn(&mut komvux_mina_sidor::MinaSidorConfig)>,
            tweak,
        )
        .await
    }

    /// With Mina sidor on, its BankID test server and SMTP sink; `tweak` changes its
    /// configuration.
    pub async fn spawn_mina_sidor(
        db: Db,
        tweak: impl FnOnce(&mut komvux_mina_sidor::MinaSidorConfig),
    ) -> Option<Self> {
        Self::spawn_full(db, Mode::Test, Some(tweak), |_| {}).await
    }

    async fn spawn_full<M: FnOnce(&mut komvux_mina_sidor::MinaSidorConfig)>(
        db: Db,
        mode: Mode,
        mina_sidor: Option<M>,
        tweak: impl FnOnce(&mut ApiConfig),
    ) -> Option<Self> {
        let (database, url) = match db {
            Db::Sqlite => {
                let d = TestDatabase::sqlite().unwrap();
                let u = d.url().to_owned();
                (Some(d), u)
            }
            Db::Postgres => {
                let d = TestDatabase::postgres_or_skip()?;
                let u = d.url().to_owned();
                (Some(d), u)
            }
            Db::Url(u) => (None, u.to_owned()),
        };
        let settings = PoolSettings {
            max_size: 8,
            min_idle: Some(0),
            connection_timeout: std::time::Duration::from_secs(if database.is_some() {
                10
            } else {
                2
            }),
            ..PoolSettings::default()
        };
        let store = Store::open(&url, &settings, IdentityKeys::insecure_dev_keys()).unwrap();
        store.migrate().unwrap();
        let pki = Pki::new();
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let jwt = openssl::pkey::PKey::from_ec_key(
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        std::fs::write(
            pki.dir.join("jwt.pub.pem"),
            jwt.public_key_to_pem().unwrap(),
        )
        .unwrap();
        let jwt_key = jwt.private_key_to_pem_pkcs8().unwrap();
        // A second, RSA key published as a JWKS with a key id: both verify (rotation).
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let b64 = |b: Vec<u8>| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        };
        let jwks = serde_json::json!({ "keys": [{ "kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
            "n": b64(rsa.n().to_vec()), "e": b64(rsa.e().to_vec()) }] });
        std::fs::write(pki.dir.join("jwks.json"), jwks.to_string()).unwrap();
        let rsa_key = openssl::pkey::PKey::from_rsa(rsa)
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        // A fresh receipt key per gateway: tests verify receipts against /nycklar.
        let group =
            openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
        let receipt_key =
            openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap())
                .unwrap()
                .private_key_to_pem_pkcs8()
                .unwrap();
        std::fs::write(pki.dir.join("receipts.key"), &receipt_key).unwrap();
        let receipts =
            komvux_api::ReceiptKeyFiles::read(&pki.dir.join("receipts.key"), &[]).unwrap();
        // The DEV TSA, its certificate issued by the test's CA (`openssl ts -verify -CAfile`).
        let tsa_cert = pki.ca.tsa().unwrap();
        let tsa = komvux_devkit::tsa::DevTsa::from_pem(
            std::str::from_utf8(&tsa_cert.cert_pem().unwrap()).unwrap(),
            std::str::from_utf8(&tsa_cert.key_pem().unwrap()).unwrap(),
        )
        .unwrap();
        let tsa = komvux_devkit::tsa::start(loopback, tsa).unwrap();
        let tsa_url = format!("http://127.0.0.1:{}/", tsa.port);
        actix_web::rt::spawn(tsa.server);
        let mut config = ApiConfig {
            receipts,
            checkpoint_interval_secs: 1,
            tsa: Some(komvux_api::receipts::timestamp::TsaConfig {
                url: tsa_url,
                ca: None,
            }),
            mode,
            listen: loopback,
            ops_listen: loopback,
            tls: pki.tls_paths(),
            max_body_bytes: ApiConfig::DEFAULT_MAX_BODY_BYTES,
            max_basladdning_bytes: ApiConfig::DEFAULT_MAX_BASLADDNING_BYTES,
            body_timeout_secs: 2,
            workers: 2,
            rate_limit: None,
            intern: Some(komvux_api::InternConfig {
                listen: loopback,
                jwt: komvux_api::JwtSettings {
                    issuer: ISSUER.into(),
                    audience: AUDIENCE.into(),
                    roles_claim: "roles".into(),
                    required_role: "handlaggare".into(),
                    leeway_secs: 5,
                    key_files: vec![pki.dir.join("jwt.pub.pem"), pki.dir.join("jwks.json")],
                },
            }),
        };
        let mut ms_config = None;
        let mut ms_env = None;
        if let Some(ms_tweak) = mina_sidor {
            let rp = pki.ca.client("BankID RP", &OrgIdForm::None).unwrap();
            std::fs::write(pki.dir.join("rp.pem"), rp.cert_pem().unwrap()).unwrap();
            std::fs::write(pki.dir.join("rp.key"), rp.key_pem().unwrap()).unwrap();
            let bankid = komvux_devkit::bankid_testserver::BankIdTestServer::start(
                loopback,
                &pki.dir.join("server.pem"),
                &pki.dir.join("server.key"),
                &pki.dir.join("ca.pem"),
            )
            .unwrap();
            let bankid_port = bankid.port;
            let bankid_handle = bankid.server.handle();
            actix_web::rt::spawn(bankid.server);
            let sink = komvux_devkit::smtp_sink::SmtpSink::start(loopback, None)
                .await
                .unwrap();
            ms_config = Some(komvux_mina_sidor::MinaSidorConfig {
                listen: loopback,
                public_url: MS_PUBLIC_URL.into(),
                bankid: komvux_mina_sidor::BankIdSettings {
                    base_url: format!("https://localhost:{bankid_port}/rp/v6.0"),
                    client_cert: pki.dir.join("rp.pem"),
                    client_key: pki.dir.join("rp.key"),
                    server_ca: pki.dir.join("ca.pem"),
                },
                bankid_testapp_url: Some(format!("https://localhost:{bankid_port}/testapp")),
                trusted_proxies: Vec::new(),
                smtp: komvux_mina_sidor::SmtpSettings {
                    host: "127.0.0.1".into(),
                    port: sink.addr.port(),
                    security: komvux_mina_sidor::SmtpSecurity::None,
                    username: None,
                    password: None,
                    from: "Mina sidor <no-reply@test.invalid>".into(),
                },
                invitation_ttl_secs: 3600,
                session_idle_secs: 600,
            });
            if let Some(ms) = ms_config.as_mut() {
                ms_tweak(ms);
            }
            ms_env = Some((bankid_port, bankid_handle, sink));
        }
        tweak(&mut config);
        let app = Application::build(config, ms_config, store.clone()).unwrap();
        let (port, ops_port, intern_port) = (app.port(), app.ops_port(), app.intern_port());
        let mina_sidor = ms_env.map(|(bankid_port, bankid, sink)| MinaSidorEnv {
            port: app.mina_sidor_port().unwrap(),
            bankid_port,
            mailbox: sink.mailbox.clone(),
            _sink: sink,
            bankid,
        });
        let handles = app.handles();
        let reloader = app.tls_reloader();
        actix_web::rt::spawn(app.run_until_stopped());
        Some(Self {
            store,
            pki,
            port,
            ops_port,
            mode,
            intern_port,
            mina_sidor,
            reloader,
            jwt_key,
            rsa_key,
            _db: database,
            handles,
        })
    }

    pub fn base(&self) -> String {
        format!("https://localhost:{}/komvux/v1", self.port)
    }

    /// Registers a client for `org` acting for `kommuner` and returns an API handle
    /// presenting a certificate of `org` in the Expisoft form.
    pub fn client(&self, org: &str, kommuner: &[&str]) -> Api {
        self.client_with_form(org, kommuner, OrgIdForm::Expisoft(org.into()))
    }

    pub fn client_with_form(&self, org: &str, kommuner: &[&str], form: OrgIdForm) -> Api {
        let creds = self.register(org, kommuner);
        let cert = self.pki.ca.client("Testkommun", &form).unwrap();
        Api {
            http: tls_client(&self.pki.ca_pem(), Some(&cert)),
            base: self.base(),
            creds: Some(creds),
        }
    }

    pub fn register(&self, org: &str, kommuner: &[&str]) -> Creds {
        let k = kommuner
            .iter()
            .map(|k| Kommunkod::parse(k).unwrap())
            .collect();
        let (client, secret) = self
            .store
            .add_client(
                None,
                "Testkommun",
                Organisationsnummer::parse(org).unwrap(),
                &k,
            )
            .unwrap();
        Creds {
            id: client.client_id,
            secret: secret.reveal().to_owned(),
        }
    }

    /// An API handle with a certificate issued for `org` but other credentials.
    pub fn with_cert(&self, cert: &Issued, creds: Option<Creds>) -> Api {
        Api {
            http: tls_client(&self.pki.ca_pem(), Some(cert)),
            base: self.base(),
            creds,
        }
    }

    pub async fn stop(self) {
        for h in &self.handles {
            h.stop(true).await;
        }
        if let Some(ms) = &self.mina_sidor {
            ms.bankid.stop(true).await;
        }
    }

    /// A token signed with the configured key; `claims` are merged over valid defaults.
    pub fn token(&self, claims: Value) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut c = serde_json::json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "handlaggare-1",
            "roles": ["handlaggare"], "iat": now, "nbf": now, "exp": now + 600 });
        if let (Value::Object(c), Value::Object(extra)) = (&mut c, claims) {
            for (k, v) in extra {
                if v.is_null() {
                    c.remove(&k);
                } else {
                    c.insert(k, v);
                }
            }
        }
        let key = jsonwebtoken::EncodingKey::from_ec_pem(&self.jwt_key).unwrap();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &c,
            &key,
        )
        .unwrap()
    }

    /// A token signed RS256 with the JWKS key, with the given key id in its header.
    pub fn rsa_token(&self, kid: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = serde_json::json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "handlaggare-rsa",
            "roles": ["handlaggare"], "exp": now + 600 });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&self.rsa_key).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    /// The internal API as Af, with a valid token.
    pub fn af(&self) -> Intern {
        Intern {
            http: tls_client(&self.pki.ca_pem(), None),
            base: format!("https://localhost:{}/intern/v1", self.intern_port.unwrap()),
            token: Some(self.token(serde_json::json!({}))),
        }
    }

    pub fn af_with(&self, token: Option<String>) -> Intern {
        Intern { token, ..self.af() }
    }
}

/// A response as the tests look at it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn problem_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }

    pub fn fields(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["falt"].as_str().unwrap().to_owned(),
                            e["kod"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Api {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(c) = &self.creds {
            r = r
                .header("client_id", &c.id)
                .header("client_secret", &c.secret);
        }
        r
    }

    pub async fn send(&self, r: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
        let res = r.send().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = res.bytes().await?;
        if status >= 400 {
            assert_eq!(
                ct, "application/problem+json",
                "error responses are problem+json"
            );
            assert!(headers.contains_key("x-request-id"));
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(reqwest::Method::GET, path))
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(reqwest::Method::POST, path).json(body))
            .await
            .unwrap()
    }

    pub async fn post_with(&self, path: &str, body: &Value, key: &str) -> Reply {
        self.send(
            self.request(reqwest::Method::POST, path)
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
        .unwrap()
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send(
            self.request(reqwest::Method::POST, path)
                .header("content-type", content_type)
                .body(body),
        )
        .await
        .unwrap()
    }

    /// Only whether the request got any HTTP answer (the handshake may fail).
    pub async fn try_get(&self, path: &str) -> Result<Reply, reqwest::Error> {
        self.send(self.request(reqwest::Method::GET, path)).await
    }
}

/// The internal API with a bearer token.
#[derive(Clone)]
pub(crate) struct Intern {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Intern {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Reply {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        let api = Api {
            http: self.http.clone(),
            base: String::new(),
            creds: None,
        };
        api.send(r).await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(reqwest::Method::GET, path, None).await
    }
}

/// Waits until the operations port at `ops` says the gateway is ready.
pub(crate) async fn wait_ready(ops: u16) {
    let http = plain_client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while http
        .get(format!("http://127.0.0.1:{ops}/health/ready"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the gateway did not come up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
