//! Protocol tests: decoding every kind of inbound message and the shape of outbound ones.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::json;

#[test]
fn decodes_a_request_with_defaults() {
    let text = r#"{"type":"request","id":"r1","resourceId":"main-pg","operation":"list_tables"}"#;
    let Inbound::Request(request) = decode_inbound(text).unwrap() else {
        panic!("not a request");
    };
    assert_eq!(request.id, "r1");
    assert_eq!(request.resource_id, "main-pg");
    assert_eq!(request.params, Value::Null);
    assert_eq!(request.timeout_ms, None);
}

#[test]
fn the_operation_is_parsed_when_decoded_and_an_unknown_one_is_kept_as_it_came() {
    let request = |operation: &str| {
        let text = json!({"type": "request", "id": "r1", "resourceId": "db",
            "operation": operation})
        .to_string();
        match decode_inbound(&text).unwrap() {
            Inbound::Request(request) => request.operation,
            other => panic!("not a request: {other:?}"),
        }
    };
    assert_eq!(
        request("describe_table"),
        RequestedOperation::Known(Operation::DescribeTable)
    );
    let unknown = request("drop_everything");
    assert_eq!(unknown.known(), None);
    assert_eq!(unknown.as_str(), "drop_everything");
    assert_eq!(
        serde_json::to_value(&unknown).unwrap(),
        json!("drop_everything")
    );
}

#[test]
fn decodes_cancel_and_ignores_unknown_fields() {
    let text = r#"{"type":"cancel","id":"r9","future":"field"}"#;
    assert_eq!(
        decode_inbound(text).unwrap(),
        Inbound::Cancel(Cancel { id: "r9".into() })
    );
}

#[test]
fn malformed_json_is_an_invalid_message_without_id() {
    let rejection = decode_inbound("{not json").unwrap_err();
    assert_eq!(rejection.code, ErrorCode::InvalidMessage);
    assert_eq!(rejection.id, None);
}

