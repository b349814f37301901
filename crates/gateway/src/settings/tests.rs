use super::*;

const DEV_HMAC_HEX: &str = "6465762d6f6e6c792d686d61632d6b65792d6e6f742d666f722d70726f642121";
const DEV_ENC_HEX: &str = "6465762d6f6e6c792d656e632d6b65792d2d6e6f742d666f722d70726f642121";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// A fresh receipt signing key in a file of its own (production refuses the dev key).
fn receipt_key() -> PathBuf {
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let key = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap())
        .unwrap()
        .private_key_to_pem_pkcs8()
        .unwrap();
    let path = std::env::temp_dir().join(format!("komvux-receipts-{}.key", uuid::Uuid::new_v4()));
    std::fs::write(&path, key).unwrap();
    path
}

fn file(mode: Mode) -> FileSettings {
    FileSettings {
        receipts: FileReceipts {
            signing_key: Some(receipt_key()),
            retired_keys: None,
            checkpoint_interval_secs: None,
            tsa_url: None,
            tsa_ca: None,
        },
        mode: Some(mode),
        database_url: Some("postgres://x@localhost/db".into()),
        tls: FileTls {
            server_cert: Some(repo("certs-dev/server.pem")),
            server_key: Some(repo("certs-dev/server.key")),
            client_ca: Some(repo("certs-dev/ca.pem")),
            crls: None,
        },
        ..FileSettings::default()
    }
}

