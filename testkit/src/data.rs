//! Execution over JSON data: an apollo-compiler `ObjectValue` whose fields come from a
//! fixture's records.
//!
//! Data format (one JSON object per subgraph):
//!
//! ```json
//! {
//!   "Query":   { "topProducts": [ { "$ref": "Product#1" } ],
//!                "user": { "$args": [ { "when": { "id": "1" }, "value": { "$ref": "User#1" } } ] } },
//!   "Product": { "1": { "upc": "1", "name": "Table", "reviews": [ { "$ref": "Review#1" } ] } },
//!   "Review":  { "1": { "id": "1", "body": "…", "$requires": { "price": 899 } } }
//! }
//! ```
//!
//! - A top-level key naming a root type holds that root's fields; any other key is a table
//!   of records of that type, keyed by a local id used in `"$ref": "Type#id"`.
//! - A field value is JSON, an inline object (with `"__typename"` when the field is
//!   abstract), a `{"$ref": "Type#id"}`, `{"$args": [{"when": {…}, "value": …}]}` (the
//!   first case whose `when` arguments all match; a case without `when` matches anything),
//!   or `{"$error": "message"}` (a field error).
//! - `_entities` finds, for each representation, the record of its `__typename` whose
//!   scalar fields agree with every representation field they share. A record's
//!   `"$requires"` lists fields the representation must carry with exactly these values
//!   whenever a field with `@requires` is resolved on it
//!   (so a fixture proves the router sent its `@requires` fields); a mismatch is an error.

use apollo_compiler::ast::Type;
use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::schema::ExtendedType;
use serde_json::{Map, Value};

/// One subgraph's data plus what execution needs to know about its schema.
pub struct Store<'a> {
    pub data: &'a Map<String, Value>,
    pub schema: &'a apollo_compiler::Schema,
    pub sdl: &'a str,
}

/// An object being resolved: its runtime type and its fields.
pub struct DataObject<'a> {
    store: &'a Store<'a>,
    type_name: String,
    fields: Option<&'a Map<String, Value>>,
    /// The representation this entity was found by (`_entities` only).
    representation: Option<Value>,
}

impl<'a> DataObject<'a> {
    /// The root object for `type_name` (`Query`, `Mutation`).
    pub fn root(store: &'a Store<'a>, type_name: &str) -> Self {
        DataObject {
            store,
            type_name: type_name.to_string(),
            fields: store.data.get(type_name).and_then(Value::as_object),
            representation: None,
        }
    }
}

fn error(message: impl Into<String>) -> FieldError {
    FieldError {
        message: message.into(),
    }
}

impl ObjectValue for DataObject<'_> {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn resolve_field<'b>(
        &'b self,
        info: &'b ResolveInfo<'b>,
    ) -> Result<ResolvedValue<'b>, FieldError> {
        let field = info.field_name();
        let ty = &info.field_definition().ty;
        match field {
            "_service" => {
                let mut service = Map::new();
                service.insert("sdl".into(), Value::String(self.store.sdl.to_string()));
                // The map lives as long as the response; leak-free via an owned object.
                return Ok(ResolvedValue::object(OwnedObject {
                    type_name: "_Service".into(),
                    fields: service,
                }));
            }
            "_entities" => return self.entities(info),
            _ => {}
        }
        self.check_requires(info)?;
        let Some(raw) = self.fields.and_then(|f| f.get(field)) else {
            return Ok(ResolvedValue::null());
        };
        resolve(self.store, raw, ty, info.arguments())
    }
}

impl DataObject<'_> {
    /// A field with `@requires` must have been asked for with the required fields in the
    /// representation, carrying the values the record's `$requires` lists.
    fn check_requires(&self, info: &ResolveInfo<'_>) -> Result<(), FieldError> {
        let (Some(representation), Some(record)) = (&self.representation, self.fields) else {
            return Ok(());
        };
        let has_requires = info
            .field_definition()
            .directives
            .iter()
            .any(|d| d.name == "requires" || d.name == "federation__requires");
        let Some(required) = record.get("$requires").and_then(Value::as_object) else {
            return Ok(());
        };
        if !has_requires {
            return Ok(());
        }
        for (field, expected) in required {
            if representation.get(field) != Some(expected) {
                return Err(error(format!(
                    "representation of {} must carry {field}={expected} for {}, got {}",
                    self.type_name,
                    info.field_name(),
                    representation
                        .get(field)
                        .map_or("nothing".to_string(), Value::to_string)
                )));
            }
        }
        Ok(())
    }
}

