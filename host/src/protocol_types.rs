//! The WIT values an instance sees, to and from `trellis-protocol`'s plain ones, which carry them
//! on the bus, in the API and in files. Converting moves the data; nothing is copied twice.

use trellis_protocol as protocol;

use crate::types::{Blob, Command, Param, Value};

impl From<protocol::Value> for Value {
    fn from(value: protocol::Value) -> Value {
        match value {
            protocol::Value::Number(n) => Value::Number(n),
            protocol::Value::Numbers(ns) => Value::Numbers(ns),
            protocol::Value::Text(text) => Value::Text(text),
            protocol::Value::Bytes(blob) => Value::Bytes(Blob {
                media_type: blob.media_type,
                data: blob.data,
            }),
            protocol::Value::Json(text) => Value::Json(text),
        }
    }
}

impl From<Value> for protocol::Value {
    fn from(value: Value) -> protocol::Value {
        match value {
            Value::Number(n) => protocol::Value::Number(n),
            Value::Numbers(ns) => protocol::Value::Numbers(ns),
            Value::Text(text) => protocol::Value::Text(text),
            Value::Bytes(blob) => protocol::Value::Bytes(protocol::Blob {
                media_type: blob.media_type,
                data: blob.data,
            }),
            Value::Json(text) => protocol::Value::Json(text),
        }
    }
}

impl From<protocol::Command> for Command {
    fn from(command: protocol::Command) -> Command {
        Command {
            name: command.name,
            params: command.params.into_iter().map(Param::from).collect(),
        }
    }
}

impl From<Command> for protocol::Command {
    fn from(command: Command) -> protocol::Command {
        protocol::Command {
            name: command.name,
            params: command
                .params
                .into_iter()
                .map(protocol::Param::from)
                .collect(),
        }
    }
}

impl From<protocol::Param> for Param {
    fn from(param: protocol::Param) -> Param {
        Param {
            name: param.name,
            value: param.value.into(),
        }
    }
}

impl From<Param> for protocol::Param {
    fn from(param: Param) -> protocol::Param {
        protocol::Param {
            name: param.name,
            value: param.value.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_cross_both_ways_unchanged() {
        let command = Command {
            name: "show".into(),
            params: vec![
                Param {
                    name: "frame".into(),
                    value: Value::Bytes(Blob {
                        media_type: "image/png".into(),
                        data: vec![1, 2, 3],
                    }),
                },
                Param {
                    name: "meta".into(),
                    value: Value::Json(r#"{"a":1}"#.into()),
                },
                Param {
                    name: "levels".into(),
                    value: Value::Numbers(vec![1.0, 2.0]),
                },
            ],
        };
        let plain = protocol::Command::from(command.clone());
        assert_eq!(
            plain.params[0].value,
            protocol::Value::Bytes(protocol::Blob {
                media_type: "image/png".into(),
                data: vec![1, 2, 3],
            })
        );
        assert_eq!(Command::from(plain), command);
    }
}
