//! The relay against a scripted control plane: bad input gets `error` replies, the session survives,
//! fragmented messages are reassembled, and SIGTERM closes the session cleanly.

use crate::fake_control_plane::{FakeControlPlane, Seen, Send};
use crate::support::{relay_config, Relay, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn connected_relay() -> (FakeControlPlane, Relay) {
    let control_plane = FakeControlPlane::start();
    let relay = Relay::start(&relay_config(control_plane.port, ""), TOKEN);
    let hello = control_plane.next_reply(WAIT);
    assert_eq!(hello["type"], "hello", "{hello}");
    assert_eq!(hello["protocolVersion"], 1);
    assert_eq!(hello["tenantId"], "tenant-test");
    assert_eq!(hello["resources"][0]["id"], "main-pg");
    (control_plane, relay)
}

#[test]
fn bad_messages_get_error_replies_and_the_session_survives() {
    let (control_plane, relay) = connected_relay();

    control_plane.send_text("{not json");
    let reply = control_plane.next_reply(WAIT);
    assert_eq!(
        (reply["type"].as_str(), reply["code"].as_str()),
        (Some("error"), Some("invalid_message"))
    );

    control_plane.send_text(r#"{"type":"bogus","id":"b1"}"#);
    let reply = control_plane.next_reply(WAIT);
    assert_eq!(reply["code"], "unsupported_message");
    assert_eq!(reply["id"], "b1");

    control_plane.send_text(r#"{"type":"request","id":"x1"}"#);
    let reply = control_plane.next_reply(WAIT);
    assert_eq!(reply["code"], "invalid_request");
    assert_eq!(reply["id"], "x1");

    control_plane.send(Send::Binary(vec![1, 2, 3]));
    assert_eq!(control_plane.next_reply(WAIT)["code"], "invalid_message");

    let request =
        json!({"type": "request", "id": "r1", "resourceId": "main-pg", "operation": "list_tables"});
    control_plane.send_text(&request.to_string());
    let reply = control_plane.next_reply(WAIT);
    assert_eq!(
        (reply["type"].as_str(), reply["id"].as_str()),
        (Some("result"), Some("r1")),
        "{reply}"
    );

    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::DisconnectedFromControlPlane.as_str()),
        0
    );
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        1
    );
    assert!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::RejectedMessageFromControlPlane.as_str())
            >= 4
    );
}

#[test]
fn fragmented_messages_are_reassembled() {
    let (control_plane, _relay) = connected_relay();
    let request = json!({"type": "request", "id": "frag-1", "resourceId": "main-pg", "operation": "list_tables"})
        .to_string();
    let (head, tail) = request.split_at(10);
    let (middle, last) = tail.split_at(tail.len() / 2);
    control_plane.send(Send::Fragments(vec![
        head.into(),
        middle.into(),
        last.into(),
    ]));
    let reply = control_plane.next_reply(WAIT);
    assert_eq!(
        (reply["type"].as_str(), reply["id"].as_str()),
        (Some("result"), Some("frag-1")),
        "{reply}"
    );
}

#[test]
fn sigterm_drains_closes_cleanly_and_exits_zero() {
    let (control_plane, mut relay) = connected_relay();
    relay.wait_ready();
    let request = json!({"type": "request", "id": "last-1", "resourceId": "main-pg", "operation": "list_tables"});
    control_plane.send_text(&request.to_string());
    std::thread::sleep(Duration::from_millis(5));
    relay.process.signal("TERM");

    let mut answered = false;
    let mut close = None;
    while let Some(seen) = control_plane.next(WAIT) {
        match seen {
            Seen::Text(value) if value["id"] == "last-1" => answered = true,
            Seen::Text(_) => {}
            Seen::Close(code) => {
                close = Some(code);
                break;
            }
        }
    }
    assert!(answered, "in-flight request was not answered before close");
    assert_eq!(close, Some(Some(1001)));
    let code = relay.process.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", relay.process.output());
    assert!(relay
        .process
        .stdout
        .wait_for_msg(LogEvent::RelayStopped.as_str(), Duration::from_secs(2))
        .is_some());
}
