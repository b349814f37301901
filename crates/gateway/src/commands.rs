//! What each subcommand does.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use komvux_api::{Application, Mode};
use komvux_domain::message::{Etableringsprogram, Utbildningsbehov, Utbildningsbeslut};
use komvux_domain::{AfActor, AfMessage, FromJson, Kommunkod, Organisationsnummer, Personnummer};
use komvux_persistence::{Store, StoreError};
use serde_json::json;

use crate::cli::{AuditCommand, ClientCommand, OpenapiFormat};
use crate::devpki;
use crate::settings::Settings;

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

pub fn serve(settings: Settings) -> anyhow::Result<()> {
    let store = open_store(&settings)?;
    let applied = store.migrate().context("migrating")?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    let config = settings.api.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config, store).context("starting")?;
        tracing::info!(
            port = app.port(),
            ops_port = app.ops_port(),
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

pub fn openapi(format: OpenapiFormat) -> anyhow::Result<()> {
    let text = match format {
        OpenapiFormat::Yaml => komvux_api::openapi::yaml(),
        OpenapiFormat::Json => komvux_api::openapi::json(),
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

/// Test persons of the seeded data, from Skatteverket's list.
fn seed_person(i: usize) -> anyhow::Result<Personnummer> {
    Personnummer::test_number(1000 + i * 211).context("test personnummer")
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
    Ok(())
}

/// A small synthetic data set for Stockholm (0180): a person ready to apply, one with a
/// decision, one with skyddade personuppgifter, one in etableringsprogrammet.
fn seed(store: &Store) -> anyhow::Result<()> {
    let af = AfActor::new("seed-testdata");
    let behov = |p: Personnummer| -> anyhow::Result<AfMessage> {
        let v = json!({ "personnummer": p.expose(), "hemkommun": "0180", "anvisningsdatum": "2026-02-20",
            "skolformer": ["gymnasial", "sfi"], "giltig_tom": "2099-12-31", "af_kontor": "Arbetsförmedlingen Stockholm" });
        Ok(AfMessage::Utbildningsbehov(
            Utbildningsbehov::from_json(&v).map_err(|e| anyhow::anyhow!("{e}"))?,
        ))
    };
    let (ready, decided, protected, etab) = (
        seed_person(0)?,
        seed_person(1)?,
        seed_person(2)?,
        seed_person(3)?,
    );
    for p in [ready, decided, protected, etab] {
        store.create_utbildningsbehov(&af, &af.authorize(behov(p)?))?;
    }
    let beslut = json!({ "personnummer": decided.expose(), "kommunkod": "0180", "beslutsdatum": "2026-04-10",
        "fom": "2026-08-17", "tom": "2026-12-18", "studietakt": 50, "kurskoder": ["MATMAT01a"] });
    let beslut = Utbildningsbeslut::from_json(&beslut).map_err(|e| anyhow::anyhow!("{e}"))?;
    store.create_utbildningsbeslut(&af, &af.authorize(AfMessage::Utbildningsbeslut(beslut)))?;
    store.set_skyddade_personuppgifter(&af, &protected, true)?;
    let from = komvux_domain::Datum::parse("2025-11-01").map_err(|e| anyhow::anyhow!("{e}"))?;
    let program =
        Etableringsprogram::deltar(etab, from, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    store.set_etableringsprogram(&af, &af.authorize(AfMessage::Etableringsprogram(program)))?;
    say(&format!(
        "seeded test persons (kommun 0180): {} has an anvisning; {} also an utbildningsbeslut; {} has skyddade personuppgifter; {} is in etableringsprogrammet",
        ready.expose(),
        decided.expose(),
        protected.expose(),
        etab.expose()
    ));
    Ok(())
}

/// Maps a store error for the CLI.
pub fn describe(e: &StoreError) -> String {
    e.to_string()
}
