//! Storage of the komvux exchange on PostgreSQL (production) and SQLite (embedded),
//! behind one synchronous API: [`Store`].
//!
//! The rules of the exchange hold here even if the HTTP layer had a bug: the write
//! rule (types, transaction preconditions and a database CHECK), pseudonymised
//! identities, idempotency, the hash-chained audit log and gap-free change feeds.
//! Writes block; call them from `web::block` or another blocking pool. Audited reads
//! return a [`Read`]: queued for the store's reader threads, `.await`ed on an async
//! runtime or `.wait()`ed for on any other thread.

mod audit;
mod changes;
mod clients;
pub mod connection;
mod error;
mod expiry;
mod feeds;
mod idempotency;
mod identities;
mod lists;
mod messages;
mod mina_sidor;
mod reader;
mod reads;
mod records;
pub mod schema;
mod seed;
mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod transactions;
mod transparency;
mod writes;

pub use audit::{AuditActor, AuditRow, ChainReport, Outcome};
pub use changes::{Changes, Notice, Topic};
pub use clients::{Client, ClientSecret};
pub use connection::{Backend, DbConnection, DbPool, PoolSettings};
pub use error::{ItemError, StoreError, Unanswered};
pub use feeds::{Cursor, InvalidCursor};
pub use idempotency::{IDEMPOTENCY_TTL_MICROS, IdempotencyKey, InvalidIdempotencyKey};
pub use identities::{IdentityKeys, KeyError, Pseudonym};
pub use mina_sidor::{
    Invitation, InvitationRefusal, InviteRefusal, LOGIN_TTL_SECS, MinaSidorStore, MsActivity,
    MsSession, MsUser, NEW_BESLUT_COUNT_LIMIT, NewBeslut, PERSON_REF_TTL_SECS, PendingLogin, Roll,
};
pub use reader::Reader;
pub use reads::Read;
pub use records::{
    EtableringsprogramRecord, Feed, Kvittens, MessageWriter, Page, PersonRecord, SENT_COUNT_LIMIT,
    SentFilter, SentPage, StoredMessage, Submission, Tabell2Filter, Tabell2Ordning,
    UtbildningsbehovAndring, UtbildningsbehovRecord, UtbildningsbeslutRecord, Varning,
    WrittenMessage,
};
pub use seed::{SeedPlan, SeedReport};
pub use store::{
    AUTH_CACHE_TTL, BasladdningKvittens, Checkpoint, FeedHeads, GallringReport, ReceiptEvidence,
    ReceiptStore, Store,
};
pub use transparency::{TreeReport, leaf_hash};
