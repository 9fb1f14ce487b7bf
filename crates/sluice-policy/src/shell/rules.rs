//! What individual programs do: destructive invocations (`rm -rf /`, `mkfs`, `dd of=/dev/sda`, `shutdown`),
//! programs that run code we cannot see (shells, interpreters, `eval`), database and Kubernetes clients whose
//! payloads are classified with the SQL classifiers and Kubernetes rules, and an allow-list of read-only tools.

use std::ops::Range;

use super::lexer::{Command, Word};
use super::paths::{dangerous_path, data_directory, is_device_target};
use super::{add, object, Ctx};
use crate::facts::{Access, Category, Item, Kind, ObjectKind};

/// Programs that only read (when not redirected into a file).
const READ_ONLY: &[&str] = &[
    "[",
    "basename",
    "bzcat",
    "cal",
    "cat",
    "cksum",
    "cmp",
    "column",
    "comm",
    "cut",
    "date",
    "df",
    "diff",
    "dig",
    "dirname",
    "dmesg",
    "du",
    "echo",
    "egrep",
    "expr",
    "false",
    "fgrep",
    "file",
    "free",
    "getent",
    "grep",
    "groups",
    "head",
    "hexdump",
    "history",
    "host",
    "hostname",
    "id",
    "iostat",
    "jq",
    "journalctl",
    "last",
    "less",
    "locale",
    "ls",
    "lsblk",
    "lscpu",
    "lsof",
    "man",
    "md5sum",
    "more",
    "mpstat",
    "netstat",
    "nl",
    "nproc",
    "nslookup",
    "od",
    "ping",
    "printenv",
    "printf",
    "ps",
    "pwd",
    "readlink",
    "realpath",
    "rev",
    "rg",
    "sar",
    "seq",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "sleep",
    "sort",
    "ss",
    "stat",
    "strings",
    "tac",
    "tail",
    "test",
    "top",
    "tr",
    "tree",
    "true",
    "type",
    "uname",
    "uniq",
    "uptime",
    "vmstat",
    "w",
    "wc",
    "whereis",
    "which",
    "who",
    "whoami",
    "xxd",
    "yq",
    "zcat",
    "zgrep",
    "base64",
    "htop",
    "env",
    "fold",
    "xzcat",
];

const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "mksh",
    "ash",
    "fish",
    "csh",
    "tcsh",
    "yash",
    "rbash",
    "pwsh",
    "powershell",
];

const INTERPRETERS: &[&str] = &[
    "perl",
    "ruby",
    "node",
    "nodejs",
    "php",
    "lua",
    "luajit",
    "tclsh",
    "wish",
    "rscript",
    "osascript",
    "deno",
    "bun",
    "irb",
    "jshell",
    "groovy",
    "scala",
    "expect",
    "gdb",
    "julia",
];

