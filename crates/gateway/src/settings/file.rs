//! The configuration file as written: every key optional, and the environment
//! variables applied over it.

use super::*;

/// The file, every key optional.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub mode: Option<Mode>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub ops_listen: Option<String>,
    pub log_format: Option<LogFormat>,
    pub workers: Option<usize>,
    #[serde(default)]
    pub tls: FileTls,
    #[serde(default)]
    pub identity: FileIdentity,
    #[serde(default)]
    pub limits: FileLimits,
    #[serde(default)]
    pub pool: FilePool,
    #[serde(default)]
    pub gallring: FileGallring,
    #[serde(default)]
    pub receipts: FileReceipts,
    /// Arbetsförmedlingen's internal API; absent: off.
    pub intern: Option<FileIntern>,
    /// Per-client rate limit; absent: no limit.
    pub rate_limit: Option<FileRateLimit>,
    /// Mina sidor för kommuner; absent: off.
    pub mina_sidor: Option<FileMinaSidor>,
    /// Test mode only: the BankID test server and SMTP sink, run inside `serve`.
    pub dev_services: Option<FileDevServices>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileMinaSidor {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub invitation_ttl_hours: Option<i64>,
    pub session_idle_minutes: Option<i64>,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Option<Vec<String>>,
    #[serde(default)]
    pub bankid: FileBankId,
    #[serde(default)]
    pub smtp: FileSmtp,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileBankId {
    pub base_url: Option<String>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub server_ca: Option<PathBuf>,
    /// Test mode only: the test server's identification page.
    pub testapp_url: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSmtp {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<SmtpSecurity>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub from: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileDevServices {
    /// Where the BankID test server listens (TLS with the server certificate).
    pub bankid_testserver: Option<String>,
    /// Where the SMTP sink listens.
    pub smtp_sink: Option<String>,
    /// Where the sink saves each message as a `.eml` file.
    pub mail_dir: Option<PathBuf>,
    /// Where the DEV ONLY time-stamp authority listens (plain HTTP).
    pub tsa: Option<String>,
}

/// The test environment's BankID test server, SMTP sink and time-stamp authority.
#[derive(Debug, Clone)]
pub struct DevServices {
    pub bankid_testserver: Option<SocketAddr>,
    pub smtp_sink: Option<SocketAddr>,
    pub mail_dir: Option<PathBuf>,
    pub tsa: Option<SocketAddr>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileRateLimit {
    pub requests_per_second: Option<u32>,
    pub burst: Option<u32>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileIntern {
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub roles_claim: Option<String>,
    pub required_role: Option<String>,
    pub leeway_secs: Option<u64>,
    /// PEM public keys or JWKS files.
    pub keys: Option<Vec<PathBuf>>,
    /// Test mode only: the private key `dev-token` signs with.
    pub dev_signing_key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileTls {
    pub server_cert: Option<PathBuf>,
    pub server_key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
    pub crls: Option<Vec<PathBuf>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileIdentity {
    pub hmac_key: Option<Secret>,
    pub encryption_key: Option<Secret>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    pub max_body_bytes: Option<usize>,
    pub max_basladdning_bytes: Option<usize>,
    pub body_timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilePool {
    pub max_size: Option<u32>,
    pub connection_timeout_secs: Option<u64>,
    pub reader_threads: Option<usize>,
    pub read_batch: Option<usize>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileReceipts {
    pub signing_key: Option<PathBuf>,
    pub retired_keys: Option<Vec<PathBuf>>,
    pub checkpoint_interval_secs: Option<u64>,
    pub tsa_url: Option<String>,
    pub tsa_ca: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileGallring {
    pub retention_days: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

impl FileSettings {
    pub fn load(path: Option<&Path>) -> Result<Self, SettingsError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| SettingsError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Applies the `KOMVUX_*` variables of [`KEYS`] from `env` over the file's values:
    /// each sets its key (and the tables above it) in the file's TOML, which is then
    /// read again with the file's own rules, so a variable is checked exactly as its key
    /// in the file would be.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), SettingsError> {
        let invalid = |what: String| SettingsError::Invalid(what);
        let mut table = self.to_table()?;
        let mut applied = Vec::new();
        for k in KEYS {
            let Some(name) = k.env else { continue };
            let Some(raw) = env(name) else { continue };
            let value = match k.kind {
                Kind::Text => toml::Value::String(raw),
                Kind::Integer => toml::Value::Integer(
                    raw.trim()
                        .parse()
                        .map_err(|_| invalid(format!("{name}: {raw:?} is not a whole number")))?,
                ),
                Kind::List => toml::Value::Array(
                    raw.split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.to_owned()))
                        .collect(),
                ),
            };
            let (tables, last) = split_key(k.key);
            let mut at = &mut table;
            for part in tables {
                at = at
                    .entry(part)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .ok_or_else(|| invalid(format!("{name}: {part} is not a table")))?;
            }
            at.insert(last.to_owned(), value);
            applied.push(name);
        }
        if applied.is_empty() {
            return Ok(());
        }
        *self = table
            .try_into()
            .map_err(|e| invalid(format!("{}: {e}", applied.join(", "))))?;
        Ok(())
    }

    /// Sets the default of every key of [`KEYS`] that has one and is left out, where its
    /// section is given (a left-out `[intern]` stays off; its keys get no defaults).
    pub fn with_defaults(self) -> Result<Self, SettingsError> {
        let mut table = self.to_table()?;
        for k in KEYS {
            let Some(value) = default_value(k) else {
                continue;
            };
            let (tables, last) = split_key(k.key);
            let mut at = Some(&mut table);
            for part in tables {
                at = at
                    .and_then(|t| t.get_mut(part))
                    .and_then(|v| v.as_table_mut());
            }
            if let Some(section) = at {
                section.entry(last).or_insert(value);
            }
        }
        table
            .try_into()
            .map_err(|e| SettingsError::Invalid(format!("the defaults: {e}")))
    }

    fn to_table(&self) -> Result<toml::Table, SettingsError> {
        toml::Table::try_from(self)
            .map_err(|e| SettingsError::Invalid(format!("the configuration as TOML: {e}")))
    }
}
