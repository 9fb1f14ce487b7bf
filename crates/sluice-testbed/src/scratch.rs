//! Scratch directories for server instances, and a cache of freshly initialised data directories.
//!
//! Initialising a data directory is the slow part of starting a throwaway server (initdb about a second,
//! mariadb-install-db several). Test runners such as nextest run every test in its own process, so an in-memory cache
//! would not help: the first start initialises a *template* under the system temp dir, atomically renamed into place,
//! and every instance copies it. Templates are keyed by server version and by [`TEMPLATE_FORMAT`], so upgrading the
//! server or changing how templates are made never reuses a stale one.

use crate::error::{Result, TestbedError};
use crate::system::{running_as_root, Account};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Bump when the way templates are initialised changes.
const TEMPLATE_FORMAT: u32 = 2;

/// Prefix of the per-user template caches, which orphan sweeping must leave alone.
pub(crate) const CACHE_PREFIX: &str = "sluice-testbed-cache-";

/// A new empty directory for one server instance, removed on drop, owned by `owner` when given.
///
/// Created directly under the system temp dir so that the server's unprivileged account can reach it and unix socket
/// paths inside it stay short. The first call in a process also cleans up after test processes that were killed
/// (see [`crate::orphans`]).
pub(crate) fn instance_dir(kind: &str, owner: Option<&Account>) -> Result<TempDir> {
    crate::orphans::sweep_once();
    let dir = tempfile::Builder::new()
        .prefix(&format!("{}{kind}-", crate::orphans::DIR_PREFIX))
        .tempdir()
        .map_err(|err| TestbedError::io("creating a scratch directory", err))?;
    crate::orphans::record_owner(dir.path());
    if let Some(owner) = owner {
        owner.chown(dir.path())?;
    }
    Ok(dir)
}

/// Returns the template directory for `name` (e.g. `postgres-15.14`), creating it with `init` when absent.
///
/// `init` receives a path that does not exist yet and must create the initialised directory there. Concurrent
/// processes may both initialise; the first rename wins and the loser discards its copy.
pub(crate) fn template(
    name: &str,
    owner: Option<&Account>,
    init: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let cache = cache_root()?;
    let template = cache.join(format!("{}-f{TEMPLATE_FORMAT}", sanitize(name)));
    if template.is_dir() {
        return Ok(template);
    }
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(&cache)
        .map_err(|err| {
            TestbedError::io(
                format!("creating a staging directory in {}", cache.display()),
                err,
            )
        })?;
    if let Some(owner) = owner {
        owner.chown(staging.path())?;
    }
    let built = staging.path().join("data");
    init(&built)?;
    match std::fs::rename(&built, &template) {
        Ok(()) => {
            remove_outdated(&cache, &sanitize(name));
            Ok(template)
        }
        // Another process finished first: its template is as good as ours, which the staging dir's drop removes.
        Err(_) if template.is_dir() => Ok(template),
        Err(err) => Err(TestbedError::io(
            format!("publishing the template {}", template.display()),
            err,
        )),
    }
}

