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

mod login_marks;
mod person_refs;
mod receipts;

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
    /// what belongs to this session only (see [`Store::ms_remember_person`]).
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

impl Store {
    fn person_hash(&self, p: &Personnummer) -> String {
        hex::encode(Sha256::digest(
            format!("mina-sidor:{}", self.keys().lookup_hash(p)).as_bytes(),
        ))
    }

    fn ms_audit(
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

    /// Makes (or reactivates) the kommun's huvudansvarig: Af's bootstrap command.
    pub fn ms_add_huvudansvarig(
        &self,
        operator: &str,
        kommun: Kommunkod,
        personnummer: &Personnummer,
        epost: &str,
    ) -> Result<MsUser, StoreError> {
        let hash = self.person_hash(personnummer);
        let user = self.tx(|c| {
            let id = upsert_user(c, kommun, &hash, epost, Roll::Huvudansvarig)?;
            Self::ms_audit(
                c,
                &AuditActor::System(operator.to_owned()),
                Some(kommun),
                "mina-sidor:huvudansvarig",
                Some(&id),
                Outcome::Ok,
            )?;
            user_by_id(c, &id)
        })?;
        Ok(user)
    }

    /// The kommun's users as a huvudansvarig sees them; the view is audited
    /// (`mina-sidor:lista-anvandare`), since it shows employees' names and e-mail.
    pub fn ms_users_for(&self, by: &MsUser) -> Result<Vec<MsUser>, StoreError> {
        self.tx(|c| {
            Self::ms_audit(
                c,
                &AuditActor::Anvandare(by.id.clone()),
                Some(by.kommun),
                "mina-sidor:lista-anvandare",
                None,
                Outcome::Ok,
            )
        })?;
        self.ms_users(by.kommun)
    }

    /// The huvudansvariga's activity log: the latest `limit` changes to the kommun's
    /// users and invitations, newest first (who invited, who registered, who activated,
    /// deactivated or logged out whom), each actor and target by e-mail. Read from the
    /// chained audit log (what the last 50 ms wrote is not in it yet); the view is
    /// audited (`mina-sidor:aktivitetslogg`).
    pub fn ms_activity(&self, by: &MsUser, limit: i64) -> Result<Vec<MsActivity>, StoreError> {
        use crate::schema::audit_log as log;
        self.tx(|c| {
            require_huvudansvarig(c, by)?;
            Self::ms_audit(
                c,
                &AuditActor::Anvandare(by.id.clone()),
                Some(by.kommun),
                "mina-sidor:aktivitetslogg",
                None,
                Outcome::Ok,
            )
        })?;
        let mut c = self.connection()?;
        let rows: Vec<(i64, String, String, String, Option<String>, String)> =
            crate::lists::ms_activity!(by.kommun.to_string())
                .limit(limit.clamp(1, 500))
                .select((
                    log::at,
                    log::actor_kind,
                    log::actor,
                    log::action,
                    log::target,
                    log::outcome,
                ))
                .load(&mut *c)?;
        let ids: Vec<&str> = rows
            .iter()
            .flat_map(|r| [Some(r.2.as_str()), r.4.as_deref()])
            .flatten()
            .collect();
        let users: std::collections::HashMap<String, String> = usr::table
            .filter(usr::kommunkod.eq(by.kommun.to_string()))
            .filter(usr::id.eq_any(&ids))
            .select((usr::id, usr::epost))
            .load(&mut *c)?
            .into_iter()
            .collect();
        let invitations: std::collections::HashMap<String, String> = inv::table
            .filter(inv::kommunkod.eq(by.kommun.to_string()))
            .filter(inv::token_hash.eq_any(&ids))
            .select((inv::token_hash, inv::epost))
            .load(&mut *c)?
            .into_iter()
            .collect();
        Ok(rows
            .into_iter()
            .map(|(at, kind, actor, action, target, outcome)| MsActivity {
                at,
                actor: match kind.as_str() {
                    "anvandare" => users.get(&actor).cloned(),
                    _ => None,
                },
                action,
                target: target.and_then(|t| users.get(&t).or(invitations.get(&t)).cloned()),
                refused: outcome != "ok",
            })
            .collect())
    }

    /// The kommun's users, huvudansvariga first, then by e-mail.
    pub fn ms_users(&self, kommun: Kommunkod) -> Result<Vec<MsUser>, StoreError> {
        let mut c = self.connection()?;
        let rows: Vec<UserRow> = usr::table
            .filter(usr::kommunkod.eq(kommun.to_string()))
            .order((usr::roll.desc(), usr::epost.asc()))
            .load(&mut *c)?;
        load_users(rows)
    }

    /// The kommun's invitations that can still be used, newest first.
    pub fn ms_open_invitations(&self, kommun: Kommunkod) -> Result<Vec<Invitation>, StoreError> {
        let mut c = self.connection()?;
        let rows: Vec<(String, String, String, i64)> = inv::table
            .filter(inv::kommunkod.eq(kommun.to_string()))
            .filter(inv::used_at.is_null())
            .filter(inv::withdrawn_at.is_null())
            .filter(inv::expires_at.ge(now()))
            .order(inv::created_at.desc())
            .select((inv::token_hash, inv::epost, inv::roll, inv::expires_at))
            .load(&mut *c)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, epost, roll, expires_at)| {
                Some(Invitation {
                    id,
                    kommun,
                    epost,
                    roll: Roll::parse(&roll)?,
                    expires_at,
                })
            })
            .collect())
    }

    /// The active users a BankID identity may log in as (one per kommun), with the name
    /// BankID gave recorded on each. The attempt is audited, also when it is refused.
    pub fn ms_login_users(
        &self,
        personnummer: &Personnummer,
        namn: &str,
    ) -> Result<Vec<MsUser>, StoreError> {
        let hash = self.person_hash(personnummer);
        self.tx(|c| {
            let rows: Vec<UserRow> = usr::table
                .filter(usr::person_hash.eq(&hash))
                .filter(usr::active.eq(true))
                .order(usr::kommunkod.asc())
                .load(c)?;
            let users = load_users(rows)?;
            if users.is_empty() {
                Self::ms_audit(
                    c,
                    &AuditActor::System("mina-sidor".into()),
                    None,
                    "mina-sidor:inloggning",
                    None,
                    Outcome::Refused("inte_inbjuden"),
                )?;
            }
            diesel::update(usr::table.filter(usr::person_hash.eq(&hash)))
                .set((usr::namn.eq(namn), usr::updated_at.eq(now())))
                .execute(c)?;
            Ok(users
                .into_iter()
                .map(|u| MsUser {
                    namn: namn.to_owned(),
                    ..u
                })
                .collect())
        })
    }

    /// Invites a person (by personnummer and e-mail) to the inviter's kommun. Only an
    /// active huvudansvarig may, and only a person with no account and no open
    /// invitation in the kommun (an invitation never changes an account). Returns the
    /// token for the link (shown once).
    pub fn ms_invite(
        &self,
        by: &MsUser,
        personnummer: &Personnummer,
        epost: &str,
        roll: Roll,
        ttl_secs: i64,
    ) -> Result<Result<String, InviteRefusal>, StoreError> {
        let token = token();
        let hash = hash_secret(&token);
        let person = self.person_hash(personnummer);
        self.tx(|c| {
            require_huvudansvarig(c, by)?;
            let t = now();
            if let Some(refusal) = invite_refusal(c, by.kommun, &person, t)? {
                Self::ms_audit(
                    c,
                    &AuditActor::Anvandare(by.id.clone()),
                    Some(by.kommun),
                    "mina-sidor:bjud-in",
                    None,
                    Outcome::Refused(refusal.audit_reason()),
                )?;
                return Ok(Err(refusal));
            }
            insert_invitation(c, &hash, by, &person, epost, roll, t, ttl_secs)?;
            Self::ms_audit(
                c,
                &AuditActor::Anvandare(by.id.clone()),
                Some(by.kommun),
                "mina-sidor:bjud-in",
                Some(&hash),
                Outcome::Ok,
            )?;
            Ok(Ok(token.clone()))
        })
    }

    /// Withdraws an open invitation of the huvudansvarig's kommun: its link stops
    /// working at once. Another kommun's, a used or an unknown one is `NotFound`.
    pub fn ms_withdraw_invitation(&self, by: &MsUser, id: &str) -> Result<(), StoreError> {
        self.tx(|c| {
            require_huvudansvarig(c, by)?;
            withdraw_open(c, by.kommun, id, now())?;
            Self::ms_audit(
                c,
                &AuditActor::Anvandare(by.id.clone()),
                Some(by.kommun),
                "mina-sidor:aterkalla-inbjudan",
                Some(id),
                Outcome::Ok,
            )
        })
    }

    /// Sends an open invitation again: the old link is withdrawn and a new one made for
    /// the same person, e-mail and role, valid `ttl_secs` from now. Returns the new
    /// link's token and the e-mail address.
    pub fn ms_resend_invitation(
        &self,
        by: &MsUser,
        id: &str,
        ttl_secs: i64,
    ) -> Result<(String, String), StoreError> {
        let token = token();
        let hash = hash_secret(&token);
        self.tx(|c| {
            require_huvudansvarig(c, by)?;
            let t = now();
            let (person, epost, roll) = withdraw_open(c, by.kommun, id, t)?;
            let roll =
                Roll::parse(&roll).ok_or_else(|| StoreError::Corrupt(format!("roll {roll}")))?;
            insert_invitation(c, &hash, by, &person, &epost, roll, t, ttl_secs)?;
            Self::ms_audit(
                c,
                &AuditActor::Anvandare(by.id.clone()),
                Some(by.kommun),
                "mina-sidor:skicka-inbjudan-igen",
                Some(&hash),
                Outcome::Ok,
            )?;
            Ok((token.clone(), epost))
        })
    }

    /// The invitation behind a link, if it can still be used.
    pub fn ms_invitation(
        &self,
        token: &str,
    ) -> Result<Result<Invitation, InvitationRefusal>, StoreError> {
        let mut c = self.connection()?;
        let row = find_invitation(&mut c, &hash_secret(token))?;
        Ok(check_invitation(row, now()).map(|(i, _)| i))
    }

    /// Registers the BankID identity with the invitation (by its hash, as kept in the
    /// pending login): single use, not expired, and for this person only.
    pub fn ms_accept_invitation(
        &self,
        invitation_hash: &str,
        personnummer: &Personnummer,
        namn: &str,
    ) -> Result<Result<MsUser, InvitationRefusal>, StoreError> {
        let person = self.person_hash(personnummer);
        self.tx(|c| {
            let t = now();
            let row = find_invitation(c, invitation_hash)?;
            let checked = check_invitation(row, t).and_then(|(i, p)| {
                if p == person {
                    Ok(i)
                } else {
                    Err(InvitationRefusal::OtherPerson)
                }
            });
            let invitation = match checked {
                Ok(i) => i,
                Err(refusal) => {
                    Self::ms_audit(
                        c,
                        &AuditActor::System("mina-sidor".into()),
                        None,
                        "mina-sidor:registrering",
                        None,
                        Outcome::Refused(refusal.audit_reason()),
                    )?;
                    return Ok(Err(refusal));
                }
            };
            // Single use even under a race: only one UPDATE finds `used_at` empty.
            let claimed = diesel::update(
                inv::table
                    .filter(inv::token_hash.eq(invitation_hash))
                    .filter(inv::used_at.is_null())
                    .filter(inv::withdrawn_at.is_null()),
            )
            .set(inv::used_at.eq(t))
            .execute(c)?;
            if claimed != 1 {
                return Ok(Err(InvitationRefusal::Used));
            }
            // An account made since the invitation (Af's command, another invitation)
            // is never changed by it: not its role, e-mail or deactivation.
            if account_of(c, invitation.kommun, &person)?.is_some() {
                Self::ms_audit(
                    c,
                    &AuditActor::System("mina-sidor".into()),
                    Some(invitation.kommun),
                    "mina-sidor:registrering",
                    None,
                    Outcome::Refused(InvitationRefusal::AccountExists.audit_reason()),
                )?;
                return Ok(Err(InvitationRefusal::AccountExists));
            }
            let id = insert_user(
                c,
                invitation.kommun,
                &person,
                namn,
                &invitation.epost,
                invitation.roll,
            )?;
            Self::ms_audit(
                c,
                &AuditActor::Anvandare(id.clone()),
                Some(invitation.kommun),
                "mina-sidor:registrering",
                Some(&id),
                Outcome::Ok,
            )?;
            Ok(Ok(user_by_id(c, &id)?))
        })
    }

    /// Activates or deactivates a user of the huvudansvarig's own kommun; a
    /// deactivated user's sessions end at once. Another kommun's user is `NotFound`.
    pub fn ms_set_user_active(
        &self,
        by: &MsUser,
        user_id: &str,
        active: bool,
    ) -> Result<(), StoreError> {
        self.tx(|c| {
            require_huvudansvarig(c, by)?;
            if user_id == by.id {
                return Err(StoreError::Conflict("du kan inte inaktivera dig själv"));
            }
            let target: Option<(String, String, bool)> = usr::table
                .filter(usr::id.eq(user_id))
                .filter(usr::kommunkod.eq(by.kommun.to_string()))
                .select((usr::person_hash, usr::roll, usr::active))
                .first(c)
                .optional()?;
            let Some((person, roll, was_active)) = target else {
                return Err(StoreError::NotFound);
            };
            let t = now();
            if !active
                && was_active
                && roll == Roll::Huvudansvarig.as_str()
                && active_huvudansvariga(c, by.kommun)? <= 1
            {
                return Err(StoreError::Conflict(
                    "kommunen måste ha minst en aktiv huvudansvarig",
                ));
            }
            diesel::update(usr::table.find(user_id))
                .set((usr::active.eq(active), usr::updated_at.eq(t)))
                .execute(c)?;
            if !active {
                diesel::delete(sess::table.filter(sess::user_id.eq(user_id))).execute(c)?;
                // An invitation sent before the deactivation must not let the person
                // back in.
                diesel::update(
                    inv::table
                        .filter(inv::kommunkod.eq(by.kommun.to_string()))
                        .filter(inv::person_hash.eq(&person))
                        .filter(inv::used_at.is_null())
                        .filter(inv::withdrawn_at.is_null()),
                )
                .set(inv::withdrawn_at.eq(t))
                .execute(c)?;
            }
            Self::ms_audit(
                c,
                &AuditActor::Anvandare(by.id.clone()),
                Some(by.kommun),
                if active {
                    "mina-sidor:aktivera"
                } else {
                    "mina-sidor:inaktivera"
                },
                Some(user_id),
                Outcome::Ok,
            )
        })
    }

    /// Starts a session for a user who just logged in; returns the cookie token.
    pub fn ms_create_session(&self, user: &MsUser) -> Result<String, StoreError> {
        let token = token();
        let hash = hash_secret(&token);
        self.tx(|c| {
            let t = now();
            // Sessions nobody came back to: gone after a day (an idle timeout is shorter).
            diesel::delete(sess::table.filter(sess::last_seen.lt(t - 24 * 3600 * MICROS)))
                .execute(c)?;
            diesel::insert_into(sess::table)
                .values((
                    sess::token_hash.eq(&hash),
                    sess::user_id.eq(&user.id),
                    sess::csrf.eq(self::token()),
                    sess::created_at.eq(t),
                    sess::last_seen.eq(t),
                ))
                .execute(c)?;
            login_marks::note_login(c, &user.id, t)?;
            Self::ms_audit(
                c,
                &AuditActor::Anvandare(user.id.clone()),
                Some(user.kommun),
                "mina-sidor:inloggning",
                None,
                Outcome::Ok,
            )
        })?;
        Ok(token)
    }

    /// The session behind a cookie token, if it is still alive: not idle longer than
    /// `idle_secs`, and its user active. Touches it.
    pub fn ms_session(&self, token: &str, idle_secs: i64) -> Result<Option<MsSession>, StoreError> {
        let hash = hash_secret(token);
        let mut c = self.connection()?;
        let t = now();
        let found: Option<(String, i64, UserRow)> = sess::table
            .inner_join(usr::table)
            .filter(sess::token_hash.eq(&hash))
            .select((sess::csrf, sess::last_seen, usr::all_columns))
            .first(&mut *c)
            .optional()?;
        let Some((csrf, last_seen, row)) = found else {
            return Ok(None);
        };
        if last_seen + idle_secs * MICROS < t || !row.active {
            diesel::delete(sess::table.find(&hash)).execute(&mut *c)?;
            return Ok(None);
        }
        // Touch at most every few seconds (a tenth of the timeout when that is less): a
        // page with several requests writes once, and the page's own countdown, which
        // ends that much early, never outlives the session.
        if t - last_seen > (5 * MICROS).min(idle_secs * MICROS / 10) {
            diesel::update(sess::table.find(&hash))
                .set(sess::last_seen.eq(t))
                .execute(&mut *c)?;
        }
        Ok(Some(MsSession {
            user: row.try_into()?,
            csrf,
            id: hash,
        }))
    }

    /// The person's other active accounts (in other kommuner), for switching kommun.
    pub fn ms_other_accounts(&self, user: &MsUser) -> Result<Vec<MsUser>, StoreError> {
        let mut c = self.connection()?;
        let hash: String = usr::table
            .find(&user.id)
            .select(usr::person_hash)
            .first(&mut *c)?;
        let rows: Vec<UserRow> = usr::table
            .filter(usr::person_hash.eq(hash))
            .filter(usr::active.eq(true))
            .filter(usr::id.ne(&user.id))
            .order(usr::kommunkod.asc())
            .load(&mut *c)?;
        load_users(rows)
    }

    /// Moves a logged-in person to their account in another kommun: the old session
    /// ends and a new one starts, if `target` is an active account of the same person.
    /// Returns the new cookie token, or `None` when `target` is not theirs.
    pub fn ms_switch_account(
        &self,
        session_token: &str,
        user: &MsUser,
        target: &str,
    ) -> Result<Option<String>, StoreError> {
        let Some(other) = self
            .ms_other_accounts(user)?
            .into_iter()
            .find(|u| u.id == target)
        else {
            return Ok(None);
        };
        self.ms_end_session(session_token)?;
        self.ms_create_session(&other).map(Some)
    }

    /// Logs out: the session is gone.
    /// Ends every session of `user` (all browsers and devices), audited.
    pub fn ms_end_all_sessions(&self, user: &MsUser) -> Result<usize, StoreError> {
        self.tx(|c| {
            let n = diesel::delete(sess::table.filter(sess::user_id.eq(&user.id))).execute(c)?;
            Self::ms_audit(
                c,
                &AuditActor::Anvandare(user.id.clone()),
                Some(user.kommun),
                "mina-sidor:utloggning-alla-enheter",
                Some(&user.id),
                Outcome::Ok,
            )?;
            Ok(n)
        })
    }

    pub fn ms_end_session(&self, token: &str) -> Result<(), StoreError> {
        let mut c = self.connection()?;
        diesel::delete(sess::table.find(hash_secret(token))).execute(&mut *c)?;
        Ok(())
    }

    /// Remembers a BankID order for the browser that started it; returns the cookie
    /// token. `invitation_token` binds the login to an invitation to register.
    pub fn ms_start_login(
        &self,
        order_ref: &str,
        auto_start_token: &str,
        qr_start_token: &str,
        qr_start_secret: &str,
        invitation_token: Option<&str>,
    ) -> Result<String, StoreError> {
        let token = token();
        let mut c = self.connection()?;
        let t = now();
        diesel::delete(login::table.filter(login::started_at.lt(t - LOGIN_TTL_SECS * MICROS)))
            .execute(&mut *c)?;
        diesel::insert_into(login::table)
            .values((
                login::token_hash.eq(hash_secret(&token)),
                login::order_ref.eq(order_ref),
                login::auto_start_token.eq(auto_start_token),
                login::qr_start_token.eq(qr_start_token),
                login::qr_start_secret.eq(qr_start_secret),
                login::invitation_hash.eq(invitation_token.map(hash_secret)),
                login::started_at.eq(t),
            ))
            .execute(&mut *c)?;
        Ok(token)
    }

    /// The login in progress behind a cookie token.
    pub fn ms_pending_login(&self, token: &str) -> Result<Option<PendingLogin>, StoreError> {
        let mut c = self.connection()?;
        let row: Option<PendingLogin> = login::table
            .find(hash_secret(token))
            .select((
                login::order_ref,
                login::auto_start_token,
                login::qr_start_token,
                login::qr_start_secret,
                login::invitation_hash,
                login::started_at,
            ))
            .first(&mut *c)
            .optional()?;
        Ok(row.filter(|r| r.started_at + LOGIN_TTL_SECS * MICROS >= now()))
    }

    /// Forgets a login in progress (completed, failed or cancelled).
    pub fn ms_end_login(&self, token: &str) -> Result<(), StoreError> {
        let mut c = self.connection()?;
        diesel::delete(login::table.find(hash_secret(token))).execute(&mut *c)?;
        Ok(())
    }
}

