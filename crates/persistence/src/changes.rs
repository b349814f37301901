//! Change notices: which feeds gained entries, for the requests that wait for them
//! (`vanta`, a long-poll).
//!
//! A write transaction names the feeds it gives positions to ([`touched`]). When it
//! commits, [`crate::transactions::WriterTurn::transaction`] wakes this process's
//! waiters of those topics ([`Changes::wake`]); on PostgreSQL it has also sent one
//! `NOTIFY komvux_andringar` inside the transaction, which PostgreSQL delivers at commit
//! (and drops at rollback) to every replica's listener ([`spawn_listener`]), which wakes
//! its own waiters the same way. A notice names a feed and a kommun, never a person or a
//! message. Notices are hints: a woken request reads its feed again through the store as
//! any request does, so a lost notice costs the client the rest of its wait, never an
//! entry.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration;

use diesel::prelude::*;
use futures_channel::oneshot;
use komvux_domain::Kommunkod;

use crate::connection::DbConnection;
use crate::error::StoreError;

/// What a waiter waits for: a feed, for feeds read per kommun its kommun.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `GET /utbildningsbeslut?kommunkod=`: a new decision version in the kommun.
    Utbildningsbeslut(Kommunkod),
    /// `GET /intern/v1/handelser`: a kommun message got its position.
    Handelser,
    /// `GET /utbildningsbehov/andringar?hemkommun=`: a new utbildningsbehov version of
    /// the kommun's residents.
    Utbildningsbehov(Kommunkod),
}

impl Topic {
    fn encode(self) -> String {
        match self {
            Self::Utbildningsbeslut(k) => format!("b:{k}"),
            Self::Handelser => "h".to_owned(),
            Self::Utbildningsbehov(k) => format!("u:{k}"),
        }
    }

    fn decode(s: &str) -> Option<Self> {
        match s.split_once(':') {
            None if s == "h" => Some(Self::Handelser),
            Some(("b", k)) => Kommunkod::parse(k).ok().map(Self::Utbildningsbeslut),
            Some(("u", k)) => Kommunkod::parse(k).ok().map(Self::Utbildningsbehov),
            _ => None,
        }
    }
}

/// The PostgreSQL channel the replicas tell each other on.
const CHANNEL: &str = "komvux_andringar";

/// PostgreSQL refuses a payload of 8,000 bytes or more; longer lists go in several.
const MAX_PAYLOAD: usize = 7_000;

/// How often the listener looks for notices that arrived (a read of its socket's
/// buffer, no round trip): the most a notice from another replica waits.
const LISTEN_INTERVAL: Duration = Duration::from_millis(50);

thread_local! {
    /// The topics the write transaction running on this thread gave positions to.
    static PENDING: RefCell<Vec<Topic>> = const { RefCell::new(Vec::new()) };
}

/// Notes, inside a write transaction, that it gives `topic` a new entry.
pub(crate) fn touched(topic: Topic) {
    PENDING.with_borrow_mut(|p| {
        if !p.contains(&topic) {
            p.push(topic);
        }
    });
}

/// Forgets what an earlier attempt of this thread's transaction touched.
pub(crate) fn forget_pending() {
    PENDING.with_borrow_mut(Vec::clear);
}

/// Takes what this thread's transaction touched.
pub(crate) fn take_pending() -> Vec<Topic> {
    PENDING.with_borrow_mut(std::mem::take)
}

/// This process's waiters, by topic.
#[derive(Debug)]
pub struct Changes {
    waiters: parking_lot::Mutex<HashMap<Topic, Vec<oneshot::Sender<()>>>>,
    /// This replica's name in the notices it sends, so that its listener skips its own
    /// (their waiters were woken at commit).
    origin: String,
    /// The gateway is stopping: nobody waits any more ([`Changes::close`]).
    closing: std::sync::atomic::AtomicBool,
}

