//! A distributed Map's own fields, compiled once: `ItemReader` (its resource, its
//! `Parameters`/`Arguments`, its `ReaderConfig`), `ItemBatcher`, `ResultWriter`, `Label` and
//! the child execution type. Unknown values of the closed fields (`InputType`, `CSVDelimiter`,
//! …) and unknown reader or writer resources are refused here, as CreateStateMachine refuses
//! them.

use asl::{ExecutionType, NumberOrExpression, ProcessorMode};
use serde_json::Value;

use super::{LoadError, LoadErrorKind, Selector, StateCompiler};
use crate::pipeline::Field;

/// What a distributed Map has that an inline one does not.
#[derive(Debug)]
pub(crate) struct Distributed {
    pub reader: Option<Reader>,
    pub batcher: Option<Batcher>,
    pub writer: Option<Writer>,
    /// `Label`: the middle part of the Map Run's and the children's ARNs.
    pub label: Option<String>,
    /// `ExecutionType: EXPRESS` (the children's ARNs are `express:` ones).
    pub express: bool,
}

/// `ItemReader`.
#[derive(Debug)]
pub(crate) struct Reader {
    pub source: Source,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata): `Bucket`, `Key` or `Prefix`.
    pub arguments: Selector,
    pub max_items: Field,
}

/// Where the items come from: `s3:getObject` (a file of a format) or `s3:listObjectsV2`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// `arn:aws:states:::s3:listObjectsV2`: one item per object.
    Listing,
    /// `arn:aws:states:::s3:getObject` with `ReaderConfig.InputType`.
    Object(Format),
}

/// `ReaderConfig.InputType` and, for CSV, its header and delimiter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Format {
    Json,
    JsonLines,
    Csv {
        /// `CSVHeaders` when `CSVHeaderLocation` is `GIVEN`; `None` for `FIRST_ROW`.
        headers: Option<Vec<String>>,
        delimiter: u8,
    },
    /// An S3 inventory manifest (`MANIFEST`) or a Parquet file (`PARQUET`): accepted by the
    /// service, read here as a failure that says so.
    Unread(&'static str),
}

/// `ItemBatcher`.
#[derive(Debug)]
pub(crate) struct Batcher {
    pub max_items: Field,
    pub max_bytes: Field,
    /// `BatchInput`: a payload template in the state's language.
    pub batch_input: Selector,
}

/// `ResultWriter`.
#[derive(Debug)]
pub(crate) struct Writer {
    /// `Parameters`/`Arguments` (`Bucket`, `Prefix`); `None` with only a `WriterConfig`.
    pub arguments: Option<Selector>,
    pub transformation: Transformation,
    /// `OutputType: JSONL`.
    pub json_lines: bool,
}

/// `WriterConfig.Transformation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Transformation {
    /// The children's records, with their metadata.
    None,
    /// The children's outputs.
    Compact,
    /// The children's outputs, arrays flattened into the result.
    Flatten,
}

const GET_OBJECT: &str = "arn:aws:states:::s3:getObject";
const LIST_OBJECTS: &str = "arn:aws:states:::s3:listObjectsV2";
const PUT_OBJECT: &str = "arn:aws:states:::s3:putObject";