/// Makes the person's account in the kommun active with `roll` and `epost`, creating it
/// if there is none: Af's bootstrap command only (an invitation never changes an account).
fn upsert_user(
    c: &mut crate::DbConnection,
    kommun: Kommunkod,
    person_hash: &str,
    epost: &str,
    roll: Roll,
) -> Result<String, StoreError> {
    if let Some((id, _)) = account_of(c, kommun, person_hash)? {
        diesel::update(usr::table.find(&id))
            .set((
                usr::epost.eq(epost),
                usr::roll.eq(roll.as_str()),
                usr::active.eq(true),
                usr::updated_at.eq(now()),
            ))
            .execute(c)?;
        return Ok(id);
    }
    insert_user(c, kommun, person_hash, "", epost, roll)
}

fn insert_user(
    c: &mut crate::DbConnection,
    kommun: Kommunkod,
    person_hash: &str,
    namn: &str,
    epost: &str,
    roll: Roll,
) -> Result<String, StoreError> {
    let t = now();
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(usr::table)
        .values((
            usr::id.eq(&id),
            usr::kommunkod.eq(kommun.to_string()),
            usr::person_hash.eq(person_hash),
            usr::namn.eq(namn),
            usr::epost.eq(epost),
            usr::roll.eq(roll.as_str()),
            usr::active.eq(true),
            usr::created_at.eq(t),
            usr::updated_at.eq(t),
        ))
        .execute(c)?;
    Ok(id)
}

