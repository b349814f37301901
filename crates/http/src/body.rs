//! Request bodies and query strings: JSON only, size-limited, parsed with every
//! field error reported, and personnummer checked against the environment.

use actix_web::HttpRequest;
use actix_web::http::header;
use komvux_domain::{FieldError, Personnummer};
use komvux_persistence::IdempotencyKey;
use serde_json::Value;

use crate::config::Mode;
use crate::error::{ApiError, ProblemKind};

/// The body as JSON, if the request says it is JSON and it is.
pub fn json(req: &HttpRequest, body: &[u8]) -> Result<Value, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let charset_ok = ct.split(';').skip(1).all(|p| {
        let p = p.trim().to_ascii_lowercase();
        !p.starts_with("charset=") || p == "charset=utf-8" || p == "charset=\"utf-8\""
    });
    if mime != "application/json" || !charset_ok {
        return Err(ApiError::new(
            ProblemKind::FelInnehallstyp,
            "Begäran ska ha Content-Type: application/json (UTF-8)",
        ));
    }
    komvux_domain::validation::parse_json_strict(body).map_err(|e| {
        let detail = if e.is_eof() {
            "JSON-dokumentet tar slut för tidigt".to_owned()
        } else if e.to_string().contains("två gånger") {
            format!(
                "Samma nyckel förekommer två gånger i ett objekt (rad {}, kolumn {})",
                e.line(),
                e.column()
            )
        } else {
            format!("Ogiltig JSON på rad {}, kolumn {}", e.line(), e.column())
        };
        ApiError::new(ProblemKind::FelaktigJson, detail)
    })
}

/// Reads the body up to `limit` bytes; a larger one is refused before it is buffered.
pub async fn read_limited(
    req: &actix_web::HttpRequest,
    mut payload: actix_web::web::Payload,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<actix_web::web::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            ProblemKind::ForStor,
            format!("Begäran får vara högst {limit} byte"),
        )
    };
    // A declared size over the limit is refused before a byte of the body is read.
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut buf = actix_web::web::BytesMut::new();
        while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
            let chunk = chunk.map_err(|_| {
                ApiError::new(ProblemKind::FelaktigJson, "Begäran kunde inte läsas")
            })?;
            if buf.len() + chunk.len() > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    };
    // A body that stalls holds a handler and its buffer: cut it off.
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                ProblemKind::Tidsgrans,
                format!(
                    "Begärans innehåll kom inte fram inom {} sekunder",
                    timeout.as_secs()
                ),
            ))
        })
}

/// The `Idempotency-Key` header, fingerprinted with the path and body.
pub fn idempotency_key(req: &HttpRequest, body: &[u8]) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(raw) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::field(
            ProblemKind::Valideringsfel,
            "Idempotency-Key",
            "ogiltig_idempotensnyckel",
            "Idempotency-Key ska vara 1–255 synliga ASCII-tecken",
        )
    };
    let s = raw.to_str().map_err(|_| bad())?;
    IdempotencyKey::new(s, req.path(), body)
        .map(Some)
        .map_err(|_| bad())
}

/// Whether `p` may be used in this environment; errors name `falt`.
pub fn person_allowed(mode: Mode, p: &Personnummer, falt: &str) -> Result<(), FieldError> {
    match (mode, p.is_test_number()) {
        (Mode::Test, false) => Err(FieldError::new(
            falt,
            "testmiljo_kraver_testperson",
            "Testmiljön tar bara emot Skatteverkets testpersonnummer",
        )),
        (Mode::Produktion, true) => Err(FieldError::new(
            falt,
            "testperson_i_produktion",
            "Skatteverkets testpersonnummer tas inte emot i produktion",
        )),
        _ => Ok(()),
    }
}

/// Checks every personnummer of a request at once.
pub fn persons_allowed<'a>(
    mode: Mode,
    persons: impl IntoIterator<Item = (&'a Personnummer, String)>,
) -> Result<(), ApiError> {
    let errors: Vec<FieldError> = persons
        .into_iter()
        .filter_map(|(p, falt)| person_allowed(mode, p, &falt).err())
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    let (kind, detail) = match mode {
        Mode::Test => (
            ProblemKind::TestmiljoKraverTestperson,
            "Testmiljön tar bara emot Skatteverkets testpersonnummer",
        ),
        Mode::Produktion => (
            ProblemKind::TestpersonIProduktion,
            "Skatteverkets testpersonnummer tas inte emot i produktion",
        ),
    };
    Err(ApiError::with_errors(kind, detail, errors))
}

/// How far ahead of the gateway's clock a source system's `transaktionsdatum` may be:
/// clocks drift, but a message is not reported before it happened.
pub const MAX_CLOCK_SKEW_SECS: i64 = 5 * 60;

/// Refuses a `transaktionsdatum` more than [`MAX_CLOCK_SKEW_SECS`] in the future (each
/// with its field path), as a 422 `valideringsfel` with `kod: i_framtiden`.
pub fn not_in_future(
    times: impl IntoIterator<Item = (komvux_domain::Transaktionsdatum, String)>,
) -> Result<(), ApiError> {
    let limit = time::OffsetDateTime::now_utc().unix_timestamp() + MAX_CLOCK_SKEW_SECS;
    let mut errors = komvux_domain::validation::Collector::new();
    for (t, falt) in times {
        if t.unix_micros() / 1_000_000 > limit {
            errors.push(
                falt,
                "i_framtiden",
                "Transaktionsdatum ligger mer än 5 minuter fram i tiden; kontrollera källsystemets klocka",
            );
        }
    }
    errors.finish(Some(())).map_err(ApiError::validation)
}

/// Query parameters, each name at most once, none unknown.
#[derive(Debug)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(req: &HttpRequest, allowed: &[&str]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> =
            actix_web::web::Query::<Vec<(String, String)>>::from_query(req.query_string())
                .map_err(|_| {
                    ApiError::new(
                        ProblemKind::Valideringsfel,
                        "Frågesträngen kunde inte tolkas",
                    )
                })?
                .into_inner();
        let mut errors = Vec::new();
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&k.as_str()) {
                errors.push(FieldError::new(
                    k.chars().take(40).collect::<String>(),
                    "okant_falt",
                    "Parametern finns inte",
                ));
            } else if pairs[..i].iter().any(|(p, _)| p == k) {
                errors.push(FieldError::new(
                    k.clone(),
                    "upprepad",
                    "Parametern får bara anges en gång",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::with_errors(
                ProblemKind::Valideringsfel,
                "Frågesträngen innehåller fel",
                errors,
            ));
        }
        Ok(Self { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required kommunkod parameter; a missing or invalid one is recorded in `errors`.
    pub fn kommunkod(
        &self,
        name: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<komvux_domain::Kommunkod> {
        use komvux_domain::validation::ErrorCode;
        match self.get(name).map(komvux_domain::Kommunkod::parse) {
            Some(Ok(k)) => Some(k),
            Some(Err(e)) => {
                errors.push(FieldError::new(name, e.code(), e.to_string()));
                None
            }
            None => {
                errors.push(FieldError::new(
                    name,
                    "saknas",
                    "Parametern är obligatorisk",
                ));
                None
            }
        }
    }

    /// An optional integer within `min..=max`, `default` when absent.
    pub fn int(
        &self,
        name: &str,
        default: u32,
        min: u32,
        max: u32,
        errors: &mut Vec<FieldError>,
    ) -> u32 {
        match self.get(name) {
            None => default,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    errors.push(FieldError::new(
                        name,
                        "ogiltigt_heltal",
                        format!("Ska vara ett heltal {min}–{max}"),
                    ));
                    default
                }
            },
        }
    }
}
