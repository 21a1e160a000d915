/// Why a star-schema specification could not be read, or a source row could not be turned into
/// an output row. Messages name the table, the column and the line, but never repeat a value
/// (extracts hold personal data).
package struct StarSchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// The specification is not valid JSON.
        case malformedSpecification = "MalformedSpecification"
        /// The specification is valid JSON but breaks a rule (the detail names the field's path).
        case invalidSpecification = "InvalidSpecification"
        /// A source value that cannot be cast to its column's type (a word in an `int` column).
        case typeMismatch = "TypeMismatch"
        /// Text that should be a date or a timestamp and is not one.
        case invalidTemporal = "InvalidDateOrTimestamp"
        /// A null (or an absent member) in a column declared `required`.
        case missingValue = "MissingValue"
        /// A state object (the latest rows of a source table) that cannot be read back.
        case invalidState = "InvalidState"
    }

    package var code: Code
    package var detail: String
    /// The output table concerned, if any.
    package var table: String?
    /// The output column concerned, if any.
    package var column: String?
    /// The 1-based line of the extract, once the caller knows it.
    package var line: Int?

    package init(_ code: Code, _ detail: String, table: String? = nil, column: String? = nil, line: Int? = nil) {
        self.code = code
        self.detail = detail
        self.table = table
        self.column = column
        self.line = line
    }

    /// The same error, placed at `line` of the extract.
    package func at(line: Int) -> StarSchemaError {
        var copy = self
        copy.line = line
        return copy
    }

    package var description: String {
        var text = "\(code.rawValue): \(detail)"
        if let table, let column {
            text += " (\(table).\(column))"
        } else if let table {
            text += " (\(table))"
        } else if let column {
            text += " (column \(column))"
        }
        if let line { text += " (line \(line))" }
        return text
    }
}
