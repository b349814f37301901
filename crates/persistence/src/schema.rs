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
        behov_pos -> Nullable<BigInt>,
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
    audit_journal (id) {
        id -> BigInt,
        at -> BigInt,
        actor_kind -> Text,
        actor -> Text,
        kommunkod -> Nullable<Text>,
        person -> Nullable<Text>,
        action -> Text,
        target -> Nullable<Text>,
        outcome -> Text,
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

diesel::table! {
    ms_users (id) {
        id -> Text,
        kommunkod -> Text,
        person_hash -> Text,
        namn -> Text,
        epost -> Text,
        roll -> Text,
        active -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    ms_invitations (token_hash) {
        token_hash -> Text,
        kommunkod -> Text,
        person_hash -> Text,
        epost -> Text,
        roll -> Text,
        invited_by -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        withdrawn_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    ms_sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        csrf -> Text,
        created_at -> BigInt,
        last_seen -> BigInt,
    }
}

diesel::table! {
    ms_logins (token_hash) {
        token_hash -> Text,
        order_ref -> Text,
        auto_start_token -> Text,
        qr_start_token -> Text,
        qr_start_secret -> Text,
        invitation_hash -> Nullable<Text>,
        started_at -> BigInt,
    }
}

diesel::joinable!(ms_sessions -> ms_users (user_id));
diesel::allow_tables_to_appear_in_same_query!(ms_sessions, ms_users);

diesel::table! {
    ms_person_refs (id) {
        id -> Text,
        session_hash -> Text,
        ciphertext -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    ms_login_marks (user_id) {
        user_id -> Text,
        previous_pos -> Nullable<BigInt>,
        latest_pos -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    receipts (meddelande_id) {
        meddelande_id -> Text,
        leaf_index -> BigInt,
        leaf_hash -> Text,
        jws -> Nullable<Text>,
        issued_at -> BigInt,
    }
}

diesel::table! {
    merkle_nodes (level, idx) {
        level -> Integer,
        idx -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    checkpoints (tree_size) {
        tree_size -> BigInt,
        root_hash -> Text,
        tid -> Text,
        signatur_jws -> Text,
        tidsstampel -> Nullable<Text>,
    }
}

diesel::joinable!(ms_person_refs -> ms_sessions (session_hash));
diesel::joinable!(ms_login_marks -> ms_users (user_id));
diesel::allow_tables_to_appear_in_same_query!(ms_login_marks, ms_users);
diesel::allow_tables_to_appear_in_same_query!(ms_person_refs, ms_sessions);
diesel::allow_tables_to_appear_in_same_query!(receipts, messages);