impl Default for Changes {
    fn default() -> Self {
        Self {
            waiters: parking_lot::Mutex::default(),
            origin: uuid::Uuid::new_v4().simple().to_string(),
            closing: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// Resolves when its topic gains an entry (or the store closes); dropping it stops the
/// wait.
pub type Notice = oneshot::Receiver<()>;

impl Changes {
    /// A notice of the next entry of `topic`. Take it before reading the feed: an entry
    /// committed between the read and the wait still wakes it.
    pub fn subscribe(&self, topic: Topic) -> Notice {
        let (tx, rx) = oneshot::channel();
        if self.is_closing() {
            // Resolves at once.
            return rx;
        }
        let mut waiters = self.waiters.lock();
        let list = waiters.entry(topic).or_default();
        // Waits that ended (time up, client gone) leave their senders behind.
        list.retain(|s| !s.is_canceled());
        list.push(tx);
        rx
    }

    /// Wakes the waiters of `topics`.
    pub(crate) fn wake(&self, topics: &[Topic]) {
        if topics.is_empty() {
            return;
        }
        let woken: Vec<_> = {
            let mut waiters = self.waiters.lock();
            topics.iter().filter_map(|t| waiters.remove(t)).collect()
        };
        for tx in woken.into_iter().flatten() {
            let _ = tx.send(());
        }
    }

    /// Wakes every waiter (a listener that lost notices, the store closing).
    pub fn wake_all(&self) {
        let woken = std::mem::take(&mut *self.waiters.lock());
        for tx in woken.into_values().flatten() {
            let _ = tx.send(());
        }
    }

    /// Ends every wait, now and from now on: the gateway is stopping, and a request that
    /// waited would hold the shutdown up for the rest of its wait.
    pub fn close(&self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake_all();
    }

    /// Whether [`Changes::close`] was called.
    pub fn is_closing(&self) -> bool {
        self.closing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many requests wait, over all topics.
    pub fn waiting(&self) -> usize {
        self.waiters
            .lock()
            .values()
            .flatten()
            .filter(|s| !s.is_canceled())
            .count()
    }

    /// PostgreSQL: sends this transaction's topics to the other replicas, delivered when
    /// (and if) it commits. SQLite has no other replicas.
    pub(crate) fn announce(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        let DbConnection::Postgresql(c) = conn else {
            return Ok(());
        };
        let topics = PENDING.with_borrow(|p| p.iter().map(|t| t.encode()).collect::<Vec<_>>());
        let mut payload = String::new();
        for (i, t) in topics.iter().enumerate() {
            if payload.is_empty() {
                payload.push_str(&self.origin);
                payload.push('|');
            } else {
                payload.push(',');
            }
            payload.push_str(t);
            if payload.len() > MAX_PAYLOAD || i + 1 == topics.len() {
                diesel::select(pg_notify(CHANNEL, &payload)).execute(c)?;
                payload.clear();
            }
        }
        Ok(())
    }

    /// The topics of a notice from another replica; none for this replica's own.
    fn received(&self, payload: &str) -> Vec<Topic> {
        match payload.split_once('|') {
            Some((origin, _)) if origin == self.origin => Vec::new(),
            Some((_, topics)) => topics.split(',').filter_map(Topic::decode).collect(),
            None => Vec::new(),
        }
    }
}

diesel::define_sql_function! {
    fn pg_notify(channel: diesel::sql_types::Text, payload: diesel::sql_types::Text);
}

/// PostgreSQL: a thread that listens for the other replicas' notices on a connection of
/// its own and wakes this process's waiters; it ends when `changes` is dropped. A lost
/// connection is opened again, and every waiter woken (notices may have been missed).
pub(crate) fn spawn_listener(url: String, changes: Weak<Changes>) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name("komvux-andringar".into())
        .spawn(move || {
            let mut backoff = FIRST_BACKOFF;
            while changes.strong_count() > 0 {
                match listen(&url, &changes, &mut backoff) {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "the change listener lost its connection; waiters read their feeds again");
                        if let Some(c) = changes.upgrade() {
                            c.wake_all();
                        }
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        })
        .map_err(|e| StoreError::Config(format!("the change listener thread: {e}")))?;
    Ok(())
}

/// The listener's first wait before it connects again; it doubles up to 5 s while
/// connecting fails, and starts over once a connection listened.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Listens until `changes` is dropped (`Ok`) or the connection fails.
fn listen(url: &str, changes: &Weak<Changes>, backoff: &mut Duration) -> Result<(), StoreError> {
    let mut c = diesel::PgConnection::establish(url)
        .map_err(|e| StoreError::Config(format!("the change listener's connection: {e}")))?;
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut c)?;
    *backoff = FIRST_BACKOFF;
    loop {
        let Some(hub) = changes.upgrade() else {
            return Ok(());
        };
        let mut topics = Vec::new();
        for notice in c.notifications_iter() {
            topics.extend(hub.received(&notice?.payload));
        }
        hub.wake(&topics);
        drop(hub);
        std::thread::sleep(LISTEN_INTERVAL);
    }
}

/// For tests of the store: this thread's pending topics, without taking them.
#[cfg(test)]
pub(crate) fn pending() -> Vec<Topic> {
    PENDING.with_borrow(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_travel_as_text_and_back() {
        let k = Kommunkod::parse("0180").unwrap();
        for t in [
            Topic::Handelser,
            Topic::Utbildningsbeslut(k),
            Topic::Utbildningsbehov(k),
        ] {
            assert_eq!(Topic::decode(&t.encode()), Some(t));
        }
        assert_eq!(Topic::decode("b:9999"), None);
        assert_eq!(Topic::decode("x"), None);
    }

    #[test]
    fn a_replica_skips_its_own_notices_and_wakes_on_the_others() {
        let changes = Changes::default();
        let own = format!("{}|h,b:0180", changes.origin);
        assert!(changes.received(&own).is_empty());
        let k = Kommunkod::parse("0180").unwrap();
        assert_eq!(
            changes.received("other|h,b:0180,junk"),
            vec![Topic::Handelser, Topic::Utbildningsbeslut(k)]
        );
    }

    #[test]
    fn a_wake_reaches_the_waiters_of_its_topic_only() {
        let changes = Changes::default();
        let k = Kommunkod::parse("0180").unwrap();
        let other = Kommunkod::parse("2584").unwrap();
        let mut mine = changes.subscribe(Topic::Utbildningsbeslut(k));
        let mut theirs = changes.subscribe(Topic::Utbildningsbeslut(other));
        changes.wake(&[Topic::Utbildningsbeslut(k)]);
        assert_eq!(mine.try_recv(), Ok(Some(())));
        assert_eq!(theirs.try_recv(), Ok(None));
        drop(theirs);
        assert_eq!(changes.waiting(), 0);
    }

    #[test]
    fn closing_ends_every_wait_now_and_later() {
        let changes = Changes::default();
        let mut before = changes.subscribe(Topic::Handelser);
        changes.close();
        assert_eq!(before.try_recv(), Ok(Some(())));
        let mut after = changes.subscribe(Topic::Handelser);
        assert!(after.try_recv().is_err(), "resolved (its sender is gone)");
    }

    #[test]
    fn pending_topics_are_kept_once_and_taken() {
        forget_pending();
        touched(Topic::Handelser);
        touched(Topic::Handelser);
        assert_eq!(pending(), vec![Topic::Handelser]);
        assert_eq!(take_pending(), vec![Topic::Handelser]);
        assert!(pending().is_empty());
    }
}
