//! Looking people up: utbildningsbehov, Tabell 2, etableringsprogrammet.

use komvux_persistence::{Tabell2Filter, Tabell2Ordning};

use super::*;

/// The personnummer of a search form, checked exactly as the API's `sok` bodies.
pub(super) fn person_of(state: &MinaSidorState, form: &FormData) -> Result<Personnummer, Errors> {
    let value = json!({ "personnummer": form.value("personnummer").unwrap_or_default() });
    let sok = PersonSok::from_json(&value).map_err(|e| Errors(e.into_errors()))?;
    body::persons_allowed(state.mode, [(&sok.personnummer, "personnummer".to_owned())])
        .map_err(|e| Errors(e.problem(None).errors))?;
    Ok(sok.personnummer)
}

pub(super) fn person_form(
    action: &str,
    who: &Inloggad,
    value: Option<&str>,
    errors: &Errors,
) -> Markup {
    html! {
        (errors.summary(&|f| f == "personnummer"))
        form method="post" action=(action) novalidate {
            (csrf(&who.csrf))
            (text_field("personnummer", value, Some("12 siffror, ÅÅÅÅMMDDNNNN. Personnumret skickas i formuläret, aldrig i adressen."), errors, None))
            button type="submit" class="primar" { "Sök" }
        }
    }
}

/// A page that asks one question about a person (search, etableringsprogrammet).
pub(super) struct PersonQuestion {
    title: &'static str,
    heading: &'static str,
    pub(super) action: &'static str,
    /// Shown above the empty form.
    intro: Option<&'static str>,
}

pub(super) const SOK: PersonQuestion = PersonQuestion {
    title: "Sök person",
    heading: "Sök person",
    action: "/mina-sidor/sok",
    intro: Some(
        "Visar personens utbildningsbehov (anvisningar från Arbetsförmedlingen) och de utbildningsbeslut som gäller din kommun. Sökningen loggas.",
    ),
};

pub(super) const ETAB: PersonQuestion = PersonQuestion {
    title: "Etableringsprogrammet",
    heading: "Deltar personen i etableringsprogrammet?",
    action: "/mina-sidor/etableringsprogrammet",
    intro: None,
};

/// The question's form: empty, or as sent with its errors.
pub(super) fn question_page(
    state: &MinaSidorState,
    who: &Inloggad,
    q: &PersonQuestion,
    sent: Option<(&FormData, &Errors)>,
) -> Markup {
    let empty = Errors::default();
    let (value, errors) = sent.map_or((None, &empty), |(f, e)| (f.get("personnummer"), e));
    layout(
        q.title,
        ctx(state, who),
        html! {
            h1 { (q.heading) }
            @if let (Some(intro), None) = (q.intro, sent) { p { (intro) } }
            (person_form(q.action, who, value, errors))
        },
    )
}

/// The personnummer a question's form asks about, or the form again with its errors.
pub(super) async fn asked_person(
    req: &HttpRequest,
    state: &MinaSidorState,
    who: &Inloggad,
    payload: web::Payload,
    q: &PersonQuestion,
) -> Result<Result<Personnummer, HttpResponse>, PageError> {
    let form = form_of(req, payload).await?;
    who.check_csrf(&form)?;
    Ok(person_of(state, &form).map_err(|errors| {
        pages::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            question_page(state, who, q, Some((&form, &errors))),
        )
    }))
}

pub(super) async fn sok_form(state: State, who: Inloggad) -> HttpResponse {
    ok(question_page(&state, &who, &SOK, None))
}

pub(super) async fn sok(
    req: HttpRequest,
    state: State,
    who: Inloggad,
    payload: web::Payload,
) -> Page {
    match asked_person(&req, &state, &who, payload, &SOK).await? {
        Ok(person) => to_person_page(&state, &who, person).await,
        Err(page) => Ok(page),
    }
}

/// Tabell 2's filters as the address carries them (a GET form: nothing personal).
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
pub(super) struct AktivaQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    skolform: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    anvisad_fran: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    anvisad_till: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    ordning: String,
    #[serde(default, skip_serializing)]
    sida: Option<u32>,
}

