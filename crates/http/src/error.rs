//! RFC 9457 problem details in Swedish, one stable type per kind of failure.
//!
//! Policy: every failure a listener answers is an [`ApiError`]. A problem the client can
//! act on carries its [`ProblemKind`] (status, stable type, Swedish title), a Swedish
//! detail and field errors; store refusals become problems in one place
//! ([`ApiError::from_store`]), which Mina sidor uses too. A 5xx body says only that it
//! failed; its cause is kept whole ([`Cause`], with its sources) and logged once, with
//! the chain, when the answer is made.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use komvux_domain::{FieldError, ValidationErrors};
use komvux_persistence::StoreError;
use serde::Serialize;

/// The kinds of problem, each with its status, stable type and Swedish title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Valideringsfel,
    FelaktigJson,
    /// 400 answered by the edge: the request is not valid HTTP/1.1.
    OgiltigBegaran,
    /// 431 answered by the edge: the request head is over the limit.
    ForStoraHuvuden,
    EjAutentiserad,
    /// 401 on the internal API: a missing or bad bearer token (adds `WWW-Authenticate`).
    EjAutentiseradBearer,
    /// 403 on the internal API: the token lacks the required role.
    SaknarRoll,
    OtillatenKommun,
    FelPart,
    HittadesInte,
    MetodEjTillaten,
    Konflikt,
    SaknarAnvisning,
    SaknarUtbildningsbeslut,
    ErsatterOgiltig,
    IdempotensnyckelAteranvand,
    TestmiljoKraverTestperson,
    TestpersonIProduktion,
    ForStor,
    /// 408: the request body did not arrive in time.
    Tidsgrans,
    FelInnehallstyp,
    ForMangaAnrop,
    TillfalligtOtillganglig,
    InterntFel,
}

impl ProblemKind {
    /// Everything about a kind in one table: the end of its type URI, its status and its
    /// Swedish title.
    #[rustfmt::skip]
    fn spec(self) -> (&'static str, StatusCode, &'static str) {
        match self {
            Self::Valideringsfel => ("valideringsfel", StatusCode::UNPROCESSABLE_ENTITY, "Begäran innehåller fel"),
            Self::FelaktigJson => ("felaktig-json", StatusCode::BAD_REQUEST, "Begäran är inte giltig JSON"),
            Self::OgiltigBegaran => ("ogiltig-begaran", StatusCode::BAD_REQUEST, "Begäran är inte giltig HTTP"),
            Self::ForStoraHuvuden => ("for-stora-huvuden", StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "Begärans huvud är för stort"),
            Self::EjAutentiserad => ("ej-autentiserad", StatusCode::UNAUTHORIZED, "Klienten är inte autentiserad"),
            Self::EjAutentiseradBearer => ("ej-autentiserad", StatusCode::UNAUTHORIZED, "Klienten är inte autentiserad"),
            Self::SaknarRoll => ("saknar-roll", StatusCode::FORBIDDEN, "Behörighet saknas"),
            Self::OtillatenKommun => ("otillaten-kommun", StatusCode::FORBIDDEN, "Klienten får inte agera för kommunen"),
            Self::FelPart => ("fel-part", StatusCode::FORBIDDEN, "Parten får inte skriva den här typen av meddelande"),
            Self::HittadesInte => ("hittades-inte", StatusCode::NOT_FOUND, "Resursen hittades inte"),
            Self::MetodEjTillaten => ("metod-ej-tillaten", StatusCode::METHOD_NOT_ALLOWED, "Metoden stöds inte för resursen"),
            Self::Konflikt => ("konflikt", StatusCode::CONFLICT, "Begäran krockar med resursens tillstånd"),
            Self::SaknarAnvisning => ("saknar-anvisning", StatusCode::UNPROCESSABLE_ENTITY, "Personen saknar anvisning"),
            Self::SaknarUtbildningsbeslut => ("saknar-utbildningsbeslut", StatusCode::UNPROCESSABLE_ENTITY, "Personen saknar utbildningsbeslut"),
            Self::ErsatterOgiltig => ("ersatter-ogiltig", StatusCode::UNPROCESSABLE_ENTITY, "Meddelandet som ska ersättas är inte aktuellt"),
            Self::IdempotensnyckelAteranvand => ("idempotensnyckel-ateranvand", StatusCode::UNPROCESSABLE_ENTITY, "Idempotensnyckeln har redan använts"),
            Self::TestmiljoKraverTestperson => ("testmiljo-kraver-testperson", StatusCode::UNPROCESSABLE_ENTITY, "Testmiljön tar bara emot testpersoner"),
            Self::TestpersonIProduktion => ("testperson-i-produktion", StatusCode::UNPROCESSABLE_ENTITY, "Testpersoner tas inte emot i produktion"),
            Self::ForStor => ("for-stor", StatusCode::PAYLOAD_TOO_LARGE, "Begäran är för stor"),
            Self::Tidsgrans => ("tidsgrans", StatusCode::REQUEST_TIMEOUT, "Begäran kom inte fram i tid"),
            Self::FelInnehallstyp => ("fel-innehallstyp", StatusCode::UNSUPPORTED_MEDIA_TYPE, "Fel innehållstyp"),
            Self::ForMangaAnrop => ("for-manga-anrop", StatusCode::TOO_MANY_REQUESTS, "För många anrop"),
            Self::TillfalligtOtillganglig => ("tillfalligt-otillganglig", StatusCode::SERVICE_UNAVAILABLE, "Tjänsten är tillfälligt otillgänglig"),
            Self::InterntFel => ("internt-fel", StatusCode::INTERNAL_SERVER_ERROR, "Internt fel"),
        }
    }

