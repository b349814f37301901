//! The audited lists and feeds: Tabell 2 (plain, narrowed), the decision feed, the
//! kommun's sent messages, Af's handelser. Each is read in index order (`crate::lists`).

use super::lookups::{with_writers, writer_names};
use super::*;
use crate::messages::corrupt;
use crate::records::UtbildningsbehovAndring;
use komvux_domain::Tidpunkt;

impl Store {
    /// Tabell 2: active utbildningsbehov of the kommun's residents, oldest first.
    pub fn aktiva_utbildningsbehov(
        &self,
        reader: &Reader,
        hemkommun: Kommunkod,
        page: u32,
        limit: u32,
    ) -> Read<Page<UtbildningsbehovRecord>> {
        self.tabell2_narrowed(reader, hemkommun, Tabell2Filter::default(), page, limit)
    }

    /// Tabell 2 read by its index walk (see [`Self::aktiva_utbildningsbehov`]).
    fn tabell2_walked(
        &self,
        c: &mut DbConnection,
        buf: &mut AuditBuf,
        reader: &Reader,
        hemkommun: Kommunkod,
        page: u32,
        limit: u32,
    ) -> Result<Page<UtbildningsbehovRecord>, StoreError> {
        let today = messages::today().to_string();
        let offset = i64::from(page - 1) * i64::from(limit);
        // The valid entries' count and the oldest one's mottaget from the range of
        // messages_tabell2_valid, then the page's walk in messages_tabell2 from
        // there, so years of expired anvisningar before it are never read
        // (docs/performance.md).
        let (total, frontier): (i64, Option<i64>) = tabell2!(hemkommun.to_string(), today.clone())
            .select((diesel::dsl::count_star(), diesel::dsl::min(msg::mottaget)))
            .get_result(c)?;
        let ids = match frontier {
            None => Vec::new(),
            Some(frontier) => crate::lists::tabell2_page_ids(
                c,
                &hemkommun.to_string(),
                &today,
                frontier,
                i64::from(limit),
                offset,
            )?,
        };
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let data = self.tabell2_entries(c, buf, reader, hemkommun, &ids)?;
        Ok(Page {
            data,
            page,
            limit,
            total: total.max(0) as u64,
        })
    }

    /// A page of Tabell 2 by its ids, in their order: revealed and audited as a read of
    /// the persons on it (`lista:utbildningsbehov`).
    fn tabell2_entries(
        &self,
        c: &mut DbConnection,
        buf: &mut AuditBuf,
        reader: &Reader,
        hemkommun: Kommunkod,
        ids: &[&str],
    ) -> Result<Vec<UtbildningsbehovRecord>, StoreError> {
        let mut rows: Vec<MessageRow> = msg::table.filter(msg::id.eq_any(ids)).load(c)?;
        let order: std::collections::HashMap<&str, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        rows.sort_by_key(|r| order.get(r.id.as_str()).copied());
        let revealed = messages::reveal_rows(c, &self.inner.keys, rows)?;
        Self::audit_revealed(
            c,
            buf,
            reader,
            "lista:utbildningsbehov",
            Some(hemkommun),
            &revealed,
        )?;
        revealed
            .into_iter()
            .map(Revealed::into_utbildningsbehov)
            .collect()
    }

