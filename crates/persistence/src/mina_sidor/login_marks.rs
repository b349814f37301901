//! "Nya utbildningsbeslut sedan din senaste inloggning": at each login the decision
//! feed's head is noted for the user (`ms_login_marks`), and the start page counts the
//! kommun's decisions after the head of the login before, in the feed the API serves.

use diesel::prelude::*;

use super::MinaSidorStore;
use super::MsUser;
use crate::DbConnection;
use crate::error::StoreError;
use crate::feeds::{self, Cursor, FeedName};
use crate::lists::beslut_feed;
use crate::schema::ms_login_marks as mark;

/// How far the start page counts new decisions.
pub const NEW_BESLUT_COUNT_LIMIT: u64 = 999;

/// The kommun's decisions since the user's login before this one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBeslut {
    /// Where the decision feed continues from that login (bound to the kommun, as the
    /// API hands cursors out).
    pub efter: Cursor,
    /// How many came after it, counted up to [`NEW_BESLUT_COUNT_LIMIT`] (`fler` beyond).
    pub antal: u64,
    pub fler: bool,
}

/// Notes a login: the previous login's head moves back, the feed's head is the latest.
pub(super) fn note_login(c: &mut DbConnection, user_id: &str, at: i64) -> Result<(), StoreError> {
    let head = feeds::head(c, FeedName::Utbildningsbeslut)?;
    let latest: Option<i64> = mark::table
        .find(user_id)
        .select(mark::latest_pos)
        .first(c)
        .optional()?;
    match latest {
        Some(latest) => diesel::update(mark::table.find(user_id))
            .set((
                mark::previous_pos.eq(Some(latest)),
                mark::latest_pos.eq(head),
                mark::updated_at.eq(at),
            ))
            .execute(c)?,
        None => diesel::insert_into(mark::table)
            .values((
                mark::user_id.eq(user_id),
                mark::previous_pos.eq(None::<i64>),
                mark::latest_pos.eq(head),
                mark::updated_at.eq(at),
            ))
            .execute(c)?,
    };
    Ok(())
}

impl MinaSidorStore<'_> {
    /// The kommun's decisions since `user`'s login before this one; `None` at a first
    /// login. A count of positions in the feed's index (no personal data is read, so
    /// nothing is audited; reading the decisions is, through the feed).
    pub fn new_beslut(&self, user: &MsUser) -> Result<Option<NewBeslut>, StoreError> {
        let mut c = self.store.connection()?;
        let previous: Option<Option<i64>> = mark::table
            .find(&user.id)
            .select(mark::previous_pos)
            .first(&mut *c)
            .optional()?;
        let Some(Some(position)) = previous else {
            return Ok(None);
        };
        let found: Vec<String> = beslut_feed!(user.kommun.to_string(), position)
            .select(crate::schema::messages::id)
            .limit(NEW_BESLUT_COUNT_LIMIT as i64 + 1)
            .load(&mut *c)?;
        let keys = self.store.keys();
        let tag = FeedName::Utbildningsbeslut.tag();
        let mac = keys.cursor_mac(&feeds::bound_text(tag, user.kommun, position));
        Ok(Some(NewBeslut {
            efter: Cursor::bound_utbildningsbeslut(user.kommun, position, mac),
            antal: (found.len() as u64).min(NEW_BESLUT_COUNT_LIMIT),
            fler: found.len() as u64 > NEW_BESLUT_COUNT_LIMIT,
        }))
    }
}