/// The person's account in the kommun: its id and whether it is active.
fn account_of(
    c: &mut crate::DbConnection,
    kommun: Kommunkod,
    person_hash: &str,
) -> Result<Option<(String, bool)>, StoreError> {
    Ok(usr::table
        .filter(usr::kommunkod.eq(kommun.to_string()))
        .filter(usr::person_hash.eq(person_hash))
        .select((usr::id, usr::active))
        .first(c)
        .optional()?)
}

fn active_huvudansvariga(
    c: &mut crate::DbConnection,
    kommun: Kommunkod,
) -> Result<i64, StoreError> {
    Ok(usr::table
        .filter(usr::kommunkod.eq(kommun.to_string()))
        .filter(usr::roll.eq(Roll::Huvudansvarig.as_str()))
        .filter(usr::active.eq(true))
        .count()
        .get_result(c)?)
}

/// Why the person cannot be invited to the kommun at `t`, if there is a reason.
fn invite_refusal(
    c: &mut crate::DbConnection,
    kommun: Kommunkod,
    person_hash: &str,
    t: i64,
) -> Result<Option<InviteRefusal>, StoreError> {
    match account_of(c, kommun, person_hash)? {
        Some((_, true)) => return Ok(Some(InviteRefusal::HasAccount)),
        Some((_, false)) => return Ok(Some(InviteRefusal::HasInactiveAccount)),
        None => {}
    }
    let open: i64 = inv::table
        .filter(inv::kommunkod.eq(kommun.to_string()))
        .filter(inv::person_hash.eq(person_hash))
        .filter(inv::used_at.is_null())
        .filter(inv::withdrawn_at.is_null())
        .filter(inv::expires_at.ge(t))
        .count()
        .get_result(c)?;
    Ok((open > 0).then_some(InviteRefusal::OpenInvitation))
}

