//! A table read from a CSV or XLSX file: a header row and the rows under it, cells as text,
//! numbers or dates. Columns are found by any of their names (Chinese or English, as a plant's
//! own sheets head them).

use chrono::NaiveDate;
use std::path::Path;

/// One cell as the file holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    /// A cell Excel formats as a date: its serial number (days since 1899-12-30).
    Date(f64),
}

impl Cell {
    /// The cell as text, trimmed: numbers without a needless ".0" (a badge 1001 typed as a
    /// number is "1001").
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.trim().to_owned(),
            Cell::Number(n) | Cell::Date(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) | Cell::Date(n) => n.to_string(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text().is_empty()
    }

    /// The cell as a date: a date cell, an Excel serial number (typed as a number, or as the
    /// text of one, the way a CSV saved from Excel writes it), or text as YYYY-MM-DD,
    /// YYYY/M/D, YYYY.M.D, YYYYMMDD or YYYY年M月D日.
    pub fn date(&self) -> Option<NaiveDate> {
        match self {
            Cell::Date(n) | Cell::Number(n) => excel_serial(*n),
            Cell::Text(t) => parse_date(t),
            Cell::Empty => None,
        }
    }
}

/// The date of an Excel serial day number (the 1900 system, as every Excel on Windows writes).
pub fn excel_serial(n: f64) -> Option<NaiveDate> {
    // 1 = 1900-01-01 … 2958465 = 9999-12-31; serials before 61 fall in Excel's phantom 1900-02-29.
    if !(61.0..=2_958_465.0).contains(&n) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(n.floor() as u64))
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.len() {
            8 => NaiveDate::parse_from_str(t, "%Y%m%d").ok(),
            // A serial number written as text (a CSV saved from a sheet whose column was numbers).
            1..=7 => t.parse::<f64>().ok().and_then(excel_serial),
            _ => None,
        };
    }
    // A date with a time after it ("2027-03-31 00:00:00"): the date.
    let day = t.split([' ', 'T']).next().unwrap_or(t);
    let normal: String = day
        .chars()
        .map(|c| match c {
            '/' | '.' | '年' | '月' => '-',
            '日' => ' ',
            c => c,
        })
        .collect();
    NaiveDate::parse_from_str(normal.trim(), "%Y-%m-%d").ok()
}

/// A table: its header and rows (the header is row 1 of the file).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sheet {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a CSV file this can read: {reason}")]
    Csv { path: String, reason: String },
    #[error("{path} is not a spreadsheet this can read: {reason}")]
    Workbook { path: String, reason: String },
    #[error("{path} has no sheet with a header row")]
    Empty { path: String },
    #[error("{path}: a file ending in .{extension} is neither CSV nor XLSX")]
    UnknownKind { path: String, extension: String },
}

impl Sheet {
    /// Read `path`: `.csv` as UTF-8 CSV (a byte-order mark is dropped), `.xlsx`/`.xls`/`.ods`
    /// as a workbook's first sheet.
    pub fn read(path: &Path) -> Result<Sheet, SheetError> {
        let shown = path.display().to_string();
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match extension.as_str() {
            "csv" | "txt" => {
                let bytes = std::fs::read(path).map_err(|source| SheetError::Io { path: shown.clone(), source })?;
                Sheet::from_csv(&bytes).map_err(|reason| SheetError::Csv { path: shown, reason })
            }
            "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => Sheet::from_workbook(path),
            _ => Err(SheetError::UnknownKind { path: shown, extension }),
        }
    }

    /// CSV bytes: UTF-8, comma-separated, the first record the header.
    pub fn from_csv(bytes: &[u8]) -> Result<Sheet, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
        let mut records = reader.records();
        let headers = match records.next() {
            Some(r) => r.map_err(|e| e.to_string())?.iter().map(|h| h.trim().to_owned()).collect(),
            None => return Err("the file is empty".into()),
        };
        let mut rows = Vec::new();
        for r in records {
            let r = r.map_err(|e| e.to_string())?;
            rows.push(
                r.iter().map(|c| if c.trim().is_empty() { Cell::Empty } else { Cell::Text(c.to_owned()) }).collect(),
            );
        }
        Ok(Sheet { headers, rows })
    }

    fn from_workbook(path: &Path) -> Result<Sheet, SheetError> {
        use calamine::{Data, Reader};
        let shown = path.display().to_string();
        let bad = |e: &dyn std::fmt::Display| SheetError::Workbook { path: shown.clone(), reason: e.to_string() };
        let mut book = calamine::open_workbook_auto(path).map_err(|e| bad(&e))?;
        let range = match book.worksheet_range_at(0) {
            Some(r) => r.map_err(|e| bad(&e))?,
            None => return Err(SheetError::Empty { path: shown }),
        };
        let mut rows = range.rows().map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::Empty | Data::Error(_) => Cell::Empty,
                    Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
                    Data::Float(f) => Cell::Number(*f),
                    Data::Int(i) => Cell::Number(*i as f64),
                    Data::Bool(b) => Cell::Text(b.to_string()),
                    Data::DateTime(d) => Cell::Date(d.as_f64()),
                })
                .collect::<Vec<Cell>>()
        });
        let headers = rows.next().ok_or_else(|| SheetError::Empty { path: shown.clone() })?;
        Ok(Sheet { headers: headers.iter().map(Cell::text).collect(), rows: rows.collect() })
    }

    /// The column headed by any of `names` (compared without spaces and case).
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        let norm = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
        self.headers.iter().position(|h| names.iter().any(|n| norm(h) == norm(n)))
    }
}
