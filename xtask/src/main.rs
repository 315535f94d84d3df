//! `cargo xtask`: the project's automation, one subcommand per task, so that a developer
//! and CI run exactly the same thing.

mod bench;
mod bench_report;
mod cmd;
mod debian;
mod machine;
mod run;
mod test;
mod ui;

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  run [--fresh] [--release] [--listen ADDR] [--no-desktop]
        build the server, agent and desktop app, seed demo data into .deskside/demo
        on first use (or with --fresh), serve it on 127.0.0.1:7300, enroll and run
        this machine's agent, and open the desktop app, until Ctrl-C
  test  install what the tests need, then UI typecheck/tests/build, fmt check,
        clippy -D warnings, all tests including the desktop end to end under Xvfb
  icons regenerate every app icon size from icons/deskside.svg
  bench [--quick] [-- <deskside-bench run options>]
        build release binaries, run the benchmarks, write BENCHMARKS.md
";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprint!("{USAGE}");
        std::process::exit(2);
    }
    let task = args.remove(0);
    let outcome = match task.as_str() {
        "run" => run::run(args),
        "test" => test::test(args),
        "bench" => bench::bench(args),
        "icons" => ui::icons(args),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task {other:?}\n\n{USAGE}").into()),
    };
    if let Err(error) = outcome {
        eprintln!("xtask {task}: error: {error}");
        std::process::exit(1);
    }
}
