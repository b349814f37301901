//! The scenarios, written once for both backends, by concern in the modules below;
//! this module holds what they share.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use komvux_domain::message::UtbildningsbeslutAndring;
use komvux_domain::{FromJson, Organisationsnummer};
use komvux_persistence::testing::TestDatabase;
use komvux_persistence::{
    Cursor, DbConnection, IdempotencyKey, Reader, Store, StoreError, Submission,
};

use crate::fixtures::*;

mod af_and_clients;
mod audit;
mod reads;
mod submissions;

pub(crate) use af_and_clients::*;
pub(crate) use audit::*;
pub(crate) use reads::*;
pub(crate) use submissions::*;

pub(crate) fn reader(kommuner: &[&str]) -> Reader {
    Reader::kommun("klient-1", kommuner.iter().map(|k| kommun(k)).collect())
}

/// Runs plain SQL on the store's database, ignoring the result rows.
fn exec(store: &Store, sql: &str) -> Result<(), diesel::result::Error> {
    let mut c = store.connection().unwrap();
    let c: &mut DbConnection = &mut c;
    c.batch_execute(sql)
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    t: String,
}

fn text_rows(c: &mut DbConnection, sql: &str) -> Vec<String> {
    let rows: Vec<TextRow> = match c {
        DbConnection::Postgresql(c) => diesel::sql_query(sql).load(c).unwrap(),
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c).unwrap(),
    };
    rows.into_iter().map(|r| r.t).collect()
}

/// A record as JSON, for comparing answers.
fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}
