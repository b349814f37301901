//! The registration forms: one per kommun message kind. A form's fields are named by
//! the JSON path of the API body (`kurser[0].kurskod`), so a submitted form becomes the
//! same JSON an integration would POST and goes through the same parser, environment
//! rule and write rule; the parser's errors land on the fields that caused them.

use komvux_domain::message::{Ansokan, Antagning, Avbrott, Betyg, Forandring, KommunBody, Kurs};
use komvux_domain::party::KommunWrite;
use komvux_domain::{FromJson, KommunActor, KommunMeddelande, KommunMessage, Kommunkod};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::pages::{Errors, NUMBERS, select_field, text_field};
use super::session::FormData;
use super::words::{BESLUT, ORSAK, SKOLFORM};
use komvux_http::body;
use komvux_http::config::Mode;
use komvux_http::error::ApiError;

/// The kinds a kommun registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typ {
    Ansokan,
    Antagning,
    Avbrott,
    Forandring,
    Betyg,
}

pub(crate) const ALL: [Typ; 5] = [
    Typ::Ansokan,
    Typ::Antagning,
    Typ::Avbrott,
    Typ::Forandring,
    Typ::Betyg,
];

/// How many course rows a form shows at first, and at most.
pub(crate) const KURS_ROWS: usize = 3;
pub(crate) const MAX_KURS_ROWS: usize = 50;

const KURS_FIELDS: &[&str] = Kurs::FIELDS;

const STATUS: &[(&str, &str)] = &[
    ("registrering", "Ny registrering"),
    ("andring", "Ändring av ett tidigare meddelande"),
    ("borttag", "Borttag av ett tidigare meddelande"),
];

/// A closed set's choices, after a first empty one that asks for a choice.
fn choices<'a>(ask: &'a str, set: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    std::iter::once(("", ask))
        .chain(set.iter().copied())
        .collect()
}

const DATE_HINT: &str = "ÅÅÅÅ-MM-DD";

/// The hidden field with the course codes of the person's utbildningsbeslut (a form
/// opened from the person page): `kurskod` becomes a choice among them and `kurskoder`
/// one checkbox each. Not personal data; the rules check the codes again when stored.
pub(crate) const KURSKOD_CHOICES: &str = "kurskod_val";

impl Typ {
    pub(crate) fn slug(self) -> &'static str {
        match self {
            Self::Ansokan => "ansokan",
            Self::Antagning => "antagning",
            Self::Avbrott => "avbrott",
            Self::Forandring => "forandring",
            Self::Betyg => "betyg",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|t| t.slug() == s)
    }

    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Ansokan => "Registrera ansökan",
            Self::Antagning => "Registrera antagning eller mottagande",
            Self::Avbrott => "Registrera avbrott",
            Self::Forandring => "Registrera förändring",
            Self::Betyg => "Registrera betyg",
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Ansokan => {
                "En ansökan till komvux eller sfi. Personen ska ha ett aktivt utbildningsbehov."
            }
            Self::Antagning => {
                "Beslut om antagning (komvux) eller mottagande (sfi). Personen ska ha ett aktivt utbildningsbehov."
            }
            Self::Avbrott => {
                "Ett avbrott i hela utbildningen eller i vissa kurser. Personen ska ha ett utbildningsbeslut i kommunen."
            }
            Self::Forandring => {
                "En förändring i pågående studier. Personen ska ha ett utbildningsbeslut i kommunen."
            }
            Self::Betyg => "Betyg i en kurs. Personen ska ha ett utbildningsbeslut i kommunen.",
        }
    }

    /// The body's fields as the domain parser knows them.
    fn body_fields(self) -> &'static [&'static str] {
        match self {
            Self::Ansokan => Ansokan::FIELDS,
            Self::Antagning => Antagning::FIELDS,
            Self::Avbrott => Avbrott::FIELDS,
            Self::Forandring => Forandring::FIELDS,
            Self::Betyg => Betyg::FIELDS,
        }
    }

    /// Whether the body has course rows (`kurser`).
    pub(crate) fn has_kurser(self) -> bool {
        self.body_fields().contains(&"kurser")
    }

    /// The body fields besides the header and the course rows.
    fn fields(self) -> impl Iterator<Item = &'static str> {
        self.body_fields()
            .iter()
            .copied()
            .filter(|f| *f != "kurser")
    }

    /// Whether a field by JSON path is on the form (for linking errors).
    pub(crate) fn knows(self, path: &str, rows: usize) -> bool {
        if ["personnummer", "status", "ersatter"].contains(&path)
            || self.fields().any(|f| f == path)
        {
            return true;
        }
        self.has_kurser()
            && (0..rows).any(|i| {
                KURS_FIELDS
                    .iter()
                    .any(|f| path == format!("kurser[{i}].{f}"))
            })
    }
}