impl StateCompiler<'_> {
    /// The distributed part of a Map, or `None` for an inline Map.
    pub(super) fn distributed(&self, m: &asl::Map) -> Result<Option<Distributed>, LoadError> {
        let config = m.processor_config();
        let is_distributed = config.and_then(|c| c.mode) == Some(ProcessorMode::Distributed)
            || m.item_reader.is_some()
            || m.item_batcher.is_some()
            || m.result_writer.is_some();
        if !is_distributed {
            return Ok(None);
        }
        Ok(Some(Distributed {
            reader: m.item_reader.as_ref().map(|r| self.reader(r)).transpose()?,
            batcher: m
                .item_batcher
                .as_ref()
                .map(|b| self.batcher(b))
                .transpose()?,
            writer: m
                .result_writer
                .as_ref()
                .map(|w| self.writer(w))
                .transpose()?,
            label: m.label.clone(),
            express: config.and_then(|c| c.execution_type) == Some(ExecutionType::Express),
        }))
    }

    fn definition(&self, field: &str, message: String) -> LoadError {
        self.error(LoadErrorKind::Definition, field, message)
    }

    /// `Parameters` or `Arguments` of a reader or writer, in the state's language.
    fn arguments(
        &self,
        parameters: Option<&Value>,
        arguments: Option<&Value>,
        field: &str,
    ) -> Result<Selector, LoadError> {
        Ok(match (self.jsonata, parameters, arguments) {
            (true, _, Some(a)) => {
                Selector::Jsonata(self.jsonata(a, &format!("{field}.Arguments"), "")?)
            }
            (false, Some(p), _) => {
                Selector::JsonPath(self.template(p, &format!("{field}.Parameters"))?)
            }
            _ => Selector::None,
        })
    }

    /// The string field `name` of a `ReaderConfig` or `WriterConfig` (`section`), if set; any
    /// other type is refused at load.
    fn config_text<'c>(
        &self,
        config: Option<&'c Value>,
        section: &str,
        name: &str,
    ) -> Result<Option<&'c str>, LoadError> {
        match config.and_then(|c| c.get(name)) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.definition(
                &format!("{section}.{name}"),
                format!("{name} must be a string, found {other}"),
            )),
        }
    }

    fn reader(&self, r: &asl::ItemReader) -> Result<Reader, LoadError> {
        let config = r.reader_config.as_ref();
        if config.is_some_and(|c| !c.is_object()) {
            return Err(self.definition(
                "ItemReader.ReaderConfig",
                "ReaderConfig must be an object".into(),
            ));
        }
        let text = |name| self.config_text(config, "ItemReader.ReaderConfig", name);
        let source = match r.resource.as_str() {
            LIST_OBJECTS => Source::Listing,
            GET_OBJECT => {
                Source::Object(match text("InputType")? {
                    None | Some("JSON") => Format::Json,
                    Some("JSONL") => Format::JsonLines,
                    Some("MANIFEST") => {
                        Format::Unread("S3 inventory manifests (InputType MANIFEST)")
                    }
                    Some("PARQUET") => Format::Unread("Parquet files (InputType PARQUET)"),
                    Some("CSV") => Format::Csv {
                        headers: match text("CSVHeaderLocation")? {
                            None | Some("FIRST_ROW") => None,
                            Some("GIVEN") => {
                                Some(self.csv_headers(config.and_then(|c| c.get("CSVHeaders")))?)
                            }
                            Some(other) => {
                                return Err(self.definition(
                                "ItemReader.ReaderConfig.CSVHeaderLocation",
                                format!("CSVHeaderLocation must be FIRST_ROW or GIVEN, found {other}"),
                            ));
                            }
                        },
                        delimiter: match text("CSVDelimiter")? {
                            None | Some("COMMA") => b',',
                            Some("PIPE") => b'|',
                            Some("SEMICOLON") => b';',
                            Some("SPACE") => b' ',
                            Some("TAB") => b'\t',
                            Some(other) => {
                                return Err(self.definition(
                                "ItemReader.ReaderConfig.CSVDelimiter",
                                format!(
                                    "CSVDelimiter must be COMMA, PIPE, SEMICOLON, SPACE or TAB, found {other}"
                                ),
                            ));
                            }
                        },
                    },
                    Some(other) => {
                        return Err(self.definition(
                        "ItemReader.ReaderConfig.InputType",
                        format!("InputType must be CSV, JSON, JSONL, MANIFEST or PARQUET, found {other}"),
                    ));
                    }
                })
            }
            other => {
                return Err(self.definition(
                    "ItemReader.Resource",
                    format!(
                        "The ItemReader resource '{other}' is not one sfn-local reads ({GET_OBJECT} or {LIST_OBJECTS})"
                    ),
                ));
            }
        };
        let max_items: Option<NumberOrExpression> = match config.and_then(|c| c.get("MaxItems")) {
            None => None,
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(|_| {
                self.definition(
                    "ItemReader.ReaderConfig.MaxItems",
                    format!("MaxItems must be a number or an expression, found {v}"),
                )
            })?),
        };
        let max_items_path = text("MaxItemsPath")?.map(str::to_owned);
        Ok(Reader {
            source,
            arguments: self.arguments(r.parameters.as_ref(), r.arguments.as_ref(), "ItemReader")?,
            max_items: self.number(
                &max_items,
                self.jsonpath_only(&max_items_path),
                "ItemReader.ReaderConfig.MaxItems",
            )?,
        })
    }

    fn csv_headers(&self, headers: Option<&Value>) -> Result<Vec<String>, LoadError> {
        let field = "ItemReader.ReaderConfig.CSVHeaders";
        let Some(Value::Array(headers)) = headers else {
            return Err(self.definition(
                field,
                "CSVHeaderLocation GIVEN needs CSVHeaders, an array of strings".into(),
            ));
        };
        headers
            .iter()
            .map(|h| {
                h.as_str().map(str::to_owned).ok_or_else(|| {
                    self.definition(field, format!("A CSV header must be a string, found {h}"))
                })
            })
            .collect()
    }

    fn batcher(&self, b: &asl::ItemBatcher) -> Result<Batcher, LoadError> {
        Ok(Batcher {
            max_items: self.number(
                &b.max_items_per_batch,
                self.jsonpath_only(&b.max_items_per_batch_path),
                "ItemBatcher.MaxItemsPerBatch",
            )?,
            max_bytes: self.number(
                &b.max_input_bytes_per_batch,
                self.jsonpath_only(&b.max_input_bytes_per_batch_path),
                "ItemBatcher.MaxInputBytesPerBatch",
            )?,
            batch_input: match &b.batch_input {
                None => Selector::None,
                Some(v) if self.jsonata => {
                    Selector::Jsonata(self.jsonata(v, "ItemBatcher.BatchInput", "")?)
                }
                Some(v) => Selector::JsonPath(self.template(v, "ItemBatcher.BatchInput")?),
            },
        })
    }

    fn writer(&self, w: &asl::ResultWriter) -> Result<Writer, LoadError> {
        let arguments = match w.resource.as_deref() {
            None => None,
            Some(PUT_OBJECT) => {
                Some(self.arguments(w.parameters.as_ref(), w.arguments.as_ref(), "ResultWriter")?)
            }
            Some(other) => {
                return Err(self.definition(
                    "ResultWriter.Resource",
                    format!("The ResultWriter resource '{other}' is not {PUT_OBJECT}"),
                ));
            }
        };
        let config = w.writer_config.as_ref();
        let text = |name| self.config_text(config, "ResultWriter.WriterConfig", name);
        let transformation = match text("Transformation")? {
            None if config.is_some() => Transformation::Compact,
            None | Some("NONE") => Transformation::None,
            Some("COMPACT") => Transformation::Compact,
            Some("FLATTEN") => Transformation::Flatten,
            Some(other) => {
                return Err(self.definition(
                    "ResultWriter.WriterConfig.Transformation",
                    format!("Transformation must be NONE, COMPACT or FLATTEN, found {other}"),
                ));
            }
        };
        let json_lines = match text("OutputType")? {
            None | Some("JSON") => false,
            Some("JSONL") => true,
            Some(other) => {
                return Err(self.definition(
                    "ResultWriter.WriterConfig.OutputType",
                    format!("OutputType must be JSON or JSONL, found {other}"),
                ));
            }
        };
        if arguments.is_none() && config.is_none() {
            return Err(self.definition(
                "ResultWriter",
                "A ResultWriter needs Resource and Parameters, a WriterConfig, or both".into(),
            ));
        }
        Ok(Writer {
            arguments,
            transformation,
            json_lines,
        })
    }
}
