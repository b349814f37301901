//! Clients of the public API (register, authenticate, rotate, revoke) and the test
//! environment's reset.

use super::*;

impl Store {
    /// Registers a client; the secret is returned once and only its hash is kept.
    pub fn add_client(
        &self,
        client_id: Option<&str>,
        name: &str,
        organisationsnummer: Organisationsnummer,
        kommuner: &BTreeSet<Kommunkod>,
    ) -> Result<(Client, ClientSecret), StoreError> {
        self.tx(|c| {
            let t = now();
            let out = clients::add(c, client_id, name, organisationsnummer, kommuner, t)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::System("client-admin".into()),
                    kommun: None,
                    person: None,
                    action: "klient:skapa",
                    target: Some(&out.0.client_id),
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok(out)
        })
    }

    pub fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let mut c = self.conn()?;
        clients::get(&mut c, client_id)
    }

    pub fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let mut c = self.conn()?;
        clients::list(&mut c)
    }

    pub(super) fn auth_key(
        client_id: &str,
        secret: &str,
        certificate_org: Organisationsnummer,
    ) -> AuthKey {
        use sha2::Digest;
        (
            client_id.to_owned(),
            sha2::Sha256::digest(secret.as_bytes()).into(),
            certificate_org,
        )
    }

    /// [`Store::authenticate_client`] from its cache alone, without the database: for
    /// an async caller, which only needs a blocking thread when this says `None`.
    pub fn authenticate_client_cached(
        &self,
        client_id: &str,
        secret: &str,
        certificate_org: Organisationsnummer,
    ) -> Option<Client> {
        self.inner
            .auth_cache
            .get(&Self::auth_key(client_id, secret, certificate_org))
    }

    /// The active client these credentials and this certificate organisation belong
    /// to; `None` for every kind of mismatch.
    pub fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
        certificate_org: Organisationsnummer,
    ) -> Result<Option<Client>, StoreError> {
        let key = Self::auth_key(client_id, secret, certificate_org);
        if let Some(client) = self.inner.auth_cache.get(&key) {
            return Ok(Some(client));
        }
        let mut c = self.conn()?;
        let found = clients::authenticate(&mut c, client_id, secret, certificate_org, now())?;
        if let Some(client) = &found {
            self.inner.auth_cache.put(key, client.clone());
        }
        Ok(found)
    }

    /// A new secret; the previous one keeps working for `overlap`.
    pub fn rotate_client_secret(
        &self,
        client_id: &str,
        overlap: std::time::Duration,
    ) -> Result<ClientSecret, StoreError> {
        let overlap = i64::try_from(overlap.as_micros()).unwrap_or(i64::MAX / 4);
        self.inner.auth_cache.forget(client_id);
        let result = self.tx(|c| {
            let t = now();
            let s = clients::rotate_secret(c, client_id, overlap, t)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::System("client-admin".into()),
                    kommun: None,
                    person: None,
                    action: "klient:rotera",
                    target: Some(client_id),
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok(s)
        });
        // Again after commit: a check that ran meanwhile may have cached the old state.
        self.inner.auth_cache.forget(client_id);
        result
    }

    /// Revokes (or reinstates) a client.
    pub fn set_client_active(&self, client_id: &str, active: bool) -> Result<(), StoreError> {
        self.inner.auth_cache.forget(client_id);
        let result = self.tx(|c| {
            let t = now();
            clients::set_active(c, client_id, active, t)?;
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::System("client-admin".into()),
                    kommun: None,
                    person: None,
                    action: if active {
                        "klient:aterstall"
                    } else {
                        "klient:aterkalla"
                    },
                    target: Some(client_id),
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok(())
        });
        self.inner.auth_cache.forget(client_id);
        result
    }

    /// Test environment: deletes the messages of `kommuner` (kommun messages,
    /// utbildningsbehov by hemkommun, utbildningsbeslut) and the etableringsprogram
    /// statements `testdata_actor` made; a statement of someone else that one of those
    /// replaced is current again. Other kommuner's data is untouched.
    pub fn reset_testdata(
        &self,
        client_id: &str,
        kommuner: &BTreeSet<Kommunkod>,
        testdata_actor: &str,
    ) -> Result<u64, StoreError> {
        let codes: Vec<String> = kommuner.iter().map(Kommunkod::to_string).collect();
        self.tx(|c| {
            let t = now();
            super::receipts::erase(c, super::receipts::ErasedOf::Kommuner(&codes))?;
            let n = diesel::delete(msg::table.filter(msg::kommunkod.eq_any(&codes))).execute(c)?;
            let etab = MessageKind::Etableringsprogram.as_str();
            let persons: Vec<String> = msg::table
                .filter(msg::kind.eq(etab))
                .filter(msg::actor.eq(testdata_actor))
                .select(msg::person)
                .distinct()
                .load(c)?;
            let m = diesel::delete(
                msg::table
                    .filter(msg::kind.eq(etab))
                    .filter(msg::actor.eq(testdata_actor)),
            )
            .execute(c)?;
            // The statements the client's replaced (Af's, another client's) come back:
            // a person left with no current statement gets the newest remaining one.
            for person in &persons {
                let current: i64 = msg::table
                    .filter(msg::kind.eq(etab))
                    .filter(msg::person.eq(person))
                    .filter(msg::aktuell.eq(true))
                    .count()
                    .get_result(c)?;
                if current > 0 {
                    continue;
                }
                let newest: Option<String> = msg::table
                    .filter(msg::kind.eq(etab))
                    .filter(msg::person.eq(person))
                    .order((msg::mottaget.desc(), msg::id.desc()))
                    .select(msg::id)
                    .first(c)
                    .optional()?;
                if let Some(id) = newest {
                    diesel::update(msg::table.find(&id))
                        .set((msg::aktuell.eq(true), msg::ersatt_av.eq(None::<String>)))
                        .execute(c)?;
                }
            }
            let target = codes.join(",");
            audit::append(
                c,
                &AuditEvent {
                    actor: &AuditActor::Client(client_id.to_owned()),
                    kommun: kommuner.iter().next().copied(),
                    person: None,
                    action: "testdata:aterstall",
                    target: Some(&target),
                    outcome: Outcome::Ok,
                },
                t,
            )?;
            Ok((n + m) as u64)
        })
    }
}
