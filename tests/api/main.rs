//! Black-box tests: the gateway on a random port with real TLS and real client
//! certificates, on SQLite and on PostgreSQL, and the real binary started as the
//! README says.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub,
    reason = "tests fail loudly"
)]

mod binary;
mod bodies;
mod browser;
mod chaos;
mod flows;
mod intern;
mod mina_sidor;
mod openapi;
mod outage;
mod receipts;
mod security;
mod support;
mod tabell2;
mod tls;
mod waiting;

/// Runs each named scenario against both databases.
macro_rules! on_both_databases {
    ($test:ident => $module:ident: $($name:ident),+ $(,)?) => {
        mod $test {
            #![allow(unused_imports)]
            mod sqlite {
                $(
                    #[actix_web::test]
                    async fn $name() {
                        let app = crate::support::TestApp::spawn(crate::support::Db::Sqlite).await.unwrap();
                        crate::$module::$name(&app).await;
                        app.stop().await;
                    }
                )+
            }
            mod postgres {
                $(
                    #[actix_web::test]
                    async fn $name() {
                        if let Some(app) = crate::support::TestApp::spawn(crate::support::Db::Postgres).await {
                            crate::$module::$name(&app).await;
                            app.stop().await;
                        }
                    }
                )+
            }
        }
    };
}

/// Runs each named Mina sidor scenario against both databases.
macro_rules! mina_sidor_on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod mina_sidor_test {
            mod sqlite {
                $(
                    #[actix_web::test]
                    async fn $name() {
                        let app = crate::support::TestApp::spawn_mina_sidor(crate::support::Db::Sqlite, |_| {}).await.unwrap();
                        crate::mina_sidor::$name(&app).await;
                        app.stop().await;
                    }
                )+
            }
            mod postgres {
                $(
                    #[actix_web::test]
                    async fn $name() {
                        if let Some(app) = crate::support::TestApp::spawn_mina_sidor(crate::support::Db::Postgres, |_| {}).await {
                            crate::mina_sidor::$name(&app).await;
                            app.stop().await;
                        }
                    }
                )+
            }
        }
    };
}

#[actix_web::test]
async fn a_mina_sidor_session_ends_when_idle() {
    let app = support::TestApp::spawn_mina_sidor(support::Db::Sqlite, |c| {
        c.session_idle_secs = 1;
    })
    .await
    .unwrap();
    mina_sidor::sessions_end_when_idle(&app).await;
    app.stop().await;
}