/// Classifies the program `name` run with `args` and adds findings to `item`.
pub(crate) fn program(ctx: &Ctx<'_>, name: &str, args: &[Word], command: &Command, item: &mut Item) {
    let span = command.span.clone();
    let lower = name.to_ascii_lowercase();
    match name {
        _ if SHELLS.contains(&name) => shell(ctx, name, args, command, item),
        "eval" => {
            add(item, Category::Opaque, span, "eval runs a string as shell code");
            let code = args
                .iter()
                .map(|arg| arg.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            ctx.nested(
                &code,
                args.first().map_or(command.span.clone(), |arg| arg.span.clone()),
                item,
            );
        }
        "source" | "." => add(
            item,
            Category::Opaque,
            span,
            format!("{name} runs a script the gateway cannot see"),
        ),
        _ if lower.starts_with("python")
            || lower.starts_with("pypy")
            || INTERPRETERS.contains(&lower.as_str()) =>
        {
            add(
                item,
                Category::Opaque,
                span,
                format!("{name} runs code in an interpreter"),
            );
        }
        "awk" | "gawk" | "mawk" | "nawk" => {
            let program = args.iter().find(|arg| !arg.text.starts_with('-'));
            let risky = args.iter().any(|arg| arg.text == "-f")
                || program.is_some_and(|text| {
                    text.text.contains("system") || text.text.contains('|') || text.text.contains('>')
                });
            if risky {
                add(
                    item,
                    Category::Opaque,
                    span,
                    format!("{name} program may run commands or write files"),
                );
            } else {
                item.kind = Kind::Read;
            }
        }
        "sed" => {
            let in_place = args.iter().any(|arg| {
                arg.text.starts_with("-i")
                    || arg.text.starts_with("--in-place")
                    || (arg.text.starts_with('-') && !arg.text.starts_with("--") && arg.text.contains('i'))
            });
            item.kind = if in_place { Kind::Write } else { Kind::Read };
        }
        "find" => find(ctx, args, command, item),
        "rm" => rm(ctx, args, command, item),
        "dd" => {
            for arg in args {
                if let Some(target) = arg.text.strip_prefix("of=") {
                    if is_device_target(target) {
                        add(
                            item,
                            Category::DestructiveCommand,
                            arg.span.clone(),
                            format!("dd writes directly to the device {target}"),
                        );
                    }
                    object(item, ObjectKind::Path, target.to_owned(), Access::Write);
                }
            }
        }
        "shred" | "wipefs" | "blkdiscard" => {
            let device = args
                .iter()
                .find(|arg| is_device_target(&arg.text) || dangerous_path(arg).is_some());
            match device {
                Some(arg) => add(
                    item,
                    Category::DestructiveCommand,
                    arg.span.clone(),
                    format!("{name} destroys the data on {}", arg.text),
                ),
                None if name != "shred" => add(
                    item,
                    Category::DestructiveCommand,
                    span,
                    format!("{name} erases disk signatures or blocks"),
                ),
                None => {}
            }
        }
        _ if name.starts_with("mkfs")
            || matches!(name, "mke2fs" | "mkswap" | "mkdosfs" | "mkntfs" | "mkexfatfs") =>
        {
            add(
                item,
                Category::DestructiveCommand,
                span,
                format!("{name} creates a file system, erasing the device"),
            );
        }
        "fdisk" | "gdisk" | "cfdisk" | "sfdisk" | "parted" | "sgdisk" => {
            let listing = args.iter().any(|arg| {
                matches!(
                    arg.text.as_str(),
                    "-l" | "--list" | "print" | "-d" | "--dump" | "-p" | "--print"
                )
            });
            if listing {
                item.kind = Kind::Read;
            } else {
                add(
                    item,
                    Category::DestructiveCommand,
                    span,
                    format!("{name} can rewrite partition tables"),
                );
            }
        }
        "shutdown" | "reboot" | "halt" | "poweroff" => {
            add(
                item,
                Category::DestructiveCommand,
                span,
                format!("{name} stops the machine"),
            );
        }
        "init" | "telinit"
            if args
                .first()
                .is_some_and(|arg| matches!(arg.text.as_str(), "0" | "6")) =>
        {
            add(
                item,
                Category::DestructiveCommand,
                span,
                format!(
                    "{name} {} stops the machine",
                    args.first().map_or("", |arg| arg.text.as_str())
                ),
            );
        }
        "systemctl" => systemctl(args, command, item),
        "chmod" | "chown" | "chgrp" => ownership(name, args, item),
        "kubectl" | "oc" => super::kubectl::kubectl(ctx, name, args, command, item),
        "mysql" | "mariadb" => sql_client(ctx, name, args, command, item, &["-e", "--execute"]),
        "psql" => sql_client(ctx, name, args, command, item, &["-c", "--command"]),
        "mysqladmin" | "mariadb-admin" => {
            if let Some(arg) = args
                .iter()
                .find(|arg| matches!(arg.text.to_ascii_lowercase().as_str(), "drop" | "shutdown"))
            {
                add(
                    item,
                    Category::DestructiveCommand,
                    arg.span.clone(),
                    format!(
                        "{name} {} {}",
                        arg.text,
                        args.last().map_or("", |last| last.text.as_str())
                    ),
                );
            }
        }
        "ssh" => ssh(ctx, args, command, item),
        "dropdb" => add(
            item,
            Category::DestructiveCommand,
            span,
            "dropdb drops a database",
        ),
        "redis-cli" => {
            if let Some(arg) = args.iter().find(|arg| {
                matches!(
                    arg.text.to_ascii_lowercase().as_str(),
                    "flushall" | "flushdb" | "shutdown"
                )
            }) {
                add(
                    item,
                    Category::DestructiveCommand,
                    arg.span.clone(),
                    format!("redis-cli {} erases or stops the server", arg.text),
                );
            }
        }
        _ if READ_ONLY.contains(&name) => item.kind = Kind::Read,
        _ => {}
    }
}

fn shell(ctx: &Ctx<'_>, name: &str, args: &[Word], command: &Command, item: &mut Item) {
    let span = command.span.clone();
    let string_at = args
        .iter()
        .position(|arg| arg.text.starts_with('-') && !arg.text.starts_with("--") && arg.text.contains('c'));
    if let Some(at) = string_at {
        add(
            item,
            Category::Opaque,
            span,
            format!("{name} -c runs a command string"),
        );
        if let Some(code) = args.get(at.saturating_add(1)) {
            ctx.nested(&code.text, code.span.clone(), item);
        }
        return;
    }
    let script = args.iter().find(|arg| !arg.text.starts_with('-'));
    let detail = match (
        script,
        command.redirects.iter().any(|redirect| redirect.body.is_some()),
    ) {
        (Some(script), _) => format!(
            "{name} runs the script {} which the gateway cannot see",
            script.text
        ),
        (None, true) => format!("{name} runs a here-document as shell code"),
        (None, false) => format!("{name} runs commands read from its input"),
    };
    add(item, Category::Opaque, span, detail);
}

fn rm(ctx: &Ctx<'_>, args: &[Word], command: &Command, item: &mut Item) {
    let mut recursive = false;
    let mut no_preserve_root = false;
    let mut options_done = false;
    let mut targets: Vec<&Word> = Vec::new();
    for arg in args {
        let text = arg.text.as_str();
        if !options_done && text == "--" {
            options_done = true;
        } else if !options_done && text.starts_with("--") {
            match text {
                "--recursive" => recursive = true,
                "--no-preserve-root" => no_preserve_root = true,
                _ => {}
            }
        } else if !options_done && text.starts_with('-') && text.len() > 1 {
            recursive |= text.contains(['r', 'R']);
        } else {
            targets.push(arg);
        }
    }
    for target in &targets {
        object(item, ObjectKind::Path, target.text.clone(), Access::Write);
        if recursive {
            // `rm -rf $D`: the target is whatever the variable holds. A literal value given earlier on the line is
            // used; anything else cannot be known before the command runs, so the command is Opaque.
            let expanded = match whole_expansion(target) {
                Some(name) => match ctx.var(name) {
                    Some(value) => Word {
                        text: value.to_owned(),
                        expands: false,
                        ..(*target).clone()
                    },
                    None => {
                        if dangerous_path(target).is_none() {
                            add(
                                item,
                                Category::Opaque,
                                target.span.clone(),
                                format!("rm -r of {}, a variable the gateway cannot resolve", target.text),
                            );
                        }
                        (*target).clone()
                    }
                },
                None => (*target).clone(),
            };
            // After `cd /` on the same line, `rm -rf *` is `rm -rf /*`.
            let resolved = match ctx.cwd {
                Some(cwd) if !expanded.text.starts_with(['/', '~', '$']) => Word {
                    text: format!("{cwd}/{}", expanded.text),
                    ..expanded
                },
                _ => expanded,
            };
            let danger = brace_alternatives(&resolved)
                .iter()
                .find_map(dangerous_path)
                .or_else(|| dangerous_path(&resolved))
                .or_else(|| data_directory(&resolved));
            if let Some(reason) = danger {
                add(
                    item,
                    Category::DestructiveCommand,
                    target.span.clone(),
                    format!("rm -r of {}: {reason}", target.text),
                );
            }
        }
    }
    if no_preserve_root {
        add(
            item,
            Category::DestructiveCommand,
            command.span.clone(),
            "rm --no-preserve-root disables the protection of /",
        );
    }
}

/// The words a brace expansion such as `{/,}` or `/{etc,tmp}` produces (outermost braces only; nested braces are
/// left as written). Empty when `word` has no `{...,...}`.
fn brace_alternatives(word: &Word) -> Vec<Word> {
    let text = word.text.as_str();
    let Some(open) = text.find('{') else {
        return Vec::new();
    };
    let Some(close) = text
        .get(open..)
        .and_then(|rest| rest.find('}'))
        .map(|at| open.saturating_add(at))
    else {
        return Vec::new();
    };
    let (Some(prefix), Some(inner), Some(suffix)) = (
        text.get(..open),
        text.get(open.saturating_add(1)..close),
        text.get(close.saturating_add(1)..),
    ) else {
        return Vec::new();
    };
    if !inner.contains(',') {
        return Vec::new();
    }
    inner
        .split(',')
        .map(|alternative| Word {
            text: format!("{prefix}{alternative}{suffix}"),
            ..word.clone()
        })
        .collect()
}

/// The variable name when `word` is nothing but one parameter expansion (`$D`, `${D}`, `"$D"`).
fn whole_expansion(word: &Word) -> Option<&str> {
    if !word.expands {
        return None;
    }
    let rest = word.text.strip_prefix('$')?;
    let name = match rest.strip_prefix('{') {
        Some(braced) => braced.strip_suffix('}')?,
        None => rest,
    };
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    valid.then_some(name)
}

fn find(ctx: &Ctx<'_>, args: &[Word], command: &Command, item: &mut Item) {
    let starts: Vec<&Word> = args
        .iter()
        .take_while(|arg| !arg.text.starts_with('-') && arg.text != "(" && arg.text != "!")
        .collect();
    let mut read_only = true;
    let mut at = 0usize;
    while let Some(arg) = args.get(at) {
        at = at.saturating_add(1);
        match arg.text.as_str() {
            "-delete" => {
                read_only = false;
                if let Some(start) = starts.iter().find(|start| dangerous_path(start).is_some()) {
                    add(
                        item,
                        Category::DestructiveCommand,
                        arg.span.clone(),
                        format!("find {} -delete removes system files", start.text),
                    );
                }
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                read_only = false;
                let rest = args.get(at..).unwrap_or(&[]);
                let end = rest
                    .iter()
                    .position(|word| word.text == ";" || word.text == "+")
                    .unwrap_or(rest.len());
                let inner = rest.get(..end).unwrap_or(&[]);
                at = at.saturating_add(end).saturating_add(1);
                // `{}` stands for each file found, starting with the start path itself: `find / -exec rm -rf {} +`
                // runs `rm -rf /`.
                let words = inner
                    .iter()
                    .map(|word| match starts.first() {
                        Some(start) if word.text == "{}" => Word {
                            text: start.text.clone(),
                            ..word.clone()
                        },
                        _ => word.clone(),
                    })
                    .collect();
                let sub = Command {
                    span: command.span.clone(),
                    words,
                    ..Command::default()
                };
                super::classify_command(ctx, &sub, item);
            }
            "-fprint" | "-fprintf" | "-fls" | "-fprint0" => read_only = false,
            _ => {}
        }
    }
    if read_only && item.kind == Kind::Write {
        item.kind = Kind::Read;
    }
}

fn systemctl(args: &[Word], command: &Command, item: &mut Item) {
    let verb = args
        .iter()
        .find(|arg| !arg.text.starts_with('-'))
        .map(|arg| arg.text.as_str())
        .unwrap_or("");
    match verb {
        "poweroff" | "reboot" | "halt" | "kexec" | "emergency" | "rescue" | "suspend" | "hibernate"
        | "soft-reboot" => {
            add(
                item,
                Category::DestructiveCommand,
                command.span.clone(),
                format!("systemctl {verb} stops the machine"),
            );
        }
        "status" | "show" | "cat" | "is-active" | "is-enabled" | "is-failed" | "list-units"
        | "list-unit-files" | "list-timers" | "list-jobs" | "list-dependencies" | "help" => {
            item.kind = Kind::Read;
        }
        _ => {}
    }
}

fn ownership(name: &str, args: &[Word], item: &mut Item) {
    let recursive = args.iter().any(|arg| {
        arg.text == "--recursive"
            || (arg.text.starts_with('-') && !arg.text.starts_with("--") && arg.text.contains('R'))
    });
    if !recursive {
        return;
    }
    for arg in args.iter().filter(|arg| !arg.text.starts_with('-')) {
        if let Some(reason) = dangerous_path(arg) {
            add(
                item,
                Category::DestructiveCommand,
                arg.span.clone(),
                format!("{name} -R on {}: {reason}", arg.text),
            );
        }
    }
}

/// Database command-line clients: the SQL they are given is classified with the matching SQL classifier.
fn sql_client(ctx: &Ctx<'_>, name: &str, args: &[Word], command: &Command, item: &mut Item, flags: &[&str]) {
    let mut payloads: Vec<(String, Range<usize>)> = Vec::new();
    let mut at = 0usize;
    while let Some(arg) = args.get(at) {
        at = at.saturating_add(1);
        let text = arg.text.as_str();
        if let Some(value) = flags
            .iter()
            .find_map(|flag| text.strip_prefix(flag).and_then(|rest| rest.strip_prefix('=')))
        {
            payloads.push((value.to_owned(), arg.span.clone()));
        } else if flags.contains(&text) {
            if let Some(value) = args.get(at) {
                payloads.push((value.text.clone(), value.span.clone()));
                at = at.saturating_add(1);
            }
        } else if let Some(value) = flags
            .iter()
            .filter(|flag| flag.len() == 2)
            .find_map(|flag| text.strip_prefix(flag))
            .filter(|rest| !rest.is_empty() && !text.starts_with("--"))
        {
            payloads.push((value.to_owned(), arg.span.clone()));
        }
    }
    // With `-e`/`-c` the client runs that and ignores its input; otherwise it runs what is piped in.
    if let Some(piped) = ctx.stdin.filter(|_| payloads.is_empty()) {
        payloads.push((piped.to_owned(), command.span.clone()));
    }
    for redirect in &command.redirects {
        if let Some(body) = &redirect.body {
            payloads.push((ctx.src.get(body.clone()).unwrap_or("").to_owned(), body.clone()));
        }
    }
    for (sql, span) in payloads {
        let classified = if name == "psql" {
            crate::sql::pg::classify(&sql)
        } else {
            crate::sql::mysql::classify(&sql, &crate::sql::mysql::MysqlOptions::default())
        };
        for inner in classified.items {
            for finding in inner.findings {
                if matches!(finding.category, Category::DropObject | Category::Truncate) {
                    add(
                        item,
                        Category::DestructiveCommand,
                        span.clone(),
                        format!("{name} runs {}", finding.detail),
                    );
                }
                add(
                    item,
                    finding.category,
                    span.clone(),
                    format!("{name}: {}", finding.detail),
                );
            }
            item.objects.extend(inner.objects);
        }
    }
}

/// `ssh [options] host [command...]`: the remote side joins the words with spaces and runs them in its shell, so
/// the command is classified as a shell line of its own.
fn ssh(ctx: &Ctx<'_>, args: &[Word], command: &Command, item: &mut Item) {
    const WITH_ARGUMENT: &[&str] = &[
        "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-p", "-Q", "-R",
        "-S", "-W", "-w",
    ];
    let mut at = 0usize;
    while let Some(arg) = args.get(at) {
        if !arg.text.starts_with('-') {
            break;
        }
        at = at.saturating_add(if WITH_ARGUMENT.contains(&arg.text.as_str()) {
            2
        } else {
            1
        });
    }
    let remote = args.get(at.saturating_add(1)..).unwrap_or(&[]);
    if remote.is_empty() {
        return;
    }
    let line = remote
        .iter()
        .map(|word| word.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let start = remote.first().map_or(command.span.start, |word| word.span.start);
    let end = remote.last().map_or(command.span.end, |word| word.span.end);
    ctx.nested(&line, start..end, item);
}