#[allow(clippy::too_many_arguments, reason = "one row's columns")]
fn insert_invitation(
    c: &mut crate::DbConnection,
    token_hash: &str,
    by: &MsUser,
    person_hash: &str,
    epost: &str,
    roll: Roll,
    t: i64,
    ttl_secs: i64,
) -> Result<(), StoreError> {
    diesel::insert_into(inv::table)
        .values((
            inv::token_hash.eq(token_hash),
            inv::kommunkod.eq(by.kommun.to_string()),
            inv::person_hash.eq(person_hash),
            inv::epost.eq(epost),
            inv::roll.eq(roll.as_str()),
            inv::invited_by.eq(&by.id),
            inv::created_at.eq(t),
            inv::expires_at.eq(t + ttl_secs * MICROS),
        ))
        .execute(c)?;
    Ok(())
}

/// Withdraws the kommun's open invitation `id` at `t`; returns its person hash, e-mail
/// and role. `NotFound` unless it is the kommun's, unused and not withdrawn.
fn withdraw_open(
    c: &mut crate::DbConnection,
    kommun: Kommunkod,
    id: &str,
    t: i64,
) -> Result<(String, String, String), StoreError> {
    let row: Option<(String, String, String)> = inv::table
        .filter(inv::token_hash.eq(id))
        .filter(inv::kommunkod.eq(kommun.to_string()))
        .filter(inv::used_at.is_null())
        .filter(inv::withdrawn_at.is_null())
        .select((inv::person_hash, inv::epost, inv::roll))
        .first(c)
        .optional()?;
    let row = row.ok_or(StoreError::NotFound)?;
    let changed = diesel::update(
        inv::table
            .filter(inv::token_hash.eq(id))
            .filter(inv::withdrawn_at.is_null())
            .filter(inv::used_at.is_null()),
    )
    .set(inv::withdrawn_at.eq(t))
    .execute(c)?;
    if changed != 1 {
        return Err(StoreError::NotFound);
    }
    Ok(row)
}