/// How many course rows to show for a submitted form: as many as it had.
pub(crate) fn rows_of(form: &FormData) -> usize {
    let mut rows = KURS_ROWS;
    for (name, _) in &form.0 {
        if let Some(rest) = name.strip_prefix("kurser[")
            && let Some((n, _)) = rest.split_once(']')
            && let Ok(n) = n.parse::<usize>()
            && n < MAX_KURS_ROWS
        {
            rows = rows.max(n + 1);
        }
    }
    rows
}

fn scalar(name: &str, raw: &str) -> Value {
    if NUMBERS.contains(&name)
        && let Ok(n) = raw.parse::<i64>()
    {
        return json!(n);
    }
    json!(raw)
}

/// The API body a submitted form stands for.
pub(crate) fn to_json(typ: Typ, form: &FormData, kommun: Kommunkod, rows: usize) -> Value {
    let mut m = Map::new();
    m.insert("kommunkod".into(), json!(kommun.to_string()));
    m.insert("transaktionsdatum".into(), json!(now_rfc3339()));
    m.insert("kallsystem".into(), json!("Mina sidor för kommuner"));
    for f in ["personnummer", "status", "ersatter"] {
        if let Some(v) = form.value(f) {
            m.insert(f.into(), json!(v));
        }
    }
    for f in typ.fields() {
        if f == "kurskoder" {
            // A text of codes, or one checkbox per course of the beslut; none is the
            // whole education.
            let codes: Vec<Value> = form.list(f).into_iter().map(|s| json!(s)).collect();
            if !codes.is_empty() {
                m.insert(f.into(), Value::Array(codes));
            }
            continue;
        }
        let Some(v) = form.value(f) else { continue };
        m.insert(f.into(), scalar(f, v));
    }
    if typ.has_kurser() {
        // Rows up to the last one filled in; an empty row in between is sent (and
        // refused with its position), so error paths match the form's rows.
        let filled: Vec<Map<String, Value>> = (0..rows)
            .map(|i| {
                let mut k = Map::new();
                for f in KURS_FIELDS {
                    if let Some(v) = form.value(&format!("kurser[{i}].{f}")) {
                        k.insert((*f).into(), scalar(f, v));
                    }
                }
                k
            })
            .collect();
        let last = filled.iter().rposition(|k| !k.is_empty());
        let kurser: Vec<Value> = filled
            .into_iter()
            .take(last.map_or(0, |l| l + 1))
            .map(Value::Object)
            .collect();
        if !kurser.is_empty() || form.value("status") != Some("borttag") {
            m.insert("kurser".into(), Value::Array(kurser));
        }
    }
    Value::Object(m)
}

/// The form a stored message was sent as: the inverse of [`to_json`] for its body
/// fields and course rows (the header's kommun, time and source are the form's own).
pub(crate) fn from_fields(typ: Typ, personnummer: &str, fields: &Map<String, Value>) -> FormData {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = vec![("personnummer".to_owned(), personnummer.to_owned())];
    for f in typ.fields() {
        match fields.get(f) {
            Some(Value::Array(codes)) => out.push((
                f.to_owned(),
                codes.iter().map(text).collect::<Vec<_>>().join(", "),
            )),
            Some(v) => out.push((f.to_owned(), text(v))),
            None => {}
        }
    }
    if typ.has_kurser() {
        out.extend(kurs_rows(fields));
    }
    FormData(out)
}

