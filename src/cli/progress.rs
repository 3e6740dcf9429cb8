//! How long steps report themselves. On a terminal: a spinner, or a bar against the cost
//! model's prediction. Off a terminal (a log, CI): a plain line on stderr once a step has run
//! for half a minute, then every minute, with the time left by the prediction. Quick steps
//! print nothing, so a refusal stays the only line on stderr. `SNARKML_PROGRESS=0` turns all
//! of it off.

use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// When the first plain line comes, and how often the next ones do.
const FIRST_LINE: Duration = Duration::from_secs(30);
const EVERY: Duration = Duration::from_secs(60);

/// Whether progress is wanted at all (`SNARKML_PROGRESS=0` says no).
fn wanted() -> bool {
    std::env::var("SNARKML_PROGRESS").map_or(true, |v| v != "0")
}

/// Runs `f` with a spinner named `name` on a terminal; returns its value and the seconds it
/// took.
pub(crate) fn timed<T>(name: &str, f: impl FnOnce() -> eyre::Result<T>) -> eyre::Result<(T, f64)> {
    timed_predicted(name, || None, f)
}

/// What the cost model predicts a step takes, in seconds on a 2-core machine (if known):
/// asked on the reporter's thread, and only once a line or spinner shows it, so a quick step
/// or `SNARKML_PROGRESS=0` never pays for it.
pub(crate) type Prediction = Box<dyn FnOnce() -> Option<f64> + Send>;

/// Runs `f`, reporting its progress against `predicted` (see the module); returns its value
/// and the seconds it took.
pub(crate) fn timed_predicted<T>(
    name: &str,
    predicted: impl FnOnce() -> Option<f64> + Send + 'static,
    f: impl FnOnce() -> eyre::Result<T>,
) -> eyre::Result<(T, f64)> {
    let start = Instant::now();
    let reporter = wanted().then(|| Reporter::start(name, Box::new(predicted)));
    let out = f();
    drop(reporter);
    out.map(|v| (v, start.elapsed().as_secs_f64()))
}

/// What the cost model predicts a step on `build`'s circuit takes (`predict`, e.g.
/// [`crate::pipeline::predicted_prove_seconds`]), read from its `model.json` when asked; none
/// for a build not compiled yet (the step itself then says what is wrong).
pub(crate) fn predicted(
    build: &crate::artifacts::BuildDir,
    predict: fn(&snarkml_circuits::quantize::CompiledModel) -> f64,
) -> impl FnOnce() -> Option<f64> + Send + 'static {
    let build = build.clone();
    move || {
        crate::pipeline::compiled_model(&build)
            .ok()
            .map(|m| predict(&m))
    }
}

/// The progress line of a step at `elapsed` seconds of the `predicted`.
fn line(name: &str, elapsed: f64, predicted: Option<f64>) -> String {
    let spent = minutes_seconds(elapsed);
    match predicted {
        Some(p) if elapsed < p => format!(
            "{name}: {spent} elapsed, about {:.0} % of the {} predicted, about {} left",
            100.0 * elapsed / p,
            minutes_seconds(p),
            minutes_seconds(p - elapsed)
        ),
        Some(p) => format!(
            "{name}: {spent} elapsed, past the {} predicted",
            minutes_seconds(p)
        ),
        None => format!("{name}: {spent} elapsed"),
    }
}

