//! What each subcommand does.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::serve::Application;
use anyhow::{Context, bail};
use komvux_domain::message::{Etableringsprogram, Utbildningsbeslut};
use komvux_domain::{AfActor, AfMessage, FromJson, Kommunkod, Organisationsnummer, Personnummer};
use komvux_http::Mode;
use komvux_persistence::{Store, StoreError};
use serde_json::json;

use crate::cli::{
    AuditCommand, ClientCommand, HuvudansvarigCommand, MinaSidorCommand, OpenapiApi, OpenapiFormat,
    PersonCommand,
};
use crate::settings::Settings;
use komvux_devkit::devpki;

#[expect(clippy::print_stdout, reason = "a CLI prints its answers")]
fn say(text: &str) {
    println!("{text}");
}

pub fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let keys = settings.identity_keys().context("identity keys")?;
    Store::open(&settings.database_url, settings.pool_settings(), keys)
        .context("opening the database")
}

pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    let n = store.migrate().context("migrating")?;
    say(&format!("{n} migrations applied"));
    Ok(())
}

/// Raises the soft limit on open files to the hard one: every connection is a file, and
/// at the usual soft limit (1,024) a flood of idle connections would make accepting fail
/// for everyone (actix then pauses its accept loop).
pub fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open files limit"),
    }
}

pub fn serve(settings: Settings) -> anyhow::Result<()> {
    raise_open_files_limit();
    let store = open_store(&settings)?;
    let applied = store.migrate().context("migrating")?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    let config = settings.api.clone();
    let dev = settings.dev_services.clone();
    let tls = settings.api.tls.clone();
    actix_web::rt::System::new().block_on(async move {
        let mut _sink = None;
        if let Some(dev) = dev {
            if let Some(addr) = dev.smtp_sink {
                let sink = komvux_devkit::smtp_sink::SmtpSink::start(addr, dev.mail_dir.clone())
                    .await
                    .context("starting the SMTP sink")?;
                tracing::info!(addr = %sink.addr, mail_dir = ?dev.mail_dir, "DEV ONLY SMTP sink listening");
                _sink = Some(sink);
            }
            if let Some(addr) = dev.bankid_testserver {
                let server = komvux_devkit::bankid_testserver::BankIdTestServer::start(
                    addr,
                    &tls.server_cert,
                    &tls.server_key,
                    &tls.client_ca,
                )
                .context("starting the BankID test server")?;
                tracing::info!(port = server.port, "DEV ONLY BankID test server listening");
                actix_web::rt::spawn(server.server);
            }
        }
        let app = Application::build(config, settings.mina_sidor.clone(), store).context("starting")?;
        let reloader = app.tls_reloader();
        let mut hangup = actix_web::rt::signal::unix::signal(actix_web::rt::signal::unix::SignalKind::hangup())
            .context("listening for SIGHUP")?;
        actix_web::rt::spawn(async move {
            while hangup.recv().await.is_some() {
                match reloader.reload() {
                    Ok(()) => tracing::info!("TLS material reloaded (CA bundle, CRLs, server certificate)"),
                    Err(e) => tracing::error!(error = %e, "TLS reload failed; still serving with the previous material"),
                }
            }
        });
        tracing::info!(
            port = app.port(),
            ops_port = app.ops_port(),
            mina_sidor_port = app.mina_sidor_port(),
            mode = settings.mode.as_str(),
            "komvux-gateway serving"
        );
        app.run_until_stopped().await.context("serving")
    })
}

fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(secret.as_bytes())?;
    Ok(())
}

fn parse_kommuner(list: &[String]) -> anyhow::Result<BTreeSet<Kommunkod>> {
    list.iter()
        .map(|k| Kommunkod::parse(k.trim()).with_context(|| format!("kommunkod {k}")))
        .collect()
}