const ORDNING: &[(&str, &str)] = &[
    ("", "Äldst först (som API:et)"),
    ("nyast-anvisning", "Nyast anvisning först"),
    ("giltig-tom", "Giltighetstiden slutar först"),
];

impl AktivaQuery {
    /// The store's filter, or the fields that are wrong.
    fn filter(&self) -> Result<Tabell2Filter, Errors> {
        let mut errors = Vec::new();
        let skolform = lists::chosen(
            "skolform",
            &self.skolform,
            |s| {
                crate::words::SKOLFORM
                    .iter()
                    .any(|(v, _)| *v == s)
                    .then(|| s.to_owned())
            },
            "Välj en skolform i listan",
            &mut errors,
        );
        let fran = lists::day_of("anvisad_fran", &self.anvisad_fran, &mut errors);
        let till = lists::day_of("anvisad_till", &self.anvisad_till, &mut errors);
        lists::check_order(fran, till, "anvisad_till", &mut errors);
        let ordning = lists::chosen(
            "ordning",
            &self.ordning,
            |o| match o {
                "nyast-anvisning" => Some(Tabell2Ordning::NyastAnvisning),
                "giltig-tom" => Some(Tabell2Ordning::GiltigTomForst),
                _ => None,
            },
            "Välj en ordning i listan",
            &mut errors,
        )
        .unwrap_or_default();
        if !errors.is_empty() {
            return Err(Errors(errors));
        }
        Ok(Tabell2Filter {
            skolform,
            anvisad_fran: fran.map(|d| d.to_string()),
            anvisad_till: till.map(|d| d.to_string()),
            ordning,
        })
    }
}

/// A page of Tabell 2: the API's list, or narrowed and ordered by the filters.
async fn tabell2_page(
    state: &MinaSidorState,
    who: &Inloggad,
    filter: Tabell2Filter,
    sida: u32,
    limit: u32,
) -> Result<komvux_persistence::Page<komvux_persistence::UtbildningsbehovRecord>, PageError> {
    Ok(state
        .store
        .tabell2_narrowed(&who.reader(), who.user.kommun, filter, sida, limit)
        .await?)
}

const AKTIVA_COLUMNS: [&str; 5] = [
    "personnummer",
    "anvisningsdatum",
    "skolformer",
    "giltig_tom",
    "skyddade_personuppgifter",
];

fn aktiva_filter_form(q: &AktivaQuery, errors: &Errors) -> Markup {
    let skolformer: Vec<(&str, &str)> = std::iter::once(("", "Alla skolformer"))
        .chain(crate::words::SKOLFORM.iter().copied())
        .collect();
    html! {
        form method="get" action={ (BASE) "/aktiva" } class="filter" role="search" aria-label="Filtrera listan" novalidate {
            (select_field("skolform", &skolformer, Some(q.skolform.as_str()), errors))
            (text_field("anvisad_fran", Some(q.anvisad_fran.as_str()), Some("ÅÅÅÅ-MM-DD"), errors, None))
            (text_field("anvisad_till", Some(q.anvisad_till.as_str()), Some("ÅÅÅÅ-MM-DD"), errors, None))
            (select_field("ordning", ORDNING, Some(q.ordning.as_str()), errors))
            button type="submit" class="primar" { "Visa" }
        }
    }
}

