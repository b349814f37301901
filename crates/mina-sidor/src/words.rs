//! Swedish words for the values the API spells in ASCII (`gymnasial`, `andring`,
//! `egen_begaran`), and times in Swedish local time: every page shows these, never the
//! API's own spelling.

/// Skolformer, as the forms offer them and the pages show them.
pub(crate) const SKOLFORM: &[(&str, &str)] = &[
    ("grundlaggande", "Grundläggande"),
    ("gymnasial", "Gymnasial"),
    ("sfi", "Sfi"),
    ("anpassad_grundlaggande", "Anpassad grundläggande"),
    ("anpassad_gymnasial", "Anpassad gymnasial"),
];

/// An antagning's decision.
pub(crate) const BESLUT: &[(&str, &str)] = &[
    ("antagen", "Antagen (komvux)"),
    ("mottagen", "Mottagen (sfi)"),
    ("ej_antagen", "Ej antagen"),
    ("ej_mottagen", "Ej mottagen"),
    ("reserv", "Reserv"),
];

/// An avbrott's reason.
pub(crate) const ORSAK: &[(&str, &str)] = &[
    ("arbete", "Arbete"),
    ("sjukdom", "Sjukdom"),
    ("flytt", "Flytt"),
    ("egen_begaran", "Egen begäran"),
    ("utebliven_narvaro", "Utebliven närvaro"),
    ("ovrigt", "Övrigt"),
];

/// The message kinds a kommun writes, and Af's.
pub(crate) const TYP: &[(&str, &str)] = &[
    ("ansokan", "Ansökan"),
    ("antagning", "Antagning"),
    ("avbrott", "Avbrott"),
    ("forandring", "Förändring"),
    ("betyg", "Betyg"),
    ("utbildningsbehov", "Utbildningsbehov"),
    ("utbildningsbeslut", "Utbildningsbeslut"),
    ("etableringsprogram", "Etableringsprogram"),
];

/// Every status: a kommun message's, an utbildningsbehov's, an utbildningsbeslut's
/// (the three sets share no value; an utbildningsbehov and -beslut are neuter).
pub(crate) const STATUS: &[(&str, &str)] = &[
    ("registrering", "Registrering"),
    ("andring", "Ändring"),
    ("borttag", "Borttag"),
    ("aktiv", "Aktivt"),
    ("avslutad", "Avslutat"),
    ("utgangen", "Utgånget"),
    ("beslutad", "Beslutat"),
    ("andrad", "Ändrat"),
    ("upphord", "Upphört"),
];

fn lookup(table: &[(&'static str, &'static str)], value: &str) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, w)| *w)
}

/// The Swedish word for `value` of the field `field`, if the field is a closed set.
pub(crate) fn word(field: &str, value: &str) -> Option<&'static str> {
    let table = match field.rsplit('.').next().unwrap_or(field) {
        "skolform" | "skolformer" => SKOLFORM,
        "beslut" => BESLUT,
        "orsak" => ORSAK,
        "typ" => TYP,
        "status" => STATUS,
        _ => return None,
    };
    lookup(table, value)
}

/// A message kind in Swedish words ("Ansökan").
pub(crate) fn typ_text(typ: &str) -> &'static str {
    lookup(TYP, typ).unwrap_or("Meddelande")
}

/// A message status in Swedish words ("Ändring").
pub(crate) fn status_text(status: &str) -> &'static str {
    lookup(STATUS, status).unwrap_or("Okänd")
}

/// An RFC 3339 time as the API gives it (`2026-12-01T10:00:00Z`), in Swedish time.
pub(crate) fn rfc3339_text(s: &str) -> Option<String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000)
        .ok()
        .map(swedish_time)
}

/// The first moment of `date` in Sweden, in microseconds since the epoch (midnight
/// CET or CEST, whichever holds then; at 00:00 both are unambiguous).
pub(crate) fn swedish_midnight(date: time::Date) -> i64 {
    let at = |hours: i64| {
        let utc = date.midnight().assume_utc() - time::Duration::hours(hours);
        i64::try_from(utc.unix_timestamp_nanos() / 1_000).unwrap_or_default()
    };
    let winter = at(1);
    if swedish_time(winter).ends_with(" 00:00") {
        winter
    } else {
        at(2)
    }
}

/// Today's date in Sweden (`YYYY-MM-DD`), by [`swedish_time`]'s rule.
pub(crate) fn swedish_today() -> String {
    let now = time::OffsetDateTime::now_utc();
    let micros = i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or_default();
    swedish_time(micros).chars().take(10).collect()
}

/// A stored timestamp (microseconds) in Swedish time, e.g. `2026-11-28 10:00`:
/// CET, and CEST from the last Sunday of March to the last Sunday of October (01:00
/// UTC both, the EU rule).
pub(crate) fn swedish_time(micros: i64) -> String {
    let utc = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let last_sunday_01_utc = |month: time::Month| {
        let last = time::Date::from_calendar_date(utc.year(), month, 31)
            .unwrap_or(time::macros::date!(1970 - 01 - 01));
        let back = i64::from(last.weekday().number_days_from_sunday());
        last.saturating_sub(time::Duration::days(back))
            .with_hms(1, 0, 0)
            .map(|t| t.assume_utc())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    };
    let summer = utc >= last_sunday_01_utc(time::Month::March)
        && utc < last_sunday_01_utc(time::Month::October);
    let local = utc.to_offset(if summer {
        time::macros::offset!(+2)
    } else {
        time::macros::offset!(+1)
    });
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    local.format(&f).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{rfc3339_text, swedish_time, word};

    fn micros(rfc3339: &str) -> i64 {
        let t =
            time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or_default()
    }

    #[test]
    fn swedish_time_is_cet_in_winter_cest_in_summer_changing_at_01_utc_on_the_last_sundays() {
        // 2026: the last Sundays of March and October are the 29th and the 25th.
        for (utc, swedish) in [
            ("2026-12-01T10:00:00Z", "2026-12-01 11:00"),
            ("2026-07-01T10:00:00Z", "2026-07-01 12:00"),
            ("2026-03-29T00:59:00Z", "2026-03-29 01:59"),
            ("2026-03-29T01:00:00Z", "2026-03-29 03:00"),
            ("2026-10-25T00:59:00Z", "2026-10-25 02:59"),
            ("2026-10-25T01:00:00Z", "2026-10-25 02:00"),
        ] {
            assert_eq!(swedish_time(micros(utc)), swedish, "{utc}");
        }
    }

    #[test]
    fn closed_sets_have_swedish_words_and_times_are_local() {
        assert_eq!(
            word("skolformer", "anpassad_gymnasial"),
            Some("Anpassad gymnasial")
        );
        assert_eq!(word("kurser[2].skolform", "sfi"), Some("Sfi"));
        assert_eq!(word("orsak", "egen_begaran"), Some("Egen begäran"));
        assert_eq!(word("status", "andring"), Some("Ändring"));
        assert_eq!(word("kurskod", "MATMAT01a"), None);
        assert_eq!(
            rfc3339_text("2026-12-01T10:00:00Z").as_deref(),
            Some("2026-12-01 11:00")
        );
        assert_eq!(rfc3339_text("2026-12-01"), None);
        let midnight = |d| swedish_time(super::swedish_midnight(d));
        assert_eq!(
            midnight(time::macros::date!(2026 - 12 - 07)),
            "2026-12-07 00:00"
        );
        assert_eq!(
            midnight(time::macros::date!(2026 - 07 - 01)),
            "2026-07-01 00:00"
        );
    }
}
