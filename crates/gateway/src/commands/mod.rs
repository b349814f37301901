//! What each subcommand does.

use actix_web::rt::signal::unix::{SignalKind, signal};
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
    AuditCommand, ClientCommand, HuvudansvarigCommand, KvittensCommand, MinaSidorCommand,
    OpenapiApi, OpenapiFormat, PersonCommand,
};
use crate::settings::Settings;
use komvux_devkit::devpki;

mod accounts;
mod dev;

pub use accounts::*;
pub use dev::*;

#[expect(clippy::print_stdout, reason = "a CLI prints its answers")]
pub(super) fn say(text: &str) {
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
    let mut config = settings.api.clone();
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
            if let Some(addr) = dev.tsa {
                use crate::settings::{DEV_TSA_CERT, DEV_TSA_KEY};
                let tsa = komvux_devkit::tsa::DevTsa::from_pem(DEV_TSA_CERT, DEV_TSA_KEY)
                    .and_then(|tsa| komvux_devkit::tsa::start(addr, tsa))
                    .context("starting the DEV TSA")?;
                tracing::info!(port = tsa.port, "DEV ONLY time-stamp authority listening");
                actix_web::rt::spawn(tsa.server);
                config.tsa.get_or_insert(komvux_api::receipts::timestamp::TsaConfig {
                    url: format!("http://127.0.0.1:{}/", tsa.port),
                    ca: None,
                });
            }
        }
        let changes = store.clone();
        let app = Application::build(config, settings.mina_sidor.clone(), store).context("starting")?;
        // actix-web stops on SIGTERM and SIGINT itself; waiting feed reads end at once
        // instead of holding the shutdown up for up to 30 s.
        for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
            let mut stopping = signal(kind).context("listening for SIGTERM and SIGINT")?;
            let changes = changes.clone();
            actix_web::rt::spawn(async move {
                if stopping.recv().await.is_some() {
                    changes.changes().close();
                }
            });
        }
        let reloader = app.tls_reloader();
        let mut hangup = signal(SignalKind::hangup())
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

pub(super) fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
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

pub(super) fn parse_kommuner(list: &[String]) -> anyhow::Result<BTreeSet<Kommunkod>> {
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

/// Checks saved receipt evidence offline; prints each check, fails if one failed.
pub fn kvittens(cmd: KvittensCommand) -> anyhow::Result<()> {
    use komvux_api::receipts::verify::{Outcome, verify_evidence};
    let KvittensCommand::Verify {
        kvittens,
        nycklar,
        body,
    } = cmd;
    let json = |path: &Path| -> anyhow::Result<serde_json::Value> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    };
    let body = body.as_deref().map(json).transpose()?;
    let report = verify_evidence(&json(&kvittens)?, &json(&nycklar)?, body.as_ref());
    for (name, outcome) in &report.checks {
        say(&match outcome {
            Outcome::Passed(what) => format!("ok       {name}: {what}"),
            Outcome::Failed(why) => format!("FAILED   {name}: {why}"),
            Outcome::Skipped(why) => format!("skipped  {name}: {why}"),
        });
    }
    if !report.passed() {
        bail!("the evidence does not verify");
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
            let tree = store.receipts().verify_tree()?;
            match tree.first_broken {
                None => say(&format!(
                    "receipts' log intact: {} leaves, {} subtrees, {} checkpoints",
                    tree.leaves, tree.nodes, tree.checkpoints
                )),
                Some(why) => bail!(
                    "receipts' log broken: {why} ({} leaves verified before it)",
                    tree.leaves
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

pub(super) fn read_person(
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

pub fn run_gallring(settings: &Settings, dry_run: bool) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    let r = store.run_gallring(settings.retention, dry_run)?;
    say(&format!(
        "{}{} persons, {} messages, {} idempotency entries",
        if dry_run { "would delete " } else { "deleted " },
        r.persons,
        r.messages,
        r.idempotency_entries
    ));
    Ok(())
}