    /// Tabell 2 narrowed by skolform and anvisningsdatum, or in another order (Mina
    /// sidor's filters; a plain filter is the API's list, by the index walk). Both
    /// live in the entry's body, so this reads the body of every valid entry of the
    /// kommun (the range of `messages_tabell2_valid`: the active set, however many
    /// years of expired anvisningar lie before it), filters and orders them in memory,
    /// and reveals and audits the page's entries only (`lista:utbildningsbehov`).
    pub fn tabell2_narrowed(
        &self,
        reader: &Reader,
        hemkommun: Kommunkod,
        filter: Tabell2Filter,
        page: u32,
        limit: u32,
    ) -> Read<Page<UtbildningsbehovRecord>> {
        if !reader.may_see(Some(&hemkommun.to_string())) {
            return Read::ready(Err(StoreError::OtillatenKommun(hemkommun)));
        }
        let page = page.max(1);
        let limit = limit.clamp(1, 100);
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            if filter.is_plain() {
                return store.tabell2_walked(c, buf, &reader, hemkommun, page, limit);
            }
            let today = messages::today().to_string();
            let entries: Vec<(String, i64, String)> = tabell2!(hemkommun.to_string(), today)
                .select((msg::id, msg::mottaget, msg::payload))
                .load(c)?;
            let mut kept: Vec<(String, i64, String, String)> = entries
                .into_iter()
                .filter_map(|(id, mottaget, payload)| {
                    let body: serde_json::Value = serde_json::from_str(&payload).ok()?;
                    let text = |k: &str| {
                        body.get(k)
                            .and_then(|v| v.as_str())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let (anvisad, tom) = (text("anvisningsdatum"), text("giltig_tom"));
                    let skolform_ok = filter.skolform.as_deref().is_none_or(|s| {
                        body.get("skolformer")
                            .and_then(|v| v.as_array())
                            .is_some_and(|a| a.iter().any(|f| f.as_str() == Some(s)))
                    });
                    let fran_ok = filter
                        .anvisad_fran
                        .as_deref()
                        .is_none_or(|f| anvisad.as_str() >= f);
                    let till_ok = filter
                        .anvisad_till
                        .as_deref()
                        .is_none_or(|t| anvisad.as_str() <= t);
                    (skolform_ok && fran_ok && till_ok).then_some((id, mottaget, anvisad, tom))
                })
                .collect();
            match filter.ordning {
                Tabell2Ordning::Mottaget => kept.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0))),
                Tabell2Ordning::NyastAnvisning => {
                    kept.sort_by(|a, b| (&b.2, b.1, &b.0).cmp(&(&a.2, a.1, &a.0)));
                }
                Tabell2Ordning::GiltigTomForst => {
                    kept.sort_by(|a, b| (&a.3, a.1, &a.0).cmp(&(&b.3, b.1, &b.0)));
                }
            }
            let total = kept.len() as u64;
            let start = ((page - 1) as usize)
                .saturating_mul(limit as usize)
                .min(kept.len());
            let end = (start + limit as usize).min(kept.len());
            let wanted: Vec<&str> = kept[start..end].iter().map(|k| k.0.as_str()).collect();
            let data = store.tabell2_entries(c, buf, &reader, hemkommun, &wanted)?;
            Ok(Page {
                data,
                page,
                limit,
                total,
            })
        })
    }

    /// The kommun's utbildningsbeslut feed after `after`: every version in commit order.
    pub fn utbildningsbeslut_feed(
        &self,
        reader: &Reader,
        kommun: Kommunkod,
        after: Cursor,
        limit: u32,
    ) -> Read<Feed<UtbildningsbeslutRecord>> {
        if !reader.may_see(Some(&kommun.to_string())) {
            return Read::ready(Err(StoreError::OtillatenKommun(kommun)));
        }
        let limit = limit.clamp(1, 1000);
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            let feed_name = crate::feeds::FeedName::Utbildningsbeslut;
            store.check_kommun_cursor(c, feed_name, kommun, after)?;
            let rows: Vec<MessageRow> = beslut_feed!(kommun.to_string(), after.position())
                .limit(i64::from(limit))
                .load(c)?;
            let last = rows.last().and_then(|r| r.beslut_pos);
            let next = store.kommun_cursor(feed_name, kommun, after, last);
            let revealed = messages::reveal_rows(c, &store.inner.keys, rows)?;
            Self::audit_revealed(
                c,
                buf,
                &reader,
                "flode:utbildningsbeslut",
                Some(kommun),
                &revealed,
            )?;
            let data = revealed
                .into_iter()
                .map(|r| {
                    // A feed entry shows the version it stands for, not only the newest.
                    Revealed::into_utbildningsbeslut(r)
                })
                .collect::<Result<_, _>>()?;
            Ok(Feed { data, efter: next })
        })
    }

    /// Tabell 2's change feed of `hemkommun` after `after`: every version of its
    /// residents' utbildningsbehov in commit order (aktiv, avslutad, utgangen). The
    /// versions in force are revealed and audited as a read of their persons
    /// (`flode:utbildningsbehov`); an ended one carries no personal data.
    pub fn utbildningsbehov_andringar(
        &self,
        reader: &Reader,
        hemkommun: Kommunkod,
        after: Cursor,
        limit: u32,
    ) -> Read<Feed<UtbildningsbehovAndring>> {
        if !reader.may_see(Some(&hemkommun.to_string())) {
            return Read::ready(Err(StoreError::OtillatenKommun(hemkommun)));
        }
        let limit = limit.clamp(1, 1000);
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            let feed_name = crate::feeds::FeedName::Utbildningsbehov;
            store.check_kommun_cursor(c, feed_name, hemkommun, after)?;
            let rows: Vec<MessageRow> = behov_feed!(hemkommun.to_string(), after.position())
                .limit(i64::from(limit))
                .load(c)?;
            let next = store.kommun_cursor(
                feed_name,
                hemkommun,
                after,
                rows.last().and_then(|r| r.behov_pos),
            );
            let aktiv = UtbildningsbehovStatus::Aktiv.as_str();
            let in_force: Vec<MessageRow> =
                rows.iter().filter(|r| r.status == aktiv).cloned().collect();
            let revealed = messages::reveal_rows(c, &store.inner.keys, in_force)?;
            Self::audit_revealed(
                c,
                buf,
                &reader,
                "flode:utbildningsbehov",
                Some(hemkommun),
                &revealed,
            )?;
            let mut revealed = revealed.into_iter();
            let time = |r: &MessageRow| {
                Tidpunkt::from_unix_micros(r.mottaget).ok_or_else(|| corrupt("time"))
            };
            let mut data = Vec::with_capacity(rows.len());
            for row in &rows {
                let entry = if row.status == aktiv {
                    let r = revealed.next().ok_or_else(|| corrupt("revealed rows"))?;
                    UtbildningsbehovAndring::Galler {
                        andrad: row.ersatter.is_some(),
                        tid: time(row)?,
                        record: r.into_utbildningsbehov()?,
                    }
                } else {
                    UtbildningsbehovAndring::Slut {
                        utbildningsbehov_id: row.record_id.clone(),
                        hemkommun,
                        status: UtbildningsbehovStatus::parse(&row.status).map_err(corrupt)?,
                        tid: time(row)?,
                    }
                };
                data.push(entry);
            }
            Ok(Feed { data, efter: next })
        })
    }

    /// Refuses a cursor of a kommun's feed that was not handed out for this kommun (or
    /// is of the older, unbound form of a feed that had one), or is beyond the feed's
    /// head: either would skip entries.
    fn check_kommun_cursor(
        &self,
        c: &mut DbConnection,
        feed: crate::feeds::FeedName,
        kommun: Kommunkod,
        after: Cursor,
    ) -> Result<(), StoreError> {
        let issued_here = match after.binding() {
            None => true,
            Some((k, mac)) => {
                let text = crate::feeds::bound_text(feed.tag(), k, after.position());
                k == kommun
                    && subtle::ConstantTimeEq::ct_eq(
                        &self.inner.keys.cursor_mac(&text)[..],
                        &mac[..],
                    )
                    .into()
            }
        };
        if !issued_here || after.position() > crate::feeds::head(c, feed)? {
            return Err(StoreError::InvalidCursor);
        }
        Ok(())
    }

    /// The bound cursor after a page of a kommun's feed whose last entry has position
    /// `last` (or none).
    fn kommun_cursor(
        &self,
        feed: crate::feeds::FeedName,
        kommun: Kommunkod,
        after: Cursor,
        last: Option<i64>,
    ) -> Cursor {
        let position = last.map_or(after.position(), |p| p.max(after.position()));
        let text = crate::feeds::bound_text(feed.tag(), kommun, position);
        Cursor::bound(feed, kommun, position, self.inner.keys.cursor_mac(&text))
    }

    /// The kommun's own messages, newest first, narrowed by `filter`, with who wrote
    /// each (Mina sidor's Skickade meddelanden, and its CSV export with `limit` up to
    /// [`SENT_COUNT_LIMIT`]). The ids come from an index walk of at most
    /// [`SENT_COUNT_LIMIT`] + 1 entries, which also gives the count; the page's rows
    /// are read by id. Audited as a read of the persons on the page (`lista:meddelanden`).
    pub fn kommun_sent_messages(
        &self,
        reader: &Reader,
        kommun: Kommunkod,
        filter: SentFilter,
        page: u32,
        limit: u32,
    ) -> Read<SentPage> {
        if !reader.may_see(Some(&kommun.to_string())) {
            return Read::ready(Err(StoreError::OtillatenKommun(kommun)));
        }
        let limit = limit.clamp(1, SENT_COUNT_LIMIT as u32);
        let last_page = (SENT_COUNT_LIMIT as u32).div_ceil(limit).max(1);
        let page = page.clamp(1, last_page);
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            let ids = sent_ids(c, kommun, &filter)?;
            let total_is_floor = ids.len() as u64 > SENT_COUNT_LIMIT;
            let start = ((page - 1) as usize * limit as usize).min(ids.len());
            let end = (start + limit as usize)
                .min(ids.len())
                .min(SENT_COUNT_LIMIT as usize);
            let wanted = &ids[start..end.max(start)];
            let mut rows: Vec<MessageRow> = Vec::with_capacity(wanted.len());
            for chunk in wanted.chunks(500) {
                rows.extend(
                    msg::table
                        .filter(msg::id.eq_any(chunk))
                        .load::<MessageRow>(c)?,
                );
            }
            let order: std::collections::HashMap<&str, usize> = wanted
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i))
                .collect();
            rows.sort_by_key(|r| order.get(r.id.as_str()).copied());
            let writers = writer_names(c, rows.iter().map(|r| r.actor.as_str()))?;
            let revealed = messages::reveal_rows(c, &store.inner.keys, rows)?;
            Self::audit_revealed(
                c,
                buf,
                &reader,
                "lista:meddelanden",
                Some(kommun),
                &revealed,
            )?;
            let data = with_writers(revealed, &writers)?;
            Ok(SentPage {
                data,
                page,
                limit,
                total: (ids.len() as u64).min(SENT_COUNT_LIMIT),
                total_is_floor,
            })
        })
    }

    /// Af's feed of every kommun message version, in commit order.
    pub fn handelser(
        &self,
        reader: &Reader,
        after: Cursor,
        limit: u32,
    ) -> Read<Feed<StoredMessage>> {
        let limit = limit.clamp(1, 1000);
        let reader = reader.clone();
        self.read_audited(move |store, c, buf| {
            // Messages committed before this read get their positions first.
            store.sequence_feed()?;
            let rows: Vec<MessageRow> = crate::lists::handelser_feed!(after.position())
                .limit(i64::from(limit))
                .load(c)?;
            let rows: Vec<MessageRow> = rows
                .into_iter()
                .filter(|r| reader.may_see(r.kommunkod.as_deref()))
                .collect();
            let next = rows
                .last()
                .and_then(|r| r.handelse_pos)
                .map_or(after, |p| after.advanced(p));
            let revealed = messages::reveal_rows(c, &store.inner.keys, rows)?;
            Self::audit_revealed(c, buf, &reader, "flode:handelser", None, &revealed)?;
            let data = revealed
                .into_iter()
                .map(Revealed::into_stored_message)
                .collect::<Result<_, _>>()?;
            Ok(Feed { data, efter: next })
        })
    }
}

