//! `/categories`: the tree, its parents, and the cycles it refuses.

use serde_json::json;

both_backends! {
    fn categories_form_a_tree(app) {
        let res = app.post("/categories", json!({"name": " Electronics "}));
        assert_eq!(res.status, 201, "{}", res.body);
        let root = res.json();
        let root_id = root["category_id"].as_i64().unwrap();
        assert_eq!(res.header("location"), Some(format!("/categories/{root_id}").as_str()));
        assert_eq!(root, json!({"category_id": root_id, "name": "Electronics", "parent_id": null}));

        let phones = app.create_category("Phones", Some(root_id));
        let cases = app.create_category("Cases", Some(phones));

        let list = app.get("/categories").json();
        assert_eq!(
            list,
            json!({"items": [
                {"category_id": root_id, "name": "Electronics", "parent_id": null},
                {"category_id": phones, "name": "Phones", "parent_id": root_id},
                {"category_id": cases, "name": "Cases", "parent_id": phones},
            ]})
        );
        assert_eq!(app.get(&format!("/categories/{cases}")).json()["parent_id"], phones);
    }

    fn an_unknown_parent_or_a_bad_name_is_422(app) {
        let res = app.post("/categories", json!({"name": "Orphan", "parent_id": 999}));
        res.assert_problem(422);
        assert_eq!(res.error_fields(), vec!["parent_id"]);
        app.post("/categories", json!({"name": "  "})).assert_problem(422);
        app.post("/categories", json!({"name": "x".repeat(101)})).assert_problem(422);
        app.post("/categories", json!({"title": "x"})).assert_problem(400);
        assert_eq!(app.count("categories"), 0);
    }

    fn patch_moves_renames_and_makes_roots(app) {
        let a = app.create_category("A", None);
        let b = app.create_category("B", None);
        let c = app.create_category("C", Some(a));
        let path = format!("/categories/{c}");

        let moved = app.patch(&path, json!({"parent_id": b}));
        assert_eq!(moved.status, 200, "{}", moved.body);
        assert_eq!(moved.json()["parent_id"], b);

        let renamed = app.patch(&path, json!({"name": "Cee"})).json();
        assert_eq!(renamed, json!({"category_id": c, "name": "Cee", "parent_id": b}), "absent parent_id is left alone");

        let root = app.patch(&path, json!({"parent_id": null})).json();
        assert_eq!(root["parent_id"], serde_json::Value::Null, "null makes it a root");
        app.patch(&path, json!({"parent_id": 999})).assert_problem(422);
        app.patch("/categories/999", json!({"name": "x"})).assert_problem(404);
    }

    fn a_move_that_would_make_a_cycle_is_refused(app) {
        let a = app.create_category("A", None);
        let b = app.create_category("B", Some(a));
        let c = app.create_category("C", Some(b));
        let before = app.get("/categories").json();

        app.patch(&format!("/categories/{a}"), json!({"parent_id": c})).assert_problem(422);
        app.patch(&format!("/categories/{a}"), json!({"parent_id": b})).assert_problem(422);
        app.patch(&format!("/categories/{b}"), json!({"parent_id": b})).assert_problem(422);

        assert_eq!(app.get("/categories").json(), before, "the tree is unchanged");
        let fine = app.patch(&format!("/categories/{c}"), json!({"parent_id": a}));
        assert_eq!(fine.status, 200, "moving a leaf higher is fine");
    }

    fn a_category_with_children_or_products_cannot_be_deleted(app) {
        let parent = app.create_category("Parent", None);
        let child = app.create_category("Child", Some(parent));
        let stocked = app.create_category("Stocked", None);
        app.create_product("SKU-1", stocked, 100);

        app.delete(&format!("/categories/{parent}")).assert_problem(409);
        app.delete(&format!("/categories/{stocked}")).assert_problem(409);
        assert_eq!(app.delete(&format!("/categories/{child}")).status, 204);
        assert_eq!(app.delete(&format!("/categories/{parent}")).status, 204);
        app.get(&format!("/categories/{parent}")).assert_problem(404);
        app.delete(&format!("/categories/{parent}")).assert_problem(404);
        assert_eq!(app.count("categories"), 1);
    }
}
