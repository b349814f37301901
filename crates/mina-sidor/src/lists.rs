//! What the lists share (Tabell 2, Skickade meddelanden): where a page is, page numbers,
//! filters as a GET form's fields, and CSV files as Excel in Swedish opens them.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use komvux_domain::FieldError;
use maud::{Markup, html};

use super::BASE;
use super::pages::Errors;
use super::session::PageError;
use super::words;

/// Where a page of a list starts and ends: "Visar 21–40 av 71" (or "av fler än …"
/// when the count stopped).
pub(crate) fn showing(
    page: u32,
    limit: u32,
    shown: usize,
    total: u64,
    floor: bool,
    what: &str,
) -> Markup {
    let first = u64::from(page.saturating_sub(1)) * u64::from(limit) + 1;
    let last = first + shown as u64 - 1;
    html! {
        p class="visar" role="status" {
            @if shown == 0 {
                "Inga " (what) "."
            } @else if floor {
                "Visar " (first) "–" (last) " av fler än " (thousands(total)) " " (what) "."
            } @else {
                "Visar " (first) "–" (last) " av " (thousands(total)) " " (what) "."
            }
        }
    }
}

/// A CSV file's writer: semicolons and a byte-order mark, as Excel in Swedish opens
/// it, with the header row written.
pub(crate) fn csv_writer(header: &[&str]) -> Result<csv::Writer<Vec<u8>>, PageError> {
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::from("\u{feff}".as_bytes()));
    out.write_record(header).map_err(csv_error)?;
    Ok(out)
}

pub(crate) fn csv_error(e: csv::Error) -> PageError {
    PageError::Internal(Box::new(e))
}

/// The answer with a CSV file to download, named `{name}-{today}.csv`.
pub(crate) fn csv_file(out: csv::Writer<Vec<u8>>, name: &str) -> Result<HttpResponse, PageError> {
    let body = out
        .into_inner()
        .map_err(|e| PageError::Internal(Box::new(e.into_error())))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{name}-{}.csv\"",
                words::swedish_today()
            ),
        ))
        .body(body))
}

/// The address of a list's page `sida` (or its CSV file) with the filters `q` (a GET
/// form's fields; nothing personal).
pub(crate) fn list_href<T: serde::Serialize>(path: &str, q: &T, sida: Option<u32>) -> String {
    let mut query = serde_urlencoded::to_string(q).unwrap_or_default();
    if let Some(n) = sida {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("sida={n}"));
    }
    if query.is_empty() {
        format!("{BASE}{path}")
    } else {
        format!("{BASE}{path}?{query}")
    }
}

/// A filter's date field (`YYYY-MM-DD`), or an error on it; empty is no date.
pub(crate) fn day_of(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<time::Date> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let f = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(raw, &f) {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "ogiltigt_datum",
                "Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2026-12-01",
            ));
            None
        }
    }
}

/// A list page's status: 400 when its filters are wrong (the page shows why).
pub(crate) fn list_status(errors: &Errors) -> StatusCode {
    if errors.0.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// A filter's choice from a list: nothing when empty, what `parse` makes of it, or
/// `message` on the field when it is not one of the list's.
pub(crate) fn chosen<T>(
    field: &str,
    raw: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    message: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    if raw.is_empty() {
        return None;
    }
    let found = parse(raw);
    if found.is_none() {
        errors.push(FieldError::new(field, "ogiltigt_val", message));
    }
    found
}

/// A "from" day after a "to" day is an error on the latter.
pub(crate) fn check_order(
    from: Option<time::Date>,
    to: Option<time::Date>,
    to_field: &str,
    errors: &mut Vec<FieldError>,
) {
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.push(FieldError::new(
            to_field,
            "slut_fore_start",
            "Slutdatumet får inte vara före startdatumet",
        ));
    }
}

/// A number with a space between thousands, as Swedish writes it (`10 000`).
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(d);
    }
    out
}

/// Page numbers of a list: the first, the last and two on each side of the current
/// one, with Föregående and Nästa; `href(n)` is the address of page `n`.
pub(crate) fn pager(page: u32, pages: u32, href: &dyn Fn(u32) -> String) -> Markup {
    let shown: Vec<u32> = (1..=pages)
        .filter(|n| *n == 1 || *n == pages || n.abs_diff(page) <= 2)
        .collect();
    html! {
        @if pages > 1 {
            nav aria-label="Sidor" class="sidor" {
                ul {
                    @if page > 1 {
                        li { a href=(href(page - 1)) rel="prev" { "Föregående" span class="visually-hidden" { " sida" } } }
                    }
                    @for (i, n) in shown.iter().enumerate() {
                        @if i > 0 && shown[i - 1] + 1 < *n { li aria-hidden="true" { "…" } }
                        li {
                            @if *n == page {
                                a href=(href(*n)) aria-current="page" { span class="visually-hidden" { "Sida " } (n) }
                            } @else {
                                a href=(href(*n)) { span class="visually-hidden" { "Sida " } (n) }
                            }
                        }
                    }
                    @if page < pages {
                        li { a href=(href(page + 1)) rel="next" { "Nästa" span class="visually-hidden" { " sida" } } }
                    }
                }
            }
        }
    }
}
