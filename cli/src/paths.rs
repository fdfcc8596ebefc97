//! Where the generated state machines live.

use std::path::PathBuf;

/// The `state-machines/` folder: `--dir` when given, else `./state-machines` when run from the
/// repository root, else the folder this binary was built from.
pub fn state_machines_dir(dir: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = dir {
        return dir;
    }
    let local = PathBuf::from("state-machines");
    if local.join("Cargo.toml").exists() {
        return local;
    }
    state_machines::default_dir()
}
