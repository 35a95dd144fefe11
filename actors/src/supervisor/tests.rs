//! Supervisor tests: children start, and a panicking child is replaced and keeps serving.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::messages::{Mask, MaskPayload};
use crate::protocol::{ErrorCode, Outbound, Request};
use crate::routing::RoutesWatch;
use actix::Message;

#[derive(Message)]
#[rtype(result = "()")]
struct PanicForTest;

impl Handler<PanicForTest> for Masker {
    type Result = ();

    fn handle(&mut self, _: PanicForTest, _ctx: &mut Context<Self>) {
        panic!("deliberate panic for the restart test");
    }
}

#[derive(Message)]
#[rtype(result = "Option<Addr<Masker>>")]
struct CurrentMasker;

#[derive(Message)]
#[rtype(result = "RoutesWatch")]
struct CurrentRoutes;

impl Handler<CurrentRoutes> for Supervisor {
    type Result = actix::MessageResult<CurrentRoutes>;

    fn handle(&mut self, _: CurrentRoutes, _ctx: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.publisher.routes())
    }
}

impl Handler<CurrentMasker> for Supervisor {
    type Result = Option<Addr<Masker>>;

    fn handle(&mut self, _: CurrentMasker, _ctx: &mut Context<Self>) -> Self::Result {
        self.masker.clone()
    }
}

const CONFIG: &str = r#"
controlPlane:
  url: ws://127.0.0.1:9/v1/relay/connect
  token: test-token
  tenantId: tenant-1
resources:
  - id: pg
    type: postgres
    connection:
      host: 127.0.0.1
      port: 9
      database: none
      user: none
      connectTimeoutSeconds: 1
masking:
  patterns:
    - name: email
      regex: '[a-z]+@[a-z]+\.[a-z]+'
      replacement: '***@***.***'
audit:
  controlPlane: false
"#;

fn supervisor() -> Addr<Supervisor> {
    let config = Config::from_yaml_str(CONFIG, "test.yaml", &|_| None).unwrap();
    let log = Logger::root(slog::Discard, slog::o!());
    Supervisor::new(config, log).unwrap().start()
}

async fn wait_for_new_masker(supervisor: &Addr<Supervisor>, old: &Addr<Masker>) -> Addr<Masker> {
    for _ in 0..100 {
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        if let Some(current) = supervisor.send(CurrentMasker).await.unwrap() {
            if current != *old && current.connected() {
                return current;
            }
        }
    }
    panic!("masker was not restarted");
}

#[actix_rt::test]
async fn a_panicking_child_is_restarted_and_keeps_serving() {
    let supervisor = supervisor();
    let first = supervisor.send(CurrentMasker).await.unwrap().unwrap();
    first.do_send(PanicForTest);
    let second = wait_for_new_masker(&supervisor, &first).await;
    assert!(!first.connected());
    let masked = second
        .send(Mask {
            slot: None,
            payload: MaskPayload::Text("mail ana@example.com".into()),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(masked.payload, MaskPayload::Text("mail ***@***.***".into()));

    // Requests routed by the table the supervisor publishes reach the new child: the unknown
    // resource id is echoed in the error message, masked by the restarted masker.
    let routes = supervisor.send(CurrentRoutes).await.unwrap();
    let route = routes.borrow().route("ana@example.com");
    let request = Request {
        id: "r1".into(),
        resource_id: "ana@example.com".into(),
        operation: crate::protocol::Operation::ListTables.into(),
        params: serde_json::Value::Null,
        timeout_ms: None,
    };
    let answer = crate::pipeline::run(route, request).await;
    let Outbound::Error(error) = answer else {
        panic!("expected an error, got {answer:?}");
    };
    assert_eq!(error.code, ErrorCode::UnknownResource);
    assert!(error.message.contains("***@***.***"), "{}", error.message);
    assert!(!error.message.contains("ana@"), "{}", error.message);
}

#[actix_rt::test]
async fn health_starts_unknown_for_every_resource() {
    let supervisor = supervisor();
    let health = supervisor.send(GetHealth).await.unwrap();
    assert_eq!(health.resources.len(), 1);
    assert_eq!(health.resources[0].id, "pg");
}