    pub fn slug(self) -> &'static str {
        self.spec().0
    }

    pub fn status(self) -> StatusCode {
        self.spec().1
    }

    pub fn title(self) -> &'static str {
        self.spec().2
    }

    /// The problem kind a bare status code stands for (for responses made by the
    /// framework rather than our handlers).
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::FelaktigJson,
            401 => Self::EjAutentiserad,
            403 => Self::OtillatenKommun,
            404 => Self::HittadesInte,
            405 => Self::MetodEjTillaten,
            409 => Self::Konflikt,
            408 => Self::Tidsgrans,
            413 => Self::ForStor,
            431 => Self::ForStoraHuvuden,
            415 => Self::FelInnehallstyp,
            422 => Self::Valideringsfel,
            429 => Self::ForMangaAnrop,
            503 => Self::TillfalligtOtillganglig,
            _ => Self::InterntFel,
        }
    }
}

/// The problem+json body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Every way a request can fail, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A problem the client can act on.
    #[error("{kind:?}: {detail}")]
    Problem {
        kind: ProblemKind,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The client exceeded its rate limit; try again after this many seconds.
    #[error("rate limited for {0} s")]
    RateLimited(u64),
    /// The database is unreachable or overloaded; the cause (with its sources) goes to
    /// the log only.
    #[error("unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// A bug or an unexpected failure; the cause (with its sources) goes to the log only.
    #[error("internal: {0}")]
    Internal(#[source] Cause),
}

/// What caused a 5xx, kept whole for the log: the error and its chain of sources (a
/// text converts too, for a cause that is only words).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error and every source under it, `outer: inner: innermost`, for a log line.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        // thiserror's `{0}` often repeats the source's text already.
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self::Problem {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn with_errors(
        kind: ProblemKind,
        detail: impl Into<String>,
        errors: Vec<FieldError>,
    ) -> Self {
        Self::Problem {
            kind,
            detail: detail.into(),
            errors,
        }
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        let detail = errors.to_string();
        Self::with_errors(ProblemKind::Valideringsfel, detail, errors.into_errors())
    }

    pub fn field(kind: ProblemKind, falt: &str, kod: &'static str, meddelande: &str) -> Self {
        Self::with_errors(
            kind,
            meddelande,
            vec![FieldError::new(falt, kod, meddelande)],
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            ProblemKind::EjAutentiserad,
            "Klientcertifikat, client_id och client_secret måste höra till en registrerad och aktiv klient",
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            ProblemKind::HittadesInte,
            "Resursen finns inte eller tillhör inte klientens kommuner",
        )
    }

    pub fn otillaten_kommun(falt: &str) -> Self {
        Self::field(
            ProblemKind::OtillatenKommun,
            falt,
            "otillaten_kommun",
            "Klienten är inte registrerad för kommunen",
        )
    }

    pub fn kind(&self) -> ProblemKind {
        match self {
            Self::Problem { kind, .. } => *kind,
            Self::RateLimited(_) => ProblemKind::ForMangaAnrop,
            Self::Unavailable(_) => ProblemKind::TillfalligtOtillganglig,
            Self::Internal(_) => ProblemKind::InterntFel,
        }
    }

    /// The whole response, with `instance` set when known.
    pub fn to_response(&self, instance: Option<String>) -> HttpResponse {
        let mut res = problem_response(&self.problem(instance));
        if self.kind() == ProblemKind::EjAutentiseradBearer {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"komvux-intern\", error=\"invalid_token\""),
            );
        }
        if let Self::RateLimited(secs) = self
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }

    /// The body, with the cause of a 5xx left out.
    pub fn problem(&self, instance: Option<String>) -> Problem {
        let kind = self.kind();
        let (detail, errors) = match self {
            Self::Problem { detail, errors, .. } => (detail.clone(), errors.clone()),
            Self::RateLimited(secs) => (
                format!("För många anrop från klienten; försök igen om {secs} sekunder"),
                Vec::new(),
            ),
            Self::Unavailable(_) => ("Försök igen om en stund".to_owned(), Vec::new()),
            Self::Internal(_) => (
                "Ett oväntat fel inträffade; ange X-Request-Id vid kontakt med support".to_owned(),
                Vec::new(),
            ),
        };
        Problem {
            type_: format!("/problem/{}", kind.slug()),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail,
            instance: instance.map(|i| without_identity_numbers(&i)),
            errors,
        }
    }
}

