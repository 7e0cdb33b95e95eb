//! Atomic file writes: the command line's and the Python package's outputs never leave a half-written
//! file.

use std::io::{self, Write};
use std::path::Path;

use snn_graph::{write_net, write_net_gz, Network};

/// Writes `net` as `snn-net/1` to `w`, gzip-compressed when `path` (where `w` goes) ends in `.gz`: the
/// rule for every network file the command line and the Python package write.
pub fn write_net_to(path: &Path, net: &Network, w: &mut dyn Write) -> io::Result<()> {
    if path.extension().is_some_and(|e| e == "gz") {
        write_net_gz(net, w)
    } else {
        write_net(net, w)
    }
}

/// Writes `path` through a temporary file in the same folder (`.snn-place-*.tmp`), renamed into place
/// once complete, so the path never holds a half-written file. The file keeps the permissions of the
/// file it replaces; a new one is readable by all (0644), as a file the shell creates would be under the
/// usual umask (the temporary file alone would be 0600). `live` is called with the temporary file's path
/// and `true` once it exists, and with `false` once it is renamed or removed, so that a caller can remove
/// it when a signal ends the process before its guard runs.
pub fn write_atomic(
    path: &Path,
    live: &dyn Fn(&Path, bool),
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    write_atomic_unless(path, live, write, &|| false)
}

/// [`write_atomic`] that checks `stop` once the file is written, just before it is renamed into place:
/// when it says so, the temporary file is removed and the error is `ErrorKind::Interrupted`, and `path`
/// is left as it was. The command line stops so when a signal came in during the write: its handler
/// runs on a thread of its own, which a loaded machine may not schedule before the write ends.
pub fn write_atomic_unless(
    path: &Path,
    live: &dyn Fn(&Path, bool),
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    stop: &dyn Fn() -> bool,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".snn-place-")
        .suffix(".tmp")
        .permissions(output_permissions(path))
        .tempfile_in(dir)?;
    let _live = Live::new(tmp.path(), live);
    write(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    if stop() {
        return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
    }
    // The error keeps tempfile's words ("failed to persist temporary file: ...").
    tmp.persist(path)
        .map_err(|e| io::Error::new(e.error.kind(), e.to_string()))?;
    Ok(())
}

/// Says a temporary file is live while this lives.
struct Live<'a> {
    path: std::path::PathBuf,
    live: &'a dyn Fn(&Path, bool),
}

impl<'a> Live<'a> {
    fn new(path: &Path, live: &'a dyn Fn(&Path, bool)) -> Live<'a> {
        live(path, true);
        Live {
            path: path.to_path_buf(),
            live,
        }
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        (self.live)(&self.path, false);
    }
}

/// The permissions of the file `path` replaces, or 0644 for a new file.
fn output_permissions(path: &Path) -> std::fs::Permissions {
    match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        let err =
            write_atomic_unless(&path, &|_, _| {}, |w| w.write_all(b"new"), &|| true).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        write_atomic_unless(&path, &|_, _| {}, |w| w.write_all(b"new"), &|| false).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
