//! Single-use invitations: sent by a huvudansvarig, withdrawn, resent, accepted once by the invited person.

use super::*;

impl MinaSidorStore<'_> {
    /// The kommun's invitations that can still be used, newest first.
    pub fn open_invitations(&self, kommun: Kommunkod) -> Result<Vec<Invitation>, StoreError> {
        let mut c = self.store.connection()?;
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

    /// Invites a person (by personnummer and e-mail) to the inviter's kommun. Only an
    /// active huvudansvarig may, and only a person with no account and no open
    /// invitation in the kommun (an invitation never changes an account). Returns the
    /// token for the link (shown once).
    pub fn invite(
        &self,
        by: &MsUser,
        personnummer: &Personnummer,
        epost: &str,
        roll: Roll,
        ttl_secs: i64,
    ) -> Result<Result<String, InviteRefusal>, StoreError> {
        let token = token();
        let hash = hash_secret(&token);
        let person = self.store.person_hash(personnummer);
        self.store.tx(|c| {
            require_huvudansvarig(c, by)?;
            let t = now();
            if let Some(refusal) = invite_refusal(c, by.kommun, &person, t)? {
                Store::ms_audit(
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
            Store::ms_audit(
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
    pub fn withdraw_invitation(&self, by: &MsUser, id: &str) -> Result<(), StoreError> {
        self.store.tx(|c| {
            require_huvudansvarig(c, by)?;
            withdraw_open(c, by.kommun, id, now())?;
            Store::ms_audit(
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
    pub fn resend_invitation(
        &self,
        by: &MsUser,
        id: &str,
        ttl_secs: i64,
    ) -> Result<(String, String), StoreError> {
        let token = token();
        let hash = hash_secret(&token);
        self.store.tx(|c| {
            require_huvudansvarig(c, by)?;
            let t = now();
            let (person, epost, roll) = withdraw_open(c, by.kommun, id, t)?;
            let roll =
                Roll::parse(&roll).ok_or_else(|| StoreError::Corrupt(format!("roll {roll}")))?;
            insert_invitation(c, &hash, by, &person, &epost, roll, t, ttl_secs)?;
            Store::ms_audit(
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
    pub fn invitation(
        &self,
        token: &str,
    ) -> Result<Result<Invitation, InvitationRefusal>, StoreError> {
        let mut c = self.store.connection()?;
        let row = find_invitation(&mut c, &hash_secret(token))?;
        Ok(check_invitation(row, now()).map(|(i, _)| i))
    }

    /// Registers the BankID identity with the invitation (by its hash, as kept in the
    /// pending login): single use, not expired, and for this person only.
    pub fn accept_invitation(
        &self,
        invitation_hash: &str,
        personnummer: &Personnummer,
        namn: &str,
    ) -> Result<Result<MsUser, InvitationRefusal>, StoreError> {
        let person = self.store.person_hash(personnummer);
        self.store.tx(|c| {
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
                    Store::ms_audit(
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
                Store::ms_audit(
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
            Store::ms_audit(
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
}

/// Why the person cannot be invited to the kommun at `t`, if there is a reason.
pub(super) fn invite_refusal(
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
pub(super) fn insert_invitation(
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
pub(super) fn withdraw_open(
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

pub(super) fn find_invitation(
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
pub(super) fn check_invitation(
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

pub(super) type InvitationRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);
