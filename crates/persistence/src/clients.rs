//! Registered kommun-system clients: who they are, which kommuner they act for, and
//! their secrets (stored as SHA-256 hashes: the secrets are 256-bit random, so a fast
//! hash compared in constant time is right, not a password KDF on every request).

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use komvux_domain::{Kommunkod, Organisationsnummer};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::clients;

/// A registered client as the gateway knows it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub organisationsnummer: Organisationsnummer,
    pub kommuner: BTreeSet<Kommunkod>,
    pub active: bool,
    /// Until when the previous secret still works after a rotation.
    pub previous_secret_expires_at: Option<i64>,
}

/// A newly issued client secret: shown once, never stored in the clear.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(format!("kxs_{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The secret itself, to hand to the client's operator once.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn matches(candidate_hash: &str, stored: &str) -> bool {
    candidate_hash.as_bytes().ct_eq(stored.as_bytes()).into()
}

#[derive(Debug, Queryable)]
struct ClientRow {
    client_id: String,
    name: String,
    organisationsnummer: String,
    kommuner: String,
    active: bool,
    secret_hash: String,
    previous_secret_hash: Option<String>,
    previous_secret_expires_at: Option<i64>,
    _created_at: i64,
    _updated_at: i64,
}

impl ClientRow {
    fn into_client(self) -> Result<Client, StoreError> {
        let bad = |w: &str| StoreError::Corrupt(format!("client {}: {w}", self.client_id));
        let organisationsnummer =
            Organisationsnummer::parse(&self.organisationsnummer).map_err(|_| bad("orgnr"))?;
        let kommuner = self
            .kommuner
            .split(',')
            .filter(|s| !s.is_empty())
            .map(Kommunkod::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| bad("kommuner"))?;
        Ok(Client {
            client_id: self.client_id,
            name: self.name,
            organisationsnummer,
            kommuner,
            active: self.active,
            previous_secret_expires_at: self.previous_secret_expires_at,
        })
    }
}

fn join_kommuner(kommuner: &BTreeSet<Kommunkod>) -> String {
    kommuner
        .iter()
        .map(Kommunkod::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn add(
    conn: &mut DbConnection,
    client_id: Option<&str>,
    name: &str,
    organisationsnummer: Organisationsnummer,
    kommuner: &BTreeSet<Kommunkod>,
    now: i64,
) -> Result<(Client, ClientSecret), StoreError> {
    if kommuner.is_empty() {
        return Err(StoreError::Config(
            "a client needs at least one kommun".into(),
        ));
    }
    let id = client_id
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(StoreError::Config(
            "client_id must be 1–64 characters a–z, A–Z, 0–9, - and _".into(),
        ));
    }
    let secret = ClientSecret::generate();
    let inserted = diesel::insert_into(clients::table)
        .values((
            clients::client_id.eq(&id),
            clients::name.eq(name),
            clients::organisationsnummer.eq(organisationsnummer.as_str()),
            clients::kommuner.eq(join_kommuner(kommuner)),
            clients::active.eq(true),
            clients::secret_hash.eq(hash_secret(secret.reveal())),
            clients::created_at.eq(now),
            clients::updated_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Err(StoreError::Conflict("client_id finns redan")),
        other => other?,
    };
    Ok((get(conn, &id)?.ok_or(StoreError::NotFound)?, secret))
}

pub(crate) fn get(conn: &mut DbConnection, client_id: &str) -> Result<Option<Client>, StoreError> {
    clients::table
        .find(client_id)
        .first::<ClientRow>(conn)
        .optional()?
        .map(ClientRow::into_client)
        .transpose()
}

pub(crate) fn list(conn: &mut DbConnection) -> Result<Vec<Client>, StoreError> {
    clients::table
        .order(clients::client_id.asc())
        .load::<ClientRow>(conn)?
        .into_iter()
        .map(ClientRow::into_client)
        .collect()
}

/// The client these credentials belong to, if it is active, the secret matches (the
/// current one, or the previous one before its expiry) and its organisation is the
/// certificate's. Every mismatch gives `None`: callers must not tell them apart.
pub(crate) fn authenticate(
    conn: &mut DbConnection,
    client_id: &str,
    secret: &str,
    certificate_org: Organisationsnummer,
    now: i64,
) -> Result<Option<Client>, StoreError> {
    let candidate = hash_secret(secret);
    let Some(row) = clients::table
        .find(client_id)
        .first::<ClientRow>(conn)
        .optional()?
    else {
        // Same work as a found client, so timing does not reveal which ids exist.
        let _ = matches(&candidate, &hash_secret("no such client"));
        return Ok(None);
    };
    let current = matches(&candidate, &row.secret_hash);
    let previous = match (&row.previous_secret_hash, row.previous_secret_expires_at) {
        (Some(h), Some(until)) => matches(&candidate, h) && now < until,
        _ => false,
    };
    let client = row.into_client()?;
    let ok =
        (current || previous) && client.active && client.organisationsnummer == certificate_org;
    Ok(ok.then_some(client))
}

/// A new secret; the old one keeps working until `now + overlap_micros`.
pub(crate) fn rotate_secret(
    conn: &mut DbConnection,
    client_id: &str,
    overlap_micros: i64,
    now: i64,
) -> Result<ClientSecret, StoreError> {
    let old: String = clients::table
        .find(client_id)
        .select(clients::secret_hash)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let secret = ClientSecret::generate();
    diesel::update(clients::table.find(client_id))
        .set((
            clients::secret_hash.eq(hash_secret(secret.reveal())),
            clients::previous_secret_hash.eq(Some(old)),
            clients::previous_secret_expires_at.eq(Some(now + overlap_micros)),
            clients::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(secret)
}

pub(crate) fn set_active(
    conn: &mut DbConnection,
    client_id: &str,
    active: bool,
    now: i64,
) -> Result<(), StoreError> {
    let n = diesel::update(clients::table.find(client_id))
        .set((clients::active.eq(active), clients::updated_at.eq(now)))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
