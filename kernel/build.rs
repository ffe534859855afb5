//! Links the kernel with the workspace's `linker.ld` and keeps the PVH entry.
fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = std::path::Path::new(&manifest).join("../linker.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    // The entry lives in lamina-boot; nothing in Rust calls it, so ask the
    // linker to pull it in, and keep the image free of PIE relocations.
    println!("cargo:rustc-link-arg-bins=--undefined=pvh_start32");
    println!("cargo:rustc-link-arg-bins=--no-pie");
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
}