/// `42 s`, `3 min 05 s`.
fn minutes_seconds(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// A spinner (terminal) or a thread printing plain lines (elsewhere), stopped on drop.
enum Reporter {
    Terminal(indicatif::ProgressBar),
    Lines {
        stop: mpsc::Sender<()>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

impl Reporter {
    fn start(name: &str, predict: Prediction) -> Self {
        if std::io::stderr().is_terminal() {
            let pb = indicatif::ProgressBar::new_spinner();
            let (name, start) = (name.to_owned(), Instant::now());
            pb.set_message(line(&name, 0.0, None));
            pb.enable_steady_tick(Duration::from_millis(120));
            // The message moves with the clock; indicatif's own ticker only spins.
            let ticking = pb.clone();
            std::thread::spawn(move || {
                let predicted = predict();
                while !ticking.is_finished() {
                    ticking.set_message(line(&name, start.elapsed().as_secs_f64(), predicted));
                    std::thread::sleep(Duration::from_millis(500));
                }
            });
            return Self::Terminal(pb);
        }
        Self::lines(name, predict, FIRST_LINE, EVERY, |l| eprintln!("{l}"))
    }

    /// Plain lines through `say`: the first after `first`, then one every `every`.
    fn lines(
        name: &str,
        predict: Prediction,
        first: Duration,
        every: Duration,
        say: impl Fn(String) + Send + 'static,
    ) -> Self {
        let (stop, stopped) = mpsc::channel();
        let name = name.to_owned();
        let start = Instant::now();
        let thread = std::thread::spawn(move || {
            let (mut next, mut predict, mut predicted) = (first, Some(predict), None);
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(next.saturating_sub(start.elapsed()))
            {
                if let Some(predict) = predict.take() {
                    predicted = predict();
                }
                say(line(&name, start.elapsed().as_secs_f64(), predicted));
                next += every;
            }
        });
        Self::Lines {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        match self {
            Self::Terminal(pb) => pb.finish_and_clear(),
            Self::Lines { stop, thread } => {
                let _ = stop.send(());
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
        }
    }
}

/// A progress bar of `steps` steps with elapsed time, on a terminal only.
pub(crate) fn progress_bar(steps: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || !wanted() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(steps);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("[{elapsed_precise}] {bar:20} {pos}/{len} {msg}")
    {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(250));
    Some(pb)
}

/// Moves a progress bar (if any) to step `pos` with `msg`.
pub(crate) fn progress_step(bar: &Option<indicatif::ProgressBar>, pos: u64, msg: &str) {
    if let Some(b) = bar {
        b.set_position(pos);
        b.set_message(msg.to_owned());
    }
}

/// Prints a line above the progress bar, or on stderr when there is none.
pub(crate) fn progress_note(bar: &Option<indicatif::ProgressBar>, line: &str) {
    match bar {
        Some(b) => b.println(line),
        None => eprintln!("{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_the_time_left_by_the_prediction_or_that_it_is_past() {
        assert_eq!(
            line("proving", 30.0, Some(120.0)),
            "proving: 30 s elapsed, about 25 % of the 2 min 00 s predicted, about 1 min 30 s left"
        );
        assert_eq!(
            line("generating keys", 200.0, Some(120.0)),
            "generating keys: 3 min 20 s elapsed, past the 2 min 00 s predicted"
        );
        assert_eq!(line("proving", 61.0, None), "proving: 1 min 01 s elapsed");
    }

    #[test]
    fn off_a_terminal_a_long_step_prints_plain_lines_until_it_ends() {
        let said = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = said.clone();
        let reporter = Reporter::lines(
            "proving",
            Box::new(|| Some(100.0)),
            Duration::from_millis(100),
            Duration::from_millis(200),
            move |l| sink.lock().unwrap().push(l),
        );
        std::thread::sleep(Duration::from_millis(700));
        drop(reporter);
        let lines = said.lock().unwrap().clone();
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(lines[0].starts_with("proving: 0 s elapsed, about 0 % of the 1 min 40 s predicted, about 1 min 40 s left"), "{lines:?}");
        // Nothing after the step ended.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(said.lock().unwrap().len(), lines.len());
    }

    #[test]
    fn a_quick_step_prints_nothing_and_returns_its_value() {
        let (v, secs) = timed_predicted("quick", || Some(100.0), || Ok(7)).unwrap();
        assert_eq!(v, 7);
        assert!(secs < FIRST_LINE.as_secs_f64());
    }
}