#[test]
fn missing_type_is_an_invalid_message_keeping_the_id() {
    let rejection = decode_inbound(r#"{"id":"x1"}"#).unwrap_err();
    assert_eq!(rejection.code, ErrorCode::InvalidMessage);
    assert_eq!(rejection.id.as_deref(), Some("x1"));
}

#[test]
fn unknown_type_is_unsupported_and_echo_is_bounded() {
    let long = "z".repeat(500);
    let rejection = decode_inbound(&json!({"type": long, "id": "u"}).to_string()).unwrap_err();
    assert_eq!(rejection.code, ErrorCode::UnsupportedMessage);
    assert!(rejection.message.len() < 120, "{}", rejection.message);
}

#[test]
fn request_missing_fields_is_invalid_request() {
    let rejection = decode_inbound(r#"{"type":"request","id":"r2"}"#).unwrap_err();
    assert_eq!(rejection.code, ErrorCode::InvalidRequest);
    assert_eq!(rejection.id.as_deref(), Some("r2"));
}

#[test]
fn outbound_messages_are_tagged_camel_case() {
    let hello = Outbound::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        relay_version: "0.1.0".into(),
        tenant_id: "t".into(),
        resources: vec![ResourceInfo {
            id: "pg".into(),
            name: "PG".into(),
            kind: "postgres".into(),
            allowed_operations: vec!["query".into()],
            max_rows_per_query: 10,
            pool_size: 5,
        }],
        instance_id: Some("relay-a".into()),
        capabilities: vec![STANDBY_CAPABILITY.into()],
    });
    let value: Value = serde_json::from_str(&encode_outbound(&hello).unwrap()).unwrap();
    assert_eq!(value["type"], "hello");
    assert_eq!(value["protocolVersion"], 1);
    assert_eq!(value["resources"][0]["type"], "postgres");
    assert_eq!(value["resources"][0]["maxRowsPerQuery"], 10);
    assert_eq!(value["instanceId"], "relay-a");
    assert_eq!(value["capabilities"], json!(["standby"]));
    let draining = encode_outbound(&Outbound::Draining(DrainingNotice {})).unwrap();
    assert_eq!(draining, r#"{"type":"draining"}"#);
}

#[test]
fn decodes_standby_and_active() {
    let text = r#"{"type":"standby","activeInstanceId":"relay-a","activeConnectedAt":"x"}"#;
    assert_eq!(
        decode_inbound(text).unwrap(),
        Inbound::Standby(StandbyNotice {
            active_instance_id: Some("relay-a".into())
        })
    );
    assert_eq!(
        decode_inbound(r#"{"type":"active"}"#).unwrap(),
        Inbound::Active(ActiveNotice {})
    );
}

#[test]
fn a_hello_without_capabilities_still_decodes() {
    let text = r#"{"protocolVersion":1,"relayVersion":"0.0.9","tenantId":"t","resources":[]}"#;
    let hello: Hello = serde_json::from_str(text).unwrap();
    assert!(!hello.supports(STANDBY_CAPABILITY));
    assert_eq!(hello.instance_id, None);
}

#[test]
fn error_codes_serialize_as_their_wire_names() {
    for code in [
        ErrorCode::InvalidMessage,
        ErrorCode::OperationNotAllowed,
        ErrorCode::ResultTooLarge,
        ErrorCode::AuditUnavailable,
        ErrorCode::Standby,
    ] {
        assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
    }
}

#[test]
fn an_audit_line_is_sent_as_the_message_its_record_would_encode_to() {
    let record = json!({"kind": "operation", "chainId": "c-1", "seq": 7,
        "statement": "SELECT '\"quoted\"' -- ünïcode", "masked": {"email": 2}});
    let Value::Object(record) = record else {
        unreachable!()
    };
    let line = serde_json::to_string(&record).unwrap();
    let message = Outbound::Audit(AuditMessage { record });
    assert_eq!(
        codec::encode_audit_line(&line),
        encode_outbound(&message).unwrap()
    );
}

fn result_with(rows: ResultRows, details: Option<Value>) -> Outbound {
    let masked = MaskedCounts {
        total: 2,
        by_pattern: [("email".to_owned(), 2)].into(),
    };
    Outbound::Result(OperationResult {
        id: "r\"1".into(),
        columns: vec![Column {
            name: "é\nname".into(),
            type_name: "text".into(),
        }],
        row_count: rows.len() as u64,
        rows,
        truncated: true,
        masked,
        duration_ms: 7,
        details,
    })
}

#[test]
fn written_rows_encode_to_the_same_text_as_the_same_rows_as_values() {
    let values = vec![
        vec![json!("a\"b\\c\u{1}é"), json!(1.5), Value::Null],
        vec![json!({"k": [1, "x"]}), json!(-3), json!(true)],
    ];
    for details in [None, Some(json!({"plan": ["x"]}))] {
        let expected = encode_outbound(&result_with(values.clone().into(), details.clone()));
        let written = ResultRows::Written(WrittenRowsJson {
            json: serde_json::to_string(&values).unwrap(),
            count: values.len(),
        });
        let message = result_with(written, details);
        let expected = expected.unwrap();
        assert_eq!(encode_outbound(&message).unwrap(), expected);
        // Any other serializer writes the same message, and reading it back gives the values.
        assert_eq!(serde_json::to_string(&message).unwrap(), expected);
        let Outbound::Result(decoded) = serde_json::from_str(&expected).unwrap() else {
            panic!("not a result");
        };
        assert_eq!(decoded.rows, ResultRows::Values(values.clone()));
    }
}

#[test]
fn written_rows_that_are_not_json_are_not_sent_by_a_generic_serializer() {
    let written = ResultRows::Written(WrittenRowsJson {
        json: "[[1],".into(),
        count: 1,
    });
    assert!(serde_json::to_string(&result_with(written, None)).is_err());
}