fn user_by_id(c: &mut crate::DbConnection, id: &str) -> Result<MsUser, StoreError> {
    usr::table
        .find(id)
        .first::<UserRow>(c)
        .optional()?
        .ok_or(StoreError::NotFound)?
        .try_into()
}

/// The store's own check that `by` is an active huvudansvarig, read inside the
/// transaction (a session may be older than a deactivation).
/// One entry of the activity log ([`Store::ms_activity`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsActivity {
    /// Microseconds since the epoch.
    pub at: i64,
    /// The acting user's e-mail; `None`: Arbetsförmedlingen's command (or a user since
    /// removed).
    pub actor: Option<String>,
    /// The audit action (`mina-sidor:bjud-in`, ...).
    pub action: String,
    /// The user or invitation it concerned, by e-mail, when it concerned one.
    pub target: Option<String>,
    /// Refused (e.g. an invitation for someone who already has an account).
    pub refused: bool,
}

fn require_huvudansvarig(c: &mut crate::DbConnection, by: &MsUser) -> Result<(), StoreError> {
    let current = user_by_id(c, &by.id)?;
    if current.active && current.roll == Roll::Huvudansvarig && current.kommun == by.kommun {
        Ok(())
    } else {
        Err(StoreError::Conflict(
            "endast huvudansvarig får administrera användare",
        ))
    }
}

type InvitationRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

fn find_invitation(
    c: &mut crate::DbConnection,
    hash: &str,
) -> Result<Option<InvitationRow>, StoreError> {
    Ok(inv::table
        .find(hash)
        .select((
            inv::token_hash,
            inv::kommunkod,
            inv::person_hash,
            inv::epost,
            inv::roll,
            inv::expires_at,
            inv::used_at,
            inv::withdrawn_at,
        ))
        .first(c)
        .optional()?)
}

/// The invitation and the person hash it is for, if it can be used at `t`.
fn check_invitation(
    row: Option<InvitationRow>,
    t: i64,
) -> Result<(Invitation, String), InvitationRefusal> {
    let (id, kommunkod, person, epost, roll, expires_at, used_at, withdrawn_at) =
        row.ok_or(InvitationRefusal::Unknown)?;
    if used_at.is_some() {
        return Err(InvitationRefusal::Used);
    }
    if withdrawn_at.is_some() {
        return Err(InvitationRefusal::Withdrawn);
    }
    if expires_at < t {
        return Err(InvitationRefusal::Expired);
    }
    let kommun = Kommunkod::parse(&kommunkod).map_err(|_| InvitationRefusal::Unknown)?;
    let roll = Roll::parse(&roll).ok_or(InvitationRefusal::Unknown)?;
    Ok((
        Invitation {
            id,
            kommun,
            epost,
            roll,
            expires_at,
        },
        person,
    ))
}
