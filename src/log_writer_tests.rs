//! Log writer tests: lines added while a write is under way are written together, in order, a
//! batch of audit lines is one write, and a line cut short by an error is not written.
#![allow(clippy::unwrap_used)]

use super::*;

/// Records each write it is given.
#[derive(Default)]
struct Writes(Vec<Vec<u8>>);

impl Write for Writes {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.push(bytes.to_vec());
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn writes(lines: &Lines<Writes>) -> Vec<Vec<u8>> {
    lines.out.lock().unwrap().0.clone()
}

#[test]
fn lines_added_during_a_write_are_written_together_in_order() {
    let lines = Lines::new(Writes::default());
    // Another thread is writing: the lines wait for it.
    lines.state().writing = true;
    for n in 0..3 {
        lines.add(format!("{{\"n\":{n}}}\n").as_bytes());
        lines.write_pending();
    }
    assert!(writes(&lines).is_empty());
    lines.state().writing = false;
    lines.write_pending();
    assert_eq!(
        writes(&lines),
        [b"{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n".to_vec()]
    );
    lines.add(b"{\"n\":3}\n");
    lines.finish();
    assert_eq!(writes(&lines).len(), 2);
    assert_eq!(writes(&lines)[1], b"{\"n\":3}\n");
}

#[test]
fn a_line_cut_short_by_an_error_is_not_written() {
    let lines = Arc::new(Lines::new(Writes::default()));
    let torn = Arc::new(AtomicBool::new(false));
    let mut writer = LineWriter {
        line: Vec::new(),
        torn: Arc::clone(&torn),
        lines: Arc::clone(&lines),
    };
    writer.write_all(b"{\"half\":").unwrap();
    torn.store(true, Ordering::Relaxed);
    writer.write_all(b"{\"whole\":1}\n").unwrap();
    writer.flush().unwrap();
    lines.write_pending();
    assert_eq!(writes(&lines), [b"{\"whole\":1}\n".to_vec()]);
}

#[test]
fn loggers_on_many_threads_lose_no_line() {
    let lines = Arc::new(Lines::new(Writes::default()));
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for n in 0..500 {
                    lines.add(format!("{thread} {n}\n").as_bytes());
                    lines.write_pending();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    lines.finish();
    let text = String::from_utf8(writes(&lines).concat()).unwrap();
    assert_eq!(text.lines().count(), 2000);
    for thread in 0..4 {
        let own: Vec<String> = text
            .lines()
            .filter(|line| line.starts_with(&format!("{thread} ")))
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = (0..500).map(|n| format!("{thread} {n}")).collect();
        assert_eq!(own, expected, "each thread's lines in order");
    }
}

#[test]
fn a_batch_of_audit_lines_is_one_write_after_its_last_line() {
    use relay_actors::log_event::AUDIT_TAG;
    let (drain, guard) = grouped(Writes::default(), |writer| {
        Json::new(writer).set_newlines(true).set_flush(true).build()
    });
    let lines = Arc::clone(&drain.lines);
    let log = slog::Logger::root(drain.fuse(), slog::o!());
    slog::info!(log, #AUDIT_TAG_MORE, "first"; "seq" => 1);
    slog::info!(log, #AUDIT_TAG_MORE, "second"; "seq" => 2);
    assert!(
        writes(&lines).is_empty(),
        "held until the batch's last line"
    );
    slog::info!(log, #AUDIT_TAG, "third"; "seq" => 3);
    let written = writes(&lines);
    assert_eq!(written.len(), 1, "one write for the batch");
    let text = String::from_utf8(written[0].clone()).unwrap();
    let seqs: Vec<u64> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    // A held line is never stranded: any later line writes it, and so does the guard.
    slog::info!(log, #AUDIT_TAG_MORE, "fourth"; "seq" => 4);
    slog::info!(log, "a diagnostic");
    assert_eq!(writes(&lines).len(), 2);
    slog::info!(log, #AUDIT_TAG_MORE, "fifth"; "seq" => 5);
    drop(guard);
    assert_eq!(writes(&lines).len(), 3);
}
