//! Where a rendered report goes: standard output, or the `--output` file.
//! A report that shows passwords and tokens (`--show-secrets`) is written
//! mode 0600, an existing file included (its mode is narrowed before the
//! report is written into it). A redacted report is made to be shared
//! (attached, uploaded by CI) and keeps the mode the umask gives it.

use std::io::Write;
use std::path::Path;

/// Prints `text`, or writes it to `file` (0600 when it holds `secrets`).
/// The error names the file.
pub fn deliver(text: &str, file: Option<&Path>, secrets: bool) -> Result<(), String> {
    match file {
        None => {
            print!("{text}");
            Ok(())
        }
        Some(file) => write(file, text, secrets).map_err(|e| format!("{}: {e}", file.display())),
    }
}

fn write(file: &Path, text: &str, secrets: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secrets {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(file)?;
    #[cfg(unix)]
    if secrets {
        // `mode` applies to a file created here; one that existed keeps
        // its own until narrowed.
        use std::os::unix::fs::PermissionsExt;
        out.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    out.write_all(text.as_bytes())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(file: &Path) -> u32 {
        std::fs::metadata(file).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_report_with_secrets_is_0600_even_over_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.txt");
        deliver("secret", Some(&fresh), true).unwrap();
        assert_eq!(mode(&fresh), 0o600);
        let existing = dir.path().join("existing.txt");
        std::fs::write(&existing, "old").unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
        deliver("secret", Some(&existing), true).unwrap();
        assert_eq!(mode(&existing), 0o600);
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "secret");
    }

    #[test]
    fn a_redacted_report_keeps_the_mode_of_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("shared.txt");
        std::fs::write(&existing, "old").unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
        deliver("redacted", Some(&existing), false).unwrap();
        assert_eq!(mode(&existing), 0o644);
    }
}
