//! Programs that run another program: `sudo`, `env`, `nice`, `timeout`, `xargs`, `busybox`, ... Each is peeled
//! off (with its own options and their arguments) so that the rules see the program that really runs.

use super::lexer::Word;

/// A wrapper's shape: its options that take an argument, and how many operands precede the wrapped command.
struct Wrapper {
    name: &'static str,
    options_with_argument: &'static [&'static str],
    operands_before_command: usize,
}

const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        name: "sudo",
        options_with_argument: &[
            "-u",
            "-g",
            "-C",
            "-D",
            "-h",
            "-p",
            "-r",
            "-t",
            "-U",
            "-T",
            "--user",
            "--group",
            "--chdir",
            "--host",
            "--prompt",
            "--role",
            "--type",
            "--other-user",
            "--command-timeout",
            "--close-from",
        ],
        operands_before_command: 0,
    },
    Wrapper {
        name: "doas",
        options_with_argument: &["-u", "-C"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "env",
        options_with_argument: &["-u", "-C", "--unset", "--chdir"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "nice",
        options_with_argument: &["-n", "--adjustment"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "ionice",
        options_with_argument: &["-c", "-n", "--class", "--classdata"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "timeout",
        options_with_argument: &["-s", "-k", "--signal", "--kill-after"],
        operands_before_command: 1,
    },
    Wrapper {
        name: "nohup",
        options_with_argument: &[],
        operands_before_command: 0,
    },
    Wrapper {
        name: "time",
        options_with_argument: &["-f", "-o", "--format", "--output"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "command",
        options_with_argument: &[],
        operands_before_command: 0,
    },
    Wrapper {
        name: "builtin",
        options_with_argument: &[],
        operands_before_command: 0,
    },
    Wrapper {
        name: "exec",
        options_with_argument: &["-a"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "setsid",
        options_with_argument: &[],
        operands_before_command: 0,
    },
    Wrapper {
        name: "stdbuf",
        options_with_argument: &["-i", "-o", "-e", "--input", "--output", "--error"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "chroot",
        options_with_argument: &["--userspec", "--groups"],
        operands_before_command: 1,
    },
    Wrapper {
        name: "unbuffer",
        options_with_argument: &[],
        operands_before_command: 0,
    },
    Wrapper {
        name: "xargs",
        options_with_argument: &[
            "-I",
            "-n",
            "-P",
            "-L",
            "-d",
            "-E",
            "-s",
            "-a",
            "--arg-file",
            "--delimiter",
            "--max-args",
            "--max-procs",
            "--max-lines",
            "--replace",
            "--eof",
        ],
        operands_before_command: 0,
    },
    Wrapper {
        name: "busybox",
        options_with_argument: &[],
        operands_before_command: 0,
    },
    Wrapper {
        name: "flock",
        options_with_argument: &["-w", "-E", "--timeout", "--conflict-exit-code"],
        operands_before_command: 1,
    },
    Wrapper {
        name: "watch",
        options_with_argument: &["-n", "--interval"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "taskset",
        options_with_argument: &[],
        operands_before_command: 1,
    },
    Wrapper {
        name: "caffeinate",
        options_with_argument: &["-t", "-w"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "strace",
        options_with_argument: &["-o", "-e", "-p", "-s", "-u"],
        operands_before_command: 0,
    },
    Wrapper {
        name: "ltrace",
        options_with_argument: &["-o", "-e", "-p", "-s", "-u"],
        operands_before_command: 0,
    },
];

/// The program's name as the kernel would find it: the last path component (`/bin/rm` is `rm`).
pub(crate) fn program_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// What peeling wrappers found.
#[derive(Debug, Default)]
pub(crate) struct Peeled {
    /// Index of the real program's word, if there is one.
    pub program: Option<usize>,
    /// Wrappers peeled, outermost first.
    pub wrappers: Vec<String>,
    /// A wrapper that itself runs a command string (`env -S "..."`, `flock -c "..."`, `sudo -s`).
    pub runs_string: Option<String>,
    /// `command -v`/`-V`: looks the name up instead of running it.
    pub lookup_only: bool,
}

/// Peels wrappers off `words`.
pub(crate) fn peel(words: &[Word]) -> Peeled {
    let mut peeled = Peeled::default();
    let mut at = 0usize;
    while let Some(word) = words.get(at) {
        let name = program_name(&word.text);
        let Some(wrapper) = WRAPPERS.iter().find(|wrapper| wrapper.name == name) else {
            peeled.program = Some(at);
            return peeled;
        };
        peeled.wrappers.push(name.to_owned());
        at = at.saturating_add(1);
        let mut operands = wrapper.operands_before_command;
        while let Some(arg) = words.get(at) {
            let text = arg.text.as_str();
            if text == "--" {
                at = at.saturating_add(1);
                break;
            }
            if text.starts_with('-') && text.len() > 1 {
                match (name, text) {
                    ("env", "-S" | "--split-string")
                    | ("flock", "-c" | "--command")
                    | ("su" | "runuser", "-c") => {
                        peeled.runs_string = Some(format!("{name} {text} runs a command string"));
                    }
                    ("sudo", "-s" | "-i" | "--shell" | "--login") => {
                        peeled.runs_string = Some(format!("{name} {text} runs a shell"));
                    }
                    ("command", "-v" | "-V") => peeled.lookup_only = true,
                    _ => {}
                }
                let takes_argument = wrapper.options_with_argument.contains(&text);
                at = at.saturating_add(if takes_argument { 2 } else { 1 });
                continue;
            }
            if name == "env" && super::lexer::is_assignment(text) {
                at = at.saturating_add(1);
                continue;
            }
            if name == "busybox" || operands == 0 {
                break;
            }
            operands = operands.saturating_sub(1);
            at = at.saturating_add(1);
        }
    }
    peeled
}