/// `text` with every run that could be a personnummer or samordningsnummer (ten or more
/// digits, perhaps with `-` or `+` between them) replaced by `***`: a problem's
/// `instance` is the request's path, and a client may have put a personnummer there by
/// mistake. No error ever echoes one.
pub fn without_identity_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.bytes().filter(u8::is_ascii_digit).count() >= 10 {
            out.push_str("***");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_digit() || ((ch == '-' || ch == '+') && !run.is_empty()) {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A problem+json response for `problem`.
pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::build(status);
    res.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    ));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
    }
    res.body(serde_json::to_vec(problem).unwrap_or_default())
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind().status()
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unavailable(cause) => {
                tracing::warn!(cause = %chain(cause.as_ref()), "database unavailable");
            }
            Self::Internal(cause) => {
                tracing::error!(cause = %chain(cause.as_ref()), "internal error")
            }
            Self::Problem { .. } | Self::RateLimited(_) => {}
        }
        self.to_response(None)
    }
}

impl ApiError {
    /// Maps a store refusal, with field paths under `prefix` (empty for a single message).
    pub fn from_store(e: StoreError, prefix: &str) -> Self {
        let at = |f: &str| match (prefix.is_empty(), f.is_empty()) {
            (true, _) => f.to_owned(),
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{f}"),
        };
        match e {
            StoreError::MissingAnvisning => ApiError::field(
                ProblemKind::SaknarAnvisning,
                &at("personnummer"),
                "saknar_anvisning",
                "Personen har inget aktivt utbildningsbehov (anvisning) från Arbetsförmedlingen",
            ),
            StoreError::MissingUtbildningsbeslut => ApiError::field(
                ProblemKind::SaknarUtbildningsbeslut,
                &at("personnummer"),
                "saknar_utbildningsbeslut",
                "Personen har inget gällande utbildningsbeslut i kommunen",
            ),
            StoreError::InvalidErsatter => ApiError::field(
                ProblemKind::ErsatterOgiltig,
                &at("ersatter"),
                "ersatter_ogiltig",
                "ersatter ska vara ett aktuellt meddelande av samma typ för samma kommun och person",
            ),
            StoreError::WrongParty(kind) => ApiError::new(
                ProblemKind::FelPart,
                format!("Parten får inte skriva meddelanden av typen {kind}"),
            ),
            StoreError::OtillatenKommun(_) => ApiError::otillaten_kommun(&at("kommunkod")),
            StoreError::IdempotencyKeyReused => ApiError::field(
                ProblemKind::IdempotensnyckelAteranvand,
                "Idempotency-Key",
                "idempotensnyckel_ateranvand",
                "Nyckeln har redan använts för en annan begäran; använd en ny nyckel",
            ),
            StoreError::InvalidCursor => ApiError::field(
                ProblemKind::Valideringsfel,
                &at("efter"),
                "ogiltig_markor",
                "Markören (efter) är ogiltig för det här flödet och den här kommunen; använd värdet från föregående svar eller utelämna den",
            ),
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(what) => ApiError::new(ProblemKind::Konflikt, what),
            StoreError::Rules(errors) => ApiError::validation(errors.prefixed(prefix)),
            StoreError::Items(items) => {
                let mut kinds = Vec::new();
                let mut errors = Vec::new();
                let count = items.len();
                for item in items {
                    let mapped =
                        ApiError::from_store(item.error, &format!("{}[{}]", item.list, item.index));
                    kinds.push(mapped.kind());
                    if let ApiError::Problem { errors: e, .. } = mapped {
                        errors.extend(e);
                    }
                }
                let kind = match kinds.first() {
                    Some(k) if kinds.iter().all(|x| x == k) => *k,
                    _ => ProblemKind::Valideringsfel,
                };
                ApiError::with_errors(
                    kind,
                    format!("{count} meddelanden nekades; inget har sparats"),
                    errors,
                )
            }
            e if e.is_unavailable() => ApiError::Unavailable(Box::new(e)),
            e => ApiError::Internal(Box::new(e)),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::from_store(e, "")
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(Box::new(e))
    }
}

#[cfg(test)]
mod identity_number_tests {
    use super::without_identity_numbers;

