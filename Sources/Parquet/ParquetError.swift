/// Why a value, a row, a schema or a JSON line could not be written. Messages name the column and
/// the line but never repeat the value itself (extracts hold personal data).
package struct ParquetError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// The schema is empty, names a column twice, or has an impossible decimal.
        case invalidSchema = "InvalidSchema"
        /// A row has more or fewer values than the schema has columns.
        case wrongColumnCount = "WrongColumnCount"
        /// A value of the wrong type for its column.
        case typeMismatch = "TypeMismatch"
        /// A null (or a missing key) in a column that is not nullable.
        case nullInRequiredColumn = "NullInRequiredColumn"
        /// An integer that does not fit the column (an int32 above 2^31 - 1, ...).
        case valueOutOfRange = "ValueOutOfRange"
        /// A decimal with more digits than the column's precision.
        case decimalOutOfPrecision = "DecimalOutOfPrecision"
        /// A decimal with more (non-zero) fraction digits than the column's scale.
        case decimalScaleExceeded = "DecimalScaleExceeded"
        /// Text that is not a decimal number.
        case invalidDecimal = "InvalidDecimal"
        /// Text that is not a `yyyy-MM-dd` date.
        case invalidDate = "InvalidDate"
        /// Text that is not an ISO 8601 date-time with a zone, or digits below the millisecond.
        case invalidTimestamp = "InvalidTimestamp"
        /// A string that is not valid UTF-8, or longer than Parquet allows.
        case invalidString = "InvalidString"
        /// A JSON line that is not a well-formed object.
        case malformedJSON = "MalformedJSON"
        /// A JSON line that names the same column twice.
        case duplicateKey = "DuplicateKey"
        /// A JSON line with a key the schema does not have (when unknown keys are refused).
        case unknownKey = "UnknownKey"
        /// The writer was used after `finish`.
        case writerFinished = "WriterFinished"
    }

    package var code: Code
    package var detail: String
    /// The column concerned, if any.
    package var column: String?
    /// The 1-based line of the JSON-lines input, if the value came from there.
    package var line: Int?

    package init(_ code: Code, _ detail: String, column: String? = nil, line: Int? = nil) {
        self.code = code
        self.detail = detail
        self.column = column
        self.line = line
    }

    package var description: String {
        var text = "\(code.rawValue): \(detail)"
        if let column { text += " (column \(column))" }
        if let line { text += " (line \(line))" }
        return text
    }
}
