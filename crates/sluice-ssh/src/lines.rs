//! Best-effort reconstruction of the command line a user types in an interactive shell, so it can be judged when
//! Enter is pressed.
//!
//! What it follows: printable characters, Backspace/DEL, ^U (kill line), ^W (kill word), ^C (abandon line). What it
//! cannot follow and how it reacts: cursor movement, history recall and tab completion change the line inside the
//! shell without the client typing its text; after any escape sequence or Tab the reconstructed line is only the
//! typed part, and it is still judged (a denied fragment is refused). Full-screen programs (editors, pagers) switch
//! to the alternate screen; while they do, nothing is judged, since keystrokes there are not shell commands. REPLs
//! (python, psql) and scripts run by an allowed command are not shell lines either: judging typed lines is a guard
//! against mistakes at a prompt, not a sandbox. Connections that need a hard boundary use `exec_only`, so every
//! command is an exec request the policy sees whole.

/// The longest line tracked; longer input is judged on its first part.
const MAX_LINE: usize = 64 * 1024;

/// What a typed byte means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// Forward it.
    Pass,
    /// Enter was pressed on this (non-empty) line: judge before forwarding the Enter.
    Enter(String),
}

/// The state of the line being typed.
#[derive(Debug, Default)]
pub struct LineEditor {
    line: Vec<u8>,
    /// Inside an escape sequence typed by the client (arrow keys, ...).
    escape: Escape,
    /// A full-screen program holds the terminal (alternate screen).
    alternate_screen: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// After `ESC [` or `ESC O`: until a final byte.
    Sequence,
}

impl LineEditor {
    /// Feeds one byte typed by the client.
    pub fn push(&mut self, byte: u8) -> LineEvent {
        if self.alternate_screen {
            return LineEvent::Pass;
        }
        match self.escape {
            Escape::Start => {
                self.escape = if byte == b'[' || byte == b'O' {
                    Escape::Sequence
                } else {
                    Escape::None
                };
                return LineEvent::Pass;
            }
            Escape::Sequence => {
                if (0x40..=0x7e).contains(&byte) {
                    self.escape = Escape::None;
                }
                return LineEvent::Pass;
            }
            Escape::None => {}
        }
        match byte {
            b'\r' | b'\n' => {
                let line = String::from_utf8_lossy(&self.line).trim().to_owned();
                self.line.clear();
                if line.is_empty() {
                    LineEvent::Pass
                } else {
                    LineEvent::Enter(line)
                }
            }
            0x7f | 0x08 => {
                // One character, which may be several UTF-8 bytes.
                while let Some(b) = self.line.pop() {
                    if b & 0xc0 != 0x80 {
                        break;
                    }
                }
                LineEvent::Pass
            }
            0x15 | 0x03 => {
                self.line.clear();
                LineEvent::Pass
            }
            0x17 => {
                while self.line.last() == Some(&b' ') {
                    self.line.pop();
                }
                while self.line.last().is_some_and(|b| *b != b' ') {
                    self.line.pop();
                }
                LineEvent::Pass
            }
            0x1b => {
                self.escape = Escape::Start;
                LineEvent::Pass
            }
            b if b >= 0x20 || b == b'\t' => {
                if self.line.len() < MAX_LINE && b != b'\t' {
                    self.line.push(b);
                }
                LineEvent::Pass
            }
            _ => LineEvent::Pass,
        }
    }

    /// Watches output for full-screen programs entering or leaving the alternate screen.
    pub fn saw_output(&mut self, data: &[u8]) {
        const ENTER: &[&[u8]] = &[b"\x1b[?1049h", b"\x1b[?1047h", b"\x1b[?47h"];
        const LEAVE: &[&[u8]] = &[b"\x1b[?1049l", b"\x1b[?1047l", b"\x1b[?47l"];
        let last = |needles: &[&[u8]]| {
            needles
                .iter()
                .filter_map(|n| data.windows(n.len()).rposition(|w| w == *n))
                .max()
        };
        match (last(ENTER), last(LEAVE)) {
            (Some(e), Some(l)) => self.alternate_screen = e > l,
            (Some(_), None) => self.alternate_screen = true,
            (None, Some(_)) => {
                self.alternate_screen = false;
                self.line.clear();
            }
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(editor: &mut LineEditor, text: &[u8]) -> Vec<String> {
        text.iter()
            .filter_map(|b| match editor.push(*b) {
                LineEvent::Enter(line) => Some(line),
                LineEvent::Pass => None,
            })
            .collect()
    }

    #[test]
    fn editing_keys() {
        let mut e = LineEditor::default();
        assert_eq!(typed(&mut e, b"ls -l\r"), vec!["ls -l"]);
        assert_eq!(typed(&mut e, b"rm -rf /tmpx\x7f\r"), vec!["rm -rf /tmp"]);
        assert_eq!(typed(&mut e, b"garbage\x15echo hi\r"), vec!["echo hi"]);
        assert_eq!(typed(&mut e, b"echo one two\x17three\r"), vec!["echo one three"]);
        assert_eq!(typed(&mut e, b"x\x03\r"), Vec::<String>::new());
        assert_eq!(typed(&mut e, b"\x1b[Arm -rf /\r"), vec!["rm -rf /"]);
    }

    #[test]
    fn alternate_screen_is_not_judged() {
        let mut e = LineEditor::default();
        e.saw_output(b"\x1b[?1049h");
        assert_eq!(typed(&mut e, b"rm -rf /\r"), Vec::<String>::new());
        e.saw_output(b"bye\x1b[?1049l");
        assert_eq!(typed(&mut e, b"rm -rf /\r"), vec!["rm -rf /"]);
    }
}
