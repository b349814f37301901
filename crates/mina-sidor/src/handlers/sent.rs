//! Skickade meddelanden: the kommun's own messages, narrowed by kind, time and
//! handläggare, a page at a time or as a CSV file (both audited reads).

use komvux_persistence::{SENT_COUNT_LIMIT, SentFilter, SentPage, WrittenMessage};

use super::person::{show_person, standing_alone, summary, writer_text};
use super::*;
use crate::words;

/// Rows on a page of the list.
const PAGE_ROWS: u32 = 20;

/// The list's filters as the address carries them (a GET form: nothing personal).
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
pub(super) struct SentQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    typ: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    fran: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    till: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    handlaggare: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    ordning: String,
    #[serde(default, skip_serializing)]
    sida: Option<u32>,
}

impl SentQuery {
    fn href(&self, path: &str, sida: Option<u32>) -> String {
        lists::list_href(path, self, sida)
    }

    /// The store's filter, or the fields that are wrong.
    fn filter(&self, users: &[MsUser]) -> Result<SentFilter, Errors> {
        let mut errors = Vec::new();
        let kind = lists::chosen(
            "typ",
            &self.typ,
            |t| forms::Typ::parse(t).and_then(|t| MessageKind::parse(t.slug()).ok()),
            "Välj en typ i listan",
            &mut errors,
        );
        let fran = lists::day_of("fran", &self.fran, &mut errors);
        let till = lists::day_of("till", &self.till, &mut errors);
        lists::check_order(fran, till, "till", &mut errors);
        let anvandare = lists::chosen(
            "handlaggare",
            &self.handlaggare,
            |id| users.iter().any(|u| u.id == id).then(|| id.to_owned()),
            "Välj en användare i listan",
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        Ok(SentFilter {
            kind,
            fran: fran.map(words::swedish_midnight),
            // To and with the day: before the next day's first moment.
            till: till.and_then(|t| t.next_day()).map(words::swedish_midnight),
            anvandare,
            oldest_first: self.ordning == "aldst",
        })
    }
}

/// The filters asked for, the kommun's users (the handläggare filter's choices) and
/// the store's filter, or the fields that are wrong.
async fn asked_filter(
    state: &MinaSidorState,
    who: &Inloggad,
    q: Option<web::Query<SentQuery>>,
) -> Result<(SentQuery, Vec<MsUser>, Result<SentFilter, Errors>), PageError> {
    let q = q.map(web::Query::into_inner).unwrap_or_default();
    let store = state.store.clone();
    let kommun = who.user.kommun;
    let users = run(move || store.mina_sidor().users(kommun)).await?;
    let filter = q.filter(&users);
    Ok((q, users, filter))
}

fn user_name(u: &MsUser) -> &str {
    if u.namn.is_empty() { &u.epost } else { &u.namn }
}

pub(super) async fn skickade(
    state: State,
    who: Inloggad,
    q: Option<web::Query<SentQuery>>,
) -> Page {
    let (q, users, filter) = asked_filter(&state, &who, q).await?;
    let (list, errors) = match filter {
        Ok(filter) => {
            let sida = q.sida.unwrap_or(1);
            let list = state
                .store
                .kommun_sent_messages(&who.reader(), who.user.kommun, filter, sida, PAGE_ROWS)
                .await?;
            (Some(list), Errors::default())
        }
        Err(errors) => (None, errors),
    };
    Ok(pages::html(
        lists::list_status(&errors),
        layout(
            "Skickade meddelanden",
            ctx(&state, &who),
            html! {
                h1 { "Skickade meddelanden" }
                p { "Kommunens meddelanden till Arbetsförmedlingen, från Mina sidor och från kommunens system. Listan och nedladdningen loggas som läsning av personuppgifter." }
                (errors.summary(&|f| ["typ", "fran", "till", "handlaggare"].contains(&f)))
                (filter_form(&q, &users, &errors))
                @if let Some(list) = &list {
                    (lists::showing(list.page, list.limit, list.data.len(), list.total, list.total_is_floor, "meddelanden"))
                    @if !list.data.is_empty() {
                        (sent_table(&who, &list.data))
                        (lists::pager(list.page, pages_of(list), &|n| q.href("/skickade", Some(n))))
                        p { a href=(q.href("/skickade.csv", None)) download { "Ladda ner listan som CSV-fil" } " (högst " (lists::thousands(SENT_COUNT_LIMIT)) " meddelanden, semikolonseparerad för Excel)" }
                    }
                }
            },
        ),
    ))
}

fn pages_of(list: &SentPage) -> u32 {
    u32::try_from(list.total.div_ceil(u64::from(list.limit)))
        .unwrap_or(u32::MAX)
        .max(1)
}

fn filter_form(q: &SentQuery, users: &[MsUser], errors: &Errors) -> Markup {
    let typer: Vec<(&str, &str)> = std::iter::once(("", "Alla typer"))
        .chain(forms::ALL.iter().map(|t| (t.slug(), typ_text(t.slug()))))
        .collect();
    let handlaggare: Vec<(&str, &str)> = std::iter::once(("", "Alla, också kommunens system"))
        .chain(users.iter().map(|u| (u.id.as_str(), user_name(u))))
        .collect();
    let ordning = [("", "Nyast först"), ("aldst", "Äldst först")];
    html! {
        form method="get" action={ (BASE) "/skickade" } class="filter" role="search" aria-label="Filtrera meddelandena" novalidate {
            (select_field("typ", &typer, Some(q.typ.as_str()), errors))
            (text_field("fran", Some(q.fran.as_str()), Some("ÅÅÅÅ-MM-DD"), errors, None))
            (text_field("till", Some(q.till.as_str()), Some("ÅÅÅÅ-MM-DD"), errors, None))
            (select_field("handlaggare", &handlaggare, Some(q.handlaggare.as_str()), errors))
            (select_field("ordning", &ordning, Some(q.ordning.as_str()), errors))
            button type="submit" class="primar" { "Visa" }
        }
    }
}

fn sent_table(who: &Inloggad, rows: &[WrittenMessage]) -> Markup {
    html! {
        div class="tabell" role="region" aria-label="Skickade meddelanden" tabindex="0" {
        table id="skickade" {
            caption class="visually-hidden" { "Skickade meddelanden" }
            thead { tr {
                th scope="col" { "Mottaget" }
                th scope="col" { "Typ" }
                th scope="col" { "Status" }
                th scope="col" { "Personnummer" }
                th scope="col" { "Innehåll" }
                th scope="col" { "Läge" }
                th scope="col" { "Registrerat av" }
                th scope="col" { "Person" }
            } }
            tbody {
                @for w in rows {
                    @let m = &w.message;
                    tr data-meddelande-id=(m.meddelande_id) {
                        td { (swedish_time(m.mottaget.unix_micros())) }
                        td { (typ_text(m.typ.as_str())) }
                        td { (status_text(m.status.as_str())) }
                        @if m.skyddade_personuppgifter {
                            td { span class="dold" { "Skyddade personuppgifter" } }
                        } @else {
                            td { (m.personnummer.expose()) }
                        }
                        td { (summary(m)) }
                        td { (standing_alone(m)) }
                        td { (writer_text(&w.writer)) }
                        td {
                            @if !m.skyddade_personuppgifter {
                                (show_person(who, &m.personnummer, &format!("{} {}", typ_text(m.typ.as_str()).to_lowercase(), swedish_time(m.mottaget.unix_micros()))))
                            }
                        }
                    }
                }
            }
        }
        }
    }
}

/// The list as a CSV file: semicolons and a byte-order mark, as Excel in Swedish
/// opens it (see [`lists::csv_writer`]); the same filters, up to [`SENT_COUNT_LIMIT`] rows, one audited read.
pub(super) async fn skickade_csv(
    state: State,
    who: Inloggad,
    q: Option<web::Query<SentQuery>>,
) -> Page {
    let (_, _, filter) = asked_filter(&state, &who, q).await?;
    let filter = filter.map_err(|_| PageError::BadRequest("filter".into()))?;
    let list = state
        .store
        .kommun_sent_messages(
            &who.reader(),
            who.user.kommun,
            filter,
            1,
            SENT_COUNT_LIMIT as u32,
        )
        .await?;
    let mut out = lists::csv_writer(&[
        "Mottaget",
        "Typ",
        "Status",
        "Personnummer",
        "Innehåll",
        "Läge",
        "Registrerat av",
        "Meddelande-id",
    ])?;
    for w in &list.data {
        let m = &w.message;
        let pnr = if m.skyddade_personuppgifter {
            "Skyddade personuppgifter".to_owned()
        } else {
            m.personnummer.expose()
        };
        out.write_record([
            swedish_time(m.mottaget.unix_micros()),
            typ_text(m.typ.as_str()).to_owned(),
            status_text(m.status.as_str()).to_owned(),
            pnr,
            summary(m),
            standing_alone(m).to_owned(),
            writer_text(&w.writer),
            m.meddelande_id.to_string(),
        ])
        .map_err(lists::csv_error)?;
    }
    lists::csv_file(out, &format!("skickade-meddelanden-{}", who.user.kommun))
}
