//! The kommun's messages: the header, each kind's body, receipts and stored messages.

use super::*;

/// The header of every message a kommun sends.
#[derive(Debug, Serialize, ToSchema)]
pub struct KommunHeader {
    /// The kommun the message is about.
    #[schema(value_type = KommunkodSchema)]
    kommunkod: String,
    #[schema(value_type = PersonnummerSchema)]
    personnummer: String,
    /// When the source system registered the message (RFC 3339, any offset).
    #[schema(format = DateTime, example = "2026-03-02T10:49:29.100+01:00")]
    transaktionsdatum: String,
    /// The source system: 1–100 characters, not only spaces, no control characters.
    #[schema(
        example = "Extens",
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    kallsystem: String,
    status: Status,
    /// The meddelande_id replaced; required for andring and borttag, forbidden for registrering.
    #[schema(format = Uuid, nullable)]
    ersatter: Option<String>,
}

/// A course.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "kurskod": "MATMAT01a", "kursnamn": "Matematik 1a", "skolform": "gymnasial",
    "poang": 100, "studietakt": 50, "startdatum": "2026-08-17", "slutdatum": "2026-12-18" }))]
pub struct Kurs {
    #[schema(value_type = KurskodSchema)]
    kurskod: String,
    /// 1–200 characters, not only spaces, no control characters.
    #[schema(
        example = "Matematik 1a",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    kursnamn: String,
    skolform: Skolform,
    #[schema(minimum = 0, maximum = 3000)]
    poang: u16,
    /// Percent of full time.
    #[schema(minimum = 1, maximum = 100)]
    studietakt: u8,
    #[schema(format = Date)]
    startdatum: String,
    /// Not before startdatum.
    #[schema(format = Date)]
    slutdatum: String,
    #[schema(pattern = "^[0-9]{8}$", nullable)]
    skolenhetskod: Option<String>,
}

/// An ansökan.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::ansokan)]
pub struct AnsokanRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    #[schema(format = Date)]
    ansokningsdatum: String,
    /// 1–50 courses.
    #[schema(min_items = 1, max_items = 50)]
    kurser: Vec<Kurs>,
}

/// The kommun's decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AntagningBeslut {
    Antagen,
    Mottagen,
    EjAntagen,
    EjMottagen,
    Reserv,
}

/// An antagning (komvux) or mottagande (sfi).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::antagning)]
pub struct AntagningRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    beslut: AntagningBeslut,
    #[schema(format = Date)]
    beslutsdatum: String,
    #[schema(min_items = 1, max_items = 50)]
    kurser: Vec<Kurs>,
}

/// Why studies were broken off.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AvbrottOrsak {
    Arbete,
    Sjukdom,
    Flytt,
    EgenBegaran,
    UteblivenNarvaro,
    Ovrigt,
}

/// An avbrott: the whole education (no kurskoder) or the listed courses.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::avbrott)]
pub struct AvbrottRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    #[schema(format = Date)]
    avbrottsdatum: String,
    #[schema(min_items = 1, max_items = 50, nullable, value_type = Option<Vec<KurskodSchema>>)]
    kurskoder: Option<Vec<String>>,
    orsak: AvbrottOrsak,
}

/// A change in ongoing studies; at least one ny_* is given.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::forandring)]
pub struct ForandringRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    #[schema(value_type = KurskodSchema)]
    kurskod: String,
    #[schema(format = Date)]
    giltig_fran: String,
    #[schema(format = Date, nullable)]
    ny_startdatum: Option<String>,
    #[schema(format = Date, nullable)]
    ny_slutdatum: Option<String>,
    #[schema(minimum = 1, maximum = 100, nullable)]
    ny_studietakt: Option<u8>,
    #[schema(minimum = 0, maximum = 3000, nullable)]
    ny_poang: Option<u16>,
}

/// A grade. gymnasial and anpassad_gymnasial: A–F or "-"; grundlaggande and sfi: G or IG;
/// anpassad_grundlaggande: only G.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::betyg)]
pub struct BetygRequest {
    #[schema(inline)]
    #[serde(flatten)]
    header: KommunHeader,
    #[schema(value_type = KurskodSchema)]
    kurskod: String,
    skolform: Skolform,
    #[schema(example = "C", pattern = "^([A-F]|-|G|IG)$")]
    betyg: String,
    #[schema(format = Date)]
    betygsdatum: String,
    #[schema(minimum = 0, maximum = 3000)]
    poang: u16,
}

/// A bulk load: all or nothing, each item with status registrering, at most 10 000 in all.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = examples::basladdning)]
pub struct BasladdningRequest {
    ansokningar: Option<Vec<AnsokanRequest>>,
    antagningar: Option<Vec<AntagningRequest>>,
}

/// The message type.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Typ {
    Ansokan,
    Antagning,
    Avbrott,
    Forandring,
    Betyg,
}