pub fn client(settings: &Settings, cmd: ClientCommand) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    match cmd {
        ClientCommand::Add {
            name,
            orgnr,
            kommuner,
            client_id,
            secret_file,
        } => {
            let org = Organisationsnummer::parse(&orgnr).context("organisationsnummer")?;
            let kommuner = parse_kommuner(&kommuner)?;
            let (client, secret) = store
                .add_client(client_id.as_deref(), &name, org, &kommuner)
                .context("registering the client")?;
            say(&format!("client_id: {}", client.client_id));
            match secret_file {
                Some(path) => {
                    write_secret(&path, secret.reveal())?;
                    say(&format!("client_secret written to {}", path.display()));
                }
                None => say(&format!(
                    "client_secret: {} (shown once; store it now)",
                    secret.reveal()
                )),
            }
        }
        ClientCommand::List => {
            for c in store.clients()? {
                let kommuner: Vec<String> = c.kommuner.iter().map(Kommunkod::to_string).collect();
                say(&format!(
                    "{}\t{}\t{}\t{}\t{}",
                    c.client_id,
                    c.organisationsnummer.as_str(),
                    kommuner.join(","),
                    if c.active { "aktiv" } else { "återkallad" },
                    c.name
                ));
            }
        }
        ClientCommand::RotateSecret {
            client_id,
            overlap_hours,
            secret_file,
        } => {
            let secret = store
                .rotate_client_secret(&client_id, Duration::from_secs(overlap_hours * 3600))
                .context("rotating")?;
            match secret_file {
                Some(path) => write_secret(&path, secret.reveal())?,
                None => say(&format!("client_secret: {} (shown once)", secret.reveal())),
            }
            say(&format!(
                "the previous secret works for {overlap_hours} more hours"
            ));
        }
        ClientCommand::Revoke { client_id } => {
            store.set_client_active(&client_id, false)?;
            say(&format!("{client_id} revoked"));
        }
        ClientCommand::Reinstate { client_id } => {
            store.set_client_active(&client_id, true)?;
            say(&format!("{client_id} reinstated"));
        }
    }
    Ok(())
}

pub fn dev_certs(out: &Path, force: bool) -> anyhow::Result<()> {
    if out.join("ca.pem").exists() && !force {
        say(&format!(
            "{} already holds a dev PKI (use --force to replace it)",
            out.display()
        ));
        return Ok(());
    }
    devpki::write_dev_pki(out).context("writing dev certificates")?;
    say(&format!(
        "DEV ONLY certificates written to {}",
        out.display()
    ));
    Ok(())
}

pub fn openapi(format: OpenapiFormat, api: OpenapiApi) -> anyhow::Result<()> {
    let doc = match api {
        OpenapiApi::Public => komvux_api::openapi::document(Mode::Produktion),
        OpenapiApi::Test => komvux_api::openapi::document(Mode::Test),
        OpenapiApi::Intern => komvux_api::openapi::intern_document(),
    };
    let text = match format {
        OpenapiFormat::Yaml => komvux_api::openapi::yaml(&doc),
        OpenapiFormat::Json => komvux_api::openapi::json(&doc),
    }
    .map_err(anyhow::Error::msg)?;
    #[expect(clippy::print_stdout, reason = "the document goes to stdout")]
    {
        print!("{text}");
        if !text.ends_with('\n') {
            println!();
        }
    }
    Ok(())
}

pub fn audit(settings: &Settings, cmd: AuditCommand) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    match cmd {
        AuditCommand::Verify => {
            let report = store.verify_audit_chain()?;
            match report.first_broken {
                None => say(&format!("audit chain intact: {} rows", report.rows)),
                Some((seq, why)) => bail!(
                    "audit chain broken at row {seq}: {why} ({} rows verified before it)",
                    report.rows
                ),
            }
        }
        AuditCommand::Export {
            person,
            person_file,
            from,
            to,
        } => {
            let p = read_person(person, person_file)?;
            let day = |d: Option<String>, end: bool| -> anyhow::Result<i64> {
                let Some(d) = d else {
                    return Ok(if end { i64::MAX } else { 0 });
                };
                let date = komvux_domain::Datum::parse(&d)
                    .map_err(|e| anyhow::anyhow!("{d}: {e}"))?
                    .date();
                let t = if end {
                    date.with_hms(23, 59, 59)?.assume_utc()
                } else {
                    date.midnight().assume_utc()
                };
                Ok((t.unix_timestamp_nanos() / 1000) as i64)
            };
            let rows = store.audit_export_for_person(
                "audit-export",
                &p,
                day(from, false)?,
                day(to, true)?,
            )?;
            for row in rows {
                say(&serde_json::to_string(&row)?);
            }
        }
    }
    Ok(())
}

fn read_person(
    arg: Option<String>,
    file: Option<std::path::PathBuf>,
) -> anyhow::Result<Personnummer> {
    let raw = match (arg, file) {
        (Some(p), _) => p,
        (None, Some(f)) => {
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?
        }
        (None, None) => bail!("give --person or --person-file"),
    };
    Personnummer::parse(raw.trim()).map_err(|e| anyhow::anyhow!("personnummer: {e}"))
}