pub(super) async fn aktiva(
    state: State,
    who: Inloggad,
    q: Option<web::Query<AktivaQuery>>,
) -> Page {
    let q = q.map(web::Query::into_inner).unwrap_or_default();
    let kommun = who.user.kommun;
    let (page, errors) = match q.filter() {
        Ok(filter) => {
            let sida = q.sida.unwrap_or(1).clamp(1, 1_000_000);
            (
                Some(tabell2_page(&state, &who, filter, sida, 20).await?),
                Errors::default(),
            )
        }
        Err(errors) => (None, errors),
    };
    Ok(pages::html(
        lists::list_status(&errors),
        layout(
            "Aktiva utbildningsbehov",
            ctx(&state, &who),
            html! {
                h1 { "Aktiva utbildningsbehov" }
                p { "Invånare i kommunen " (kommun.namn()) " med ett aktivt utbildningsbehov, äldst först. "
                    "För personer med skyddade personuppgifter visas inte personnumret; sök på personen när hen vänder sig till kommunen." }
                (errors.summary(&|f| ["skolform", "anvisad_fran", "anvisad_till", "ordning"].contains(&f)))
                (aktiva_filter_form(&q, &errors))
                @if let Some(page) = &page {
                    @let rows = privacy::redact_listings(&page.data);
                    @let pages_total = u32::try_from(page.total.div_ceil(u64::from(page.limit))).unwrap_or(u32::MAX).max(1);
                    (lists::showing(page.page, page.limit, rows.len(), page.total, false, "utbildningsbehov"))
                    @if !rows.is_empty() {
                        (pages::table(&format!("Sida {} av {}", page.page, pages_total), &AKTIVA_COLUMNS, &rows))
                        (lists::pager(page.page, pages_total, &|n| lists::list_href("/aktiva", &q, Some(n))))
                        p { a href=(lists::list_href("/aktiva.csv", &q, None)) download { "Ladda ner listan som CSV-fil" } " (högst " (lists::thousands(AKTIVA_CSV_ROWS)) " utbildningsbehov, semikolonseparerad för Excel)" }
                    }
                }
            },
        ),
    ))
}

/// How many utbildningsbehov the CSV file of Tabell 2 holds at most.
const AKTIVA_CSV_ROWS: u64 = 10_000;

/// Tabell 2 as a CSV file (the list's columns and filters, the same redaction), read a
/// page of 100 at a time, each page an audited read like the list's.
pub(super) async fn aktiva_csv(
    state: State,
    who: Inloggad,
    q: Option<web::Query<AktivaQuery>>,
) -> Page {
    let q = q.map(web::Query::into_inner).unwrap_or_default();
    let filter = q
        .filter()
        .map_err(|_| PageError::BadRequest("filter".into()))?;
    let mut out = lists::csv_writer(&AKTIVA_COLUMNS.map(pages::label))?;
    let mut sida = 1;
    loop {
        let page = tabell2_page(&state, &who, filter.clone(), sida, 100).await?;
        for row in privacy::redact_listings(&page.data) {
            let cells = AKTIVA_COLUMNS.map(|c| match row.get(c) {
                Some(v) => pages::value_text(c, v),
                None => "Visas inte".to_owned(),
            });
            out.write_record(cells).map_err(lists::csv_error)?;
        }
        let read = u64::from(sida) * u64::from(page.limit);
        if page.data.is_empty() || read >= page.total || read >= AKTIVA_CSV_ROWS {
            break;
        }
        sida += 1;
    }
    lists::csv_file(out, &format!("aktiva-utbildningsbehov-{}", who.user.kommun))
}

pub(super) async fn etab_form(state: State, who: Inloggad) -> HttpResponse {
    ok(question_page(&state, &who, &ETAB, None))
}

pub(super) async fn etab(
    req: HttpRequest,
    state: State,
    who: Inloggad,
    payload: web::Payload,
) -> Page {
    let person = match asked_person(&req, &state, &who, payload, &ETAB).await? {
        Ok(p) => p,
        Err(page) => return Ok(page),
    };
    let reader = who.reader();
    let record = state
        .store
        .etableringsprogram_for_person(&reader, &person)
        .await?;
    Ok(ok(layout(
        "Etableringsprogrammet",
        ctx(&state, &who),
        html! {
            h1 { "Deltar personen i etableringsprogrammet?" }
            (etab_answer(&record))
            p { a href=(ETAB.action) { "Ny fråga" } }
        },
    )))
}

/// Whether the person takes part in etableringsprogrammet, in one sentence.
pub(super) fn etab_answer(record: &komvux_persistence::EtableringsprogramRecord) -> Markup {
    let v = serde_json::to_value(record).unwrap_or_default();
    let deltar = v.get("deltar").and_then(serde_json::Value::as_bool) == Some(true);
    html! {
        @if deltar {
            p class="svar" { strong { "Ja." } " Personen deltar i etableringsprogrammet "
                (v["fom"].as_str().unwrap_or("")) " – " (v["tom"].as_str().unwrap_or("")) "." }
        } @else {
            p class="svar" { strong { "Nej." } " Personen deltar inte i etableringsprogrammet, eller så saknar Arbetsförmedlingen uppgift." }
        }
    }
}