/// The receipt of a stored message, with its signed form (`kvittens_jws`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "meddelande_id": "6f1c2b4e-8c1d-4a0e-9b7a-2f3d4c5b6a79", "typ": "ansokan",
    "status": "registrering", "ersatter": null, "mottaget": "2026-03-02T09:49:30.512Z",
    "kvittens_jws": "eyJ0eXAiOiJKT1NFIiwiYWxnIjoiRVMyNTYiLCJraWQiOiIuLi4ifQ.eyJ2ZXIiOjEsIi4uLiI6Ii4uLiJ9.c2lnbmF0dXI" }))]
pub struct Kvittens {
    #[schema(format = Uuid)]
    meddelande_id: String,
    typ: Typ,
    status: Status,
    #[schema(format = Uuid, nullable)]
    ersatter: Option<String>,
    #[schema(format = DateTime)]
    mottaget: String,
    /// What the rules warn about (a date ahead, a course not in the utbildningsbeslut,
    /// ...); the message is stored all the same. Absent when there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    varningar: Vec<Varning>,
    /// The receipt signed (compact JWS, RFC 7515, ES256; header `kid` names its key in
    /// `GET /nycklar`), signed after the write committed. Payload: `ver` (1),
    /// `meddelande_id`, `typ`, `status`, `kommunkod`, `ersatter`, `mottaget`, `klient_id`,
    /// `organisationsnummer`, `nonce` (16 random bytes, base64url) and `innehall_sha256`
    /// = base64url(SHA-256(nonce ‖ RFC 8785 canonical JSON of the body as sent; in a
    /// basladdning the item)). No personnummer, no body field. A replay carries the very
    /// same bytes. See docs/kvittenser.md.
    #[schema(pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
    kvittens_jws: String,
}

/// A warning in a receipt: the field, a stable code, a Swedish explanation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "falt": "kurskod", "kod": "kurskod_saknas_i_beslut",
    "meddelande": "Kursen ENGENG05 finns inte i personens utbildningsbeslut" }))]
pub struct Varning {
    falt: String,
    kod: String,
    meddelande: String,
}

/// Receipts of a basladdning, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BasladdningSvar {
    ansokningar: Vec<Kvittens>,
    antagningar: Vec<Kvittens>,
}

/// A stored kommun message: the fields as sent plus its state. The body fields of its
/// type follow the header fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meddelande {
    #[schema(format = Uuid)]
    meddelande_id: String,
    typ: Typ,
    kommunkod: String,
    personnummer: String,
    #[schema(format = DateTime)]
    transaktionsdatum: String,
    kallsystem: String,
    status: Status,
    #[schema(format = Uuid, nullable)]
    ersatter: Option<String>,
    #[schema(format = DateTime)]
    mottaget: String,
    /// false when a later message replaced this one.
    aktuell: bool,
    #[schema(format = Uuid, nullable)]
    ersatt_av: Option<String>,
    skyddade_personuppgifter: bool,
}

/// The key set of the receipts (RFC 7517 JWKS): the current key and every retired one,
/// never removed. `kid` is the key's RFC 7638 thumbprint.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    "alg": "ES256", "use": "sig" }] }))]
pub struct Nycklar {
    keys: Vec<Nyckel>,
}

/// One receipt key (JWK, P-256).
#[derive(Debug, Serialize, ToSchema)]
pub struct Nyckel {
    kty: String,
    crv: String,
    x: String,
    y: String,
    kid: String,
    alg: String,
    #[serde(rename = "use")]
    use_: String,
}

/// A receipt with its evidence (`GET /meddelanden/{id}/kvittens`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Kvittensbevis {
    kvittens_jws: String,
    /// `null` until a checkpoint holds the receipt.
    #[schema(nullable)]
    inklusionsbevis: Option<Inklusionsbevis>,
    /// The checkpoint the proof is for; `null` with `inklusionsbevis`.
    #[schema(nullable)]
    kontrollpunkt: Option<Kontrollpunkt>,
}

/// An RFC 9162 inclusion proof: the receipt is leaf `leaf_index` of the tree of
/// `tree_size` leaves; `hashes` from the leaf up, hex.
#[derive(Debug, Serialize, ToSchema)]
pub struct Inklusionsbevis {
    leaf_index: u64,
    tree_size: u64,
    hashes: Vec<String>,
}

/// A signed tree head of the receipts' transparency log.
#[derive(Debug, Serialize, ToSchema)]
pub struct Kontrollpunkt {
    tree_size: u64,
    /// The RFC 9162 root of the first `tree_size` receipts, hex.
    root_hash: String,
    /// When it was signed (RFC 3339).
    #[schema(format = DateTime)]
    tid: String,
    /// `{tree_size, root_hash, tid}` signed with the receipt key (compact JWS, ES256).
    signatur_jws: String,
    /// The RFC 3161 time-stamp authority's answer over `signatur_jws` (base64 DER
    /// TimeStampResp; `openssl ts -verify -data` the JWS bytes); `null` until it has
    /// answered (docs/kvittenser.md).
    #[schema(nullable)]
    tidsstampel: Option<String>,
}

/// An RFC 9162 consistency proof, hex.
#[derive(Debug, Serialize, ToSchema)]
pub struct Konsistensbevis {
    hashes: Vec<String>,
}
