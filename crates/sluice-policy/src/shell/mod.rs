//! Shell command-line classification: SSH exec commands, typed terminal lines, Kubernetes exec commands.
//!
//! The line is split the way a POSIX shell splits it (quotes, escapes, `;`, `&&`, `||`, `|`, `&`, newlines,
//! subshells, groups, comments, redirections, here-documents, `NAME=value` prefixes), and every simple command is
//! classified after peeling wrappers (`sudo`, `env`, `nice`, `timeout`, `xargs`, `nohup`, `command`, `exec`,
//! `busybox`, ...) and taking the last component of a program path (`/bin/rm` is `rm`).
//!
//! What it cannot see, and so reports as Opaque: code built or fetched at run time (`$(...)`, backticks, process
//! substitution, `eval`, `sh -c`, `source`, a shell reading its input, as in `base64 -d | sh` or `curl ... | bash`),
//! interpreters given code (`python -c`, `perl -e`, scripts), a program name that comes from a variable, lines with
//! unbalanced quotes, functions defined on the same line. What it does not know at all: aliases and functions defined
//! in the user's shell start-up files, `PATH` on the target (a program called `ls` may be anything; a `PATH=`
//! prefix on the line is reported as Opaque), the current directory (so `rm -rf *` or `rm -rf .` is a plain write),
//! and what files contain. It reads one line at a time: a destructive command typed over several lines of an
//! interactive session is only seen line by line.

mod kubectl;
mod lexer;
mod paths;
mod rules;
mod wrappers;

use std::ops::Range;

use crate::facts::{Access, Category, Classified, Finding, Item, Kind, ObjectKind, ObjectRef, Source};
use lexer::{Command, Word};
use paths::is_device_target;

/// How deep command strings may nest (`sh -c "bash -c '...'"`, `kubectl exec -- sh -c ...`).
const MAX_DEPTH: u8 = 4;

/// Variables that change which program runs or what it loads.
const HIJACKING_VARIABLES: &[&str] = &[
    "PATH",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "BASH_ENV",
    "ENV",
    "IFS",
    "LD_AUDIT",
];

/// Classification context.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx<'a> {
    src: &'a str,
    depth: u8,
    functions: &'a [String],
    /// Literal text piped into the command by `echo`/`printf` on the same line, if any.
    stdin: Option<&'a str>,
    /// The directory a previous `cd /absolute/path` on the same line moved to, if any.
    cwd: Option<&'a str>,
    /// Variables given a literal value earlier on the same line (`D=/; rm -rf $D`), latest last.
    vars: &'a [(String, String)],
}

impl Ctx<'_> {
    /// The literal value an earlier `NAME=value` (or `export NAME=value`) on this line gave `name`, if any.
    pub(crate) fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
    }
}

impl Ctx<'_> {
    /// Classifies a command string found inside this line (`sh -c '...'`, `eval ...`, `kubectl exec -- ...`) and adds
    /// its findings to `item`, located at `span` (positions inside a quoted string do not map one to one).
    pub(crate) fn nested(&self, code: &str, span: Range<usize>, item: &mut Item) {
        self.nested_keeping(code, span, item, |_| true);
    }

    /// Like [`Ctx::nested`] for a command run inside a pod: its Opaque findings are left to the PodExec rule (an
    /// interactive `sh` is the normal use of exec), its concrete dangers are kept.
    pub(crate) fn nested_in_pod(&self, code: &str, span: Range<usize>, item: &mut Item) {
        self.nested_keeping(code, span, item, |category| category != Category::Opaque);
    }

    fn nested_keeping(&self, code: &str, span: Range<usize>, item: &mut Item, keep: fn(Category) -> bool) {
        if self.depth >= MAX_DEPTH {
            add(item, Category::Opaque, span, "command strings nested too deeply");
            return;
        }
        for inner in classify_at(code, self.depth.saturating_add(1)).items {
            for finding in inner
                .findings
                .into_iter()
                .filter(|finding| keep(finding.category))
            {
                add(item, finding.category, span.clone(), finding.detail);
            }
        }
    }
}

