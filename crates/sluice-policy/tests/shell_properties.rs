//! Property tests for the shell classifier: it never panics, spans are valid, and the same argv quoted in any of
//! the ways a shell accepts gives the same findings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use sluice_policy::shell::classify;

/// Command lines as argv, each yielding findings (or none) that must not depend on quoting.
const ARGVS: &[&[&str]] = &[
    &["rm", "-rf", "/"],
    &["rm", "-r", "-f", "/etc"],
    &["rm", "--recursive", "--force", "/usr/lib"],
    &["sudo", "rm", "-rf", "~/"],
    &["dd", "if=/dev/zero", "of=/dev/sda"],
    &["mkfs.ext4", "/dev/sdb1"],
    &["kubectl", "delete", "namespace", "prod"],
    &["kubectl", "get", "secrets", "-A"],
    &["kubectl", "exec", "web", "--", "ls"],
    &["mysql", "-e", "DROP DATABASE prod"],
    &["sh", "-c", "ls -la"],
    &["ls", "-la", "/tmp"],
    &["rm", "-rf", "/tmp/build"],
    &["chmod", "-R", "777", "/"],
    &["shutdown", "-h", "now"],
    &["python3", "-c", "print(1)"],
];

fn categories(line: &str) -> BTreeSet<String> {
    classify(line)
        .items
        .iter()
        .flat_map(|item| {
            item.findings
                .iter()
                .map(|finding| format!("{:?}", finding.category))
        })
        .collect()
}

/// Quotes `word` in style `style`; every style yields the same word after the shell removes quotes.
fn quote(word: &str, style: usize) -> String {
    match style % 6 {
        0 => word.replace(' ', "\\ "),
        1 => format!("'{}'", word.replace('\'', "'\\''")),
        2 => format!(
            "\"{}\"",
            word.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
        ),
        3 => word
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() {
                    format!("\\{ch}")
                } else if ch == ' ' {
                    "\\ ".to_owned()
                } else {
                    format!("'{ch}'")
                }
            })
            .collect(),
        4 => word.bytes().map(|byte| format!("$'\\x{byte:02x}'")).collect(),
        _ => {
            let mid = word
                .char_indices()
                .nth(word.chars().count() / 2)
                .map_or(word.len(), |(at, _)| at);
            format!(
                "'{}'\"{}\"",
                &word[..mid].replace('\'', "'\\''"),
                word[mid..]
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('$', "\\$")
            )
        }
    }
}

fn plain(argv: &[&str]) -> String {
    argv.iter()
        .map(|word| {
            if word.contains(' ') {
                format!("'{word}'")
            } else {
                (*word).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_lines_never_panic_and_spans_are_valid(line in any::<String>()) {
        for item in classify(&line).items {
            prop_assert!(line.get(item.span.clone()).is_some(), "{:?}", item.span);
            for finding in item.findings {
                prop_assert!(line.get(finding.span.clone()).is_some(), "{:?}", finding.span);
            }
        }
    }

    #[test]
    fn shell_shaped_lines_never_panic(line in "[a-z0-9 '\"`$(){};|&<>*?~/\\\\\n#=!.-]{0,120}") {
        for item in classify(&line).items {
            prop_assert!(line.get(item.span.clone()).is_some());
        }
    }

    #[test]
    fn quoting_variations_of_the_same_argv_give_the_same_findings(which in 0..ARGVS.len(), styles in proptest::collection::vec(0usize..6, 1..6)) {
        let argv = ARGVS[which];
        let quoted = argv.iter().enumerate().map(|(at, word)| quote(word, styles[at % styles.len()])).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(categories(&plain(argv)), categories(&quoted), "{}", quoted);
    }

    #[test]
    fn separators_and_padding_do_not_change_findings(which in 0..ARGVS.len(), pad in "[ \t]{1,3}", before in prop::sample::select(vec!["", "true; ", "ls && ", "false || ", "echo x | ", "\n"])) {
        let line = plain(ARGVS[which]);
        let padded = format!("{before}{pad}{}{pad}", line.replace(' ', &pad));
        let mut expected = categories(&line);
        expected.extend(categories(before.trim_end_matches(['|', '&', ';', ' ', '\n'])));
        prop_assert_eq!(expected, categories(&padded), "{}", padded);
    }
}
