//! DEV ONLY commands: the national-scale dataset, the test environment's setup and seed, dev tokens.

use super::*;

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
pub(super) const STAGES: &[&str] = &[
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

pub(super) fn parsed<T: FromJson>(v: serde_json::Value) -> anyhow::Result<T> {
    T::from_json(&v).map_err(|e| anyhow::anyhow!("seed data: {e}"))
}

/// A realistic synthetic data set for each dev kommun: one test person at every stage
/// of the flow (see [`STAGES`]), among them one with skyddade personuppgifter and one
/// with an avbrott. Only Skatteverket's test personnummer are used.
pub(super) fn seed(store: &Store) -> anyhow::Result<()> {
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

pub(super) fn parse_ttl(ttl: &str) -> anyhow::Result<u64> {
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
