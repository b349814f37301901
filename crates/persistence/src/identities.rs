//! Pseudonymised identities: the only table that holds personnummer, looked up by a
//! keyed HMAC-SHA256 and kept encrypted with AES-256-GCM (the pseudonym as associated
//! data, so a ciphertext cannot be moved to another row).

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use komvux_domain::Personnummer;
use rand::RngCore;
use sha2::Sha256;

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::identities;

/// The random id that stands for a person everywhere but the identity table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pseudonym(String);

impl Pseudonym {
    pub(crate) fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub(crate) fn from_db(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two keys of the identity table. Never printed.
pub struct IdentityKeys {
    /// The HMAC with its key already absorbed: each lookup hash clones it instead of
    /// hashing the key's two pads anew.
    hmac: Hmac<Sha256>,
    cipher: Aes256Gcm,
    dev: bool,
}

impl fmt::Debug for IdentityKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeys")
            .field("dev", &self.dev)
            .finish_non_exhaustive()
    }
}

/// Why configured keys were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{0} must be 64 hexadecimal characters (32 random bytes)")]
    Malformed(&'static str),
    #[error("the HMAC key and the encryption key must differ")]
    SameKeys,
}

const DEV_HMAC_KEY: &str = "6465762d6f6e6c792d686d61632d6b65792d6e6f742d666f722d70726f642121";
const DEV_ENC_KEY: &str = "6465762d6f6e6c792d656e632d6b65792d2d6e6f742d666f722d70726f642121";

impl IdentityKeys {
    /// Keys from configuration: each exactly 32 bytes as 64 hex characters.
    pub fn from_hex(
        hmac_key: Option<&str>,
        encryption_key: Option<&str>,
    ) -> Result<Self, KeyError> {
        let decode = |v: Option<&str>, name: &'static str| -> Result<[u8; 32], KeyError> {
            let v = v
                .filter(|s| !s.trim().is_empty())
                .ok_or(KeyError::Missing(name))?;
            let bytes = hex::decode(v.trim()).map_err(|_| KeyError::Malformed(name))?;
            <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Malformed(name))
        };
        let h = decode(hmac_key, "identity HMAC key")?;
        let e = decode(encryption_key, "identity encryption key")?;
        if h == e {
            return Err(KeyError::SameKeys);
        }
        // The public dev keys stay recognisable however they were configured.
        let dev = hmac_key.is_some_and(|k| k.trim().eq_ignore_ascii_case(DEV_HMAC_KEY));
        Ok(Self::from_bytes(h, e, dev))
    }

    /// Fixed, publicly known keys. DEV ONLY: for the test environment and tests, where
    /// only Skatteverket's test personnummer are accepted. `is_dev()` tells, so that a
    /// production start can refuse them.
    pub fn insecure_dev_keys() -> Self {
        let mut k = Self::from_hex(Some(DEV_HMAC_KEY), Some(DEV_ENC_KEY))
            .unwrap_or_else(|_| Self::from_bytes([1; 32], [2; 32], true));
        k.dev = true;
        k
    }

    /// Fresh random keys as hex, for an operator to put in configuration.
    pub fn generate_hex() -> (String, String) {
        let mut h = [0u8; 32];
        let mut e = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut h);
        rand::rngs::OsRng.fill_bytes(&mut e);
        (hex::encode(h), hex::encode(e))
    }

    fn from_bytes(hmac: [u8; 32], enc: [u8; 32], dev: bool) -> Self {
        Self {
            hmac: <Hmac<Sha256> as Mac>::new_from_slice(&hmac)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
            cipher: Aes256Gcm::new(&enc.into()),
            dev,
        }
    }

    pub fn is_dev(&self) -> bool {
        self.dev
    }

    /// The MAC of a feed cursor's text (domain-separated from the lookup hashes, whose
    /// input is digits only).
    pub(crate) fn cursor_mac(&self, text: &str) -> [u8; crate::feeds::MAC_BYTES] {
        let mut mac = self.hmac.clone();
        mac.update(b"cursor:");
        mac.update(text.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; crate::feeds::MAC_BYTES];
        out.copy_from_slice(&full[..crate::feeds::MAC_BYTES]);
        out
    }

    pub(crate) fn lookup_hash(&self, p: &Personnummer) -> String {
        let mut mac = self.hmac.clone();
        mac.update(&p.expose_digits());
        hex::encode(mac.finalize().into_bytes())
    }

    pub(crate) fn encrypt(
        &self,
        p: &Personnummer,
        pseudonym: &Pseudonym,
    ) -> Result<Vec<u8>, StoreError> {
        self.encrypt_bound(p, pseudonym.as_str().as_bytes())
    }

    /// Encrypts a personnummer bound to `aad`: the ciphertext opens only with the same
    /// `aad` (the identity row's pseudonym, or a Mina sidor person reference's id).
    pub(crate) fn encrypt_bound(
        &self,
        p: &Personnummer,
        aad: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: p.expose().as_bytes(),
                    aad,
                },
            )
            .map_err(|_| StoreError::Crypto("encryption failed"))?;
        Ok([nonce.as_slice(), &ct].concat())
    }

    fn decrypt(&self, bytes: &[u8], pseudonym: &Pseudonym) -> Result<Personnummer, StoreError> {
        self.decrypt_bound(bytes, pseudonym.as_str().as_bytes())
    }

    /// Opens what [`Self::encrypt_bound`] sealed with the same `aad`.
    pub(crate) fn decrypt_bound(
        &self,
        bytes: &[u8],
        aad: &[u8],
    ) -> Result<Personnummer, StoreError> {
        if bytes.len() < 12 {
            return Err(StoreError::Crypto("ciphertext too short"));
        }
        let (nonce, ct) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| StoreError::Crypto("decryption failed (wrong key or altered row)"))?;
        let s = std::str::from_utf8(&plain).map_err(|_| StoreError::Crypto("not UTF-8"))?;
        Personnummer::parse(s).map_err(|_| StoreError::Crypto("not a personnummer"))
    }
}

