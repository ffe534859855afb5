//! A Rust std workload: argument parsing, collections, formatting and the
//! environment, with output that depends only on argv and env.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    println!("hello from rust");

    let args: Vec<String> = std::env::args().collect();
    println!("argc={}", args.len());
    for (i, arg) in args.iter().enumerate() {
        println!("argv[{i}]={arg:?}");
    }

    let mut word_lengths: HashMap<&str, usize> = HashMap::new();
    for word in "the quick brown fox jumps over the lazy dog the end".split(' ') {
        *word_lengths.entry(word).or_default() += word.len();
    }
    // HashMap iteration order is randomised; sort before printing.
    let sorted: BTreeMap<_, _> = word_lengths.into_iter().collect();
    let mut line = String::new();
    for (word, total) in &sorted {
        write!(line, "{word}:{total} ").expect("writing to a String cannot fail");
    }
    println!("words {}", line.trim_end());

    let squares: Vec<u64> = (1..=20).map(|n| n * n).collect();
    let sum: u64 = squares.iter().sum();
    println!("squares {squares:?} sum={sum}");
    println!(
        "float {:.6} {:e} {:>8.3}|",
        std::f64::consts::PI,
        1.0e-7_f64,
        2.5_f32
    );

    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.sort();
    println!("env count={}", env.len());
    for (key, value) in &env {
        println!("env {key}={value:?}");
    }

    let boxed: Box<[u8]> = vec![7u8; 1 << 20].into_boxed_slice();
    println!(
        "boxed len={} sum={}",
        boxed.len(),
        boxed.iter().map(|&b| u64::from(b)).sum::<u64>()
    );

    ExitCode::SUCCESS
}