/// Remembers the variables a command sets for the rest of the line: a bare `NAME=value` (no program) or the
/// arguments of `export`/`readonly`/`declare`/`local`/`typeset`. A value that itself depends on an expansion is
/// forgotten rather than recorded, so a later use of the name stays unresolved (and therefore Opaque).
fn record_assignments(command: &Command, program: Option<&str>, vars: &mut Vec<(String, String)>) {
    let words: Vec<&Word> = match program {
        None if command.words.is_empty() => command.assignments.iter().collect(),
        Some("export" | "readonly" | "declare" | "local" | "typeset") => command
            .words
            .iter()
            .filter(|word| lexer::is_assignment(&word.text))
            .collect(),
        _ => return,
    };
    for word in words {
        let Some((name, value)) = word.text.split_once('=') else {
            continue;
        };
        vars.retain(|(known, _)| known != name);
        if !word.expands && !word.globs {
            vars.push((name.to_owned(), value.to_owned()));
        }
    }
}

/// Classifies every simple command in `line`. Never panics.
pub fn classify(line: &str) -> Classified {
    classify_at(line, 0)
}

fn classify_at(line: &str, depth: u8) -> Classified {
    let split = lexer::split(line);
    let base = Ctx {
        src: line,
        depth,
        functions: &split.functions,
        stdin: None,
        cwd: None,
        vars: &[],
    };
    let mut items: Vec<Item> = Vec::new();
    let mut echoed: Option<String> = None;
    let mut cwd: Option<String> = None;
    let mut vars: Vec<(String, String)> = Vec::new();
    for (index, command) in split.commands.iter().enumerate() {
        let stdin = if command.piped { echoed.take() } else { None };
        let ctx = Ctx {
            stdin: stdin.as_deref(),
            cwd: cwd.as_deref(),
            vars: &vars,
            ..base
        };
        let program = wrappers::peel(&command.words)
            .program
            .and_then(|at| command.words.get(at));
        let program_name = program.map(|word| wrappers::program_name(&word.text).to_owned());
        let args: Vec<&str> = program
            .map(|word| {
                let at = command
                    .words
                    .iter()
                    .position(|other| std::ptr::eq(other, word))
                    .unwrap_or(0);
                command
                    .words
                    .iter()
                    .skip(at.saturating_add(1))
                    .map(|arg| arg.text.as_str())
                    .collect()
            })
            .unwrap_or_default();
        echoed = match program_name.as_deref() {
            Some("echo") => Some(
                args.iter()
                    .filter(|arg| !arg.starts_with('-'))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Some("printf") => args.first().map(|arg| (*arg).to_owned()),
            _ => None,
        };
        let next_cwd = if program_name.as_deref() == Some("cd") {
            Some(
                args.first()
                    .filter(|dir| dir.starts_with('/'))
                    .map(|dir| (*dir).to_owned()),
            )
        } else {
            None
        };
        let mut item = Item {
            index,
            span: command.span.clone(),
            kind: Kind::Write,
            tag: String::new(),
            objects: Vec::new(),
            findings: Vec::new(),
        };
        classify_command(&ctx, command, &mut item);
        if item.has(Category::Opaque) {
            item.kind = Kind::Opaque;
        }
        items.push(item);
        if let Some(next) = next_cwd {
            cwd = next;
        }
        record_assignments(command, program_name.as_deref(), &mut vars);
    }
    if let Some(problem) = &split.problem {
        let mut item = new_item(items.len(), 0..line.len(), Kind::Opaque, "");
        add(
            &mut item,
            Category::Opaque,
            0..line.len(),
            format!("the line cannot be read as a shell would: {problem}"),
        );
        items.push(item);
    }
    if let Some(name) = fork_bomb(line, &split.functions) {
        let mut item = new_item(items.len(), 0..line.len(), Kind::Write, &name);
        add(
            &mut item,
            Category::DestructiveCommand,
            0..line.len(),
            format!("fork bomb: {name} calls itself twice in the background"),
        );
        items.push(item);
    }
    Classified {
        source: Source::Shell,
        items,
    }
}

/// Classifies one simple command into `item` (also used for `find -exec` and nested commands).
fn classify_command(ctx: &Ctx<'_>, command: &Command, item: &mut Item) {
    for (span, reason) in &command.opaque {
        add(item, Category::Opaque, span.clone(), reason.clone());
    }
    for assignment in &command.assignments {
        let name = assignment.text.split('=').next().unwrap_or("");
        if HIJACKING_VARIABLES.contains(&name) && !command.words.is_empty() {
            add(
                item,
                Category::Opaque,
                assignment.span.clone(),
                format!("{name}= changes which program runs or what it loads"),
            );
        }
    }
    let mut writes = false;
    for redirect in &command.redirects {
        let output = redirect.op.contains('>');
        let target = redirect.target.text.as_str();
        let descriptor_copy =
            redirect.op.ends_with('&') && (target == "-" || target.chars().all(|ch| ch.is_ascii_digit()));
        if !output || descriptor_copy || target.is_empty() {
            continue;
        }
        if is_device_target(target) {
            add(
                item,
                Category::DestructiveCommand,
                redirect.target.span.clone(),
                format!("writes directly to the device {target}"),
            );
        }
        if !target.starts_with("/dev/") || is_device_target(target) {
            writes = true;
            object(item, ObjectKind::Path, target.to_owned(), Access::Write);
        }
    }
    let peeled = wrappers::peel(&command.words);
    if let Some(reason) = &peeled.runs_string {
        add(item, Category::Opaque, command.span.clone(), reason.clone());
    }
    let Some(program_at) = peeled.program else {
        if item.tag.is_empty() {
            item.tag = peeled.wrappers.first().cloned().unwrap_or_default();
        }
        if !writes && item.findings.is_empty() && peeled.wrappers.is_empty() {
            item.kind = Kind::Session;
        }
        return;
    };
    let Some(program) = command.words.get(program_at) else {
        return;
    };
    let name = wrappers::program_name(&program.text).to_owned();
    if item.tag.is_empty() {
        item.tag = name.clone();
    }
    if program.expands || program.globs {
        add(
            item,
            Category::Opaque,
            program.span.clone(),
            format!("the program name {} comes from an expansion", program.text),
        );
        return;
    }
    if ctx.functions.contains(&name) {
        add(
            item,
            Category::Opaque,
            program.span.clone(),
            format!("{name} is a function defined on this line"),
        );
    }
    if peeled.lookup_only {
        item.kind = Kind::Read;
        return;
    }
    let mut args: Vec<lexer::Word> = command
        .words
        .get(program_at.saturating_add(1)..)
        .unwrap_or(&[])
        .to_vec();
    if let Some(input) = ctx
        .stdin
        .filter(|_| peeled.wrappers.iter().any(|wrapper| wrapper == "xargs"))
    {
        // `echo / | xargs rm -rf`: xargs appends the words it reads to the command.
        args.extend(input.split_whitespace().map(|word| lexer::Word {
            text: word.to_owned(),
            span: command.span.clone(),
            expands: false,
            globs: word.contains(['*', '?', '[']),
        }));
    }
    rules::program(ctx, &name, &args, command, item);
    if writes {
        item.kind = Kind::Write;
    }
}

/// `:(){ :|:& };:` and its spellings: a function that pipes into itself in the background.
fn fork_bomb(line: &str, functions: &[String]) -> Option<String> {
    let compact: String = line.chars().filter(|ch| !ch.is_whitespace()).collect();
    functions
        .iter()
        .find(|name| compact.contains(&format!("{name}|{name}&")))
        .cloned()
}

/// Quotes an argv so that splitting it again yields the same words.
pub(crate) fn quote_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| format!("'{}'", arg.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn new_item(index: usize, span: Range<usize>, kind: Kind, tag: &str) -> Item {
    Item {
        index,
        span,
        kind,
        tag: tag.to_owned(),
        objects: Vec::new(),
        findings: Vec::new(),
    }
}

pub(crate) fn add(item: &mut Item, category: Category, span: Range<usize>, detail: impl Into<String>) {
    let detail = detail.into();
    if !item
        .findings
        .iter()
        .any(|found| found.category == category && found.detail == detail)
    {
        item.findings.push(Finding {
            category,
            span,
            detail,
        });
    }
}

pub(crate) fn object(item: &mut Item, kind: ObjectKind, name: String, access: Access) {
    let object = ObjectRef { kind, name, access };
    if !item.objects.contains(&object) {
        item.objects.push(object);
    }
}
