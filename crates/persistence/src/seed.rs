//! DEV ONLY: a national-scale dataset on demand (`komvux-gateway dev-seed`).
//!
//! Fills an empty database through the tables the write path fills, in bulk (multi-row
//! inserts in large transactions, not one request per message), with the shape years of
//! national use would give: every kommun, Stockholm a tenth of everything and Kiruna a
//! few hundredths of a percent, every message kind and status, corrections (andring,
//! borttag, changed decisions) linked like the write path links them, protected
//! persons, anvisningar that have run out, `mottaget` over five years in feed order,
//! and an audit log of a write and half a read per message, hash-chained.
//!
//! Persons are Skatteverket's test personnummer first (the test environment takes only
//! those, so the bench can look them up), then made-up numbers born in the 1800s with a
//! valid check digit: no living person has one.

use std::collections::HashMap;
use std::time::Instant;

use diesel::prelude::*;
use komvux_domain::message::{Ansokan, Antagning, Avbrott, Betyg, Forandring};
use komvux_domain::{FromJson, KommunMeddelande, KommunMessage, Kommunkod, Personnummer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::audit::AuditRow;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::identities::Pseudonym;
use crate::schema::{feed_counters, identities, messages};
use crate::store::Store;

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan {
    pub personer: u64,
    pub meddelanden: u64,
    /// The random generator's seed: the same plan builds the same shape.
    pub seed: u64,
    /// "Now" in Unix microseconds: the newest message is a day older.
    pub now: i64,
}

/// What was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub personer: u64,
    pub meddelanden: u64,
    pub audit_rows: u64,
    pub millis: u128,
}

/// Rows per multi-row INSERT (SQLite allows 32,766 bound values, messages have 17
/// columns) and rows per transaction.
const CHUNK: usize = 1_000;
const PER_TRANSACTION: usize = 50_000;

const DAY: i64 = 86_400_000_000;
const SPAN: i64 = 5 * 365 * DAY;

