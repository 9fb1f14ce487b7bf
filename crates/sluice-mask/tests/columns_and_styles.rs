//! Column rules, name heuristics, mask styles, JSON documents and configuration parsing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;

use sluice_mask::{
    ColumnMask, ColumnRule, DetectorKind, MaskConfig, MaskError, MaskStyle, Masker, MIN_HASH_KEY_LEN,
};

const KEY: &[u8] = b"columns-tests-hash-key-0123";

fn rule(table: &str, column: &str, style: MaskStyle) -> ColumnRule {
    ColumnRule {
        table: table.into(),
        column: column.into(),
        style,
    }
}

fn masker_with(columns: Vec<ColumnRule>) -> Masker {
    Masker::new(
        &MaskConfig {
            columns,
            ..MaskConfig::default()
        },
        KEY,
    )
    .unwrap()
}

#[test]
fn column_rules_mask_whole_values_whatever_their_content() {
    let m = masker_with(vec![
        rule("*", "password", MaskStyle::Redact),
        rule("users", "tax_ref", MaskStyle::Partial),
        rule("audit_*", "note?", MaskStyle::Hash),
    ]);
    assert_eq!(
        m.mask_value(Some("accounts"), Some("password"), "plain words"),
        "[REDACTED]"
    );
    assert_eq!(m.mask_value(None, Some("PASSWORD"), "x"), "[REDACTED]");
    assert_eq!(
        m.mask_value(Some("users"), Some("tax_ref"), "123-45-6789"),
        "***-**-6789"
    );
    // A value that is not recognisable as one detector kind is masked opaquely, not shape-kept.
    assert_eq!(
        m.mask_value(Some("users"), Some("tax_ref"), "unknown"),
        "********"
    );
    // The table glob must match; an unknown table only matches `*`.
    assert_eq!(m.mask_value(Some("staff"), Some("tax_ref"), "hello"), "hello");
    assert_eq!(m.mask_value(None, Some("tax_ref"), "hello"), "hello");
    let hashed = m.mask_value(Some("audit_2024"), Some("notes"), "anything at all");
    assert!(hashed.starts_with("tok_") && hashed.len() == 16, "{hashed}");
    // Empty values stay empty (NULL-like cells are not turned into masks).
    assert_eq!(m.mask_value(None, Some("password"), ""), "");
}

