//! Mina sidor för kommuner: users, single-use invitations, browser sessions and BankID
//! logins in progress.
//!
//! A user's personnummer is kept only as a keyed hash (derived from the identity HMAC
//! key, separated from the identity table's lookup hash), so the user tables hold no
//! personnummer. Tokens handed to a browser or put in an e-mail (session, login,
//! invitation) are 256-bit random and stored as SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use komvux_domain::{Kommunkod, Personnummer};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditActor, AuditEvent, Outcome};
use crate::clients::hash_secret;
use crate::error::StoreError;
use crate::schema::{
    ms_invitations as inv, ms_logins as login, ms_sessions as sess, ms_users as usr,
};
use crate::store::Store;
use crate::transactions::now;

mod invitations;
mod login_marks;
mod person_refs;
mod receipts;
mod sessions;
mod users;

use users::*;

pub use users::MsActivity;

pub use login_marks::{NEW_BESLUT_COUNT_LIMIT, NewBeslut};

pub use person_refs::PERSON_REF_TTL_SECS;

const MICROS: i64 = 1_000_000;
/// How long a BankID login may be in progress before it is forgotten.
pub const LOGIN_TTL_SECS: i64 = 10 * 60;

/// What a Mina sidor user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roll {
    /// The kommun's main administrator: invites and deactivates users, and works as a
    /// handläggare.
    Huvudansvarig,
    Handlaggare,
}

impl Roll {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Huvudansvarig => "huvudansvarig",
            Self::Handlaggare => "handlaggare",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "huvudansvarig" => Some(Self::Huvudansvarig),
            "handlaggare" => Some(Self::Handlaggare),
            _ => None,
        }
    }
}

/// A user of one kommun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsUser {
    pub id: String,
    pub kommun: Kommunkod,
    /// The name BankID gave at the latest login (empty before the first).
    pub namn: String,
    pub epost: String,
    pub roll: Roll,
    pub active: bool,
}

/// A logged-in browser: the user and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct MsSession {
    pub user: MsUser,
    pub csrf: String,
    /// The session's identity on the server (the hash of its cookie token), to bind
    /// what belongs to this session only (see [`MinaSidorStore::remember_person`]).
    pub id: String,
}

/// A BankID order in progress, bound to one browser.
#[derive(Debug, Clone, Queryable)]
pub struct PendingLogin {
    pub order_ref: String,
    pub auto_start_token: String,
    pub qr_start_token: String,
    pub qr_start_secret: String,
    /// Set when the login registers an invitation.
    pub invitation_hash: Option<String>,
    /// Microseconds since the epoch.
    pub started_at: i64,
}

/// An invitation that may still be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The invitation's id for its huvudansvarig (withdraw, send again): the hash of its
    /// link's token, from which the token cannot be had.
    pub id: String,
    pub kommun: Kommunkod,
    pub epost: String,
    pub roll: Roll,
    /// Microseconds since the epoch.
    pub expires_at: i64,
}

/// Why an invitation link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationRefusal {
    Unknown,
    Expired,
    Used,
    /// Withdrawn by the huvudansvarig, sent again, or the person's account deactivated.
    Withdrawn,
    /// The BankID identity is not the person the invitation was made for.
    OtherPerson,
    /// The person already has an account in the kommun: an invitation never changes an
    /// account (its role, e-mail or deactivation).
    AccountExists,
}

impl InvitationRefusal {
    fn audit_reason(self) -> &'static str {
        match self {
            Self::Unknown => "inbjudan_okand",
            Self::Expired => "inbjudan_utgangen",
            Self::Used => "inbjudan_anvand",
            Self::Withdrawn => "inbjudan_aterkallad",
            Self::OtherPerson => "inbjudan_annan_person",
            Self::AccountExists => "konto_finns",
        }
    }
}

/// Why a person cannot be invited to the kommun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteRefusal {
    /// The person has an active account in the kommun already.
    HasAccount,
    /// The person's account in the kommun is deactivated: activate it instead.
    HasInactiveAccount,
    /// An invitation for the person is still open: withdraw it or send it again.
    OpenInvitation,
}

impl InviteRefusal {
    fn audit_reason(self) -> &'static str {
        match self {
            Self::HasAccount => "konto_finns",
            Self::HasInactiveAccount => "inaktiverat_konto_finns",
            Self::OpenInvitation => "oppen_inbjudan_finns",
        }
    }
}

/// A fresh random token for a browser or an e-mail link.
fn token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Queryable)]
struct UserRow {
    id: String,
    kommunkod: String,
    _person_hash: String,
    namn: String,
    epost: String,
    roll: String,
    active: bool,
    _created_at: i64,
    _updated_at: i64,
}

impl TryFrom<UserRow> for MsUser {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(MsUser {
            kommun: Kommunkod::parse(&r.kommunkod)
                .map_err(|_| StoreError::Corrupt(format!("kommunkod {}", r.kommunkod)))?,
            roll: Roll::parse(&r.roll)
                .ok_or_else(|| StoreError::Corrupt(format!("roll {}", r.roll)))?,
            id: r.id,
            namn: r.namn,
            epost: r.epost,
            active: r.active,
        })
    }
}

fn load_users(rows: Vec<UserRow>) -> Result<Vec<MsUser>, StoreError> {
    rows.into_iter().map(MsUser::try_from).collect()
}

/// Mina sidor's part of the store, as `store.mina_sidor().users(kommun)`.
#[derive(Debug, Clone, Copy)]
pub struct MinaSidorStore<'a> {
    store: &'a Store,
}

impl Store {
    /// Mina sidor's users, invitations, sessions, logins and per-session state.
    pub fn mina_sidor(&self) -> MinaSidorStore<'_> {
        MinaSidorStore { store: self }
    }
}

impl Store {
    pub(super) fn person_hash(&self, p: &Personnummer) -> String {
        hex::encode(Sha256::digest(
            format!("mina-sidor:{}", self.keys().lookup_hash(p)).as_bytes(),
        ))
    }

    pub(super) fn ms_audit(
        c: &mut crate::DbConnection,
        actor: &AuditActor,
        kommun: Option<Kommunkod>,
        action: &str,
        target: Option<&str>,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        audit::append(
            c,
            &AuditEvent {
                actor,
                kommun,
                person: None,
                action,
                target,
                outcome,
            },
            now(),
        )
        .map(|_| ())
    }
}
