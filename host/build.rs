//! Builds the lamina kernel and hands its path to the CLI, which embeds it
//! with `include_bytes!(env!("LAMINA_KERNEL_ELF"))`.
//!
//! The kernel is a separate `cargo build` for `x86_64-unknown-none` into
//! `target/kernel`, always in release mode: a plain `cargo build` or
//! `cargo test` at the workspace root then yields a `lamina` binary that
//! carries its kernel, with no manual step.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const KERNEL_PACKAGE: &str = "lamina-kernel";
const KERNEL_TARGET: &str = "x86_64-unknown-none";

/// Inputs of the kernel build, relative to the workspace root.
const KERNEL_INPUTS: &[&str] = &[
    "kernel",
    "boot",
    "crates",
    "linker.ld",
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain.toml",
];

/// Variables that describe the outer build (this build script's own
/// package, profile and target). Passed on, they would make the kernel build
/// use the host's flags, target directory or profile settings.
const OUTER_BUILD_VARIABLES: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "CLIPPY_ARGS",
    "TARGET",
    "HOST",
    "OUT_DIR",
    "PROFILE",
    "OPT_LEVEL",
    "DEBUG",
    "NUM_JOBS",
    "RUSTC_LINKER",
];

fn leaks_outer_build(name: &str) -> bool {
    (name.starts_with("CARGO_") && name != "CARGO_HOME")
        || name.starts_with("__CARGO")
        || name == "CARGO"
        || OUTER_BUILD_VARIABLES.contains(&name)
}

/// Set at build time to embed an already built kernel instead of building one.
const PREBUILT_KERNEL_VARIABLE: &str = "LAMINA_KERNEL_ELF";

fn main() {
    println!("cargo:rerun-if-env-changed={PREBUILT_KERNEL_VARIABLE}");
    if let Some(prebuilt) = env::var_os(PREBUILT_KERNEL_VARIABLE) {
        let prebuilt = PathBuf::from(prebuilt);
        if !prebuilt.is_file() {
            fail(&format!(
                "{PREBUILT_KERNEL_VARIABLE}={} is not a file",
                prebuilt.display()
            ));
        }
        println!("cargo:rerun-if-changed={}", prebuilt.display());
        println!(
            "cargo:rustc-env={PREBUILT_KERNEL_VARIABLE}={}",
            prebuilt.display()
        );
        return;
    }
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ sits inside the workspace")
        .to_path_buf();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    for input in KERNEL_INPUTS {
        let path = workspace.join(input);
        // A path that does not exist would make cargo rerun this script on
        // every build, so only existing inputs are watched.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");

    let target_dir = workspace.join("target").join("kernel");
    let mut command = Command::new(&cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--release", "-p", KERNEL_PACKAGE, "--target"])
        .arg(KERNEL_TARGET)
        .arg("--target-dir")
        .arg(&target_dir);
    for (name, _) in env::vars_os() {
        if name.to_str().is_some_and(leaks_outer_build) {
            command.env_remove(&name);
        }
    }

    let output = match command.output() {
        Ok(output) => output,
        Err(err) => fail(&format!(
            "could not run {}: {err}",
            Path::new(&cargo).display()
        )),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        fail(&format!(
            "building the lamina kernel failed ({}):\n{stderr}",
            output.status
        ));
    }

    let kernel = target_dir
        .join(KERNEL_TARGET)
        .join("release")
        .join(KERNEL_PACKAGE);
    if !kernel.is_file() {
        fail(&format!(
            "the kernel build succeeded but {} is missing",
            kernel.display()
        ));
    }
    println!("cargo:rustc-env=LAMINA_KERNEL_ELF={}", kernel.display());
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
