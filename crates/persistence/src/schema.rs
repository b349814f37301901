//! The diesel schema, written for both backends (portable column types only).

diesel::table! {
    identities (pseudonym) {
        pseudonym -> Text,
        lookup_hash -> Text,
        ciphertext -> Binary,
        skyddade_personuppgifter -> Bool,
        created_at -> BigInt,
        last_activity_at -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        record_id -> Text,
        kind -> Text,
        author -> Text,
        actor -> Text,
        kommunkod -> Nullable<Text>,
        person -> Text,
        status -> Text,
        ersatter -> Nullable<Text>,
        ersatt_av -> Nullable<Text>,
        aktuell -> Bool,
        transaktionsdatum -> Nullable<BigInt>,
        mottaget -> BigInt,
        giltig_tom -> Nullable<Text>,
        payload -> Text,
        handelse_pos -> Nullable<BigInt>,
        beslut_pos -> Nullable<BigInt>,
    }
}

diesel::table! {
    feed_counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        name -> Text,
        organisationsnummer -> Text,
        kommuner -> Text,
        active -> Bool,
        secret_hash -> Text,
        previous_secret_hash -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    idempotency (client_id, idempotency_key) {
        client_id -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        response -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> BigInt,
        actor_kind -> Text,
        actor -> Text,
        kommunkod -> Nullable<Text>,
        person -> Nullable<Text>,
        action -> Text,
        target -> Nullable<Text>,
        outcome -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::joinable!(messages -> identities (person));
diesel::allow_tables_to_appear_in_same_query!(identities, messages);