    #[test]
    fn identity_numbers_in_a_path_are_masked_and_the_rest_kept() {
        for (path, masked) in [
            (
                "/komvux/v1/personer/201212121212",
                "/komvux/v1/personer/***",
            ),
            ("/komvux/v1/x/20121212-1212/y", "/komvux/v1/x/***/y"),
            ("/komvux/v1/x/121212+1212", "/komvux/v1/x/***"),
            ("/komvux/v1/utbildningsbehov", "/komvux/v1/utbildningsbehov"),
            (
                "/komvux/v1/meddelanden/6f1c2b4e-8c1d-4a0e",
                "/komvux/v1/meddelanden/6f1c2b4e-8c1d-4a0e",
            ),
            ("/kommun/0180/2026-12-04", "/kommun/0180/2026-12-04"),
        ] {
            assert_eq!(without_identity_numbers(path), masked, "{path}");
        }
    }
}

#[cfg(test)]
mod cause_tests {
    use super::{ApiError, chain};
    use komvux_persistence::StoreError;

    #[test]
    fn a_5xx_keeps_its_cause_and_the_log_line_its_chain() {
        let store = StoreError::Migration("column missing".into());
        let api = ApiError::from(store);
        let ApiError::Internal(cause) = &api else {
            panic!("{api:?}")
        };
        assert!(
            cause.downcast_ref::<StoreError>().is_some(),
            "the store error itself"
        );
        let source = std::error::Error::source(&api).expect("a source");
        assert_eq!(source.to_string(), "migrering: column missing");
        assert_eq!(chain(&api), "internal: migrering: column missing");
        // the client's body says nothing of it
        let body = api.problem(None);
        assert!(!body.detail.contains("column"), "{}", body.detail);
    }
}
