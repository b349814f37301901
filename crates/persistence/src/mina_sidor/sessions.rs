//! Browser sessions and BankID logins in progress.

use super::*;

impl MinaSidorStore<'_> {
    /// The active users a BankID identity may log in as (one per kommun), with the name
    /// BankID gave recorded on each. The attempt is audited, also when it is refused.
    pub fn login_users(
        &self,
        personnummer: &Personnummer,
        namn: &str,
    ) -> Result<Vec<MsUser>, StoreError> {
        let hash = self.store.person_hash(personnummer);
        self.store.tx(|c| {
            let rows: Vec<UserRow> = usr::table
                .filter(usr::person_hash.eq(&hash))
                .filter(usr::active.eq(true))
                .order(usr::kommunkod.asc())
                .load(c)?;
            let users = load_users(rows)?;
            if users.is_empty() {
                Store::ms_audit(
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

    /// Starts a session for a user who just logged in; returns the cookie token.
    pub fn create_session(&self, user: &MsUser) -> Result<String, StoreError> {
        let token = token();
        let hash = hash_secret(&token);
        self.store.tx(|c| {
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
            Store::ms_audit(
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
    pub fn session(&self, token: &str, idle_secs: i64) -> Result<Option<MsSession>, StoreError> {
        let hash = hash_secret(token);
        let mut c = self.store.connection()?;
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

    /// Moves a logged-in person to their account in another kommun: the old session
    /// ends and a new one starts, if `target` is an active account of the same person.
    /// Returns the new cookie token, or `None` when `target` is not theirs.
    pub fn switch_account(
        &self,
        session_token: &str,
        user: &MsUser,
        target: &str,
    ) -> Result<Option<String>, StoreError> {
        let Some(other) = self
            .other_accounts(user)?
            .into_iter()
            .find(|u| u.id == target)
        else {
            return Ok(None);
        };
        self.end_session(session_token)?;
        self.create_session(&other).map(Some)
    }

    /// Logs out: the session is gone.
    /// Ends every session of `user` (all browsers and devices), audited.
    pub fn end_all_sessions(&self, user: &MsUser) -> Result<usize, StoreError> {
        self.store.tx(|c| {
            let n = diesel::delete(sess::table.filter(sess::user_id.eq(&user.id))).execute(c)?;
            Store::ms_audit(
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

    pub fn end_session(&self, token: &str) -> Result<(), StoreError> {
        let mut c = self.store.connection()?;
        diesel::delete(sess::table.find(hash_secret(token))).execute(&mut *c)?;
        Ok(())
    }

    /// Remembers a BankID order for the browser that started it; returns the cookie
    /// token. `invitation_token` binds the login to an invitation to register.
    pub fn start_login(
        &self,
        order_ref: &str,
        auto_start_token: &str,
        qr_start_token: &str,
        qr_start_secret: &str,
        invitation_token: Option<&str>,
    ) -> Result<String, StoreError> {
        let token = token();
        let mut c = self.store.connection()?;
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
    pub fn pending_login(&self, token: &str) -> Result<Option<PendingLogin>, StoreError> {
        let mut c = self.store.connection()?;
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
    pub fn end_login(&self, token: &str) -> Result<(), StoreError> {
        let mut c = self.store.connection()?;
        diesel::delete(login::table.find(hash_secret(token))).execute(&mut *c)?;
        Ok(())
    }
}