pub fn person(settings: &Settings, cmd: PersonCommand) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    match cmd {
        PersonCommand::Export {
            person,
            person_file,
        } => {
            let p = read_person(person, person_file)?;
            let r = store
                .person(&komvux_persistence::Reader::system("registerutdrag"), &p)
                .wait()?;
            let out = json!({
                "personnummer": r.personnummer.expose(),
                "skyddade_personuppgifter": r.skyddade_personuppgifter,
                "utbildningsbehov": r.utbildningsbehov,
                "utbildningsbeslut": r.utbildningsbeslut,
                "etableringsprogram": r.etableringsprogram,
                "meddelanden": r.meddelanden.iter().map(|m| m.to_json()).collect::<Vec<_>>(),
            });
            say(&serde_json::to_string_pretty(&out)?);
        }
        PersonCommand::Erase {
            person,
            person_file,
            yes,
        } => {
            let p = read_person(person, person_file)?;
            if !yes {
                bail!("erasure deletes everything about the person; confirm with --yes");
            }
            match store.erase_person("radering", &p) {
                Ok(n) => say(&format!("erased: {n} messages and the identity row")),
                Err(StoreError::NotFound) => bail!("no data about that person"),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

pub fn gallra(settings: &Settings, dry_run: bool) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    let r = store.gallra(settings.retention, dry_run)?;
    say(&format!(
        "{}{} persons, {} messages, {} idempotency entries",
        if dry_run { "would delete " } else { "deleted " },
        r.persons,
        r.messages,
        r.idempotency_entries
    ));
    Ok(())
}

/// `dev-seed`: a national-scale dataset in an empty test database (see
/// `komvux_persistence::SeedPlan`).
pub fn dev_seed(
    settings: &Settings,
    personer: u64,
    meddelanden: u64,
    seed: u64,
) -> anyhow::Result<()> {
    if settings.mode != Mode::Test {
        bail!("dev-seed runs in test mode only");
    }
    let store = open_store(settings)?;
    if !store.keys().is_dev() {
        bail!("dev-seed runs with the dev identity keys only");
    }
    store.migrate()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1_000_000;
    let plan = komvux_persistence::SeedPlan {
        personer,
        meddelanden,
        seed,
        now,
    };
    let report = store.dev_seed(&plan, &mut |step| say(&format!("dev-seed: {step}")))?;
    say(&format!(
        "dev-seed: {} persons, {} messages, {} audit rows in {:.1} s",
        report.personer,
        report.meddelanden,
        report.audit_rows,
        report.millis as f64 / 1000.0
    ));
    Ok(())
}

pub fn dev_setup(settings: &Settings, secrets: &Path) -> anyhow::Result<()> {
    if settings.mode != Mode::Test {
        bail!("dev-setup runs in test mode only");
    }
    let store = open_store(settings)?;
    store.migrate()?;
    let mut created_any = false;
    for (stem, org_name, spec, kommun) in devpki::DEV_CLIENTS {
        let id = stem.replacen("client-", "dev-", 1);
        let orgnr = spec.split_once(':').map(|(_, n)| n).unwrap_or_default();
        let org = Organisationsnummer::parse(orgnr).context("dev organisationsnummer")?;
        let path = secrets.join(format!("{id}.secret"));
        let secret = match store.client(&id)? {
            Some(_) if path.exists() => continue,
            Some(_) => store.rotate_client_secret(&id, Duration::ZERO)?,
            None => {
                created_any = true;
                let kommuner = parse_kommuner(&[kommun.to_string()])?;
                store.add_client(Some(&id), org_name, org, &kommuner)?.1
            }
        };
        write_secret(&path, secret.reveal())?;
    }
    if created_any {
        seed(&store).context("seeding test data")?;
    }
    let listen = settings.api.listen;
    let host = if listen.ip().is_loopback() {
        "localhost".to_owned()
    } else {
        listen.ip().to_string()
    };
    let secret_file = secrets.join("dev-stockholm.secret");
    say(&format!(
        "\nThe test environment (kommun 0180, Stockholm; test person 201212121212 is Skatteverket's \"Tolvan\"):\n\n\
         curl --cacert certs-dev/ca.pem --cert certs-dev/client-stockholm.pem --key certs-dev/client-stockholm.key \\\n  \
         -H 'client_id: dev-stockholm' -H \"client_secret: $(cat {})\" \\\n  \
         'https://{host}:{}/komvux/v1/utbildningsbehov?hemkommun=0180'\n",
        secret_file.display(),
        listen.port()
    ));
    if let Some(ms) = &settings.mina_sidor {
        let kommun = Kommunkod::parse("0180").context("dev kommun")?;
        let person = Personnummer::parse(DEV_HUVUDANSVARIG).context("dev huvudansvarig")?;
        store.mina_sidor().add_huvudansvarig(
            "dev-setup",
            kommun,
            &person,
            "huvudansvarig@stockholm.invalid",
        )?;
        say(&format!(
            "Mina sidor för kommuner: {}/mina-sidor/ — log in with BankID: open the test-BankID link \
             on the login page and identify as {DEV_HUVUDANSVARIG} (Stockholm's huvudansvarig). \
             Invitation mails are saved in {}.\n",
            ms.public_url.trim_end_matches('/'),
            settings
                .dev_services
                .as_ref()
                .and_then(|d| d.mail_dir.as_ref())
                .map_or_else(|| "the SMTP relay".to_owned(), |d| d.display().to_string()),
        ));
    }
    Ok(())
}

/// The test environment's huvudansvarig for Stockholm (a Skatteverket test number).
pub const DEV_HUVUDANSVARIG: &str = "199001012385";

/// The stages of the flow a seeded person has reached, in order.
const STAGES: &[&str] = &[
    "anvisad",
    "ansokt",
    "antagen",
    "beslutad",
    "forandring",
    "betyg",
    "avbrott",
    "skyddad",
    "etableringsprogram",
];

fn parsed<T: FromJson>(v: serde_json::Value) -> anyhow::Result<T> {
    T::from_json(&v).map_err(|e| anyhow::anyhow!("seed data: {e}"))
}

/// A realistic synthetic data set for each dev kommun: one test person at every stage
/// of the flow (see [`STAGES`]), among them one with skyddade personuppgifter and one
/// with an avbrott. Only Skatteverket's test personnummer are used.
fn seed(store: &Store) -> anyhow::Result<()> {
    use komvux_domain::message::{Ansokan, Antagning, Avbrott, Betyg, Forandring};
    use komvux_domain::{KommunActor, KommunMeddelande, KommunMessage};
    let af = AfActor::new("seed-testdata");
    for (k_index, (_, _, _, kommun)) in devpki::DEV_CLIENTS.iter().enumerate() {
        let kommunkod = Kommunkod::parse(kommun).context("dev kommun")?;
        let actor = KommunActor::new([kommunkod]);
        let mut lines = Vec::new();
        for (stage_index, stage) in STAGES.iter().enumerate() {
            let p = Personnummer::test_number(1000 + k_index * 50 + stage_index * 3)
                .context("test personnummer")?;
            let pnr = p.expose();
            let header = json!({ "kommunkod": kommun, "personnummer": pnr, "transaktionsdatum": "2026-03-02T10:00:00+01:00",
                                 "kallsystem": "seed-testdata", "status": "registrering" });
            let with = |extra: serde_json::Value| {
                let mut h = header.clone();
                if let (Some(h), serde_json::Value::Object(e)) = (h.as_object_mut(), extra) {
                    h.extend(e);
                }
                h
            };
            let kurs = json!({ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
                               "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18" });
            let behov = json!({ "personnummer": pnr, "hemkommun": kommun, "anvisningsdatum": "2026-02-20",
                                "skolformer": ["gymnasial", "sfi"], "giltig_tom": "2099-12-31",
                                "af_kontor": "Arbetsförmedlingen" });
            store.create_utbildningsbehov(
                &af,
                &af.authorize(AfMessage::Utbildningsbehov(parsed(behov)?)),
            )?;
            let submit = |m: KommunMessage| -> anyhow::Result<()> {
                let write = actor.authorize(m).map_err(|e| anyhow::anyhow!("{e}"))?;
                store.submit("seed-testdata", &write, None)?;
                Ok(())
            };
            if (1..=6).contains(&stage_index) {
                submit(
                    parsed::<KommunMeddelande<Ansokan>>(with(
                        json!({ "ansokningsdatum": "2026-03-01", "kurser": [kurs] }),
                    ))?
                    .into(),
                )?;
            }
            if (2..=6).contains(&stage_index) {
                submit(parsed::<KommunMeddelande<Antagning>>(with(json!({ "beslut": "antagen", "beslutsdatum": "2026-04-01", "kurser": [kurs] })))?.into())?;
            }
            if (3..=6).contains(&stage_index) {
                let beslut = json!({ "personnummer": pnr, "kommunkod": kommun, "beslutsdatum": "2026-04-10",
                                     "fom": "2026-08-17", "tom": "2026-12-18", "studietakt": 50, "kurskoder": ["MATMAT01a"] });
                store.create_utbildningsbeslut(
                    &af,
                    &af.authorize(AfMessage::Utbildningsbeslut(parsed::<Utbildningsbeslut>(
                        beslut,
                    )?)),
                )?;
            }
            match *stage {
                "forandring" => submit(parsed::<KommunMeddelande<Forandring>>(with(json!({ "kurskod": "MATMAT01a", "giltig_fran": "2026-09-01", "ny_studietakt": 75 })))?.into())?,
                "betyg" => submit(parsed::<KommunMeddelande<Betyg>>(with(json!({ "kurskod": "MATMAT01a", "skolform": "gymnasial", "betyg": "C", "betygsdatum": "2026-12-18", "poang": 100 })))?.into())?,
                "avbrott" => submit(parsed::<KommunMeddelande<Avbrott>>(with(json!({ "avbrottsdatum": "2026-10-01", "orsak": "arbete" })))?.into())?,
                "skyddad" => store.set_skyddade_personuppgifter(&af, &p, true)?,
                "etableringsprogram" => {
                    let from = komvux_domain::Datum::parse("2025-11-01").map_err(|e| anyhow::anyhow!("{e}"))?;
                    let program = Etableringsprogram::deltar(p, from, None).map_err(|e| anyhow::anyhow!("{e}"))?;
                    store.set_etableringsprogram(&af, &af.authorize(AfMessage::Etableringsprogram(program)))?;
                }
                _ => {}
            }
            lines.push(format!("  {pnr}  {stage}"));
        }
        say(&format!(
            "seeded test persons for kommun {kommun} ({}):\n{}",
            kommunkod.namn(),
            lines.join("\n")
        ));
    }
    Ok(())
}

fn parse_ttl(ttl: &str) -> anyhow::Result<u64> {
    let (n, unit) = ttl.split_at(ttl.len().saturating_sub(1));
    let n: u64 = n
        .parse()
        .with_context(|| format!("ttl {ttl}: a number and s, m or h"))?;
    Ok(match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => bail!("ttl {ttl}: a number and s, m or h"),
    })
}

/// Mints a token for the internal API with the dev signing key (test mode only).
pub fn dev_token(
    settings: &Settings,
    sub: &str,
    roles: &[String],
    ttl: &str,
) -> anyhow::Result<()> {
    if settings.mode != Mode::Test {
        bail!("dev-token runs in test mode only");
    }
    let intern = settings
        .api
        .intern
        .as_ref()
        .context("the configuration has no [intern] section")?;
    let key_path = settings
        .dev_signing_key
        .as_ref()
        .context("intern.dev_signing_key is not configured")?;
    let pem = std::fs::read(key_path).with_context(|| format!("reading {}", key_path.display()))?;
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem)
        .context("the dev signing key must be a P-256 PKCS#8 key")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let claims = json!({
        "iss": intern.jwt.issuer, "aud": intern.jwt.audience, "sub": sub,
        intern.jwt.roles_claim.clone(): roles, "iat": now, "nbf": now, "exp": now + parse_ttl(ttl)?,
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &claims,
        &key,
    )?;
    say(&token);
    Ok(())
}

/// Loads the synthetic data set (test mode only).
pub fn seed_testdata(settings: &Settings) -> anyhow::Result<()> {
    if settings.mode != Mode::Test {
        bail!("seed-testdata runs in test mode only");
    }
    let store = open_store(settings)?;
    store.migrate()?;
    seed(&store)
}

pub fn mina_sidor(settings: &Settings, cmd: MinaSidorCommand) -> anyhow::Result<()> {
    let MinaSidorCommand::Huvudansvarig(HuvudansvarigCommand::Add {
        kommun,
        personnummer,
        personnummer_file,
        epost,
    }) = cmd;
    let kommun =
        komvux_domain::Kommunkod::parse(&kommun).map_err(|e| anyhow::anyhow!("--kommun: {e}"))?;
    let person = read_person(personnummer, personnummer_file)?;
    if let Err(e) = komvux_http::body::person_allowed(settings.mode, &person, "personnummer") {
        bail!("--personnummer: {}", e.meddelande);
    }
    if !komvux_mina_sidor::mail::valid_address(&epost) {
        bail!("--epost: not an e-mail address");
    }
    let store = open_store(settings)?;
    let user = store.mina_sidor().add_huvudansvarig(
        "mina-sidor huvudansvarig add",
        kommun,
        &person,
        &epost,
    )?;
    say(&format!(
        "huvudansvarig for {} ({kommun}): user {} <{}>; they log in with BankID at Mina sidor",
        kommun.namn(),
        user.id,
        user.epost
    ));
    Ok(())
}
