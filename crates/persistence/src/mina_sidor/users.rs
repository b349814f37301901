//! The kommun's users: the huvudansvarig's bootstrap, the users list and activity log, (de)activation.

use super::*;

impl MinaSidorStore<'_> {
    /// Makes (or reactivates) the kommun's huvudansvarig: Af's bootstrap command.
    pub fn add_huvudansvarig(
        &self,
        operator: &str,
        kommun: Kommunkod,
        personnummer: &Personnummer,
        epost: &str,
    ) -> Result<MsUser, StoreError> {
        let hash = self.store.person_hash(personnummer);
        let user = self.store.tx(|c| {
            let id = upsert_user(c, kommun, &hash, epost, Roll::Huvudansvarig)?;
            Store::ms_audit(
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
    pub fn users_for(&self, by: &MsUser) -> Result<Vec<MsUser>, StoreError> {
        self.store.tx(|c| {
            Store::ms_audit(
                c,
                &AuditActor::Anvandare(by.id.clone()),
                Some(by.kommun),
                "mina-sidor:lista-anvandare",
                None,
                Outcome::Ok,
            )
        })?;
        self.users(by.kommun)
    }

    /// The huvudansvariga's activity log: the latest `limit` changes to the kommun's
    /// users and invitations, newest first (who invited, who registered, who activated,
    /// deactivated or logged out whom), each actor and target by e-mail. Read from the
    /// chained audit log (what the last 50 ms wrote is not in it yet); the view is
    /// audited (`mina-sidor:aktivitetslogg`).
    pub fn activity(&self, by: &MsUser, limit: i64) -> Result<Vec<MsActivity>, StoreError> {
        use crate::schema::audit_log as log;
        self.store.tx(|c| {
            require_huvudansvarig(c, by)?;
            Store::ms_audit(
                c,
                &AuditActor::Anvandare(by.id.clone()),
                Some(by.kommun),
                "mina-sidor:aktivitetslogg",
                None,
                Outcome::Ok,
            )
        })?;
        let mut c = self.store.connection()?;
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
    pub fn users(&self, kommun: Kommunkod) -> Result<Vec<MsUser>, StoreError> {
        let mut c = self.store.connection()?;
        let rows: Vec<UserRow> = usr::table
            .filter(usr::kommunkod.eq(kommun.to_string()))
            .order((usr::roll.desc(), usr::epost.asc()))
            .load(&mut *c)?;
        load_users(rows)
    }

    /// Activates or deactivates a user of the huvudansvarig's own kommun; a
    /// deactivated user's sessions end at once. Another kommun's user is `NotFound`.
    pub fn set_user_active(
        &self,
        by: &MsUser,
        user_id: &str,
        active: bool,
    ) -> Result<(), StoreError> {
        self.store.tx(|c| {
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
            Store::ms_audit(
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

    /// The person's other active accounts (in other kommuner), for switching kommun.
    pub fn other_accounts(&self, user: &MsUser) -> Result<Vec<MsUser>, StoreError> {
        let mut c = self.store.connection()?;
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
}

/// Makes the person's account in the kommun active with `roll` and `epost`, creating it
/// if there is none: Af's bootstrap command only (an invitation never changes an account).
pub(super) fn upsert_user(
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

pub(super) fn insert_user(
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
pub(super) fn account_of(
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

pub(super) fn active_huvudansvariga(
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

pub(super) fn user_by_id(c: &mut crate::DbConnection, id: &str) -> Result<MsUser, StoreError> {
    usr::table
        .find(id)
        .first::<UserRow>(c)
        .optional()?
        .ok_or(StoreError::NotFound)?
        .try_into()
}

/// The store's own check that `by` is an active huvudansvarig, read inside the
/// transaction (a session may be older than a deactivation).
/// One entry of the activity log ([`MinaSidorStore::activity`]).
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

pub(super) fn require_huvudansvarig(
    c: &mut crate::DbConnection,
    by: &MsUser,
) -> Result<(), StoreError> {
    let current = user_by_id(c, &by.id)?;
    if current.active && current.roll == Roll::Huvudansvarig && current.kommun == by.kommun {
        Ok(())
    } else {
        Err(StoreError::Conflict(
            "endast huvudansvarig får administrera användare",
        ))
    }
}
