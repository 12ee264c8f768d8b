//! One ordering rule for sorted SCIM lists (RFC 7644 §3.4.2.3), whichever way the list is
//! answered (the store's ORDER BY or the in-memory finisher) and on both backends:
//! missing values last when ascending and first when descending, `caseExact` honoured,
//! ties in id order in both directions.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::urn::{GROUP, USER};
use crate::helpers::{TestApp, id, spawn_app, urlencode as enc};

async fn create(app: &TestApp, path: &str, body: Value) -> String {
    let r = app.scim(Method::POST, path, Some(&app.admin), Some(body)).await;
    id(r.ok(201))
}

/// The ids of a list, in the order answered.
async fn order(app: &TestApp, resource: &str, query: &str) -> Vec<String> {
    let r = app.scim(Method::GET, &format!("/{resource}?count=100&{query}"), Some(&app.admin), None).await;
    r.ok(200)["Resources"].as_array().unwrap().iter().map(id).collect()
}

/// Users: `b` and `d` tie on displayName ("Zed"/"zed" fold to one key), `a` and `e` have none.
async fn users(app: &TestApp) -> [String; 5] {
    let mut made = vec![];
    for (user_name, display, external) in [
        ("b", Some("Zed"), Some("x")),
        ("a", None, None),
        ("c", Some("alpha"), Some("X")),
        ("d", Some("zed"), None),
        ("e", None, Some("y")),
    ] {
        let mut body = json!({ "schemas": [USER], "userName": user_name });
        if let Some(d) = display {
            body["displayName"] = json!(d);
        }
        if let Some(x) = external {
            body["externalId"] = json!(x);
        }
        made.push(create(app, "/Users", body).await);
    }
    made.try_into().unwrap()
}

fn by_id(mut ids: Vec<&String>) -> Vec<String> {
    ids.sort();
    ids.into_iter().cloned().collect()
}

