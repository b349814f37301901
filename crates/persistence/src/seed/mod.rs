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

mod shape;
mod write;

use shape::*;
use write::*;

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
pub(super) const CHUNK: usize = 1_000;
pub(super) const PER_TRANSACTION: usize = 50_000;

pub(super) const DAY: i64 = 86_400_000_000;
pub(super) const SPAN: i64 = 5 * 365 * DAY;

#[derive(Debug, Insertable)]
#[diesel(table_name = identities, treat_none_as_default_value = false)]
pub(super) struct SeedIdentity {
    pseudonym: String,
    lookup_hash: String,
    ciphertext: Vec<u8>,
    skyddade_personuppgifter: bool,
    created_at: i64,
    last_activity_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub(super) struct SeedMessage {
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
    behov_pos: Option<i64>,
}

/// One person as the generator knows them.
pub(super) struct Person {
    pseudonym: String,
    kommun: usize,
}

/// The kinds in the proportions years of use give (per mille).
pub(super) const KINDS: &[(&str, u32)] = &[
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
        let started = Instant::now();
        let (pool, turn) = self.pool_and_turn();
        let mut c = pool.get()?;
        self.refuse_unless_empty_and_dev(&mut c)?;
        let mut rng = StdRng::seed_from_u64(plan.seed);
        let kommuner: Vec<Kommunkod> = Kommunkod::all().collect();
        let weights = kommun_weights(&kommuner);
        let start = plan.now - DAY - SPAN;

        let persons = self.seed_persons(plan, &mut rng, &weights, start, &turn, &mut c)?;
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
        let mut out = Pending {
            today: shape::date_of(plan.now),
            ..Pending::default()
        };
        let mut audit_rows = 0_u64;
        let mut etablering = 0_u64;
        let mut head = (0_i64, audit_genesis());
        let step = (SPAN / plan.meddelanden.max(1) as i64).max(1);
        while out.written < plan.meddelanden {
            let at = start + out.written as i64 * step;
            let kind = pick_kind(&mut rng);
            let person = if kind == "etableringsprogram" {
                // One current statement per person.
                etablering += 1;
                &persons[((etablering * 7_919) % persons.len() as u64) as usize]
            } else {
                &persons[rng.gen_range(0..persons.len())]
            };
            let versions = versions_of(&mut rng, kind, plan.meddelanden - out.written);
            let kommun = kommuner[person.kommun];
            out.push_record(
                &mut templates,
                &mut rng,
                kind,
                kommun,
                person,
                &versions,
                at,
            )?;
            if out.messages.len() >= PER_TRANSACTION {
                audit_rows += out.audit.len() as u64;
                head = flush_messages(&turn, &mut c, &mut out.messages, &mut out.audit, head)?;
                progress(&format!("{} meddelanden", out.written));
            }
        }
        audit_rows += out.audit.len() as u64;
        flush_messages(&turn, &mut c, &mut out.messages, &mut out.audit, head)?;
        finish(&turn, &mut c, [out.handelse, out.beslut, out.behov])?;
        let written = out.written;
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

    /// dev-seed's preconditions: the public dev identity keys, and no person stored yet.
    fn refuse_unless_empty_and_dev(&self, c: &mut DbConnection) -> Result<(), StoreError> {
        if !self.keys().is_dev() {
            return Err(StoreError::Config(
                "dev-seed only runs with the dev identity keys".into(),
            ));
        }
        let known: i64 = identities::table.count().get_result(c)?;
        if known > 0 {
            return Err(StoreError::Config(
                "dev-seed fills an empty database; this one holds persons".into(),
            ));
        }
        Ok(())
    }

    /// The dataset's persons, written in transactions of [`PER_TRANSACTION`]; each lives
    /// in a kommun picked by its size.
    fn seed_persons(
        &self,
        plan: &SeedPlan,
        rng: &mut StdRng,
        weights: &[(usize, u32)],
        start: i64,
        turn: &crate::transactions::WriterTurn,
        c: &mut DbConnection,
    ) -> Result<Vec<Person>, StoreError> {
        let mut persons = Vec::with_capacity(plan.personer as usize);
        let mut batch = Vec::with_capacity(PER_TRANSACTION);
        for i in 0..plan.personer {
            let pnr = person_number(i as usize);
            let pseudonym = Pseudonym::new_random();
            let kommun = pick(rng, weights);
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
                flush_identities(turn, c, &mut batch)?;
            }
        }
        flush_identities(turn, c, &mut batch)?;
        Ok(persons)
    }
}