/// Removes templates of `name` made in an older format. Best effort: an outdated template only wastes space.
fn remove_outdated(cache: &Path, name: &str) {
    let current = format!("{name}-f{TEMPLATE_FORMAT}");
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let outdated = file_name
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix("-f"))
            .is_some_and(|format| format.parse::<u32>().is_ok() && file_name != current);
        if outdated {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `$TMPDIR/sluice-testbed-cache-<uid>`: per user, so no one else can plant a template for us, and world-traversable
/// so that the servers' accounts can initialise templates inside it.
fn cache_root() -> Result<PathBuf> {
    let uid = rustix::process::geteuid().as_raw();
    let root = std::env::temp_dir().join(format!("{CACHE_PREFIX}{uid}"));
    match std::fs::DirBuilder::new().mode(0o755).create(&root) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(TestbedError::io(format!("creating {}", root.display()), err)),
    }
    let meta = std::fs::symlink_metadata(&root)
        .map_err(|err| TestbedError::io(format!("inspecting {}", root.display()), err))?;
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o022 != 0 {
        return Err(TestbedError::io(
            format!("using {} as the template cache", root.display()),
            std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "it is not a directory owned by the current user and writable only by it; remove it",
            ),
        ));
    }
    Ok(root)
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Copies the directory tree `from` to `to` (which must not exist), keeping permission bits and giving everything to
/// `owner` when given (only possible, and only needed, as root).
pub(crate) fn copy_tree(from: &Path, to: &Path, owner: Option<&Account>) -> Result<()> {
    let owner = owner.filter(|_| running_as_root());
    let mode = std::fs::metadata(from)
        .map_err(|err| TestbedError::io(format!("reading {}", from.display()), err))?
        .permissions()
        .mode();
    std::fs::DirBuilder::new()
        .mode(mode & 0o7777)
        .create(to)
        .map_err(|err| TestbedError::io(format!("creating {}", to.display()), err))?;
    if let Some(owner) = owner {
        owner.chown(to)?;
    }
    let entries = std::fs::read_dir(from)
        .map_err(|err| TestbedError::io(format!("listing {}", from.display()), err))?;
    for entry in entries {
        let entry = entry.map_err(|err| TestbedError::io(format!("listing {}", from.display()), err))?;
        let file_type = entry
            .file_type()
            .map_err(|err| TestbedError::io(format!("inspecting {}", entry.path().display()), err))?;
        let target = to.join(entry.file_name());
        if file_type.is_dir() {
            copy_tree(&entry.path(), &target, owner)?;
        } else if file_type.is_symlink() {
            let link = std::fs::read_link(entry.path())
                .map_err(|err| TestbedError::io(format!("reading link {}", entry.path().display()), err))?;
            std::os::unix::fs::symlink(&link, &target)
                .map_err(|err| TestbedError::io(format!("creating link {}", target.display()), err))?;
        } else {
            // `fs::copy` keeps the permission bits.
            std::fs::copy(entry.path(), &target).map_err(|err| {
                TestbedError::io(
                    format!("copying {} to {}", entry.path().display(), target.display()),
                    err,
                )
            })?;
            if let Some(owner) = owner {
                owner.chown(&target)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_tree_reproduces_files_directories_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        std::fs::create_dir_all(from.join("sub/deeper")).unwrap();
        std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(from.join("a.conf"), "alpha").unwrap();
        std::fs::set_permissions(from.join("a.conf"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(from.join("sub/deeper/b"), "beta").unwrap();
        std::os::unix::fs::symlink("a.conf", from.join("link")).unwrap();

        let to = dir.path().join("to");
        copy_tree(&from, &to, None).unwrap();

        assert_eq!(std::fs::read_to_string(to.join("a.conf")).unwrap(), "alpha");
        assert_eq!(std::fs::read_to_string(to.join("sub/deeper/b")).unwrap(), "beta");
        assert_eq!(std::fs::read_link(to.join("link")).unwrap(), Path::new("a.conf"));
        assert_eq!(
            std::fs::metadata(&to).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(to.join("a.conf")).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn concurrent_template_builds_agree_on_one_template_and_replace_outdated_ones() {
        let name = format!("unit-test-{}", crate::system::random_hex(6).unwrap());
        let cache = cache_root().unwrap();
        let outdated = cache.join(format!("{name}-f0"));
        std::fs::create_dir(&outdated).unwrap();

        let builders: Vec<_> = (0..4)
            .map(|builder| {
                let name = name.clone();
                std::thread::spawn(move || {
                    template(&name, None, |path| {
                        std::fs::create_dir(path).unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        std::fs::write(path.join("built-by"), builder.to_string()).unwrap();
                        Ok(())
                    })
                    .unwrap()
                })
            })
            .collect();
        let paths: Vec<PathBuf> = builders.into_iter().map(|b| b.join().unwrap()).collect();

        assert!(paths.iter().all(|path| *path == paths[0]), "{paths:?}");
        let built_by: usize = std::fs::read_to_string(paths[0].join("built-by"))
            .unwrap()
            .parse()
            .unwrap();
        assert!(built_by < 4);
        assert!(!outdated.exists(), "the outdated template was kept");
        // Other test processes may be building their own templates; only this test's leftovers would hold `built-by`.
        let staging_left = std::fs::read_dir(&cache).unwrap().flatten().any(|entry| {
            entry.file_name().to_string_lossy().starts_with(".staging-")
                && entry.path().join("data/built-by").exists()
        });
        assert!(!staging_left, "a staging directory was left behind");
        std::fs::remove_dir_all(&paths[0]).unwrap();
    }

    #[test]
    fn template_names_cannot_escape_the_cache() {
        assert_eq!(sanitize("postgres-15.4 (Debian)/.."), "postgres-15.4__Debian__..");
        assert!(!sanitize("../x").contains('/'));
    }
}
