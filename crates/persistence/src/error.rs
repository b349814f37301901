//! What the stores refuse, each rule its own variant, and what went wrong underneath.
//!
//! Policy: a refusal the caller can act on is a variant of its own (no text to parse);
//! its Swedish `Display` is for logs, the listeners map variants to problems
//! (`komvux_http::error::ApiError::from_store`, once for the API and Mina sidor).
//! Infrastructure failures keep their cause as a source (`Pool`, `Query`, `Migration`,
//! `Batch`); `Config` and `Corrupt` describe what was found in words, as no error lies
//! under them worth keeping. No variant holds a personnummer.

use komvux_domain::{Kommunkod, MessageKind};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Ansökan and antagning need an active utbildningsbehov for the person.
    #[error("personen saknar aktivt utbildningsbehov (anvisning)")]
    MissingAnvisning,
    /// Avbrott, förändring and betyg need a current utbildningsbeslut in the kommun.
    #[error("personen saknar utbildningsbeslut i kommunen")]
    MissingUtbildningsbeslut,
    /// `ersatter` does not name a current message of the same kind, kommun and person.
    #[error("ersatter pekar inte på ett aktuellt meddelande av samma typ, kommun och person")]
    InvalidErsatter,
    /// The writer's party may not write this kind (defence in depth; the types prevent it).
    #[error("parten får inte skriva {0}")]
    WrongParty(MessageKind),
    /// The writer does not act for this kommun.
    #[error("klienten får inte agera för kommun {0}")]
    OtillatenKommun(Kommunkod),
    /// The same idempotency key was used with another request.
    #[error("idempotensnyckeln har redan använts för en annan begäran")]
    IdempotencyKeyReused,
    /// A feed cursor this gateway did not hand out for this feed and kommun, or beyond
    /// the feed's head.
    #[error("markören är ogiltig")]
    InvalidCursor,
    #[error("hittades inte")]
    NotFound,
    /// A state change that does not apply (e.g. ending what has already ended).
    #[error("konflikt: {0}")]
    Conflict(&'static str),
    /// The message breaks one of the domain's rules (`komvux_domain::rules`): each error
    /// names its field.
    #[error("meddelandet bryter mot regler: {0}")]
    Rules(komvux_domain::ValidationErrors),
    /// Items of a bulk operation were refused; nothing was stored.
    #[error("{} meddelanden i basladdningen nekades", .0.len())]
    Items(Vec<ItemError>),
    #[error("konfiguration: {0}")]
    Config(String),
    #[error("anslutningspool: {0}")]
    Pool(#[from] r2d2::Error),
    /// The store's reader or writer threads did not answer the work.
    #[error("obesvarad: {0}")]
    Unanswered(Unanswered),
    /// The batch this read or write ran in failed as a whole (one cause, every member).
    #[error("batchen misslyckades: {0}")]
    Batch(std::sync::Arc<StoreError>),
    #[error("databasfel: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrering: {0}")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    #[error("kryptering: {0}")]
    Crypto(&'static str),
    #[error("lagrad data kunde inte tolkas: {0}")]
    Corrupt(String),
}

/// Why a read or write queued for the store's threads got no answer of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unanswered {
    #[error("the readers' queue is full")]
    QueueFull,
    #[error("the reader or writer threads stopped")]
    Stopped,
    #[error("the read or write was dropped unanswered")]
    Dropped,
    #[error("the answer was taken already")]
    PolledAgain,
    #[error("the work did not run")]
    DidNotRun,
}

impl StoreError {
    /// Whether the database was unreachable or overloaded (an API answers 503).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Pool(_) | Self::Unanswered(_) | Self::Batch(_) => true,
            Self::Query(diesel::result::Error::DatabaseError(kind, info)) => {
                let m = info.message();
                matches!(
                    kind,
                    diesel::result::DatabaseErrorKind::ClosedConnection
                        | diesel::result::DatabaseErrorKind::UnableToSendCommand
                ) || m.contains("terminating connection")
                    || m.contains("server closed the connection")
                    || m.contains("connection to server")
                    || m.contains("the database system is shutting down")
                    || m.contains("the database system is starting up")
                    || m.contains("database is locked")
            }
            _ => false,
        }
    }

    /// Whether a unique constraint refused the write (a concurrent insert of the same key
    /// won).
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))
        )
    }

    /// Whether retrying the transaction may succeed (serialisation failure, busy database).
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Self::Query(diesel::result::Error::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    diesel::result::DatabaseErrorKind::SerializationFailure
                ) || info.message().contains("database is locked")
                    || info.message().contains("deadlock detected")
            }
            _ => false,
        }
    }
}

/// One refused item of a bulk operation: `list[index]` and why.
#[derive(Debug, thiserror::Error)]
#[error("{list}[{index}]: {error}")]
pub struct ItemError {
    pub list: &'static str,
    pub index: usize,
    pub error: StoreError,
}