/// The rows not yet written, and the feeds' positions and the count so far.
#[derive(Default)]
struct Pending {
    messages: Vec<SeedMessage>,
    audit: Vec<AuditRow>,
    handelse: i64,
    beslut: i64,
    behov: i64,
    written: u64,
    /// The seed's today: an utbildningsbehov whose giltig_tom is before it is stored
    /// `utgangen`, as the gateway's expiry would have left it.
    today: String,
}

impl Pending {
    /// One record's versions (the first message and its corrections, a second apart),
    /// each with its feed positions and its audit event, and every other one read once.
    // The arguments are the record's parts and the two generators; a struct for them
    // would be built only to be taken apart here.
    #[allow(clippy::too_many_arguments)]
    fn push_record(
        &mut self,
        templates: &mut Templates,
        rng: &mut StdRng,
        kind: &'static str,
        kommun: Kommunkod,
        person: &Person,
        versions: &[&'static str],
        at: i64,
    ) -> Result<(), StoreError> {
        let record = uuid::Uuid::new_v4().to_string();
        let mut previous: Option<String> = None;
        for (v, status) in versions.iter().enumerate() {
            let id = if v == 0 {
                record.clone()
            } else {
                uuid::Uuid::new_v4().to_string()
            };
            let mottaget = at + v as i64 * 1_000_000;
            let mut row = templates.row(
                kind,
                status,
                kommun,
                &person.pseudonym,
                &id,
                &record,
                previous.take(),
                mottaget,
                rng,
            )?;
            if let Some(prev) = self.messages.last_mut().filter(|_| v > 0) {
                prev.aktuell = false;
                prev.ersatt_av = Some(id.clone());
            }
            if row.author == "kommun" {
                self.handelse += 1;
                row.handelse_pos = Some(self.handelse);
            }
            if kind == "utbildningsbeslut" {
                self.beslut += 1;
                row.beslut_pos = Some(self.beslut);
            }
            if kind == "utbildningsbehov" {
                if row.status == "aktiv" && row.giltig_tom.as_deref() < Some(self.today.as_str()) {
                    row.status = "utgangen";
                }
                self.behov += 1;
                row.behov_pos = Some(self.behov);
            }
            self.audit.push(audit_row(&row, "skriv"));
            if self.written.is_multiple_of(2) {
                self.audit.push(audit_row(&row, "las"));
            }
            previous = Some(id);
            self.messages.push(row);
            self.written += 1;
        }
        Ok(())
    }
}

/// After the last rows: the feeds' counters at their heads, and the statistics the
/// planners need. PostgreSQL also vacuums, as autovacuum would soon: it sets the
/// visibility map, without which every index-only scan of a list reads the table's rows
/// as well.
fn finish(
    turn: &crate::transactions::WriterTurn,
    c: &mut DbConnection,
    [handelse, beslut, behov]: [i64; 3],
) -> Result<(), StoreError> {
    turn.transaction(c, None, |c| {
        let heads = [
            ("handelser", handelse),
            ("utbildningsbeslut", beslut),
            ("utbildningsbehov", behov),
        ];
        for (name, value) in heads {
            diesel::update(feed_counters::table.find(name))
                .set(feed_counters::value.eq(value))
                .execute(c)?;
        }
        Ok(())
    })?;
    let analyze = match &*c {
        DbConnection::Postgresql(_) => "VACUUM (ANALYZE) identities, messages, audit_log",
        DbConnection::Sqlite(_) => "ANALYZE",
    };
    diesel::connection::SimpleConnection::batch_execute(c, analyze)?;
    Ok(())
}

#[cfg(test)]
mod tests;
