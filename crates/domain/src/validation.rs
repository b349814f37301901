//! Parsing untrusted JSON into domain types while collecting **every** field error,
//! each with its JSON path (`kurser[0].kurskod`), a stable code and a Swedish message.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

/// One problem with one field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `kurser[0].kurskod`; empty for the whole body.
    pub falt: String,
    /// Stable machine-readable code, e.g. `ogiltig_kurskod`.
    pub kod: &'static str,
    /// Human-readable explanation in Swedish.
    pub meddelande: String,
}

impl FieldError {
    pub fn new(falt: impl Into<String>, kod: &'static str, meddelande: impl Into<String>) -> Self {
        Self {
            falt: falt.into(),
            kod,
            meddelande: meddelande.into(),
        }
    }
}

/// All field errors of one request body; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// A single error. Use [`Collector`] to gather several.
    pub fn single(error: FieldError) -> Self {
        Self(vec![error])
    }

    /// The errors found elsewhere (the domain's rules), or `None` when there is none:
    /// the value is never empty.
    pub fn from_errors(errors: Vec<FieldError>) -> Option<Self> {
        (!errors.is_empty()).then_some(Self(errors))
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }

    /// The same errors with `prefix` put before every path (`ansokningar[3]`).
    #[must_use]
    pub fn prefixed(self, prefix: &str) -> Self {
        Self(
            self.0
                .into_iter()
                .map(|mut e| {
                    e.falt = join(prefix, &e.falt);
                    e
                })
                .collect(),
        )
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.len() {
            1 => write!(f, "1 fält är felaktigt"),
            n => write!(f, "{n} fält är felaktiga"),
        }
    }
}

/// An error of a value type: a stable code for clients beside its Swedish `Display`.
pub trait ErrorCode: fmt::Display {
    fn code(&self) -> &'static str;
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

/// Gathers field errors while a body is walked; parsing goes on after an error so
/// that the client learns about every field at once.
#[derive(Debug, Default)]
pub struct Collector {
    errors: Vec<FieldError>,
}

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(
        &mut self,
        falt: impl Into<String>,
        kod: &'static str,
        meddelande: impl Into<String>,
    ) {
        self.errors.push(FieldError::new(falt, kod, meddelande));
    }