#[derive(Debug, Insertable)]
#[diesel(table_name = identities, treat_none_as_default_value = false)]
struct SeedIdentity {
    pseudonym: String,
    lookup_hash: String,
    ciphertext: Vec<u8>,
    skyddade_personuppgifter: bool,
    created_at: i64,
    last_activity_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
struct SeedMessage {
    id: String,
    record_id: String,
    kind: &'static str,
    author: &'static str,
    actor: &'static str,
    kommunkod: Option<String>,
    person: String,
    status: &'static str,
    ersatter: Option<String>,
    ersatt_av: Option<String>,
    aktuell: bool,
    transaktionsdatum: Option<i64>,
    mottaget: i64,
    giltig_tom: Option<String>,
    payload: String,
    handelse_pos: Option<i64>,
    beslut_pos: Option<i64>,
}

/// One person as the generator knows them.
struct Person {
    pseudonym: String,
    kommun: usize,
}

/// The kinds in the proportions years of use give (per mille).
const KINDS: &[(&str, u32)] = &[
    ("utbildningsbehov", 150),
    ("utbildningsbeslut", 120),
    ("ansokan", 250),
    ("antagning", 180),
    ("forandring", 80),
    ("betyg", 170),
    ("avbrott", 40),
    ("etableringsprogram", 10),
];

impl Store {
    /// Builds `plan` into this (empty) database. DEV ONLY: refused unless the store has
    /// the public dev identity keys, and on a database that holds any person.
    pub fn dev_seed(
        &self,
        plan: &SeedPlan,
        progress: &mut dyn FnMut(&str),
    ) -> Result<SeedReport, StoreError> {
        if !self.keys().is_dev() {
            return Err(StoreError::Config(
                "dev-seed only runs with the dev identity keys".into(),
            ));
        }
        let started = Instant::now();
        let (pool, turn) = self.pool_and_turn();
        let mut c = pool.get()?;
        let known: i64 = identities::table.count().get_result(&mut *c)?;
        if known > 0 {
            return Err(StoreError::Config(
                "dev-seed fills an empty database; this one holds persons".into(),
            ));
        }
        let mut rng = StdRng::seed_from_u64(plan.seed);
        let kommuner: Vec<Kommunkod> = Kommunkod::all().collect();
        let weights = kommun_weights(&kommuner);
        let start = plan.now - DAY - SPAN;

        // Persons.
        let mut persons = Vec::with_capacity(plan.personer as usize);
        let mut batch = Vec::with_capacity(PER_TRANSACTION);
        for i in 0..plan.personer {
            let pnr = person_number(i as usize);
            let pseudonym = Pseudonym::new_random();
            let kommun = pick(&mut rng, &weights);
            let created = start + rng.gen_range(0..SPAN);
            batch.push(SeedIdentity {
                lookup_hash: self.keys().lookup_hash(&pnr),
                ciphertext: self.keys().encrypt(&pnr, &pseudonym)?,
                pseudonym: pseudonym.as_str().to_owned(),
                skyddade_personuppgifter: rng.gen_ratio(1, 100),
                created_at: created,
                last_activity_at: created + rng.gen_range(0..(plan.now - created).max(1)),
            });
            persons.push(Person {
                pseudonym: pseudonym.as_str().to_owned(),
                kommun,
            });
            if batch.len() == PER_TRANSACTION {
                flush_identities(&turn, &mut c, &mut batch)?;
            }
        }
        flush_identities(&turn, &mut c, &mut batch)?;
        progress(&format!("{} personer", persons.len()));
        if persons.is_empty() {
            return Ok(SeedReport {
                personer: 0,
                meddelanden: 0,
                audit_rows: 0,
                millis: started.elapsed().as_millis(),
            });
        }

        // Messages in mottaget order, so that feed positions follow it; each with its
        // audit event, and every other one read once.
        let mut templates = Templates::default();
        let mut messages_out: Vec<SeedMessage> = Vec::with_capacity(PER_TRANSACTION + 2);
        let mut audit_out: Vec<AuditRow> = Vec::with_capacity(2 * PER_TRANSACTION);
        let (mut handelse, mut beslut) = (0_i64, 0_i64);
        let mut written = 0_u64;
        let mut audit_rows = 0_u64;
        let mut etablering = 0_u64;
        let mut head = (0_i64, audit_genesis());
        let step = (SPAN / plan.meddelanden.max(1) as i64).max(1);
        while written < plan.meddelanden {
            let at = start + written as i64 * step;
            let kind = pick_kind(&mut rng);
            let person = if kind == "etableringsprogram" {
                // One current statement per person.
                etablering += 1;
                &persons[((etablering * 7_919) % persons.len() as u64) as usize]
            } else {
                &persons[rng.gen_range(0..persons.len())]
            };
            let kommun = kommuner[person.kommun];
            let versions = versions_of(&mut rng, kind, plan.meddelanden - written);
            let record = uuid::Uuid::new_v4().to_string();
            let mut previous: Option<String> = None;
            for (v, status) in versions.iter().enumerate() {
                let id = if v == 0 {
                    record.clone()
                } else {
                    uuid::Uuid::new_v4().to_string()
                };
                let mottaget = at + v as i64 * 1_000_000;
                let row = templates.row(
                    kind,
                    status,
                    kommun,
                    &person.pseudonym,
                    &id,
                    &record,
                    previous.take(),
                    mottaget,
                    &mut rng,
                )?;
                if let Some(prev) = messages_out.last_mut().filter(|_| v > 0) {
                    prev.aktuell = false;
                    prev.ersatt_av = Some(id.clone());
                }
                let mut row = row;
                if row.author == "kommun" {
                    handelse += 1;
                    row.handelse_pos = Some(handelse);
                }
                if kind == "utbildningsbeslut" {
                    beslut += 1;
                    row.beslut_pos = Some(beslut);
                }
                audit_out.push(audit_row(&row, "skriv"));
                if written.is_multiple_of(2) {
                    audit_out.push(audit_row(&row, "las"));
                }
                previous = Some(id);
                messages_out.push(row);
                written += 1;
            }
            if messages_out.len() >= PER_TRANSACTION {
                audit_rows += audit_out.len() as u64;
                head = flush_messages(&turn, &mut c, &mut messages_out, &mut audit_out, head)?;
                progress(&format!("{written} meddelanden"));
            }
        }
        audit_rows += audit_out.len() as u64;
        flush_messages(&turn, &mut c, &mut messages_out, &mut audit_out, head)?;
        turn.transaction(&mut c, None, |c| {
            for (name, value) in [("handelser", handelse), ("utbildningsbeslut", beslut)] {
                diesel::update(feed_counters::table.find(name))
                    .set(feed_counters::value.eq(value))
                    .execute(c)?;
            }
            Ok(())
        })?;
        // PostgreSQL also vacuums, as autovacuum would soon: it sets the visibility map,
        // without which every index-only scan of a list reads the table's rows as well.
        let analyze = match &*c {
            DbConnection::Postgresql(_) => "VACUUM (ANALYZE) identities, messages, audit_log",
            DbConnection::Sqlite(_) => "ANALYZE",
        };
        diesel::connection::SimpleConnection::batch_execute(&mut *c, analyze)?;
        progress(&format!(
            "{written} meddelanden, {audit_rows} granskningsrader"
        ));
        Ok(SeedReport {
            personer: persons.len() as u64,
            meddelanden: written,
            audit_rows,
            millis: started.elapsed().as_millis(),
        })
    }
}

fn flush_identities(
    turn: &crate::transactions::WriterTurn,
    c: &mut DbConnection,
    batch: &mut Vec<SeedIdentity>,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    turn.transaction(c, None, |c| {
        match c {
            DbConnection::Postgresql(c) => {
                diesel::copy_from(identities::table)
                    .from_insertable(&batch[..])
                    .execute(c)?;
            }
            DbConnection::Sqlite(c) => {
                for chunk in batch.chunks(CHUNK) {
                    diesel::insert_into(identities::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
        }
        Ok(())
    })?;
    batch.clear();
    Ok(())
}

/// Inserts the messages and their audit rows (chained after `head`) in one transaction;
/// returns the new head.
fn flush_messages(
    turn: &crate::transactions::WriterTurn,
    c: &mut DbConnection,
    rows: &mut Vec<SeedMessage>,
    audit: &mut Vec<AuditRow>,
    head: (i64, String),
) -> Result<(i64, String), StoreError> {
    if rows.is_empty() {
        return Ok(head);
    }
    let moved = turn.transaction(c, None, |c| {
        match c {
            // PostgreSQL takes the rows with `COPY ... FROM STDIN` (binary), as the issue
            // asks: no statement text, no parameter limit, no per-row parse.
            DbConnection::Postgresql(c) => {
                diesel::copy_from(messages::table)
                    .from_insertable(&rows[..])
                    .execute(c)?;
            }
            DbConnection::Sqlite(c) => {
                for chunk in rows.chunks(CHUNK) {
                    diesel::insert_into(messages::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
        }
        crate::audit::link_and_insert(c, head.clone(), audit.iter().cloned())
    })?;
    rows.clear();
    audit.clear();
    Ok(moved)
}

fn audit_genesis() -> String {
    "0".repeat(64)
}

fn audit_row(m: &SeedMessage, verb: &str) -> AuditRow {
    let (actor_kind, actor) = if m.author == "kommun" {
        ("client", "dev-seed")
    } else {
        ("af", "dev-seed-handlaggare")
    };
    AuditRow {
        seq: 0,
        at: m.mottaget + i64::from(verb == "las") * 60_000_000,
        actor_kind: actor_kind.to_owned(),
        actor: actor.to_owned(),
        kommunkod: m.kommunkod.clone(),
        person: Some(m.person.clone()),
        action: format!("{verb}:{}", m.kind),
        target: Some(m.id.clone()),
        outcome: "ok".to_owned(),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// The `i`th person: Skatteverket's test personnummer first, then numbers born
/// 1800–1879 with a valid check digit.
fn person_number(i: usize) -> Personnummer {
    if let Some(p) = Personnummer::test_number(i) {
        return p;
    }
    let j = i - komvux_domain::personnummer::test_number_count();
    let year = 1800 + (j % 80);
    let month = 1 + (j / 80) % 12;
    let day = 1 + (j / 960) % 28;
    let serial = (j / 26_880) % 1_000;
    let body = format!("{:02}{month:02}{day:02}{serial:03}", year % 100);
    let check = luhn_check_digit(&body);
    Personnummer::parse(&format!("{}{body}{check}", year / 100))
        .unwrap_or_else(|_| Personnummer::test_number(0).unwrap_or_else(|| unreachable!()))
}

fn luhn_check_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

/// Weights of the kommuner: Stockholm a tenth, Göteborg and Malmö after it, the rest
/// falling off with their place in the list, Kiruna among the small ones.
fn kommun_weights(kommuner: &[Kommunkod]) -> Vec<(usize, u32)> {
    let mut acc = 0;
    kommuner
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let w = match k.as_string().as_str() {
                "0180" => 12_000,
                "1480" => 6_000,
                "1280" => 4_000,
                "2584" => 30,
                _ => 400 - (i as u32 % 97) * 4,
            };
            acc += w;
            (i, acc)
        })
        .collect()
}

fn pick(rng: &mut StdRng, cumulative: &[(usize, u32)]) -> usize {
    let total = cumulative.last().map_or(1, |(_, w)| *w);
    let x = rng.gen_range(0..total);
    let at = cumulative.partition_point(|(_, w)| *w <= x);
    cumulative[at.min(cumulative.len() - 1)].0
}

fn pick_kind(rng: &mut StdRng) -> &'static str {
    let mut x = rng.gen_range(0..1_000);
    for (kind, w) in KINDS {
        if x < *w {
            return kind;
        }
        x -= w;
    }
    "ansokan"
}

/// The statuses of one record's versions, oldest first (at most `room`).
fn versions_of(rng: &mut StdRng, kind: &str, room: u64) -> Vec<&'static str> {
    let mut v = match kind {
        "utbildningsbehov" => vec![if rng.gen_ratio(1, 10) {
            "avslutad"
        } else {
            "aktiv"
        }],
        "utbildningsbeslut" => match rng.gen_range(0..100) {
            0..=9 => vec!["beslutad", "andrad"],
            10..=14 => vec!["beslutad", "upphord"],
            _ => vec!["beslutad"],
        },
        "etableringsprogram" => vec![if rng.gen_ratio(2, 3) {
            "deltar"
        } else {
            "deltar_inte"
        }],
        _ => match rng.gen_range(0..100) {
            0..=3 => vec!["registrering", "andring"],
            4 => vec!["registrering", "borttag"],
            _ => vec!["registrering"],
        },
    };
    v.truncate(room.max(1) as usize);
    v
}

/// Payloads as the write path stores them, parsed once per kind, status and kommun by
/// the domain's own parsers.
#[derive(Default)]
struct Templates {
    payloads: HashMap<(&'static str, &'static str, Kommunkod), String>,
}

impl Templates {
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        kind: &'static str,
        status: &'static str,
        kommun: Kommunkod,
        person: &str,
        id: &str,
        record: &str,
        ersatter: Option<String>,
        mottaget: i64,
        rng: &mut StdRng,
    ) -> Result<SeedMessage, StoreError> {
        let key = (kind, status, kommun);
        let mut payload = match self.payloads.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(template(kind, status, kommun)?).clone()
            }
        };
        let kommun_message = !matches!(
            kind,
            "utbildningsbehov" | "utbildningsbeslut" | "etableringsprogram"
        );
        let mut giltig_tom = None;
        if kind == "utbildningsbehov" {
            // Anvisningar run 6 to 12 months: the older ones have run out.
            let until = mottaget + rng.gen_range(180..365) * DAY;
            let day = date_of(until);
            payload = payload
                .replace("2099-01-01", &day)
                .replace("2000-01-01", &date_of(mottaget));
            giltig_tom = Some(day);
        }
        if let Some(old) = ersatter.as_ref().filter(|_| kommun_message) {
            payload = payload.replace("00000000-0000-4000-8000-000000000000", old);
        }
        Ok(SeedMessage {
            id: id.to_owned(),
            record_id: record.to_owned(),
            kind,
            author: if kommun_message {
                "kommun"
            } else {
                "arbetsformedlingen"
            },
            actor: if kommun_message {
                "dev-seed"
            } else {
                "dev-seed-handlaggare"
            },
            kommunkod: (kind != "etableringsprogram").then(|| kommun.as_string()),
            person: person.to_owned(),
            status,
            ersatter: ersatter.filter(|_| kommun_message || kind == "utbildningsbeslut"),
            ersatt_av: None,
            aktuell: true,
            transaktionsdatum: kommun_message.then_some(mottaget - 30_000_000),
            mottaget,
            giltig_tom,
            payload,
            handelse_pos: None,
            beslut_pos: None,
        })
    }
}

fn date_of(micros: i64) -> String {
    komvux_domain::tid::Tidpunkt::from_unix_micros(micros)
        .map(|t| t.as_offset_date_time().date().to_string())
        .unwrap_or_else(|| "2026-01-01".to_owned())
}

/// The stored payload of one message of `kind` with `status` in `kommun`.
fn template(kind: &str, status: &str, kommun: Kommunkod) -> Result<String, StoreError> {
    let bad = |e: String| StoreError::Corrupt(format!("dev-seed template {kind}: {e}"));
    let pnr = Personnummer::test_number(0).ok_or_else(|| bad("no test person".into()))?;
    let k = kommun.as_string();
    let header = json!({
        "kommunkod": k, "personnummer": pnr.expose(),
        "transaktionsdatum": "2024-03-02T10:49:29.100+01:00", "kallsystem": "Extens",
        "status": status,
        "ersatter": (status != "registrering").then_some("00000000-0000-4000-8000-000000000000"),
    });
    let kurs = json!({ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a",
        "skolform": "gymnasial", "poang": 100, "studietakt": 50,
        "startdatum": "2024-08-19", "slutdatum": "2024-12-20" });
    let with = |body: Value| {
        let mut h = header.clone();
        if let (Value::Object(h), Value::Object(b)) = (&mut h, body) {
            h.extend(b);
        }
        h
    };
    let value: Value = match kind {
        "ansokan" => kommun_json::<Ansokan>(&with(
            json!({ "ansokningsdatum": "2024-03-01", "kurser": [kurs] }),
        ))?,
        "antagning" => kommun_json::<Antagning>(&with(
            json!({ "beslut": "antagen", "beslutsdatum": "2024-04-01", "kurser": [kurs] }),
        ))?,
        "avbrott" => kommun_json::<Avbrott>(&with(
            json!({ "avbrottsdatum": "2024-10-01", "kurskoder": ["MATMAT01a"], "orsak": "arbete" }),
        ))?,
        "forandring" => kommun_json::<Forandring>(&with(
            json!({ "kurskod": "MATMAT01a", "giltig_fran": "2024-09-01", "ny_studietakt": 75 }),
        ))?,
        "betyg" => kommun_json::<Betyg>(&with(
            json!({ "kurskod": "MATMAT01a", "skolform": "gymnasial", "betyg": "C",
                    "betygsdatum": "2024-12-18", "poang": 100 }),
        ))?,
        "utbildningsbehov" => serde_json::to_value(
            komvux_domain::message::Utbildningsbehov::from_json(&json!({
                "personnummer": pnr.expose(), "hemkommun": k, "anvisningsdatum": "2000-01-01",
                "skolformer": ["gymnasial", "sfi"], "giltig_tom": "2099-01-01",
                "af_kontor": "Arbetsförmedlingen" }))
            .map_err(|e| bad(format!("{e:?}")))?,
        )
        .map_err(|e| bad(e.to_string()))?,
        "utbildningsbeslut" => serde_json::to_value(
            komvux_domain::message::Utbildningsbeslut::from_json(&json!({
                "personnummer": pnr.expose(), "kommunkod": k, "beslutsdatum": "2024-04-10",
                "fom": "2024-08-19", "tom": "2024-12-20", "studietakt": 50,
                "kurskoder": ["MATMAT01a"] }))
            .map_err(|e| bad(format!("{e:?}")))?,
        )
        .map_err(|e| bad(e.to_string()))?,
        _ => serde_json::to_value(
            komvux_domain::message::Etableringsprogram::from_json(&if status == "deltar" {
                json!({ "personnummer": pnr.expose(), "deltar": true,
                        "fom": "2024-01-01", "tom": "2025-12-31" })
            } else {
                json!({ "personnummer": pnr.expose(), "deltar": false, "fom": null, "tom": null })
            })
            .map_err(|e| bad(format!("{e:?}")))?,
        )
        .map_err(|e| bad(e.to_string()))?,
    };
    crate::messages::payload_without_personnummer(value)
}

fn kommun_json<K>(v: &Value) -> Result<Value, StoreError>
where
    KommunMeddelande<K>: FromJson,
    KommunMessage: From<KommunMeddelande<K>>,
{
    let m = KommunMeddelande::<K>::from_json(v)
        .map_err(|e| StoreError::Corrupt(format!("dev-seed template: {e:?}")))?;
    Ok(KommunMessage::from(m).to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_persons_are_valid_and_born_before_1880() {
        let n = komvux_domain::personnummer::test_number_count();
        for i in [n, n + 1, n + 79, n + 80, n + 1_000_000] {
            let p = person_number(i);
            let year: u32 = p.expose()[..4].parse().unwrap();
            assert!((1800..1880).contains(&year), "{}", p.expose());
        }
        assert_ne!(person_number(n).expose(), person_number(n + 1).expose());
    }

    /// The seeded shape, checked where it matters to reads: the chain verifies, the
    /// feeds' heads are the positions given, and gallring (in batches of 500) deletes
    /// exactly the persons its dry run counts, leaving none inactive.
    fn seeded_data_is_consistent_and_gallring_takes_it_in_batches(
        db: &crate::testing::TestDatabase,
    ) {
        use crate::schema::identities as ident;
        let store = db.store();
        let plan = SeedPlan {
            personer: 3_000,
            meddelanden: 12_000,
            seed: 3,
            now: crate::store::now(),
        };
        let report = store.dev_seed(&plan, &mut |_| {}).unwrap();
        assert_eq!((report.personer, report.meddelanden), (3_000, 12_000));
        assert!(
            store.dev_seed(&plan, &mut |_| {}).is_err(),
            "only into an empty database"
        );
        let chain = store.verify_audit_chain().unwrap();
        assert!(
            chain.is_intact() && chain.rows == report.audit_rows,
            "{chain:?}"
        );
        let (handelser, beslut) = store.feed_heads().unwrap();
        let mut c = store.connection().unwrap();
        let kommun: i64 = messages::table
            .filter(messages::author.eq("kommun"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(handelser, kommun);
        assert!(beslut > 0);

        let one_year = std::time::Duration::from_secs(365 * 86_400);
        let dry = store.gallra(one_year, true).unwrap();
        assert!(dry.persons > 500, "more than one batch: {dry:?}");
        let done = store.gallra(one_year, false).unwrap();
        assert_eq!((done.persons, done.messages), (dry.persons, dry.messages));
        let cutoff = crate::store::now() - 365 * DAY;
        let left: i64 = ident::table
            .filter(ident::last_activity_at.lt(cutoff))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(left, 0);
        assert!(store.verify_audit_chain().unwrap().is_intact());
    }

    #[test]
    fn only_the_dev_identity_keys_seed() {
        let db = crate::testing::TestDatabase::sqlite().unwrap();
        drop(db.store());
        let (hmac, enc) = crate::IdentityKeys::generate_hex();
        let keys = crate::IdentityKeys::from_hex(Some(&hmac), Some(&enc)).unwrap();
        let store = crate::Store::open(db.url(), &crate::PoolSettings::default(), keys).unwrap();
        let plan = SeedPlan {
            personer: 1,
            meddelanden: 1,
            seed: 1,
            now: crate::store::now(),
        };
        let refused = store.dev_seed(&plan, &mut |_| {}).unwrap_err();
        assert!(
            refused.to_string().contains("dev identity keys"),
            "{refused}"
        );
    }

    #[test]
    fn seeded_data_is_consistent_on_sqlite() {
        seeded_data_is_consistent_and_gallring_takes_it_in_batches(
            &crate::testing::TestDatabase::sqlite().unwrap(),
        );
    }

    #[test]
    fn seeded_data_is_consistent_on_postgres() {
        if let Some(db) = crate::testing::TestDatabase::postgres_or_skip() {
            seeded_data_is_consistent_and_gallring_takes_it_in_batches(&db);
        }
    }
}
