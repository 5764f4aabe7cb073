// @generated automatically by Diesel CLI.

diesel::table! {
    categories (category_id) {
        category_id -> Int8,
        name -> Text,
        parent_id -> Nullable<Int8>,
    }
}

diesel::table! {
    customers (customer_id) {
        customer_id -> Int8,
        first_name -> Text,
        last_name -> Text,
        email -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    order_items (order_item_id) {
        order_item_id -> Int8,
        order_id -> Int8,
        product_id -> Int8,
        quantity -> Int4,
        unit_price_cents -> Int8,
    }
}

diesel::table! {
    orders (order_id) {
        order_id -> Int8,
        customer_id -> Int8,
        status -> Text,
        placed_at -> Timestamp,
    }
}

diesel::table! {
    products (product_id) {
        product_id -> Int8,
        sku -> Text,
        name -> Text,
        category_id -> Int8,
        unit_price_cents -> Int8,
    }
}

diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(order_items -> products (product_id));
diesel::joinable!(orders -> customers (customer_id));
diesel::joinable!(products -> categories (category_id));

diesel::allow_tables_to_appear_in_same_query!(categories, customers, order_items, orders, products,);
