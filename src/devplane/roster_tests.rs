//! Roster tests: who is active, who stands by, who is promoted, and what each session is told.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn hello(instance: Option<&str>, capable: bool) -> Hello {
    Hello {
        protocol_version: 1,
        relay_version: "0.1.0".into(),
        tenant_id: "t".into(),
        resources: vec![],
        instance_id: instance.map(str::to_owned),
        capabilities: if capable {
            vec![STANDBY_CAPABILITY.into()]
        } else {
            vec![]
        },
    }
}

/// A roster with sessions named by their connection id, each announced by `hello`.
fn roster_of(relays: &[(u64, Option<&str>, bool)]) -> (Roster<u64>, Vec<Order<u64>>) {
    let mut roster = Roster::default();
    let mut orders = Vec::new();
    for &(id, instance, capable) in relays {
        roster.attach(id, id, format!("t{id}"));
        orders.extend(roster.on_hello(id, hello(instance, capable)));
    }
    (roster, orders)
}

fn active_id(roster: &Roster<u64>) -> Option<u64> {
    roster.active().map(|m| m.connection_id)
}

fn standby_ids(roster: &Roster<u64>) -> Vec<u64> {
    roster.standbys().map(|m| m.connection_id).collect()
}

fn sent_types(orders: &[Order<u64>]) -> Vec<(u64, String)> {
    orders
        .iter()
        .map(|order| match order {
            Order::Send { session, text } => {
                let value: Value = serde_json::from_str(text).unwrap();
                (*session, value["type"].as_str().unwrap().to_owned())
            }
            Order::Close { session, code, .. } => (*session, format!("close {code}")),
        })
        .collect()
}

#[test]
fn the_first_relay_is_active_and_a_capable_second_stands_by() {
    let (roster, orders) = roster_of(&[(1, Some("a"), true), (2, Some("b"), true)]);
    assert_eq!(active_id(&roster), Some(1));
    assert_eq!(standby_ids(&roster), [2]);
    assert_eq!(
        sent_types(&orders),
        [(1, "active".into()), (2, "standby".into())]
    );
    let Order::Send { text, .. } = &orders[1] else {
        panic!("not a send");
    };
    let notice: Value = serde_json::from_str(text).unwrap();
    assert_eq!(notice["activeInstanceId"], "a");
    assert_eq!(notice["activeConnectedAt"], "t1");
    assert_eq!(roster.handovers, 0);
}

#[test]
fn a_relay_without_the_capability_supersedes_the_active_one() {
    let (roster, orders) = roster_of(&[(1, Some("a"), false), (2, Some("b"), false)]);
    assert_eq!(active_id(&roster), Some(2));
    assert_eq!(sent_types(&orders), [(1, "close 4000".into())]);
    assert_eq!(roster.handovers, 0);
}

#[test]
fn the_oldest_standby_is_promoted_when_the_active_closes() {
    let (mut roster, _) = roster_of(&[
        (1, Some("a"), true),
        (2, Some("b"), true),
        (3, Some("c"), true),
    ]);
    let (departure, orders) = roster.detach(1);
    assert_eq!(departure, Departure::Served);
    assert_eq!(sent_types(&orders), [(2, "active".into())]);
    assert_eq!(active_id(&roster), Some(2));
    assert_eq!(standby_ids(&roster), [3]);
    assert_eq!(roster.handovers, 1);
}

#[test]
fn a_standby_that_leaves_changes_nothing() {
    let (mut roster, _) = roster_of(&[(1, Some("a"), true), (2, Some("b"), true)]);
    let (departure, orders) = roster.detach(2);
    assert_eq!((departure, orders.len()), (Departure::Quiet, 0));
    assert_eq!(active_id(&roster), Some(1));
    assert_eq!(roster.handovers, 0);
    // Unknown sessions are ignored.
    assert_eq!(roster.detach(99).0, Departure::Quiet);
}

#[test]
fn draining_promotes_at_once_and_the_drainer_still_holds_its_requests() {
    let (mut roster, _) = roster_of(&[(1, Some("a"), true), (2, Some("b"), true)]);
    let (sender, _receiver) = oneshot::channel();
    roster
        .active_mut()
        .unwrap()
        .pending
        .insert("r1".into(), sender);
    let orders = roster.on_draining(1);
    assert_eq!(
        sent_types(&orders),
        [(2, "active".into()), (1, "standby".into())]
    );
    assert_eq!(active_id(&roster), Some(2));
    let drainer = roster.member_mut(1).unwrap();
    assert_eq!(drainer.role, Role::Draining);
    assert!(drainer.pending.contains_key("r1"));
    // Its close is the tenant's last close, and promotes no one else.
    let (departure, orders) = roster.detach(1);
    assert_eq!((departure, orders.len()), (Departure::Served, 0));
    assert_eq!(roster.handovers, 1);
}

#[test]
fn draining_without_a_standby_keeps_the_relay_active() {
    let (mut roster, _) = roster_of(&[(1, Some("a"), true)]);
    assert!(roster.on_draining(1).is_empty());
    assert_eq!(active_id(&roster), Some(1));
    // Only the active one's draining counts.
    let (mut roster, _) = roster_of(&[(1, Some("a"), true), (2, Some("b"), true)]);
    assert!(roster.on_draining(2).is_empty());
    assert_eq!(active_id(&roster), Some(1));
}

#[test]
fn a_reconnect_of_the_same_instance_replaces_its_old_session() {
    let (mut roster, _) = roster_of(&[(1, Some("a"), true), (2, Some("b"), true)]);
    roster.attach(3, 3, "t3".into());
    let orders = roster.on_hello(3, hello(Some("a"), true));
    assert_eq!(
        sent_types(&orders),
        [(1, "close 4000".into()), (3, "active".into())]
    );
    assert_eq!(active_id(&roster), Some(3));
    assert_eq!(standby_ids(&roster), [2]);
    assert_eq!(roster.handovers, 0);
    // The old socket's close, when it comes, changes nothing.
    assert_eq!(roster.detach(1).0, Departure::Quiet);
    assert_eq!(active_id(&roster), Some(3));
}

#[test]
fn a_pending_relay_becomes_active_if_the_active_left_before_its_hello() {
    let (mut roster, _) = roster_of(&[(1, Some("a"), true)]);
    roster.attach(2, 2, "t2".into());
    assert_eq!(roster.member_mut(2).unwrap().role, Role::Pending);
    roster.detach(1);
    let orders = roster.on_hello(2, hello(Some("b"), true));
    assert_eq!(sent_types(&orders), [(2, "active".into())]);
    assert_eq!(active_id(&roster), Some(2));
}

#[test]
fn the_view_is_the_active_ones_and_survives_its_departure() {
    let (mut roster, _) = roster_of(&[(1, Some("a"), true), (2, Some("b"), true)]);
    let instance = |view: &View| view.hello.as_ref().and_then(|h| h.instance_id.clone());
    assert_eq!(instance(roster.view()).as_deref(), Some("a"));
    roster.detach(1);
    assert_eq!(instance(roster.view()).as_deref(), Some("b"));
    roster.detach(2);
    assert_eq!(instance(roster.view()).as_deref(), Some("b"));
    assert!(roster.active().is_none());
}