/// The writers of messages by their stored names: Mina sidor users (`mina-sidor:<id>`)
/// by the name BankID gave, kommun systems by their client's name.
/// The ids of the kommun's messages that `filter` lets through, newest first, at most
/// [`SENT_COUNT_LIMIT`] + 1 (see [`Store::kommun_sent_messages`]).
fn sent_ids(
    c: &mut DbConnection,
    kommun: Kommunkod,
    filter: &SentFilter,
) -> Result<Vec<String>, StoreError> {
    type Backend = <DbConnection as diesel::Connection>::Backend;
    let k = kommun.to_string();
    let mut q = match &filter.anvandare {
        None => crate::lists::kommun_sent!(k)
            .select(msg::id)
            .into_boxed::<Backend>(),
        Some(user) => crate::lists::kommun_sent!(k, format!("mina-sidor:{user}"))
            .select(msg::id)
            .into_boxed(),
    };
    if let Some(kind) = filter.kind {
        q = q.filter(msg::kind.eq(kind.as_str()));
    }
    if let Some(fran) = filter.fran {
        q = q.filter(msg::mottaget.ge(fran));
    }
    if let Some(till) = filter.till {
        q = q.filter(msg::mottaget.lt(till));
    }
    // The index walked forwards or backwards, never sorted.
    q = if filter.oldest_first {
        q.order((msg::mottaget.asc(), msg::id.asc()))
    } else {
        q.order((msg::mottaget.desc(), msg::id.desc()))
    };
    Ok(q.limit(SENT_COUNT_LIMIT as i64 + 1).load(c)?)
}