/// The course rows of a stored body as form fields (`kurser[0].kurskod`, ...).
pub(crate) fn kurs_rows(fields: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rows = fields.get("kurser").and_then(Value::as_array);
    for (i, kurs) in rows.into_iter().flatten().enumerate().take(MAX_KURS_ROWS) {
        for f in KURS_FIELDS {
            match kurs.get(*f) {
                Some(Value::String(s)) => out.push((format!("kurser[{i}].{f}"), s.clone())),
                Some(Value::Null) | None => {}
                Some(v) => out.push((format!("kurser[{i}].{f}"), v.to_string())),
            }
        }
    }
    out
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn write_of<B>(value: &Value, mode: Mode, kommun: Kommunkod) -> Result<KommunWrite, ApiError>
where
    B: KommunBody,
    KommunMessage: From<KommunMeddelande<B>>,
{
    let message = KommunMeddelande::<B>::from_json(value).map_err(ApiError::validation)?;
    let person = message.header().personnummer();
    body::persons_allowed(mode, [(&person, "personnummer".to_owned())])?;
    KommunActor::new([kommun])
        .authorize(message.into())
        .map_err(|_| ApiError::otillaten_kommun("kommunkod"))
}

/// Parses the body exactly as the API does, for the user's own kommun only.
pub(crate) fn parse_write(
    typ: Typ,
    value: &Value,
    mode: Mode,
    kommun: Kommunkod,
) -> Result<KommunWrite, ApiError> {
    match typ {
        Typ::Ansokan => write_of::<Ansokan>(value, mode, kommun),
        Typ::Antagning => write_of::<Antagning>(value, mode, kommun),
        Typ::Avbrott => write_of::<Avbrott>(value, mode, kommun),
        Typ::Forandring => write_of::<Forandring>(value, mode, kommun),
        Typ::Betyg => write_of::<Betyg>(value, mode, kommun),
    }
}

/// The form's fields, filled with what was sent.
pub(crate) fn fields(typ: Typ, form: &FormData, errors: &Errors, rows: usize) -> Markup {
    let v = |n: &str| form.get(n).map(str::to_owned);
    let courses = form.list(KURSKOD_CHOICES);
    html! {
        @if let Some(c) = form.get(KURSKOD_CHOICES) {
            input type="hidden" name=(KURSKOD_CHOICES) value=(c);
        }
        fieldset {
            legend { "Person och meddelande" }
            (text_field("personnummer", v("personnummer").as_deref(), Some("12 siffror, ÅÅÅÅMMDDNNNN"), errors, None))
            (select_field("status", STATUS, v("status").as_deref(), errors))
            (text_field("ersatter", v("ersatter").as_deref(), Some("Meddelande-id för det meddelande som ändras eller tas bort. Lämnas tomt vid ny registrering."), errors, None))
        }
        fieldset {
            legend { "Uppgifter" }
            @for f in typ.fields() {
                @match f {
                    "beslut" => (select_field(f, &choices("Välj beslut", BESLUT), v(f).as_deref(), errors)),
                    "orsak" => (select_field(f, &choices("Välj orsak", ORSAK), v(f).as_deref(), errors)),
                    "skolform" => (select_field(f, &choices("Välj skolform", SKOLFORM), v(f).as_deref(), errors)),
                    "kurskoder" if !courses.is_empty() => (course_boxes(&courses, &form.list(f), errors)),
                    "kurskoder" => (text_field(f, v(f).as_deref(), Some("Kurskoder åtskilda med kommatecken. Lämna tomt om avbrottet gäller hela utbildningen."), errors, None)),
                    "kurskod" if !courses.is_empty() => (select_field(f, &course_options(&courses, v(f).as_deref()), v(f).as_deref(), errors)),
                    "betyg" => (text_field(f, v(f).as_deref(), Some("A–F eller - (gymnasial), G eller IG (grundläggande och sfi)"), errors, None)),
                    name if name.ends_with("datum") || name.starts_with("giltig") || name == "ny_startdatum" || name == "ny_slutdatum" =>
                        (text_field(name, v(name).as_deref(), Some(DATE_HINT), errors, None)),
                    name => (text_field(name, v(name).as_deref(), None, errors, None)),
                }
            }
        }
        @if typ.has_kurser() {
            @for i in 0..rows {
                fieldset class="kurs" {
                    legend { "Kurs " (i + 1) }
                    @for f in KURS_FIELDS {
                        @let name = format!("kurser[{i}].{f}");
                        @if *f == "skolform" {
                            (select_field(&name, &choices("Välj skolform", SKOLFORM), v(&name).as_deref(), errors))
                        } @else if f.ends_with("datum") {
                            (text_field(&name, v(&name).as_deref(), Some(DATE_HINT), errors, None))
                        } @else if *f == "skolenhetskod" {
                            (text_field(&name, v(&name).as_deref(), Some("Valfritt, 8 siffror"), errors, None))
                        } @else {
                            (text_field(&name, v(&name).as_deref(), None, errors, None))
                        }
                    }
                }
            }
        }
    }
}

/// The beslut's courses to choose from, and a value already there that is not one of
/// them (a correction of a message about another course keeps it).
fn course_options<'a>(choices: &[&'a str], current: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut out = vec![("", "Välj kurs")];
    out.extend(choices.iter().map(|c| (*c, *c)));
    if let Some(c) = current.filter(|c| !c.is_empty() && !choices.contains(c)) {
        out.push((c, c));
    }
    out
}

