//! Turns the reference data copied into `data/` into compact embedded tables:
//! the 290 kommuner as a Rust array and Skatteverket's test personnummer as a
//! sorted array of little-endian u64 values for binary search.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=data/kommuner.csv");
    println!("cargo:rerun-if-changed=data/testpersonnummer.txt");
    kommuner(Path::new("data/kommuner.csv"), &out.join("kommuner.rs"))?;
    testpersonnummer(
        Path::new("data/testpersonnummer.txt"),
        &out.join("testpersonnummer.bin"),
    )?;
    Ok(())
}

fn kommuner(src: &Path, dst: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let text = fs::read_to_string(src)?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(',').collect();
        let [kod, namn, lanskod, lansnamn] = cols[..] else {
            return Err(format!("kommuner.csv line {}: expected 4 columns", n + 1).into());
        };
        if kod.len() != 4 || !kod.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("kommuner.csv line {}: bad kommunkod {kod:?}", n + 1).into());
        }
        rows.push((
            kod.parse::<u16>()?,
            namn.to_owned(),
            lanskod.to_owned(),
            lansnamn.to_owned(),
        ));
    }
    rows.sort_by_key(|r| r.0);
    if rows.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err("kommuner.csv has duplicate codes".into());
    }
    let mut code = String::from("pub(crate) static KOMMUNER: &[KommunInfo] = &[\n");
    for (kod, namn, lanskod, lansnamn) in &rows {
        writeln!(
            code,
            "    KommunInfo {{ kod: {kod}, namn: {namn:?}, lanskod: {lanskod:?}, lansnamn: {lansnamn:?} }},"
        )?;
    }
    code.push_str("];\n");
    fs::write(dst, code)?;
    Ok(())
}

fn testpersonnummer(src: &Path, dst: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let text = fs::read_to_string(src)?;
    let mut numbers = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.len() != 12 || !line.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("testpersonnummer.txt line {}: not 12 digits", n + 1).into());
        }
        numbers.push(line.parse::<u64>()?);
    }
    numbers.sort_unstable();
    numbers.dedup();
    let mut bytes = Vec::with_capacity(numbers.len() * 8);
    for n in numbers {
        bytes.extend_from_slice(&n.to_le_bytes());
    }
    fs::write(dst, bytes)?;
    Ok(())
}
