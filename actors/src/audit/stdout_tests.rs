//! Stdout's share of group commit: the records of one batch are logged in a row, every line but
//! the batch's last saying that more follow, so the stdout drain writes the batch at once.

#![allow(clippy::unwrap_used)]

use super::tests::{file_records, operation, settings};
use super::*;
use crate::log_event::{AUDIT_TAG, AUDIT_TAG_MORE};
use slog::{Drain, Never, OwnedKVList, Record};
use std::sync::Mutex;

/// The tags of the lines logged, in order.
#[derive(Clone, Default)]
struct Tags(Arc<Mutex<Vec<String>>>);

impl Drain for Tags {
    type Ok = ();
    type Err = Never;
    fn log(&self, record: &Record, _: &OwnedKVList) -> Result<(), Never> {
        if record.msg().to_string() == "Audit record" {
            self.0.lock().unwrap().push(record.tag().to_owned());
        }
        Ok(())
    }
}

#[actix_rt::test]
async fn records_written_together_are_one_batch_on_stdout_ending_in_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let tags = Tags::default();
    let engine = MaskingEngine::from_config(&relay_config::Masking::default()).unwrap();
    let log = Logger::root(tags.clone(), slog::o!());
    let auditor = Auditor::new(settings(&dir), "acme".into(), Arc::new(engine), log, None).start();
    let sends = (0..20).map(|_| auditor.send(operation(Outcome::Ok, "SELECT 1")));
    for answer in futures_util::future::join_all(sends).await {
        answer.unwrap().unwrap();
    }
    let logged = tags.0.lock().unwrap().clone();
    assert_eq!(
        logged.len(),
        file_records(&dir).len(),
        "every record on stdout"
    );
    assert_eq!(
        logged.last().map(String::as_str),
        Some(AUDIT_TAG),
        "the last line ends its batch"
    );
    assert!(
        logged
            .iter()
            .all(|tag| [AUDIT_TAG, AUDIT_TAG_MORE].contains(&tag.as_str())),
        "{logged:?}"
    );
    // Twenty records that arrived together were one batch: nineteen lines said more follow.
    let held = logged.iter().filter(|tag| *tag == AUDIT_TAG_MORE).count();
    assert!(held >= 19, "{logged:?}");
}