#[test]
fn column_masks_are_idempotent_on_their_own_shape_kept_output() {
    let m = masker_with(vec![
        rule("users", "ssn", MaskStyle::Partial),
        rule("payments", "card_number", MaskStyle::Partial),
        rule("*", "iban", MaskStyle::Partial),
        rule("*", "contact", MaskStyle::Partial),
        rule("*", "token", MaskStyle::Partial),
    ]);
    for (table, column, value) in [
        ("users", "ssn", "123-45-6789"),
        ("payments", "card_number", "4111111111111111"),
        ("payments", "card_number", "4111 1111 1111 1111"),
        ("x", "iban", "DE89 3704 0044 0532 0130 00"),
        ("x", "contact", "john.doe@example.com"),
        ("x", "token", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    ] {
        let once = m.mask_value(Some(table), Some(column), value).into_owned();
        assert_ne!(once, value);
        let twice = m.mask_value(Some(table), Some(column), &once);
        assert_eq!(twice, once, "{table}.{column}: {value}");
    }
    // A real value with a star in it is still masked.
    assert_eq!(
        m.mask_value(Some("users"), Some("ssn"), "12*-45-6789"),
        "********"
    );
}

#[test]
fn the_first_matching_rule_wins_so_exemptions_go_first() {
    let m = masker_with(vec![
        rule("public_keys", "*", MaskStyle::Keep),
        rule("*", "*key*", MaskStyle::Redact),
    ]);
    assert_eq!(
        m.column_mask(Some("public_keys"), Some("api_key")),
        ColumnMask::Keep
    );
    assert_eq!(
        m.mask_value(Some("public_keys"), Some("api_key"), "user@example.com"),
        "user@example.com"
    );
    assert_eq!(m.mask_value(Some("other"), Some("api_key"), "abc"), "[REDACTED]");
}

#[test]
fn name_heuristics_recognise_what_columns_hold() {
    let m = masker_with(Vec::new());
    let masked = [
        "email",
        "user_email",
        "e_mail",
        "emailAddress",
        "EMAIL",
        "card_number",
        "cardNumber",
        "cc_num",
        "CCNum",
        "pan",
        "credit_card",
        "ssn",
        "social_security_number",
        "password",
        "passwd",
        "db_password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refreshToken",
        "api_key",
        "apiKey",
        "iban",
        "phone",
        "phone_number",
        "mobile",
        "private_key",
    ];
    for column in masked {
        assert!(
            matches!(m.column_mask(Some("t"), Some(column)), ColumnMask::Whole(_)),
            "{column} should be masked by name"
        );
    }
    let unmasked = [
        "email_verified",
        "password_changed_at",
        "token_type",
        "max_tokens",
        "company",
        "span",
        "phones_count",
        "id",
        "created_at",
        "secretary",
        "tokenizer",
    ];
    for column in unmasked {
        assert_eq!(
            m.column_mask(Some("t"), Some(column)),
            ColumnMask::Detect,
            "{column} should not be masked by name"
        );
    }
    assert_eq!(
        m.mask_value(Some("users"), Some("user_email"), "jane@example.com"),
        "j****@*****.com"
    );
    assert_eq!(
        m.mask_value(Some("users"), Some("password"), "hunter2"),
        "********"
    );
    assert_eq!(
        m.mask_value(Some("cards"), Some("cc_num"), "4111111111111111"),
        "************1111"
    );
}

#[test]
fn heuristics_can_be_switched_off_and_follow_detector_styles() {
    let off = Masker::new(
        &MaskConfig {
            name_heuristics: false,
            ..MaskConfig::default()
        },
        KEY,
    )
    .unwrap();
    assert_eq!(off.mask_value(None, Some("password"), "hunter2"), "hunter2");
    // Content detection still applies without heuristics.
    assert_eq!(
        off.mask_value(None, Some("notes"), "mail a@b.io"),
        "mail a****@*****.io"
    );

    let mut config = MaskConfig::default();
    config.detectors.insert(DetectorKind::Email, MaskStyle::Keep);
    config
        .detectors
        .insert(DetectorKind::GenericSecret, MaskStyle::Redact);
    let m = Masker::new(&config, KEY).unwrap();
    assert_eq!(m.column_mask(None, Some("email")), ColumnMask::Detect);
    assert_eq!(
        m.mask_value(None, Some("email"), "jane@example.com"),
        "jane@example.com"
    );
    assert_eq!(m.mask_value(None, Some("password"), "hunter2"), "[REDACTED]");
}

#[test]
fn hash_tokens_are_stable_keyed_and_ignore_formatting() {
    let mut config = MaskConfig {
        default_style: MaskStyle::Hash,
        ..MaskConfig::default()
    };
    config.detectors.insert(DetectorKind::Phone, MaskStyle::Partial);
    let a = Masker::new(&config, KEY).unwrap();
    let b = Masker::new(&config, b"a-different-key-of-enough-length").unwrap();
    let t1 = a.mask_text("4111 1111 1111 1111");
    let t2 = a.mask_text("4111-1111-1111-1111");
    let t3 = a.mask_text("4111111111111111");
    assert!(t1.starts_with("tok_") && t1.len() == 16, "{t1}");
    assert_eq!(t1, t2);
    assert_eq!(t1, t3);
    assert_ne!(
        t1,
        b.mask_text("4111111111111111"),
        "another key must give another token"
    );
    assert_ne!(t1, a.mask_text("5555555555554444"));
    // E-mail tokens ignore case; the text around a token is kept.
    assert_eq!(
        a.mask_text("to Jane@Example.com"),
        a.mask_text("to jane@example.com")
    );
    // A hash token is never detected again (idempotence).
    let once = a.mask_text("password=hunter2 card 4111111111111111");
    assert_eq!(a.mask_text(&once), once);
}

#[test]
fn redact_and_keep_styles_do_what_they_say() {
    let mut config = MaskConfig {
        default_style: MaskStyle::Redact,
        ..MaskConfig::default()
    };
    config.detectors.insert(DetectorKind::Phone, MaskStyle::Keep);
    let m = Masker::new(&config, &[]).unwrap();
    assert_eq!(
        m.mask_text("card 4111111111111111, call +1 415 555 2671"),
        "card [REDACTED], call +1 415 555 2671"
    );
    assert_eq!(m.mask_text("AKIAIOSFODNN7EXAMPLE"), "[REDACTED]");
    assert_eq!(m.mask_text("password=[REDACTED]"), "password=[REDACTED]");
}

#[test]
fn partial_masks_of_credentials_keep_no_key_material() {
    let m = masker_with(Vec::new());
    let cases = [
        ("AKIAIOSFODNN7EXAMPLE", "AKIA"),
        ("ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "ghp_"),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_"),
        ("glpat-AbCdEfGhIjKlMnOpQrSt", "glpat-"),
    ];
    for (token, prefix) in cases {
        let out = m.mask_text(token);
        assert_eq!(out, format!("{prefix}********"));
        let body = &token[prefix.len()..];
        assert!(body
            .as_bytes()
            .windows(3)
            .all(|w| !out.as_bytes().windows(3).any(|o| o == w) || w == b"***"));
    }
}

#[test]
fn hash_style_needs_a_long_enough_key_and_empty_globs_are_refused() {
    let config = MaskConfig {
        default_style: MaskStyle::Hash,
        ..MaskConfig::default()
    };
    assert_eq!(
        Masker::new(&config, b"short").unwrap_err(),
        MaskError::HashKeyTooShort {
            min: MIN_HASH_KEY_LEN
        }
    );
    let column_hash = MaskConfig {
        columns: vec![rule("*", "x", MaskStyle::Hash)],
        ..MaskConfig::default()
    };
    assert!(Masker::new(&column_hash, b"").is_err());
    // Without any hash style, no key is needed.
    assert!(Masker::new(&MaskConfig::default(), b"").is_ok());
    let empty = MaskConfig {
        columns: vec![rule("*", "", MaskStyle::Redact)],
        ..MaskConfig::default()
    };
    let err = Masker::new(&empty, KEY).unwrap_err();
    assert_eq!(
        err,
        MaskError::EmptyPattern {
            index: 0,
            field: "column"
        }
    );
    assert_eq!(err.to_string(), "mask column rule 0: the column pattern is empty");
}

#[test]
fn json_keys_act_as_column_names_at_every_depth() {
    let m = masker_with(vec![rule("*", "notes", MaskStyle::Redact)]);
    let doc = br#"{"user":{"email":"jane@example.com","name":"Jane","password":"hunter2","tags":["a","b"]},
        "cards":[{"number":4111111111111111},{"number":"5555 5555 5555 4444"}],
        "notes":["anything"],"log":"login from a@b.io","count":3,"ok":true,"none":null}"#;
    let out = m.mask_json(doc);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["user"]["email"], "j****@*****.com");
    assert_eq!(v["user"]["name"], "Jane");
    assert_eq!(v["user"]["password"], "********");
    assert_eq!(v["user"]["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(v["cards"][0]["number"], "************1111");
    assert_eq!(v["cards"][1]["number"], "**** **** **** 4444");
    assert_eq!(v["notes"][0], "[REDACTED]");
    assert_eq!(v["log"], "login from a****@*****.io");
    assert_eq!(v["count"], 3);
    assert_eq!(v["ok"], true);
    assert!(v["none"].is_null());
}

#[test]
fn json_without_findings_is_returned_as_is_and_invalid_json_is_masked_as_text() {
    let m = masker_with(Vec::new());
    let doc = br#"{ "a" : 1, "b": ["x"] }"#;
    assert!(matches!(m.mask_json(doc), Cow::Borrowed(_)));
    let broken = br#"{"password": "hunter2", "#;
    assert_eq!(&*m.mask_json(broken), br#"{"password": "********", "#);
}

#[test]
fn configuration_parses_from_toml_and_rejects_unknown_fields() {
    let text = r#"
        default_style = "partial"
        name_heuristics = false

        [detectors]
        email = "hash"
        phone = "keep"
        aws_secret_key = "redact"

        [[columns]]
        table = "users"
        column = "ssn"
        style = "partial"

        [[columns]]
        column = "*_token"
    "#;
    let config: MaskConfig = toml::from_str(text).unwrap();
    assert!(!config.name_heuristics);
    assert_eq!(config.style_for(DetectorKind::Email), MaskStyle::Hash);
    assert_eq!(config.style_for(DetectorKind::Phone), MaskStyle::Keep);
    assert_eq!(config.style_for(DetectorKind::CardNumber), MaskStyle::Partial);
    assert_eq!(config.columns[1], rule("*", "*_token", MaskStyle::Redact));
    assert!(config.uses_hash());

    assert!(toml::from_str::<MaskConfig>("default_stile = \"redact\"").is_err());
    assert!(toml::from_str::<MaskConfig>("[detectors]\ncredit_card = \"redact\"").is_err());
    assert!(toml::from_str::<MaskConfig>("[[columns]]\ncolumn = \"x\"\nstyle = \"blur\"").is_err());
    assert!(toml::from_str::<MaskConfig>("[[columns]]\ncolumn = \"x\"\ntabel = \"y\"").is_err());
    assert_eq!(toml::from_str::<MaskConfig>("").unwrap(), MaskConfig::default());
    for kind in DetectorKind::ALL {
        let parsed: MaskConfig =
            toml::from_str(&format!("[detectors]\n{} = \"redact\"", kind.name())).unwrap();
        assert_eq!(parsed.style_for(kind), MaskStyle::Redact, "{}", kind.name());
    }
}

#[test]
fn debug_output_of_a_masker_does_not_reveal_the_hash_key() {
    let m = Masker::new(&MaskConfig::default(), b"super-secret-hash-key-material").unwrap();
    let debug = format!("{m:?}");
    assert!(!debug.contains("super-secret"), "{debug}");
}

#[test]
fn maskers_and_streams_can_be_shared_and_sent_across_tasks() {
    fn shareable<T: Send + Sync + Clone>() {}
    fn sendable<T: Send>() {}
    shareable::<Masker>();
    sendable::<sluice_mask::StreamMasker>();
    let m = masker_with(Vec::new());
    let handle = std::thread::spawn({
        let m = m.clone();
        move || m.mask_text("a@b.io").into_owned()
    });
    assert_eq!(handle.join().unwrap(), m.mask_text("a@b.io"));
}

#[test]
fn a_column_of_an_unknown_table_gets_the_strictest_rule_for_its_name() {
    let m = masker_with(vec![
        rule("staff", "salary", MaskStyle::Partial),
        rule("payroll", "salary", MaskStyle::Redact),
        rule("public_*", "salary", MaskStyle::Keep),
        rule("*", "id", MaskStyle::Keep),
    ]);
    // Known tables: first match wins, as always.
    assert_eq!(
        m.column_mask(Some("staff"), Some("salary")),
        ColumnMask::Whole(MaskStyle::Partial)
    );
    assert_eq!(m.column_mask(Some("public_x"), Some("salary")), ColumnMask::Keep);
    // Unknown table: the strictest of every rule for the name; one table's exemption exempts nothing.
    assert_eq!(
        m.column_mask_any_table("salary"),
        ColumnMask::Whole(MaskStyle::Redact)
    );
    // No rule for the name: as an unqualified column (rules for every table, then the name heuristics).
    assert_eq!(m.column_mask_any_table("id"), ColumnMask::Keep);
    assert_eq!(m.column_mask_any_table("note"), ColumnMask::Detect);
    assert_eq!(
        m.column_mask_any_table("email"),
        m.column_mask(None, Some("email"))
    );
}

#[test]
fn a_whole_row_gets_the_strictest_rule_of_its_table() {
    let m = masker_with(vec![
        rule("staff", "name", MaskStyle::Partial),
        rule("staff", "salary", MaskStyle::Redact),
        rule("staff", "id", MaskStyle::Keep),
        rule("pay*", "amount", MaskStyle::Hash),
    ]);
    assert_eq!(m.row_mask("staff"), ColumnMask::Whole(MaskStyle::Redact));
    assert_eq!(m.row_mask("payroll"), ColumnMask::Whole(MaskStyle::Hash));
    // No rule names the table: its content is still scanned.
    assert_eq!(m.row_mask("notes"), ColumnMask::Detect);
}

#[test]
fn stricter_orders_keep_detect_and_the_whole_value_styles() {
    use sluice_mask::Masker;
    let order = [
        ColumnMask::Keep,
        ColumnMask::Detect,
        ColumnMask::Whole(MaskStyle::Partial),
        ColumnMask::Whole(MaskStyle::Hash),
        ColumnMask::Whole(MaskStyle::Redact),
    ];
    for (i, a) in order.iter().enumerate() {
        for (j, b) in order.iter().enumerate() {
            let expected = if i >= j { *a } else { *b };
            assert_eq!(Masker::stricter(*a, *b), expected, "{a:?} vs {b:?}");
        }
    }
}
