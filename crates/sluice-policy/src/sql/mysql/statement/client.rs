//! The `mysql` client's own commands, which never reach the server as SQL but do things on the client's host.

use crate::facts::{Category, Item, Kind};
use crate::sql::mysql::lexer::{ClientCommand, RawStatement};
use crate::sql::mysql::{add_finding, new_item, Ctx, MAX_DEPTH};

pub(super) fn client_command(
    ctx: &Ctx<'_>,
    raw: &RawStatement,
    command: &ClientCommand,
    index: usize,
) -> Item {
    let span = raw.span.clone();
    match command {
        ClientCommand::Delimiter => new_item(index, span, Kind::Session, "DELIMITER"),
        ClientCommand::Source => {
            let mut item = new_item(index, span.clone(), Kind::Opaque, "SOURCE");
            add_finding(
                &mut item,
                Category::Opaque,
                span,
                "source runs SQL from a file the gateway cannot see",
            );
            item
        }
        ClientCommand::Shell(command_span) => {
            let mut item = new_item(index, span.clone(), Kind::Write, "SYSTEM");
            let command = ctx.src.get(command_span.clone()).unwrap_or("").trim();
            add_finding(
                &mut item,
                Category::ProgramExecution,
                span,
                format!("runs a shell command: {command}"),
            );
            if ctx.depth < MAX_DEPTH {
                let shell = crate::shell::classify(ctx.src.get(command_span.clone()).unwrap_or(""));
                for finding in shell.items.into_iter().flat_map(|inner| inner.findings) {
                    let moved = command_span.start.saturating_add(finding.span.start)
                        ..command_span.start.saturating_add(finding.span.end);
                    add_finding(&mut item, finding.category, moved, finding.detail);
                }
            }
            item
        }
    }
}