/// One checkbox per course of the beslut for an avbrott's `kurskoder`.
fn course_boxes(choices: &[&str], checked: &[&str], errors: &Errors) -> Markup {
    let id = super::pages::field_id("kurskoder");
    let errs: Vec<_> = errors
        .0
        .iter()
        .filter(|e| e.falt.starts_with("kurskoder"))
        .collect();
    html! {
        fieldset id=(id) class={ "val" @if !errs.is_empty() { " fel" } } aria-describedby={ (id) "-hint" } {
            legend { "Kurser som avbrottet gäller" }
            span class="hint" id={ (id) "-hint" } { "Kurserna i personens utbildningsbeslut. Välj ingen om avbrottet gäller hela utbildningen." }
            @for e in &errs { span class="felmeddelande" { "Fel: " (super::pages::readable(&e.meddelande)) } }
            @for (i, c) in choices.iter().enumerate() {
                div class="kryss" {
                    input type="checkbox" id={ (id) "-" (i) } name="kurskoder" value=(c) checked[checked.contains(c)];
                    label for={ (id) "-" (i) } { (c) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormData {
        FormData(
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_form_becomes_the_api_body() {
        let k = Kommunkod::parse("0180").unwrap_or_else(|_| unreachable!());
        let f = form(&[
            ("personnummer", "201212121212"),
            ("status", "registrering"),
            ("ansokningsdatum", "2026-03-01"),
            ("kurser[0].kurskod", "MATMAT01a"),
            ("kurser[0].poang", "100"),
            ("kurser[1].kurskod", ""),
            ("kurser[2].studietakt", "femtio"),
        ]);
        let v = to_json(Typ::Ansokan, &f, k, rows_of(&f));
        assert_eq!(v["kommunkod"], "0180");
        assert_eq!(v["kurser"][0]["poang"], 100);
        assert_eq!(v["kurser"][1], json!({}));
        assert_eq!(v["kurser"][2]["studietakt"], "femtio");
        assert!(v.get("ersatter").is_none());
    }

    #[test]
    fn kurskoder_are_split() {
        let k = Kommunkod::parse("0180").unwrap_or_else(|_| unreachable!());
        let f = form(&[("kurskoder", "MATMAT01a, ENGENG05")]);
        let v = to_json(Typ::Avbrott, &f, k, 0);
        assert_eq!(v["kurskoder"], json!(["MATMAT01a", "ENGENG05"]));
    }
}
