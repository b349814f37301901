//! The page layout and the pieces pages are made of, in Swedish, built for WCAG 2.1 AA:
//! a skip link, landmarks, one `h1` per page, labels on every field, errors tied to
//! their fields and summarised at the top.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use komvux_domain::FieldError;
use komvux_persistence::{MsUser, Roll};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::BASE;
use super::words;

pub(crate) fn html(status: StatusCode, page: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

pub(crate) fn ok(page: Markup) -> HttpResponse {
    html(StatusCode::OK, page)
}

/// Who is looking at the page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub user: Option<&'a MsUser>,
    pub csrf: &'a str,
    pub test_mode: bool,
    /// The path asked for; the menu item it belongs to is `aria-current="page"`.
    pub path: &'a str,
    /// A logged-in page's idle timeout: the page warns before it ends (WCAG 2.2.1).
    pub idle_secs: Option<i64>,
}

/// The menu: (path under [`BASE`], text); a page belongs to the item whose path is the
/// longest prefix of its own.
const MENU: &[(&str, &str)] = &[
    ("/", "Start"),
    ("/sok", "Sök person"),
    ("/aktiva", "Aktiva utbildningsbehov"),
    ("/beslut", "Utbildningsbeslut"),
    ("/etableringsprogrammet", "Etableringsprogrammet"),
    ("/registrera", "Registrera"),
    ("/skickade", "Skickade meddelanden"),
    ("/anvandare", "Användare"),
];

/// The footer's links, on every page (handlers/info.rs): (path under [`BASE`], text).
pub(crate) const FOOTER: &[(&str, &str)] = &[
    ("/tillganglighet", "Tillgänglighet"),
    ("/personuppgifter", "Personuppgifter"),
    ("/hjalp", "Hjälp och kontakt"),
];

/// The menu item `path` belongs to.
fn current_item(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix(BASE)?;
    // A person page is where a search leads.
    let rest = if rest.starts_with("/person/") {
        "/sok"
    } else {
        rest
    };
    MENU.iter()
        .map(|(p, _)| *p)
        .filter(|p| rest == *p || (*p != "/" && rest.starts_with(&format!("{p}/"))))
        .max_by_key(|p| p.len())
}

