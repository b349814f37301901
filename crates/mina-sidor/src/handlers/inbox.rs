//! Nya utbildningsbeslut: Arbetsförmedlingen's decisions for the kommun, from the same
//! feed the API serves (`GET /utbildningsbeslut?kommunkod=&efter=`), a page at a time
//! and each page an audited read; the start page says how many came since the user's
//! login before this one.

use komvux_persistence::{Cursor, NEW_BESLUT_COUNT_LIMIT, NewBeslut, UtbildningsbeslutRecord};

use super::person::show_person;
use super::*;

/// Decisions on a page.
const PAGE_ROWS: u32 = 20;

/// The start page's notice: how many decisions came since the last login, and the way
/// to them.
pub(super) fn new_beslut_notice(n: &NewBeslut) -> Markup {
    let href = format!("{BASE}/beslut?efter={}", n.efter);
    html! {
        div class="notis" id="nya-beslut" {
            @if n.antal == 0 {
                p { "Inga nya utbildningsbeslut sedan din senaste inloggning." }
            } @else {
                p {
                    strong {
                        @if n.fler { "Fler än " (lists::thousands(NEW_BESLUT_COUNT_LIMIT)) } @else { (n.antal) }
                        @if n.antal == 1 && !n.fler { " nytt utbildningsbeslut" } @else { " nya utbildningsbeslut" }
                    }
                    " sedan din senaste inloggning. "
                    a href=(href) { "Visa de nya utbildningsbesluten" }
                }
            }
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct InboxQuery {
    efter: Option<String>,
}

pub(super) async fn beslut_inbox(
    state: State,
    who: Inloggad,
    q: Option<web::Query<InboxQuery>>,
) -> Page {
    let raw = q.and_then(|q| q.into_inner().efter);
    let cursor = match raw.as_deref() {
        None | Some("") => Cursor::start_of_utbildningsbeslut(),
        Some(raw) => match Cursor::parse_utbildningsbeslut(raw) {
            Ok(c) => c,
            Err(_) => return Ok(bad_cursor(&state, &who)),
        },
    };
    let from_start = raw.as_deref().is_none_or(str::is_empty);
    let feed = match state
        .store
        .utbildningsbeslut_feed(&who.reader(), who.user.kommun, cursor, PAGE_ROWS)
        .await
    {
        Ok(feed) => feed,
        Err(StoreError::InvalidCursor) => return Ok(bad_cursor(&state, &who)),
        Err(e) => return Err(e.into()),
    };
    let full = feed.data.len() == PAGE_ROWS as usize;
    let next = format!("{BASE}/beslut?efter={}", feed.efter);
    Ok(ok(layout(
        "Utbildningsbeslut",
        ctx(&state, &who),
        html! {
            h1 { "Utbildningsbeslut" }
            p { "Arbetsförmedlingens utbildningsbeslut för kommunen " (who.user.kommun.namn()) ", äldst först, i samma ordning som kommunens system hämtar dem genom API:et. Ett ändrat eller upphört beslut kommer igen med sin nya status. Visningen loggas." }
            @if from_start {
                p { "Listan börjar med kommunens första beslut." }
            }
            @if feed.data.is_empty() {
                p class="visar" role="status" { "Inga fler utbildningsbeslut." }
            } @else {
                p class="visar" role="status" { (feed.data.len()) " utbildningsbeslut." }
                (beslut_table(&who, &feed.data))
            }
            nav aria-label="Sidor" class="sidor" {
                @if full {
                    a href=(next) rel="next" { "Nästa sida" }
                } @else if !feed.data.is_empty() {
                    p { "Det finns inga fler just nu. " a href=(next) { "Visa nya som har kommit sedan" } }
                }
            }
        },
    )))
}

fn bad_cursor(state: &MinaSidorState, who: &Inloggad) -> HttpResponse {
    pages::html(
        StatusCode::BAD_REQUEST,
        layout(
            "Adressen gäller inte",
            ctx(state, who),
            html! {
                h1 { "Adressen gäller inte" }
                p { "Länken till listan är skadad eller gäller en annan kommun." }
                p { a href={ (BASE) "/beslut" } { "Utbildningsbeslut från början" } }
            },
        ),
    )
}

fn beslut_table(who: &Inloggad, data: &[UtbildningsbeslutRecord]) -> Markup {
    let rows = privacy::redact_all(data);
    html! {
        div class="tabell" role="region" aria-label="Utbildningsbeslut" tabindex="0" {
        table id="beslut" {
            caption class="visually-hidden" { "Utbildningsbeslut" }
            thead { tr {
                th scope="col" { "Beslutsdatum" }
                th scope="col" { "Personnummer" }
                th scope="col" { "Period" }
                th scope="col" { "Studietakt" }
                th scope="col" { "Kurser" }
                th scope="col" { "Status" }
                th scope="col" { "Person" }
            } }
            tbody {
                @for (b, v) in data.iter().zip(&rows) {
                    @let pnr = b.beslut.personnummer.expose();
                    @let text = |k: &str| v.get(k).map(|x| pages::value_text(k, x)).unwrap_or_default();
                    tr data-utbildningsbeslut-id=(b.utbildningsbeslut_id) {
                        td { (text("beslutsdatum")) }
                        td {
                            (pnr)
                            @if b.skyddade_personuppgifter { br; strong { "Skyddade personuppgifter" } }
                        }
                        td { (text("fom")) " – " (text("tom")) }
                        td { (text("studietakt")) " %" }
                        td { (text("kurskoder")) }
                        td { (text("status")) }
                        td {
                            (show_person(who, &b.beslut.personnummer, &format!("beslut {}", text("beslutsdatum"))))
                        }
                    }
                }
            }
        }
        }
    }
}