impl<'a> DataObject<'a> {
    fn entities<'b>(&'b self, info: &'b ResolveInfo<'b>) -> Result<ResolvedValue<'b>, FieldError> {
        let Some(serde_json_bytes::Value::Array(reps)) = info.arguments().get("representations")
        else {
            return Err(error("`representations` must be a list"));
        };
        let mut items = Vec::with_capacity(reps.len());
        for rep in reps {
            let rep: Value = serde_json_bytes::from_value(rep.clone())
                .map_err(|e| error(format!("bad representation: {e}")))?;
            items.push(self.entity(&rep));
        }
        Ok(ResolvedValue::List(Box::new(items.into_iter())))
    }

    fn entity<'b>(&'b self, rep: &Value) -> Result<ResolvedValue<'b>, FieldError> {
        let Some(typename) = rep.get("__typename").and_then(Value::as_str) else {
            return Err(error("representation without __typename"));
        };
        // A representation may name an interface (from an @interfaceObject subgraph):
        // look in the tables of the object types that implement it.
        let tables: Vec<(&str, &Map<String, Value>)> = match self.store.data.get(typename) {
            Some(Value::Object(table)) => vec![(typename, table)],
            _ => self
                .store
                .schema
                .implementers_map()
                .get(typename)
                .map(|i| {
                    i.objects
                        .iter()
                        .filter_map(|o| {
                            let (name, table) = self.store.data.get_key_value(o.as_str())?;
                            Some((name.as_str(), table.as_object()?))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        for (table_type, table) in tables {
            if let Some(found) = self.find_entity(rep, table_type, table)? {
                return Ok(found);
            }
        }
        Ok(ResolvedValue::null())
    }

    fn find_entity<'b>(
        &'b self,
        rep: &Value,
        table_type: &str,
        table: &'b Map<String, Value>,
    ) -> Result<Option<ResolvedValue<'b>>, FieldError> {
        for record in table.values() {
            let Some(record) = record.as_object() else {
                continue;
            };
            let mut compared = 0;
            let mut agrees = true;
            for (key, value) in rep.as_object().into_iter().flatten() {
                if key == "__typename" {
                    continue;
                }
                if let Some(own) = record.get(key).filter(|v| !v.is_object() && !v.is_array()) {
                    compared += 1;
                    agrees &= own == value;
                }
            }
            if compared == 0 || !agrees {
                continue;
            }
            return Ok(Some(ResolvedValue::object(DataObject {
                store: self.store,
                type_name: table_type.to_string(),
                fields: Some(record),
                representation: Some(rep.clone()),
            })));
        }
        Ok(None)
    }
}

/// An object built during execution (not borrowed from the data).
struct OwnedObject {
    type_name: String,
    fields: Map<String, Value>,
}

impl ObjectValue for OwnedObject {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn resolve_field<'b>(
        &'b self,
        info: &'b ResolveInfo<'b>,
    ) -> Result<ResolvedValue<'b>, FieldError> {
        Ok(match self.fields.get(info.field_name()) {
            Some(v) => ResolvedValue::leaf(serde_json_bytes::Value::from(v.clone())),
            None => ResolvedValue::null(),
        })
    }
}

fn resolve<'a>(
    store: &'a Store<'a>,
    raw: &'a Value,
    ty: &Type,
    arguments: &serde_json_bytes::Map<serde_json_bytes::ByteString, serde_json_bytes::Value>,
) -> Result<ResolvedValue<'a>, FieldError> {
    if let Some(object) = raw.as_object() {
        if let Some(message) = object.get("$error") {
            return Err(error(message.as_str().unwrap_or("error").to_string()));
        }
        if let Some(Value::Array(cases)) = object.get("$args") {
            for case in cases {
                let matches = match case.get("when").and_then(Value::as_object) {
                    None => true,
                    Some(when) => when.iter().all(|(name, expected)| {
                        arguments
                            .get(name.as_str())
                            .is_some_and(|actual| json_eq(actual, expected))
                    }),
                };
                if matches {
                    return resolve(
                        store,
                        case.get("value").unwrap_or(&Value::Null),
                        ty,
                        arguments,
                    );
                }
            }
            return Ok(ResolvedValue::null());
        }
    }
    if raw.is_null() {
        return Ok(ResolvedValue::null());
    }
    match ty {
        Type::List(inner) | Type::NonNullList(inner) => {
            let Value::Array(items) = raw else {
                return Err(error("expected a list in the fixture data"));
            };
            let inner = inner.as_ref().clone();
            let resolved: Vec<Result<ResolvedValue<'a>, FieldError>> = items
                .iter()
                .map(|item| resolve(store, item, &inner, arguments))
                .collect();
            Ok(ResolvedValue::List(Box::new(resolved.into_iter())))
        }
        Type::Named(name) | Type::NonNullNamed(name) => {
            let composite = matches!(
                store.schema.types.get(name),
                Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_))
            );
            if !composite {
                // JSON has one number type; a whole number is a valid Float.
                if name == "Float"
                    && let Some(f) = raw.as_i64().map(|i| i as f64)
                {
                    return Ok(ResolvedValue::leaf(serde_json_bytes::Value::from(f)));
                }
                return Ok(ResolvedValue::leaf(serde_json_bytes::Value::from(
                    raw.clone(),
                )));
            }
            let Some(object) = raw.as_object() else {
                return Err(error(format!(
                    "expected an object for {name} in the fixture data"
                )));
            };
            if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
                let (type_name, id) = reference
                    .split_once('#')
                    .ok_or_else(|| error(format!("bad $ref {reference}: expected Type#id")))?;
                let record = store
                    .data
                    .get(type_name)
                    .and_then(|t| t.get(id))
                    .and_then(Value::as_object)
                    .ok_or_else(|| error(format!("no record {reference} in the fixture data")))?;
                return Ok(ResolvedValue::object(DataObject {
                    store,
                    type_name: type_name.to_string(),
                    fields: Some(record),
                    representation: None,
                }));
            }
            let type_name = object
                .get("__typename")
                .and_then(Value::as_str)
                .unwrap_or(name.as_str())
                .to_string();
            Ok(ResolvedValue::object(DataObject {
                store,
                type_name,
                fields: Some(object),
                representation: None,
            }))
        }
    }
}

/// Argument equality, lenient on numbers (`1` and `1.0`) and IDs given as numbers.
fn json_eq(actual: &serde_json_bytes::Value, expected: &Value) -> bool {
    let actual: Value = match serde_json_bytes::from_value(actual.clone()) {
        Ok(v) => v,
        Err(_) => return false,
    };
    match (&actual, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::Number(b)) | (Value::Number(b), Value::String(a)) => {
            *a == b.to_string()
        }
        _ => actual == *expected,
    }
}