#[tokio::test]
async fn user_sorts_put_missing_values_last_ascending_and_first_descending_on_every_path() {
    let app = spawn_app().await;
    let [b, a, c, d, e] = users(&app).await;
    let tie = by_id(vec![&b, &d]);
    let missing = by_id(vec![&a, &e]);
    let asc: Vec<String> = [vec![c.clone()], tie.clone(), missing.clone()].concat();
    let desc: Vec<String> = [missing.clone(), tie.clone(), vec![c.clone()]].concat();
    // The store's ORDER BY (no filter: an exact plan) ...
    assert_eq!(order(&app, "Users", "sortBy=displayName").await, asc);
    assert_eq!(order(&app, "Users", "sortBy=displayName&sortOrder=descending").await, desc);
    // ... and the in-memory finisher (an unindexed filter) answer alike.
    let all = enc("title pr or userName pr");
    assert_eq!(order(&app, "Users", &format!("filter={all}&sortBy=displayName")).await, asc);
    assert_eq!(order(&app, "Users", &format!("filter={all}&sortBy=displayName&sortOrder=descending")).await, desc);

    // externalId is caseExact: "X" < "x" < "y" by code point, missing last / first.
    let asc = [vec![c.clone(), b.clone(), e.clone()], by_id(vec![&a, &d])].concat();
    let desc = [by_id(vec![&a, &d]), vec![e.clone(), b.clone(), c.clone()]].concat();
    assert_eq!(order(&app, "Users", "sortBy=externalId").await, asc);
    assert_eq!(order(&app, "Users", &format!("filter={all}&sortBy=externalId")).await, asc);
    assert_eq!(order(&app, "Users", "sortBy=externalId&sortOrder=descending").await, desc);
    assert_eq!(order(&app, "Users", &format!("filter={all}&sortBy=externalId&sortOrder=descending")).await, desc);

    // An attribute only the finisher sorts (title): every user lacks it, so id order.
    let ids = by_id(vec![&a, &b, &c, &d, &e]);
    assert_eq!(order(&app, "Users", "sortBy=title").await, ids);
    assert_eq!(order(&app, "Users", "sortBy=title&sortOrder=descending").await, ids);

    // Pages of a sorted list follow the same order.
    let r = app.scim(Method::GET, "/Users?sortBy=displayName&startIndex=2&count=2", Some(&app.admin), None).await;
    let page: Vec<String> = r.ok(200)["Resources"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(page, tie);
}

#[tokio::test]
async fn group_sorts_follow_the_same_rule() {
    let app = spawn_app().await;
    let mut made = vec![];
    for (name, external) in [("b", Some("x")), ("A", None), ("B", Some("X")), ("c", None)] {
        let mut body = json!({ "schemas": [GROUP], "displayName": name });
        if let Some(x) = external {
            body["externalId"] = json!(x);
        }
        made.push(create(&app, "/Groups", body).await);
    }
    let [b, a, b2, c]: [String; 4] = made.try_into().unwrap();
    // displayName is caseExact=false: "b" and "B" tie, in id order both ways (the store sorts).
    let tie = by_id(vec![&b, &b2]);
    assert_eq!(
        order(&app, "Groups", "sortBy=displayName").await,
        [vec![a.clone()], tie.clone(), vec![c.clone()]].concat()
    );
    assert_eq!(
        order(&app, "Groups", "sortBy=displayName&sortOrder=descending").await,
        [vec![c.clone()], tie.clone(), vec![a.clone()]].concat()
    );
    // The same through the finisher (an unindexed filter).
    let all = enc("displayName pr");
    assert_eq!(
        order(&app, "Groups", &format!("filter={all}&sortBy=displayName&sortOrder=descending")).await,
        [vec![c.clone()], tie, vec![a.clone()]].concat()
    );
    // externalId (finisher only) is caseExact; missing values last / first.
    let missing = by_id(vec![&a, &c]);
    assert_eq!(
        order(&app, "Groups", "sortBy=externalId").await,
        [vec![b2.clone(), b.clone()], missing.clone()].concat()
    );
    assert_eq!(
        order(&app, "Groups", "sortBy=externalId&sortOrder=descending").await,
        [missing, vec![b.clone(), b2.clone()]].concat()
    );
}

/// PostgreSQL orders text by the database's collation (e.g. en_US.UTF-8, where "x" < "X");
/// the columns lists sort on are declared `COLLATE "C"` so that it orders by code point as
/// SQLite and the finisher do. (SQLite compares with BINARY: nothing to check there.)
#[tokio::test]
async fn postgres_sort_columns_compare_by_code_point() {
    use diesel::prelude::*;
    use scimgate::error::ServiceError;
    use scimgate::store::{Db, DbConnection};

    let app = spawn_app().await;
    if !app.db_url.starts_with("postgres") {
        assert!(app.db_url.contains("scimgate.db"), "the SQLite run uses a file: {}", app.db_url);
        return;
    }
    let db = Db::open(&app.db_url, 1).unwrap();
    let rows: Vec<(String, String, Option<String>)> = db
        .read(|conn| {
            let DbConnection::Pg(pg) = conn else { unreachable!("a postgres URL") };
            #[derive(QueryableByName)]
            struct Col {
                #[diesel(sql_type = diesel::sql_types::Text)]
                table_name: String,
                #[diesel(sql_type = diesel::sql_types::Text)]
                column_name: String,
                #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
                collation_name: Option<String>,
            }
            let cols: Vec<Col> = diesel::sql_query(
                "SELECT table_name::text, column_name::text, collation_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND (table_name, column_name) IN \
                 (('users','user_name_folded'),('users','display_name_folded'),('users','external_id'), \
                  ('groups','display_name_folded'),('groups','external_id'),('user_emails','value_folded'))",
            )
            .load(pg)?;
            Ok::<_, ServiceError>(cols.into_iter().map(|c| (c.table_name, c.column_name, c.collation_name)).collect())
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows.iter().all(|(_, _, c)| c.as_deref() == Some("C")), "{rows:?}");
}

/// A filter or sort on `members` reads the members even when the response leaves them
/// out (`excludedAttributes=members`, as IdPs send when checking a membership).
#[tokio::test]
async fn group_filters_on_members_see_them_whatever_the_projection() {
    let app = spawn_app().await;
    let member = create(&app, "/Users", json!({ "schemas": [USER], "userName": "member" })).await;
    let crew =
        create(&app, "/Groups", json!({ "schemas": [GROUP], "displayName": "Crew", "members": [{ "value": member }] }))
            .await;
    create(&app, "/Groups", json!({ "schemas": [GROUP], "displayName": "Other" })).await;
    let f = enc(&format!("members[value eq \"{member}\"]"));
    let r =
        app.scim(Method::GET, &format!("/Groups?filter={f}&excludedAttributes=members"), Some(&app.admin), None).await;
    let body = r.ok(200);
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_eq!(body["Resources"][0]["id"], json!(crew));
    assert!(body["Resources"][0].get("members").is_none(), "still projected away: {body}");
}

/// A group PATCH prepared from a read that still listed a member deleted since (a user
/// delete leaves the group's version alone) drops that member instead of refusing the
/// PATCH, as applying it inside the transaction did.
#[tokio::test]
async fn a_group_patch_survives_the_deletion_of_a_member_it_read() {
    use scimgate::domain::Actor;
    use scimgate::service::groups::{self, GroupDraft};
    use scimgate::store::Db;

    let app = spawn_app().await;
    let gone = create(&app, "/Users", json!({ "schemas": [USER], "userName": "gone" })).await;
    let stays = create(&app, "/Users", json!({ "schemas": [USER], "userName": "stays" })).await;
    let added = create(&app, "/Users", json!({ "schemas": [USER], "userName": "added" })).await;
    let gid = create(
        &app,
        "/Groups",
        json!({ "schemas": [GROUP], "displayName": "Crew", "members": [{ "value": gone }, { "value": stays }] }),
    )
    .await;
    let gid = scimgate::domain::GroupId::new(gid);
    let db = Db::open(&app.db_url, 1).unwrap();
    let cli = scimgate::policy::access::scim(Actor::cli()).unwrap();
    let read = groups::get(&db, &cli, gid.clone(), true).await.unwrap();
    app.scim(Method::DELETE, &format!("/Users/{gone}"), Some(&app.admin), None).await.ok(204);
    // What `add members: [added]` makes of the read: the stale member list plus the new one.
    let draft = GroupDraft {
        display_name: "Crew".into(),
        external_id: None,
        member_ids: vec![gone.clone(), stays.clone(), added.clone()],
    };
    let group = groups::patch(&db, &cli, gid.clone(), &read, draft).await.unwrap();
    let mut ids: Vec<String> = group.members.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, by_id(vec![&stays, &added]));
    // A member the client names that does not exist is still refused.
    let read = groups::get(&db, &cli, gid.clone(), true).await.unwrap();
    let draft = GroupDraft { display_name: "Crew".into(), external_id: None, member_ids: vec![gone.clone()] };
    assert!(groups::patch(&db, &cli, gid, &read, draft).await.is_err());
}
