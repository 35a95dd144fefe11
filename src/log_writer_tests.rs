//! Log writer tests: queued lines are written in order, together, and nothing queued before the
//! guard is dropped is lost.
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

#[test]
fn lines_waiting_together_are_written_with_one_write_in_order() {
    let (queue, lines) = mpsc::sync_channel(16);
    for n in 0..3 {
        queue
            .send(Message::Line(format!("{{\"n\":{n}}}\n").into_bytes()))
            .unwrap();
    }
    queue.send(Message::Finish).unwrap();
    queue.send(Message::Line(b"{\"n\":3}\n".to_vec())).unwrap();
    let mut out = Writes::default();
    write_lines(&lines, &mut out);
    assert_eq!(
        out.0,
        [b"{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n".to_vec()]
    );
}

#[test]
fn a_burst_larger_than_one_write_takes_several_and_keeps_every_line() {
    let (queue, lines) = mpsc::sync_channel(64);
    let line = format!("{}\n", "x".repeat(100 << 10));
    for _ in 0..5 {
        queue
            .send(Message::Line(line.clone().into_bytes()))
            .unwrap();
    }
    drop(queue);
    let mut out = Writes::default();
    write_lines(&lines, &mut out);
    assert!(out.0.len() > 1 && out.0.len() < 5, "{} writes", out.0.len());
    assert_eq!(out.0.concat(), line.repeat(5).into_bytes());
}

#[test]
fn a_line_cut_short_by_an_error_is_not_written() {
    let (queue, lines) = mpsc::sync_channel(16);
    let torn = Arc::new(AtomicBool::new(false));
    let mut writer = QueueWriter {
        line: Vec::new(),
        torn: Arc::clone(&torn),
        queue,
    };
    writer.write_all(b"{\"half\":").unwrap();
    torn.store(true, Ordering::Relaxed);
    writer.write_all(b"{\"whole\":1}\n").unwrap();
    writer.flush().unwrap();
    drop(writer);
    let mut out = Writes::default();
    write_lines(&lines, &mut out);
    assert_eq!(out.0, [b"{\"whole\":1}\n".to_vec()]);
}