    pub fn push_code(&mut self, falt: &str, error: &impl ErrorCode) {
        self.push(falt, error.code(), error.to_string());
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when no error was recorded and the value was built.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ValidationErrors> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ if self.errors.is_empty() => Err(ValidationErrors(vec![FieldError::new(
                "",
                "ogiltigt_meddelande",
                "Meddelandet kunde inte tolkas",
            )])),
            _ => Err(ValidationErrors(self.errors)),
        }
    }

    /// The value at `path` as an object whose keys are all in `allowed`.
    pub fn object<'a>(
        &mut self,
        value: &'a Value,
        path: &str,
        allowed: &[&str],
    ) -> Option<Obj<'a>> {
        let Value::Object(map) = value else {
            self.push(path, "fel_typ", "Ska vara ett JSON-objekt");
            return None;
        };
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.push(
                    join(path, key),
                    "okant_falt",
                    "Fältet finns inte i meddelandet",
                );
            }
        }
        Some(Obj {
            map,
            path: path.to_owned(),
        })
    }

    /// A field that must be present and non-null.
    pub fn required<T>(
        &mut self,
        obj: &Obj<'_>,
        name: &str,
        parse: impl FnOnce(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<T> {
        let path = join(&obj.path, name);
        match obj.map.get(name) {
            None | Some(Value::Null) => {
                self.push(path, "saknas", "Fältet är obligatoriskt");
                None
            }
            Some(v) => parse(self, v, &path),
        }
    }

    /// A field that may be absent or null (`Some(None)`); `None` when present but invalid.
    pub fn optional<T>(
        &mut self,
        obj: &Obj<'_>,
        name: &str,
        parse: impl FnOnce(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<Option<T>> {
        let path = join(&obj.path, name);
        match obj.map.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(v) => parse(self, v, &path).map(Some),
        }
    }

    /// A JSON array whose length is within `min..=max`, each element parsed with `item`.
    pub fn array<T>(
        &mut self,
        value: &Value,
        path: &str,
        min: usize,
        max: usize,
        mut item: impl FnMut(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<Vec<T>> {
        let Value::Array(items) = value else {
            self.push(path, "fel_typ", "Ska vara en lista");
            return None;
        };
        if items.len() < min || items.len() > max {
            self.push(
                path,
                "fel_antal",
                format!(
                    "Listan ska ha mellan {min} och {max} element, har {}",
                    items.len()
                ),
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, v) in items.iter().enumerate() {
            match item(self, v, &format!("{path}[{i}]")) {
                Some(t) if ok => out.push(t),
                Some(_) => {}
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A JSON string turned into `T` by `parse`; its error supplies code and message.
    pub fn string<T, E: ErrorCode>(
        &mut self,
        value: &Value,
        path: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let Value::String(s) = value else {
            self.push(path, "fel_typ", "Ska vara en textsträng");
            return None;
        };
        parse(s).map_err(|e| self.push_code(path, &e)).ok()
    }

    /// A JSON integer turned into `T` by `parse`.
    pub fn integer<T, E: ErrorCode>(
        &mut self,
        value: &Value,
        path: &str,
        parse: impl FnOnce(i64) -> Result<T, E>,
    ) -> Option<T> {
        let Some(n) = value.as_i64() else {
            self.push(path, "fel_typ", "Ska vara ett heltal");
            return None;
        };
        parse(n).map_err(|e| self.push_code(path, &e)).ok()
    }

    /// A required string field parsed with `parse`.
    pub fn req_str<T, E: ErrorCode>(
        &mut self,
        obj: &Obj<'_>,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        self.required(obj, name, |c, v, p| c.string(v, p, parse))
    }

    /// An optional string field parsed with `parse`.
    pub fn opt_str<T, E: ErrorCode>(
        &mut self,
        obj: &Obj<'_>,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        self.optional(obj, name, |c, v, p| c.string(v, p, parse))
    }

    /// A required integer field parsed with `parse`.
    pub fn req_int<T, E: ErrorCode>(
        &mut self,
        obj: &Obj<'_>,
        name: &str,
        parse: impl FnOnce(i64) -> Result<T, E>,
    ) -> Option<T> {
        self.required(obj, name, |c, v, p| c.integer(v, p, parse))
    }

    /// An optional integer field parsed with `parse`.
    pub fn opt_int<T, E: ErrorCode>(
        &mut self,
        obj: &Obj<'_>,
        name: &str,
        parse: impl FnOnce(i64) -> Result<T, E>,
    ) -> Option<Option<T>> {
        self.optional(obj, name, |c, v, p| c.integer(v, p, parse))
    }

    pub fn boolean(&mut self, value: &Value, path: &str) -> Option<bool> {
        let b = value.as_bool();
        if b.is_none() {
            self.push(path, "fel_typ", "Ska vara true eller false");
        }
        b
    }
}

/// A JSON object being read, with its path.
#[derive(Debug)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl Obj<'_> {
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether any of `names` is present with a non-null value.
    pub fn has_any(&self, names: &[&str]) -> bool {
        names
            .iter()
            .any(|n| self.map.get(*n).is_some_and(|v| !v.is_null()))
    }

    pub fn field_path(&self, name: &str) -> String {
        join(&self.path, name)
    }
}

/// A type read from untrusted JSON with all its field errors collected.
pub trait FromJson: Sized {
    /// Parses `value` found at `path`, recording errors in `c`.
    fn parse_json(c: &mut Collector, value: &Value, path: &str) -> Option<Self>;

    /// Parses a whole request body.
    fn from_json(value: &Value) -> Result<Self, ValidationErrors> {
        let mut c = Collector::new();
        let v = Self::parse_json(&mut c, value, "");
        c.finish(v)
    }

    /// Parses raw request bytes; bad JSON is a single error on the whole body.
    fn from_json_slice(bytes: &[u8]) -> Result<Self, JsonBodyError> {
        let value: Value = parse_json_strict(bytes).map_err(|e| JsonBodyError::Syntax {
            line: e.line(),
            column: e.column(),
        })?;
        Self::from_json(&value).map_err(JsonBodyError::Invalid)
    }
}

/// Why a request body could not become a domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonBodyError {
    #[error("ogiltig JSON på rad {line}, kolumn {column}")]
    Syntax { line: usize, column: usize },
    #[error("{0}")]
    Invalid(ValidationErrors),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_with_dots_and_brackets() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", "b"), "a.b");
        assert_eq!(join("a", "[0]"), "a[0]");
        assert_eq!(join("kurser[1]", "kurskod"), "kurser[1].kurskod");
    }

    #[test]
    fn unknown_fields_are_reported_with_their_path() {
        let mut c = Collector::new();
        let v = serde_json::json!({"a": 1, "b": 2});
        let _ = c.object(&v, "x", &["a"]);
        let e = c.finish(Some(())).unwrap_err();
        assert_eq!(e.errors()[0].falt, "x.b");
        assert_eq!(e.errors()[0].kod, "okant_falt");
    }

    #[test]
    fn display_counts_errors_in_swedish() {
        let one = ValidationErrors::single(FieldError::new("a", "saknas", "x"));
        assert_eq!(one.to_string(), "1 fält är felaktigt");
    }
}

/// Parses JSON text like `serde_json::from_slice::<Value>`, but refuses an object that
/// names the same key twice (serde_json would silently keep the last one, so two
/// systems could read one message differently).
pub fn parse_json_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = StrictValue::deserialize(&mut de)?;
    de.end()?;
    Ok(v.0)
}

struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(
                    "samma nyckel förekommer två gånger",
                ));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod strict_tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(parse_json_strict(br#"{"a": 1, "a": 2}"#).is_err());
        assert!(parse_json_strict(br#"{"x": [{"b": 1, "b": 1}]}"#).is_err());
        assert_eq!(
            parse_json_strict(br#"{"a": [1, 2.5, "s", null, true]}"#).unwrap()["a"][1],
            2.5
        );
        assert!(parse_json_strict(b"{} x").is_err(), "trailing data");
    }
}
