//! Which paths a destructive command must not touch: `/` however spelt (`//`, `/.`, `/..`, `/*`), the home
//! directory (`~`, `$HOME`), system directories and their direct children, block devices. Paths are resolved
//! lexically (no file system access, so symlinks are not followed).

use super::lexer::Word;

/// Top-level directories whose loss breaks the machine (or every user's data).
const SYSTEM: &[&str] = &[
    "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "opt", "proc", "root", "sbin",
    "snap", "srv", "sys", "usr", "var",
];

/// Database and cluster state directories: deeper than the system directory rule reaches, as fatal to lose.
const DATA_DIRS: &[&str] = &[
    "/var/lib/postgresql",
    "/var/lib/pgsql",
    "/var/lib/mysql",
    "/var/lib/mariadb",
    "/var/lib/mongodb",
    "/var/lib/redis",
    "/var/lib/etcd",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/kubelet",
    "/var/lib/elasticsearch",
    "/var/lib/cassandra",
];

/// Devices that are safe to write to.
const SAFE_DEVICES: &[&str] = &[
    "null", "zero", "full", "stdout", "stderr", "stdin", "tty", "random", "urandom", "console",
];

/// Why removing `word` recursively would be a disaster, if it would.
pub(crate) fn dangerous_path(word: &Word) -> Option<String> {
    let text = word.text.as_str();
    let home = [
        "~",
        "~/",
        "~/*",
        "~/.*",
        "$HOME",
        "${HOME}",
        "$HOME/",
        "${HOME}/",
        "$HOME/*",
        "${HOME}/*",
    ];
    if home.contains(&text) {
        return Some("the home directory".to_owned());
    }
    if let Some(rest) = text.strip_prefix('$') {
        // `$DIR/` or `${DIR}/*`: if the variable is empty or unset, this is `/` (the Steam bug).
        let name_end = rest.trim_start_matches('{');
        let name: String = name_end
            .chars()
            .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
            .collect();
        let after = name_end.get(name.len()..).unwrap_or("").trim_start_matches('}');
        if !name.is_empty() && (after == "/" || after == "/*") {
            return Some(format!("if ${name} is empty this is {after}"));
        }
        return None;
    }
    if let Some(rest) = text.strip_prefix("~/") {
        // `~/..`, `~/x/../..`: climbing out of the home directory reaches every user's home, or `/`.
        let mut depth = 0usize;
        for part in rest.split('/') {
            match part {
                "" | "." => {}
                ".." if depth == 0 => return Some("a directory above the home directory".to_owned()),
                ".." => depth = depth.saturating_sub(1),
                _ => depth = depth.saturating_add(1),
            }
        }
        if depth == 0 {
            return Some("the home directory".to_owned());
        }
        return None;
    }
    if let Some(user) = text.strip_prefix('~') {
        // `~root`, `~alice/`, `~alice/*`: another user's home directory.
        let name = user.split('/').next().unwrap_or("");
        let after = user.get(name.len()..).unwrap_or("");
        if !name.is_empty() && matches!(after, "" | "/" | "/*") {
            return Some(format!("the home directory of {name}"));
        }
        return None;
    }
    if !text.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    let mut glob = false;
    for part in text.split('/') {
        match part {
            "" | "." => {}
            // `/$DIR`: an empty or unset variable leaves nothing of this component.
            _ if word.expands && part.starts_with('$') => {}
            _ if word.globs && parts.is_empty() && part.contains(['*', '?', '[']) => {
                return Some(format!("{part} at the top level may match system directories"));
            }
            ".." => {
                parts.pop();
            }
            "*" | ".*" | "*.*" => glob = true,
            other => {
                if glob {
                    // `/*/x`: globbing through every top-level directory.
                    return Some("a glob over the root directory".to_owned());
                }
                parts.push(other);
            }
        }
    }
    match parts.as_slice() {
        [] if glob => Some("every file under /".to_owned()),
        [] => Some("the root directory".to_owned()),
        [top] if SYSTEM.contains(top) => Some(format!("the system directory /{top}")),
        [top, child] if SYSTEM.contains(top) && *top != "home" => {
            if glob {
                Some(format!("everything in /{top}/{child}"))
            } else {
                Some(format!("/{top}/{child}, a direct child of a system directory"))
            }
        }
        _ => None,
    }
}

/// Why removing `word` recursively destroys a database's or cluster's data, if it does. Kept apart from
/// [`dangerous_path`] because changing the owner or mode of these directories is routine administration.
pub(crate) fn data_directory(word: &Word) -> Option<String> {
    let trimmed = word.text.trim_end_matches('/');
    DATA_DIRS
        .iter()
        .find(|dir| trimmed == **dir)
        .map(|dir| format!("{dir}, a database or cluster data directory"))
}

/// Whether writing to `target` writes straight onto a device (`/dev/sda`, `/dev/nvme0n1`, `/dev/mem`).
pub(crate) fn is_device_target(target: &str) -> bool {
    let Some(device) = target.strip_prefix("/dev/") else {
        return false;
    };
    let device = device.trim_start_matches('/');
    !(SAFE_DEVICES.contains(&device)
        || device.starts_with("fd/")
        || device.starts_with("pts/")
        || device.starts_with("shm/")
        || device.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str) -> Word {
        Word {
            text: text.to_owned(),
            ..Word::default()
        }
    }

    #[test]
    fn root_spelt_many_ways_is_dangerous() {
        for path in ["/", "//", "/.", "/..", "/./", "/*", "/../..", "///*"] {
            assert!(dangerous_path(&word(path)).is_some(), "{path}");
        }
    }

    #[test]
    fn climbing_out_of_the_home_directory_is_dangerous() {
        for path in ["~/..", "~/../", "~/x/../..", "~/.", "~/x/.."] {
            assert!(dangerous_path(&word(path)).is_some(), "{path}");
        }
        assert!(dangerous_path(&word("~/project/../build")).is_none());
    }

    #[test]
    fn ordinary_paths_are_not() {
        for path in [
            "/tmp/build",
            "/home/alice/project",
            "./target",
            "build",
            "/var/log/app/old.log",
            "/opt/app/cache/x",
        ] {
            assert!(dangerous_path(&word(path)).is_none(), "{path}");
        }
    }

    #[test]
    fn devices_except_the_harmless_ones_are_targets() {
        assert!(is_device_target("/dev/sda"));
        assert!(is_device_target("/dev/nvme0n1p1"));
        assert!(!is_device_target("/dev/null"));
        assert!(!is_device_target("/dev/fd/2"));
        assert!(!is_device_target("/tmp/x"));
    }
}
