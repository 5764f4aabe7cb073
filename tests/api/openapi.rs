//! The OpenAPI description: it covers exactly the route table, the committed copy is current,
//! and the service serves it and its docs UI (with no network) unless told not to.

use std::collections::BTreeSet;

use mercado::app::endpoints;
use serde_json::Value;

use crate::helpers::spawn_app_with;

const COMMITTED: &str = "docs/openapi.json";

fn spec() -> Value {
    serde_json::from_str(mercado::openapi::json()).expect("the spec is JSON")
}

/// Method and path of every operation in the spec.
fn spec_operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

#[test]
fn the_spec_and_the_route_table_list_the_same_operations() {
    let settings = crate::helpers::every_route_on();
    let table: BTreeSet<(String, String)> = endpoints(&settings)
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_string()))
        .collect();
    let spec = spec_operations(&spec());

    let missing: Vec<_> = table.difference(&spec).collect();
    let extra: Vec<_> = spec.difference(&table).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "in the route table but not the spec: {missing:?}\nin the spec but not the route table: {extra:?}\n\
         (add the handler to `paths(...)` in src/openapi.rs, or the route to app::endpoints)"
    );
}

#[test]
fn the_committed_spec_is_the_generated_one() {
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed.trim_end() == mercado::openapi::json().trim_end(),
        "{COMMITTED} is out of date with the code; regenerate it with:\n\n    \
         cargo run -- openapi > {COMMITTED}\n\nand review the diff"
    );
}

#[test]
fn the_spec_is_openapi_3_1_with_ids_tags_and_the_contract_s_ranges() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().expect("an operation id");
            assert!(ids.insert(id.to_string()), "{id} is used twice");
            assert!(operation["tags"][0].is_string(), "{method} {id} has a tag");
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = match response.get("$ref").and_then(Value::as_str) {
                    Some(reference) => {
                        let name = reference.rsplit('/').next().unwrap();
                        &spec["components"]["responses"][name]
                    }
                    None => response,
                };
                assert!(
                    response["headers"]["X-Query-Count"].is_object(),
                    "{id} {status} documents X-Query-Count"
                );
            }
        }
    }

    // The numbers in the annotations are the ones the code enforces.
    use mercado::routes::input::*;
    let param = |path: &str, name: &str| -> Value {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} ?{name}"))["schema"]
            .clone()
    };
    assert_eq!(param("/customers", "limit")["maximum"], MAX_LIMIT);
    assert_eq!(param("/orders", "limit")["maximum"], MAX_LIMIT);
    assert_eq!(param("/products", "limit")["maximum"], MAX_LIMIT);
    assert_eq!(
        param("/dashboard/{strategy}", "limit")["maximum"],
        MAX_DASHBOARD_LIMIT
    );
    assert_eq!(
        param("/reports/top-customers", "limit")["maximum"],
        MAX_REPORT_LIMIT
    );
    let schema =
        |name: &str, field: &str| spec["components"]["schemas"][name]["properties"][field].clone();
    assert_eq!(
        schema("ProductInput", "unit_price_cents")["maximum"],
        MAX_PRICE_CENTS
    );
    assert_eq!(
        schema("OrderLineInput", "quantity")["maximum"],
        MAX_QUANTITY
    );
    assert_eq!(schema("OrderInput", "items")["maxItems"], MAX_ORDER_LINES);
    assert_eq!(schema("CustomerInput", "first_name")["maxLength"], 100);
    assert_eq!(
        spec["components"]["schemas"]["CustomerInput"]["additionalProperties"],
        false
    );
}

both_backends! {
    fn the_service_serves_its_spec_and_a_docs_ui_that_needs_no_network(app) {
        let served = app.get("/openapi.json");
        let ui = app.get("/docs/");
        let redirect = app.send("GET", "/docs", None, None);

        assert_eq!(served.status, 200);
        assert_eq!(served.header("content-type"), Some("application/json"));
        assert_eq!(served.json(), spec());
        assert_eq!(ui.status, 200);
        assert!(ui.body.contains("swagger-ui"), "{}", ui.body);
        // Every script and stylesheet comes from the binary: no address outside the service.
        for attribute in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(!ui.body.contains(attribute), "the page loads {attribute}...: {}", ui.body);
        }
        let init = app.get("/docs/swagger-initializer.js");
        assert_eq!(init.status, 200);
        assert!(init.body.contains("/openapi.json"), "{}", init.body);
        assert!(matches!(redirect.status, 200 | 301 | 308), "{}", redirect.status);
    }
}

/// `MERCADO_API_DOCS=false` turns both off.
#[test]
fn api_docs_off_means_no_spec_and_no_ui() {
    for backend in [
        mercado::db::Backend::Sqlite,
        mercado::db::Backend::Postgresql,
    ] {
        let Some(app) = spawn_app_with(backend, |config| config.api_docs = false) else {
            continue;
        };
        for path in ["/openapi.json", "/docs/", "/docs"] {
            let res = app.get(path);
            res.assert_problem(404);
        }
    }
}