pub(crate) fn layout(title: &str, ctx: Ctx<'_>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="sv" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Mina sidor för kommuner" }
                link rel="stylesheet" href={ (BASE) "/static/stil.css" };
            }
            body {
                a class="skip" href="#innehall" { "Hoppa till innehållet" }
                header class="sidhuvud" {
                    div class="bredd" {
                        p class="tjanst" { a href={ (BASE) "/" } { "Mina sidor för kommuner" } }
                        @if ctx.test_mode {
                            p class="testmiljo" { "Testmiljö – bara testpersonnummer" }
                        }
                        @if let Some(user) = ctx.user {
                            p class="inloggad" {
                                (if user.namn.is_empty() { user.epost.as_str() } else { user.namn.as_str() })
                                ", " (user.kommun.namn())
                            }
                            form method="post" action={ (BASE) "/logga-ut" } class="utloggning" {
                                input type="hidden" name="csrf" value=(ctx.csrf);
                                button type="submit" { "Logga ut" }
                                " "
                                button type="submit" name="alla" value="ja" class="sekundar" { "Logga ut från alla enheter" }
                            }
                        }
                    }
                    @if let Some(user) = ctx.user {
                        nav aria-label="Huvudmeny" class="bredd" {
                            ul {
                                @for (path, text) in MENU {
                                    @if *path != "/anvandare" || user.roll == Roll::Huvudansvarig {
                                        li {
                                            a href={ (BASE) (path) }
                                                aria-current=[(current_item(ctx.path) == Some(*path)).then_some("page")] { (text) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main id="innehall" class="bredd" tabindex="-1" {
                    @if let Some(secs) = ctx.idle_secs {
                        (timeout_warning(secs, ctx.csrf))
                    }
                    (content)
                }
                footer class="sidfot" {
                    div class="bredd" {
                        p { "Mina sidor för kommuner – informationsutbytet om komvux och sfi mellan kommunerna och Arbetsförmedlingen." }
                        ul {
                            @for (path, text) in FOOTER {
                                li { a href={ (BASE) (path) } { (text) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The warning before an idle session ends (WCAG 2.2.1), hidden until
/// `tidsgrans.js` shows it two minutes before; its button keeps the session alive.
/// Without JavaScript the page stays as it is and the session ends as before.
fn timeout_warning(secs: i64, csrf: &str) -> Markup {
    html! {
        div id="tidsgrans" class="tidsgrans" role="alertdialog" aria-modal="false"
            aria-labelledby="tidsgrans-rubrik" aria-describedby="tidsgrans-text"
            data-sekunder=(secs) data-csrf=(csrf)
            data-fortsatt={ (BASE) "/fortsatt" } data-utloggad={ (BASE) "/utloggad" } hidden {
            h2 id="tidsgrans-rubrik" { "Du loggas snart ut" }
            p id="tidsgrans-text" {
                "Du har inte använt tjänsten på en stund. Om ungefär två minuter loggas du ut. "
                "Det du har skrivit men inte skickat finns kvar i den här fliken när du loggar in igen."
            }
            button type="button" id="tidsgrans-fortsatt" class="primar" { "Fortsätt vara inloggad" }
        }
        script src={ (BASE) "/static/tidsgrans.js" } defer {}
    }
}

/// A page with only a heading, a text and a link back.
pub(crate) fn message_page(title: &str, text: &str, ctx: Option<Ctx<'_>>) -> Markup {
    let ctx = ctx.unwrap_or(Ctx {
        user: None,
        csrf: "",
        test_mode: false,
        path: "",
        idle_secs: None,
    });
    layout(
        title,
        ctx,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href={ (BASE) "/" } { "Till startsidan" } }
        },
    )
}

/// The field errors of a submitted form.
#[derive(Debug, Clone, Default)]
pub(crate) struct Errors(pub Vec<FieldError>);

impl Errors {
    fn for_field<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a FieldError> + 'a {
        self.0.iter().filter(move |e| e.falt == name)
    }

    /// The summary at the top of a form: every error, each linking to its field.
    pub(crate) fn summary(&self, known: &dyn Fn(&str) -> bool) -> Markup {
        html! {
            @if !self.0.is_empty() {
                div class="felsammanfattning" role="alert" aria-labelledby="fel-rubrik" tabindex="-1" autofocus {
                    h2 id="fel-rubrik" { "Formuläret innehåller fel" }
                    ul {
                        @for e in &self.0 {
                            li {
                                @if known(&e.falt) {
                                    a href={ "#" (field_id(&e.falt)) } { (label_of(&e.falt)) ": " (readable(&e.meddelande)) }
                                } @else if e.falt.is_empty() {
                                    (readable(&e.meddelande))
                                } @else {
                                    (label_of(&e.falt)) ": " (readable(&e.meddelande))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An error text without the API's spelling: a field name or a closed set's value
/// written with `_` (`ny_startdatum`, `anpassad_grundlaggande`) becomes its Swedish words.
pub(crate) fn readable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains('_') {
            let named = label(word);
            let spoken = if named == word.as_str() {
                words::word("skolform", word).map_or_else(|| word.replace('_', " "), str::to_owned)
            } else {
                named.to_owned()
            };
            out.push_str(&spoken.to_lowercase());
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_lowercase() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The element id of a field by its JSON path (`kurser[0].kurskod` → `f-kurser-0-kurskod`).
pub(crate) fn field_id(name: &str) -> String {
    let mut id = String::from("f");
    for part in name.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
        if !part.is_empty() {
            id.push('-');
            id.push_str(part);
        }
    }
    id
}

/// A readable Swedish name of a field by its JSON path.
pub(crate) fn label_of(path: &str) -> String {
    let (prefix, last) = match path.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, path),
    };
    let base = label(last.split('[').next().unwrap_or(last));
    match prefix.and_then(|p| p.strip_prefix("kurser[")) {
        Some(rest) => {
            let n: usize = rest.trim_end_matches(']').parse().unwrap_or(0);
            format!("Kurs {}, {}", n + 1, base.to_lowercase())
        }
        None => base.to_owned(),
    }
}

pub(crate) fn label(field: &str) -> &str {
    match field {
        "personnummer" => "Personnummer",
        "kommunkod" => "Kommun",
        "hemkommun" => "Hemkommun",
        "status" => "Status",
        "ersatter" => "Ersätter meddelande",
        "transaktionsdatum" => "Transaktionsdatum",
        "kallsystem" => "Källsystem",
        "ansokningsdatum" => "Ansökningsdatum",
        "kurser" => "Kurser",
        "kurskod" => "Kurskod",
        "kursnamn" => "Kursnamn",
        "skolform" => "Skolform",
        "skolformer" => "Skolformer",
        "poang" => "Poäng",
        "studietakt" => "Studietakt (procent)",
        "startdatum" => "Startdatum",
        "slutdatum" => "Slutdatum",
        "skolenhetskod" => "Skolenhetskod",
        "beslut" => "Beslut",
        "beslutsdatum" => "Beslutsdatum",
        "avbrottsdatum" => "Avbrottsdatum",
        "kurskoder" => "Kurskoder",
        "orsak" => "Orsak",
        "giltig_fran" => "Gäller från",
        "ny_startdatum" => "Nytt startdatum",
        "ny_slutdatum" => "Nytt slutdatum",
        "ny_studietakt" => "Ny studietakt (procent)",
        "ny_poang" => "Nya poäng",
        "betyg" => "Betyg",
        "betygsdatum" => "Betygsdatum",
        "utbildningsbehov_id" => "Utbildningsbehov-id",
        "utbildningsbeslut_id" => "Utbildningsbeslut-id",
        "anvisningsdatum" => "Anvisningsdatum",
        "giltig_tom" => "Giltigt till och med",
        "skyddade_personuppgifter" => "Skyddade personuppgifter",
        "af_kontor" => "Arbetsförmedlingens kontor",
        "fom" => "Från och med",
        "tom" => "Till och med",
        "deltar" => "Deltar",
        "epost" => "E-postadress",
        "roll" => "Roll",
        "typ" => "Typ",
        "fran" => "Mottaget från och med",
        "till" => "Mottaget till och med",
        "handlaggare" => "Registrerat av",
        "anvisad_fran" => "Anvisad från och med",
        "anvisad_till" => "Anvisad till och med",
        "ordning" => "Ordning",
        other => other,
    }
}

/// The form fields that are whole numbers in the API body.
pub(crate) const NUMBERS: &[&str] = &["poang", "studietakt", "ny_studietakt", "ny_poang"];

/// Fields typed as digits: a phone shows its number pad (personnummer and [`NUMBERS`]).
fn numeric(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    last == "personnummer" || NUMBERS.contains(&last)
}

/// A labelled text field with its hint and errors.
pub(crate) fn text_field(
    name: &str,
    value: Option<&str>,
    hint: Option<&str>,
    errors: &Errors,
    extra: Option<&str>,
) -> Markup {
    let id = field_id(name);
    let errs: Vec<&FieldError> = errors.for_field(name).collect();
    let described = describedby(&id, hint.is_some(), !errs.is_empty());
    html! {
        div class={ "falt" @if !errs.is_empty() { " fel" } } {
            label for=(id) { (label_of(name)) }
            @if let Some(h) = hint { span class="hint" id={ (id) "-hint" } { (h) } }
            @for e in &errs { span class="felmeddelande" id={ (id) "-fel" } { "Fel: " (readable(&e.meddelande)) } }
            input type="text" id=(id) name=(name) value=(value.unwrap_or(""))
                inputmode=[numeric(name).then_some("numeric")]
                autocomplete=(extra.unwrap_or("off"))
                aria-describedby=[described]
                aria-invalid=[(!errs.is_empty()).then_some("true")];
        }
    }
}

/// A labelled select with its errors; `options` are (value, text).
pub(crate) fn select_field(
    name: &str,
    options: &[(&str, &str)],
    selected: Option<&str>,
    errors: &Errors,
) -> Markup {
    let id = field_id(name);
    let errs: Vec<&FieldError> = errors.for_field(name).collect();
    let described = describedby(&id, false, !errs.is_empty());
    html! {
        div class={ "falt" @if !errs.is_empty() { " fel" } } {
            label for=(id) { (label_of(name)) }
            @for e in &errs { span class="felmeddelande" id={ (id) "-fel" } { "Fel: " (readable(&e.meddelande)) } }
            select id=(id) name=(name) aria-describedby=[described]
                aria-invalid=[(!errs.is_empty()).then_some("true")] {
                @for (v, t) in options {
                    option value=(v) selected[selected == Some(*v)] { (t) }
                }
            }
        }
    }
}

fn describedby(id: &str, hint: bool, error: bool) -> Option<String> {
    let mut parts = Vec::new();
    if hint {
        parts.push(format!("{id}-hint"));
    }
    if error {
        parts.push(format!("{id}-fel"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A hidden CSRF field.
pub(crate) fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A value as a page shows it: Swedish words for closed sets, kommun names, times in
/// Swedish time, Ja/Nej, and never the API's own spelling.
pub(crate) fn value_text(field: &str, v: &Value) -> String {
    match v {
        Value::Null => "–".to_owned(),
        Value::Bool(true) => "Ja".to_owned(),
        Value::Bool(false) => "Nej".to_owned(),
        Value::String(s) if field == "kommunkod" || field == "hemkommun" => {
            match komvux_domain::Kommunkod::parse(s) {
                Ok(k) => format!("{} ({s})", k.namn()),
                Err(_) => s.clone(),
            }
        }
        Value::String(s) => match words::word(field, s) {
            Some(w) => w.to_owned(),
            None => words::rfc3339_text(s).unwrap_or_else(|| s.clone()),
        },
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.is_empty() => "–".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|i| value_text(field, i))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{}: {}", label(k), value_text(k, v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A record's status in words; an utbildningsbehov still `aktiv` after its
/// `giltig_tom` (Swedish date) has run out, and says so.
fn status_of(v: &Value) -> Option<String> {
    let status = v.get("status")?.as_str()?;
    let expired = status == "aktiv"
        && v.get("giltig_tom")
            .and_then(Value::as_str)
            .is_some_and(|tom| tom < words::swedish_today().as_str());
    Some(if expired {
        "Utgånget (giltighetstiden har passerat)".to_owned()
    } else {
        value_text("status", &v["status"])
    })
}

/// A record (as the API answers it, already redacted) as a description list; a
/// protected person's record is flagged first.
pub(crate) fn record(heading: &str, v: &Value) -> Markup {
    let protected = v.get("skyddade_personuppgifter").and_then(Value::as_bool) == Some(true);
    html! {
        section class="post" aria-label=(heading) {
            h3 { (heading) }
            @if protected {
                p class="skyddad" {
                    strong { "Skyddade personuppgifter." }
                    " Uppgifter som kan avslöja var personen finns visas inte."
                }
            }
            @if let Value::Object(m) = v {
                dl {
                    @for (k, val) in m {
                        dt { (label(k)) }
                        @if k == "status" {
                            dd { (status_of(v).unwrap_or_default()) }
                        } @else {
                            dd { (value_text(k, val)) }
                        }
                    }
                }
            }
        }
    }
}

/// A table of records with the given columns.
pub(crate) fn table(caption: &str, columns: &[&str], rows: &[Value]) -> Markup {
    html! {
        // A narrow screen scrolls the table in its own region, never the page.
        div class="tabell" role="region" aria-label=(caption) tabindex="0" {
        table {
            caption { (caption) }
            thead { tr { @for c in columns { th scope="col" { (label(c)) } } } }
            tbody {
                @for r in rows {
                    tr {
                        @for c in columns {
                            td {
                                @match r.get(*c) {
                                    Some(_) if *c == "status" => (status_of(r).unwrap_or_default()),
                                    Some(v) => (value_text(c, v)),
                                    None => span class="dold" { "Visas inte" },
                                }
                            }
                        }
                    }
                }
            }
        }
        }
    }
}

#[cfg(test)]
mod menu_tests {
    use super::{current_item, readable};

    #[test]
    fn error_texts_lose_the_api_spelling() {
        assert_eq!(
            readable(
                "Minst ett av ny_startdatum, ny_slutdatum, ny_studietakt och ny_poang ska anges"
            ),
            "Minst ett av nytt startdatum, nytt slutdatum, ny studietakt (procent) och nya poäng ska anges"
        );
        assert_eq!(
            readable("Betyget IG finns inte i skolformen anpassad_grundlaggande; tillåtna är G"),
            "Betyget IG finns inte i skolformen anpassad grundläggande; tillåtna är G"
        );
        assert_eq!(
            readable("Kursen MATMAT01a finns inte"),
            "Kursen MATMAT01a finns inte"
        );
    }

    #[test]
    fn a_page_marks_the_menu_item_it_belongs_to() {
        for (path, item) in [
            ("/mina-sidor/", Some("/")),
            ("/mina-sidor/sok", Some("/sok")),
            ("/mina-sidor/registrera/ansokan", Some("/registrera")),
            ("/mina-sidor/anvandare/aktivitet", Some("/anvandare")),
            ("/mina-sidor/person/abc", Some("/sok")),
            ("/mina-sidor/sokning", None),
            ("/annat", None),
        ] {
            assert_eq!(current_item(path), item, "{path}");
        }
    }
}