pub(crate) fn decrypt_with(
    keys: &IdentityKeys,
    ciphertext: &[u8],
    pseudonym: &Pseudonym,
) -> Result<Personnummer, StoreError> {
    keys.decrypt(ciphertext, pseudonym)
}

/// The pseudonym of a person, if the gateway has seen them.
pub(crate) fn find(
    conn: &mut DbConnection,
    keys: &IdentityKeys,
    p: &Personnummer,
) -> Result<Option<Pseudonym>, StoreError> {
    let hash = keys.lookup_hash(p);
    let found = identities::table
        .filter(identities::lookup_hash.eq(hash))
        .select(identities::pseudonym)
        .first::<String>(conn)
        .optional()?;
    Ok(found.map(Pseudonym))
}

/// The pseudonym of a person about to be written about, created on first sight, and
/// the person marked active (see [`touch`]). Safe against a concurrent creator: the
/// insert runs in a savepoint and a lost race reads the winner's row.
pub(crate) fn ensure(
    conn: &mut DbConnection,
    keys: &IdentityKeys,
    p: &Personnummer,
    now: i64,
) -> Result<Pseudonym, StoreError> {
    let query = identities::table
        .filter(identities::lookup_hash.eq(keys.lookup_hash(p)))
        .select((identities::pseudonym, identities::last_activity_at));
    let known =
        crate::connection::on_backend!(conn, |c| query.first::<(String, i64)>(c).optional())?;
    if let Some((found, last_activity_at)) = known {
        let found = Pseudonym(found);
        // The update only when it changes something: most writes about a person come
        // within the hour of the one before, and each UPDATE is a statement more.
        if last_activity_at < now - TOUCH_INTERVAL_MICROS {
            touch(conn, &found, now)?;
        }
        return Ok(found);
    }
    let pseudonym = Pseudonym::new_random();
    let ciphertext = keys.encrypt(p, &pseudonym)?;
    let inserted = conn.transaction(|c| {
        diesel::insert_into(identities::table)
            .values((
                identities::pseudonym.eq(pseudonym.as_str()),
                identities::lookup_hash.eq(keys.lookup_hash(p)),
                identities::ciphertext.eq(&ciphertext),
                identities::skyddade_personuppgifter.eq(false),
                identities::created_at.eq(now),
                identities::last_activity_at.eq(now),
            ))
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(pseudonym),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => find(conn, keys, p)?.ok_or(StoreError::NotFound),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn is_skyddad(
    conn: &mut DbConnection,
    pseudonym: &Pseudonym,
) -> Result<bool, StoreError> {
    Ok(identities::table
        .find(pseudonym.as_str())
        .select(identities::skyddade_personuppgifter)
        .first(conn)?)
}

pub(crate) fn set_skyddad(
    conn: &mut DbConnection,
    pseudonym: &Pseudonym,
    skyddad: bool,
) -> Result<(), StoreError> {
    diesel::update(identities::table.find(pseudonym.as_str()))
        .set(identities::skyddade_personuppgifter.eq(skyddad))
        .execute(conn)?;
    Ok(())
}

/// At most once an hour per person: gallring counts in years, and an update on every
/// message would lock the person's row in every concurrent write.
const TOUCH_INTERVAL_MICROS: i64 = 3_600 * 1_000_000;

/// Marks a person active now, unless that was done within [`TOUCH_INTERVAL_MICROS`].
pub(crate) fn touch(
    conn: &mut DbConnection,
    pseudonym: &Pseudonym,
    now: i64,
) -> Result<(), StoreError> {
    diesel::update(
        identities::table
            .find(pseudonym.as_str())
            .filter(identities::last_activity_at.lt(now - TOUCH_INTERVAL_MICROS)),
    )
    .set(identities::last_activity_at.eq(now))
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_given_and_well_formed() {
        assert_eq!(
            IdentityKeys::from_hex(None, Some(DEV_ENC_KEY)).unwrap_err(),
            KeyError::Missing("identity HMAC key")
        );
        assert_eq!(
            IdentityKeys::from_hex(Some("abcd"), Some(DEV_ENC_KEY)).unwrap_err(),
            KeyError::Malformed("identity HMAC key")
        );
        assert_eq!(
            IdentityKeys::from_hex(Some(DEV_ENC_KEY), Some(DEV_ENC_KEY)).unwrap_err(),
            KeyError::SameKeys
        );
        let (h, e) = IdentityKeys::generate_hex();
        let k = IdentityKeys::from_hex(Some(&h), Some(&e)).unwrap();
        assert!(!k.is_dev());
        assert!(IdentityKeys::insecure_dev_keys().is_dev());
    }

    #[test]
    fn ciphertext_is_bound_to_its_pseudonym() {
        let k = IdentityKeys::insecure_dev_keys();
        let p = Personnummer::parse("201212121212").unwrap();
        let a = Pseudonym::new_random();
        let ct = k.encrypt(&p, &a).unwrap();
        assert_eq!(k.decrypt(&ct, &a).unwrap(), p);
        assert!(k.decrypt(&ct, &Pseudonym::new_random()).is_err());
        assert!(!String::from_utf8_lossy(&ct).contains("201212121212"));
    }

    #[test]
    fn lookup_hash_is_keyed() {
        let p = Personnummer::parse("201212121212").unwrap();
        let (h, e) = IdentityKeys::generate_hex();
        let other = IdentityKeys::from_hex(Some(&h), Some(&e)).unwrap();
        assert_ne!(
            IdentityKeys::insecure_dev_keys().lookup_hash(&p),
            other.lookup_hash(&p)
        );
        // HMAC-SHA256 of the twelve digits under the dev key, as stored databases have
        // it (computed apart): a change here would lose every stored person.
        assert_eq!(
            IdentityKeys::insecure_dev_keys().lookup_hash(&p),
            "0592a0bb422681a4b7ac25919d0f0866420f5bb705f7be32c31e9da5416d69c0"
        );
    }
}