#[actix_web::test]
async fn mina_sidor_believes_forwarded_for_only_from_a_trusted_proxy() {
    let app = support::TestApp::spawn_mina_sidor(support::Db::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
    .unwrap();
    mina_sidor::a_trusted_proxy_forwards_the_users_address(&app).await;
    app.stop().await;
}

mina_sidor_on_both_databases!(
    invitations_register_once_and_only_the_invited_person,
    invitations_never_change_an_account,
    logout_from_every_device_ends_every_session,
    a_handlaggare_looks_up_and_registers_and_af_sees_it,
    a_user_of_another_kommun_sees_nothing_of_it,
    forms_sessions_and_headers_are_protected,
    skyddade_personuppgifter_are_flagged_and_withheld,
    the_kommun_lists_and_exports_what_it_sent,
    new_decisions_are_counted_since_the_last_login,
    tabell2_is_narrowed_and_ordered,
);

on_both_databases!(flows_test => flows:
    a_kommun_system_does_its_whole_job,
    rules_refuse_errors_and_warn_in_the_receipt,
    preconditions_have_their_own_problem_types,
    corrections_replace_and_withdraw,
    idempotency_keys_replay_and_refuse,
    basladdning_is_all_or_nothing_and_names_each_item,
    listings_and_feeds_page,
    feed_cursors_are_bound_to_their_kommun,
    skyddade_personuppgifter_leave_out_locating_fields,
);

on_both_databases!(receipts_test => receipts:
    receipts_are_signed_verifiable_and_replayed_byte_for_byte,
    receipts_are_proven_in_the_log_and_checkpoints_are_consistent,
);

on_both_databases!(waiting_test => waiting:
    a_waiting_feed_read_answers_when_a_decision_is_made,
    a_wait_that_ends_answers_an_empty_page,
    a_client_has_at_most_four_reads_waiting,
    af_waits_for_the_next_kommun_message,
);

on_both_databases!(tabell2_test => tabell2:
    each_utbildningsbehov_appears_once_as_it_starts_and_as_it_ends,
    tabell2_cursors_and_parameters_are_checked,
    a_waiting_tabell2_read_answers_when_af_anvisar,
);

on_both_databases!(intern_test => intern:
    af_case_handlers_do_their_whole_job,
    bad_tokens_are_refused,
    integrators_drive_their_flows_with_test_data,
);

on_both_databases!(security_test => security:
    another_kommuns_data_is_refused_on_every_endpoint,
    credentials_must_match_an_active_client_of_the_certificates_organisation,
    certificate_forms_of_every_swedish_issuer_are_accepted,
    bad_input_gets_a_clean_problem,
    bodies_are_bounded_in_size_and_time,
    http2_is_not_offered,
    malformed_http_gets_a_problem,
    no_refusal_is_answered_without_its_audit_event,
    idle_connections_do_not_lock_clients_out,
    test_environment_takes_only_test_persons,
    tls_material_reloads_without_restart,
);

#[actix_web::test]
async fn production_refuses_test_persons_and_has_no_test_routes() {
    let app =
        support::TestApp::spawn_with(support::Db::Sqlite, komvux_http::Mode::Produktion, |_| {})
            .await
            .unwrap();
    assert_eq!(app.mode, komvux_http::Mode::Produktion);
    let api = app.client(support::STOCKHOLM_ORG, &["0180"]);
    let r = api
        .post(
            "/utbildningsbehov/sok",
            &serde_json::json!({ "personnummer": "201212121212" }),
        )
        .await;
    assert_eq!(
        (r.status, r.problem_type()),
        (422, "/problem/testperson-i-produktion")
    );
    let real = serde_json::json!({ "personnummer": "199001011239" });
    assert_eq!(api.post("/utbildningsbehov/sok", &real).await.status, 200);
    assert_eq!(api.get("/api-info").await.body["miljo"], "produktion");
    let r = api
        .post("/testdata/aterstall", &serde_json::json!({}))
        .await;
    assert_eq!(r.status, 404, "no test data routes in production");
    app.stop().await;
}

#[actix_web::test]
async fn operations_port_answers_health_and_metrics() {
    let app = support::TestApp::spawn(support::Db::Sqlite).await.unwrap();
    let api = app.client(support::STOCKHOLM_ORG, &["0180"]);
    api.get("/utbildningsbehov?hemkommun=0180").await;
    api.get("/utbildningsbeslut?kommunkod=0180").await;
    let plain = crate::support::plain_client();
    let base = format!("http://127.0.0.1:{}", app.ops_port);
    assert_eq!(
        plain
            .get(format!("{base}/health/live"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        plain
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let m = support::metrics_text(app.ops_port).await;
    assert!(m.contains("komvux_http_requests_total{"), "{m}");
    assert!(m.contains("route=\"/komvux/v1/utbildningsbehov\""), "{m}");
    assert!(m.contains("komvux_audited_transactions_total"), "{m}");
    assert!(
        m.contains("komvux_feed_head_position{feed=\"utbildningsbeslut\"}"),
        "{m}"
    );
    assert!(m.contains("komvux_db_pool_max_connections"), "{m}");
    assert!(m.contains("komvux_feed_lag{client="), "{m}");
    assert!(
        m.contains("komvux_http_request_duration_seconds_bucket"),
        "{m}"
    );
    assert!(!m.contains("201212121212"));
    app.stop().await;
}

#[actix_web::test]
async fn per_client_rate_limit_answers_429_with_retry_after() {
    let app = support::TestApp::spawn_with(support::Db::Sqlite, komvux_http::Mode::Test, |c| {
        c.rate_limit = Some(komvux_http::RateLimit {
            per_second: 1,
            burst: 3,
        });
    })
    .await
    .unwrap();
    let a = app.client(support::STOCKHOLM_ORG, &["0180"]);
    let b = app.client(support::GOTEBORG_ORG, &["1480"]);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(a.get("/utbildningsbehov?hemkommun=0180").await);
    }
    assert!(
        statuses[..3].iter().all(|r| r.status == 200),
        "the burst passes"
    );
    let limited = statuses.iter().find(|r| r.status == 429).expect("then 429");
    assert_eq!(limited.problem_type(), "/problem/for-manga-anrop");
    assert!(
        limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        b.get("/utbildningsbehov?hemkommun=1480").await.status,
        200,
        "per client"
    );
    app.stop().await;
}
