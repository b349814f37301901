//! Who reads: the audited actor and the kommuner it may see.

use std::collections::BTreeSet;

use komvux_domain::Kommunkod;

use crate::audit::AuditActor;

/// Who reads, for the audit log and for scoping: a kommun client sees its kommuner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    actor: AuditActor,
    kommuner: Option<BTreeSet<Kommunkod>>,
}

impl Reader {
    /// A kommun system acting for `kommuner`.
    pub fn kommun(client_id: &str, kommuner: BTreeSet<Kommunkod>) -> Self {
        Self {
            actor: AuditActor::Client(client_id.to_owned()),
            kommuner: Some(kommuner),
        }
    }

    /// Arbetsförmedlingen, by the token subject; sees every kommun.
    pub fn af(subject: &str) -> Self {
        Self {
            actor: AuditActor::Af(subject.to_owned()),
            kommuner: None,
        }
    }

    /// A Mina sidor user, by user id, acting for one kommun.
    pub fn anvandare(user_id: &str, kommun: Kommunkod) -> Self {
        Self {
            actor: AuditActor::Anvandare(user_id.to_owned()),
            kommuner: Some(BTreeSet::from([kommun])),
        }
    }

    /// An operator's command (`person export`), by name; sees every kommun.
    pub fn system(name: &str) -> Self {
        Self {
            actor: AuditActor::System(name.to_owned()),
            kommuner: None,
        }
    }

    pub fn actor(&self) -> &AuditActor {
        &self.actor
    }

    pub(crate) fn may_see(&self, kommun: Option<&str>) -> bool {
        match (&self.kommuner, kommun) {
            (None, _) => true,
            (Some(set), Some(k)) => set.iter().any(|s| s.to_string() == k),
            (Some(_), None) => false,
        }
    }
}