fn invalid(r: Result<Settings, SettingsError>) -> String {
    match r {
        Err(SettingsError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn production_refuses_dev_certificates() {
    let m = invalid(Settings::from_file(file(Mode::Produktion)));
    assert!(m.contains("DEV ONLY certificates"), "{m}");
}

#[test]
fn test_mode_accepts_dev_certificates_and_falls_back_to_dev_keys() {
    let s = Settings::from_file(file(Mode::Test)).unwrap();
    assert!(s.identity_keys().unwrap().is_dev());
    assert_eq!(s.log_format, LogFormat::Text);
    assert!(s.api.intern.is_none() && s.api.rate_limit.is_none());
}

#[test]
fn production_needs_real_identity_keys() {
    let mut s = Settings::from_file(file(Mode::Test)).unwrap();
    s.mode = Mode::Produktion;
    assert!(s.identity_keys().is_err(), "missing keys");
    s.identity_hmac_key = Some(DEV_HMAC_HEX.into());
    s.identity_encryption_key = Some(DEV_ENC_HEX.into());
    assert!(
        s.identity_keys()
            .unwrap_err()
            .to_string()
            .contains("DEV ONLY")
    );
    let (h, e) = IdentityKeys::generate_hex();
    s.identity_hmac_key = Some(h.into());
    s.identity_encryption_key = Some(e.into());
    assert!(!s.identity_keys().unwrap().is_dev());
}

#[test]
fn production_refuses_the_dev_jwt_key() {
    let mut s = Settings::from_file(file(Mode::Test)).unwrap();
    s.mode = Mode::Produktion;
    s.api.tls.client_ca = repo("README.md");
    s.api.tls.server_cert = repo("README.md");
    assert!(s.check_production().is_ok(), "no dev certificate there");
    s.api.intern = Some(InternConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt: JwtSettings {
            issuer: "i".into(),
            audience: "a".into(),
            roles_claim: "roles".into(),
            required_role: "r".into(),
            leeway_secs: 30,
            key_files: vec![repo("certs-dev/jwt-dev.pub.pem")],
        },
    });
    assert!(
        s.check_production()
            .unwrap_err()
            .to_string()
            .contains("JWT")
    );
}

#[test]
fn environment_overrides_the_file() {
    let mut f = file(Mode::Test);
    let env = |k: &str| match k {
        "KOMVUX_DATABASE_URL" => Some("sqlite://elsewhere.sqlite".to_owned()),
        "KOMVUX_LISTEN" => Some("0.0.0.0:9443".to_owned()),
        "KOMVUX_RATE_LIMIT_PER_SECOND" => Some("5".to_owned()),
        "KOMVUX_INTERN_ISSUER" => Some("https://idp".to_owned()),
        "KOMVUX_INTERN_AUDIENCE" => Some("gw".to_owned()),
        "KOMVUX_INTERN_KEYS" => Some("a.pem,b.json".to_owned()),
        _ => None,
    };
    f.apply_env(env).unwrap();
    let s = Settings::from_file(f).unwrap();
    assert_eq!(s.database_url, "sqlite://elsewhere.sqlite");
    assert_eq!(s.api.listen.port(), 9443);
    assert_eq!(
        s.api.rate_limit.map(|r| (r.per_second, r.burst)),
        Some((5, 5))
    );
    assert_eq!(s.api.intern.unwrap().jwt.key_files.len(), 2);
}

#[test]
fn every_environment_variable_sets_its_key() {
    for k in KEYS {
        let Some(name) = k.env else { continue };
        let value = match (name, k.kind) {
            ("KOMVUX_MODE", _) => "produktion",
            ("KOMVUX_LOG_FORMAT", _) => "json",
            (_, Kind::Integer) => "7",
            (_, Kind::List) => "a.pem,b.pem",
            (_, Kind::Text) => "127.0.0.1:7",
        };
        let mut f = file(Mode::Test);
        f.apply_env(|e| (e == name).then(|| value.to_owned()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let shown = toml::Table::try_from(&f).unwrap();
        let (tables, last) = split_key(k.key);
        let mut at = &shown;
        for part in tables {
            at = at[part]
                .as_table()
                .unwrap_or_else(|| panic!("{name}: {part}"));
        }
        assert!(at.contains_key(last), "{name} sets {}: {shown}", k.key);
    }
}

/// The configuration table of docs/operations.md is [`markdown_table`]'s; with
/// `KOMVUX_BLESS_DOCS=1` the test writes it there instead of failing.
#[test]
fn the_documented_table_is_the_keys_table() {
    let path = repo("docs/operations.md");
    let docs = std::fs::read_to_string(&path).unwrap();
    let head = "| key | environment | default | meaning |\n";
    let start = docs
        .find(head)
        .expect("the table's head in docs/operations.md");
    let end = docs[start..]
        .find("\n\n")
        .map_or(docs.len(), |n| start + n + 1);
    let table = markdown_table();
    if docs[start..end] == table {
        return;
    }
    if std::env::var_os("KOMVUX_BLESS_DOCS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &docs[..start], &docs[end..])).unwrap();
        return;
    }
    panic!(
        "docs/operations.md's configuration table is stale; run \
         KOMVUX_BLESS_DOCS=1 cargo test -p komvux-gateway settings. It should read:\n{table}"
    );
}

/// The fields a section of the file accepts, from the refusal of an unknown one
/// (serde's `deny_unknown_fields` names every field it expected).
fn accepted_fields(section: &[&str]) -> Vec<String> {
    let mut table = toml::Table::new();
    let mut at = &mut table;
    for part in section {
        at = at
            .entry(*part)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap();
    }
    at.insert("no_such_key".into(), toml::Value::Integer(1));
    let err = table.try_into::<FileSettings>().unwrap_err().to_string();
    let expected = err
        .split_once("expected one of ")
        .or_else(|| err.split_once("expected "))
        .unwrap_or_else(|| panic!("{section:?}: {err}"))
        .1;
    let expected = expected.lines().next().unwrap_or_default();
    expected
        .split([',', ' '])
        .filter(|f| *f != "or")
        .map(|f| f.trim_matches('`').to_owned())
        .filter(|f| !f.is_empty())
        .collect()
}

#[test]
fn every_key_the_file_accepts_is_described_and_no_other() {
    let sections: &[&[&str]] = &[
        &[],
        &["tls"],
        &["identity"],
        &["limits"],
        &["pool"],
        &["gallring"],
        &["receipts"],
        &["intern"],
        &["rate_limit"],
        &["mina_sidor"],
        &["mina_sidor", "bankid"],
        &["mina_sidor", "smtp"],
        &["dev_services"],
    ];
    let mut accepted = Vec::new();
    for section in sections {
        for field in accepted_fields(section) {
            let key: Vec<&str> = section.iter().copied().chain([field.as_str()]).collect();
            let key = key.join(".");
            if !sections.iter().any(|s| s.join(".") == key) {
                accepted.push(key);
            }
        }
    }
    let mut described: Vec<String> = KEYS.iter().map(|k| k.key.to_owned()).collect();
    accepted.sort();
    described.sort();
    assert_eq!(accepted, described, "the File* structs against KEYS");
}

#[test]
fn defaults_come_from_the_keys() {
    let s = Settings::from_file(file(Mode::Test)).unwrap();
    assert_eq!(s.api.listen.to_string(), "127.0.0.1:8443");
    assert_eq!(s.api.max_body_bytes, ApiConfig::DEFAULT_MAX_BODY_BYTES);
    assert_eq!(
        s.api.max_basladdning_bytes,
        ApiConfig::DEFAULT_MAX_BASLADDNING_BYTES
    );
    assert_eq!(
        s.api.body_timeout_secs,
        ApiConfig::DEFAULT_BODY_TIMEOUT_SECS
    );
    assert_eq!(s.pool.read_batch, PoolSettings::DEFAULT_READ_BATCH);
    assert_eq!(s.pool.max_size, 16);
    assert_eq!(s.retention, Duration::from_secs(1095 * 86_400));
    assert!(
        s.mina_sidor.is_none() && s.api.intern.is_none(),
        "sections stay off"
    );
    let mut f = file(Mode::Test);
    f.intern = Some(FileIntern {
        issuer: Some("i".into()),
        audience: Some("a".into()),
        keys: Some(vec![repo("certs-dev/jwt-dev.pub.pem")]),
        ..FileIntern::default()
    });
    let jwt = Settings::from_file(f).unwrap().api.intern.unwrap();
    assert_eq!(jwt.listen.to_string(), "127.0.0.1:8444");
    assert_eq!(
        (
            jwt.jwt.roles_claim.as_str(),
            jwt.jwt.required_role.as_str(),
            jwt.jwt.leeway_secs
        ),
        ("roles", "handlaggare", 30)
    );
}

#[test]
fn unknown_keys_and_bad_values_are_refused() {
    assert!(toml::from_str::<FileSettings>("mode = \"test\"\nlisten_adress = \"x\"").is_err());
    let mut f = FileSettings::default();
    assert!(
        f.apply_env(|k| (k == "KOMVUX_MODE").then(|| "prod".to_owned()))
            .is_err()
    );
    assert!(invalid(Settings::from_file(FileSettings::default())).contains("mode"));
    // Reader threads and their batch: set, and bounded.
    let load = |threads: &str, batch: &str| {
        let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
        f.apply_env(|k| match k {
            "KOMVUX_POOL_READER_THREADS" => Some(threads.to_owned()),
            "KOMVUX_POOL_READ_BATCH" => Some(batch.to_owned()),
            _ => None,
        })
        .unwrap();
        Settings::from_file(f)
    };
    let s = load("2", "16").unwrap();
    assert_eq!(s.pool_settings().reader_threads, Some(2));
    assert_eq!(s.pool_settings().read_batch, 16);
    assert!(invalid(load("0", "16")).contains("pool.reader_threads"));
    assert!(invalid(load("2", "5000")).contains("pool.read_batch"));
}

#[test]
fn the_committed_test_configuration_loads() {
    let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
    f.apply_env(|_| None).unwrap();
    let s = Settings::from_file(f).unwrap();
    assert_eq!(s.mode, Mode::Test);
    assert!(s.api.intern.is_some() && s.dev_signing_key.is_some());
    assert!(s.mina_sidor.is_some() && s.dev_services.is_some());
}

#[test]
fn no_secret_reaches_a_debug_of_the_settings() {
    let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
    f.identity.hmac_key = Some(DEV_HMAC_HEX.into());
    f.identity.encryption_key = Some(DEV_ENC_HEX.into());
    let password = std::env::temp_dir().join(format!("komvux-smtp-{}", std::process::id()));
    std::fs::write(&password, "hemligt-smtp-losenord").unwrap();
    if let Some(ms) = f.mina_sidor.as_mut() {
        ms.smtp.username = Some("relay".into());
        ms.smtp.password_file = Some(password.clone());
    }
    let file_debug = format!("{f:?}");
    let s = Settings::from_file(f).unwrap();
    std::fs::remove_file(&password).unwrap();
    let ms = s.mina_sidor.as_ref().unwrap();
    assert_eq!(
        ms.smtp.password.as_ref().map(Secret::expose),
        Some("hemligt-smtp-losenord")
    );
    for shown in [file_debug, format!("{s:?}")] {
        for secret in [DEV_HMAC_HEX, DEV_ENC_HEX, "hemligt-smtp-losenord"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("Secret(***)"), "{shown}");
    }
}

#[test]
fn production_refuses_the_mina_sidor_dev_services() {
    let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
    f.apply_env(|_| None).unwrap();
    let mut s = Settings::from_file(f).unwrap();
    s.mode = Mode::Produktion;
    s.api.tls.client_ca = repo("README.md");
    s.api.tls.server_cert = repo("README.md");
    s.api.intern = None;
    s.api.receipts.signing_key = std::fs::read_to_string(receipt_key()).unwrap().into();
    let ms = s.mina_sidor.as_mut().unwrap();
    ms.bankid.client_cert = repo("certs-dev/bankid-rp.pem");
    ms.bankid.server_ca = repo("README.md");
    let err = |s: &Settings| s.check_production().unwrap_err().to_string();
    assert!(err(&s).contains("dev_services"));
    s.dev_services = None;
    assert!(err(&s).contains("testapp_url"));
    s.mina_sidor.as_mut().unwrap().bankid_testapp_url = None;
    assert!(err(&s).contains("bankid-rp.pem"));
    s.mina_sidor.as_mut().unwrap().bankid.client_cert = repo("README.md");
    assert!(s.check_production().is_ok());
}

#[test]
fn trusted_proxies_are_addresses_or_ranges() {
    let load = |proxies: Vec<&str>| {
        let mut f = FileSettings::load(Some(&repo("config/test.toml"))).unwrap();
        f.apply_env(|_| None).unwrap();
        f.mina_sidor.as_mut().unwrap().trusted_proxies =
            Some(proxies.into_iter().map(str::to_owned).collect());
        Settings::from_file(f)
    };
    let s = load(vec!["10.0.0.0/8", "192.0.2.10", "2001:db8::/32"]).unwrap();
    let ms = s.mina_sidor.unwrap();
    assert_eq!(ms.trusted_proxies.len(), 3);
    assert!(ms.trusted_proxies[1].contains(&"192.0.2.10".parse::<std::net::IpAddr>().unwrap()));
    let err = load(vec!["proxy.example.se"]).unwrap_err().to_string();
    assert!(err.contains("mina_sidor.trusted_proxies"), "{err}");
}

#[test]
fn receipt_keys_fall_back_to_the_dev_key_in_test_mode_only() {
    let mut f = file(Mode::Test);
    f.receipts.signing_key = None;
    let s = Settings::from_file(f).unwrap();
    assert_eq!(s.api.receipts.source, "the DEV ONLY receipt key");
    let mut f = file(Mode::Produktion);
    f.receipts.signing_key = None;
    let m = invalid(Settings::from_file(f));
    assert!(m.contains("receipts.signing_key is required"), "{m}");
    let mut s = Settings::from_file(file(Mode::Test)).unwrap();
    s.mode = Mode::Produktion;
    s.api.tls.client_ca = repo("README.md");
    s.api.tls.server_cert = repo("README.md");
    assert!(s.check_production().is_ok(), "a key of its own");
    s.api.receipts.signing_key = DEV_RECEIPT_KEY.into();
    let m = s.check_production().unwrap_err().to_string();
    assert!(m.contains("DEV ONLY receipt key"), "{m}");
    let shown = format!("{:?}", s.api.receipts);
    assert!(
        !shown.contains("PRIVATE KEY") && shown.contains("Secret(***)"),
        "{shown}"
    );
}
