//! Skyddade personuppgifter: what answers leave out about a protected person.
//!
//! Every record about a person Af has marked carries `skyddade_personuppgifter: true`,
//! and the fields that could help locate the person are removed before answering,
//! on the public and the internal API alike:
//!
//! | record | left out |
//! |---|---|
//! | utbildningsbehov | `af_kontor` (the office serving the person's area) |
//! | ansökan, antagning | `kurser[].skolenhetskod` (the school unit the person attends) |
//! | any kommun message | `kallsystem` is kept; `skolenhetskod` wherever it appears |
//! | Tabell 2 listing entry | additionally `personnummer`: the kommun gets the pseudonymous minimum (id, dates, skolformer, status, flag) and looks the person up by personnummer only when the person turns to it |

use serde_json::Value;

const LOCATING: &[&str] = &["af_kontor", "skolenhetskod"];

fn is_protected(v: &Value) -> bool {
    v.get("skyddade_personuppgifter").and_then(Value::as_bool) == Some(true)
}

fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for f in LOCATING {
                m.remove(*f);
            }
            for child in m.values_mut() {
                strip(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

/// Removes the locating fields from a record about a protected person.
pub fn redact(mut record: Value) -> Value {
    if is_protected(&record) {
        strip(&mut record);
    }
    record
}

/// As [`redact`], for a Tabell 2 listing entry: also without the personnummer.
pub fn redact_listing(mut record: Value) -> Value {
    if is_protected(&record) {
        strip(&mut record);
        if let Value::Object(m) = &mut record {
            m.remove("personnummer");
        }
    }
    record
}

/// Serialises each Tabell 2 listing entry and redacts it as [`redact_listing`].
pub fn redact_listings<T: serde::Serialize>(records: &[T]) -> Vec<Value> {
    records
        .iter()
        .map(|r| redact_listing(serde_json::to_value(r).unwrap_or(Value::Null)))
        .collect()
}

/// Serialises and redacts each record.
pub fn redact_all<T: serde::Serialize>(records: &[T]) -> Vec<Value> {
    records
        .iter()
        .map(|r| redact(serde_json::to_value(r).unwrap_or(Value::Null)))
        .collect()
}

/// A record that says whether its person has skyddade personuppgifter, so that it can
/// be answered without going through a JSON tree when it does not.
pub trait AboutPerson {
    fn skyddad(&self) -> bool;
}

impl AboutPerson for komvux_persistence::UtbildningsbehovRecord {
    fn skyddad(&self) -> bool {
        self.skyddade_personuppgifter
    }
}

impl AboutPerson for komvux_persistence::UtbildningsbeslutRecord {
    fn skyddad(&self) -> bool {
        self.skyddade_personuppgifter
    }
}

/// A record as it is answered: as it is, or, about a protected person, redacted as
/// [`redact`] does.
#[derive(Debug)]
pub enum Shown<'a, T> {
    AsIs(&'a T),
    Redacted(Value),
}

impl<T: serde::Serialize> serde::Serialize for Shown<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::AsIs(r) => r.serialize(s),
            Self::Redacted(v) => v.serialize(s),
        }
    }
}

/// Each record as it is answered (see [`Shown`]). For the lookups by person, the
/// hottest answers: a record that needs no redaction is serialised straight into the
/// body, without a JSON tree built, walked and dropped per record (in a lookup's answer
/// that was a third of the HTTP worker's instructions). Its fields then come in their
/// declared order rather than sorted; JSON objects carry no order.
pub fn shown_all<T: serde::Serialize + AboutPerson>(records: &[T]) -> Vec<Shown<'_, T>> {
    records
        .iter()
        .map(|r| {
            if r.skyddad() {
                Shown::Redacted(redact(serde_json::to_value(r).unwrap_or(Value::Null)))
            } else {
                Shown::AsIs(r)
            }
        })
        .collect()
}

/// The answer of a lookup by person: `{"personnummer": ..., <key>: [records]}`.
pub fn person_answer<'a, T: serde::Serialize + AboutPerson>(
    personnummer: &'a str,
    key: &'static str,
    records: &'a [T],
) -> impl serde::Serialize + 'a {
    struct Answer<'a, T> {
        personnummer: &'a str,
        key: &'static str,
        records: Vec<Shown<'a, T>>,
    }
    impl<T: serde::Serialize> serde::Serialize for Answer<'_, T> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry("personnummer", self.personnummer)?;
            m.serialize_entry(self.key, &self.records)?;
            m.end()
        }
    }
    Answer {
        personnummer,
        key,
        records: shown_all(records),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn protected_records_lose_locating_fields() {
        let v = json!({ "skyddade_personuppgifter": true, "af_kontor": "x", "personnummer": "p",
                        "kurser": [{ "kurskod": "A", "skolenhetskod": "12345678" }] });
        let r = redact(v);
        assert!(r.get("af_kontor").is_none());
        assert!(r["kurser"][0].get("skolenhetskod").is_none());
        assert_eq!(r["personnummer"], "p");
        assert!(
            redact_listing(json!({ "skyddade_personuppgifter": true, "personnummer": "p" }))
                .get("personnummer")
                .is_none()
        );
    }

    #[test]
    fn other_records_are_untouched() {
        let v = json!({ "skyddade_personuppgifter": false, "af_kontor": "x" });
        assert_eq!(redact(v.clone()), v);
        assert_eq!(redact_listing(v.clone()), v);
    }
}
