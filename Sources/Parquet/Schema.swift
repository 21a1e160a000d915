/// The logical types a column can hold.
package enum ParquetType: Sendable, Hashable, CustomStringConvertible {
    case boolean
    case int32
    case int64
    case double
    /// UTF-8 text (`BYTE_ARRAY` annotated `STRING`).
    case string
    /// Days since 1970-01-01 (`INT32` annotated `DATE`).
    case date
    /// Milliseconds since the epoch, UTC (`INT64` annotated `TIMESTAMP(MILLIS, isAdjustedToUTC)`).
    case timestampMillis
    /// A decimal of at most 38 digits, `scale` of them after the point: `INT32` up to 9 digits,
    /// `INT64` up to 18, `FIXED_LEN_BYTE_ARRAY` beyond.
    case decimal(precision: Int, scale: Int)

    package var description: String {
        switch self {
        case .boolean: "boolean"
        case .int32: "int32"
        case .int64: "int64"
        case .double: "double"
        case .string: "string"
        case .date: "date"
        case .timestampMillis: "timestamp(ms, UTC)"
        case .decimal(let precision, let scale): "decimal(\(precision),\(scale))"
        }
    }
}

/// One column: its name, type and whether it may hold nulls.
package struct ParquetColumn: Sendable, Hashable {
    package var name: String
    package var type: ParquetType
    package var nullable: Bool

    package init(_ name: String, _ type: ParquetType, nullable: Bool = true) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }
}

/// A flat schema: the columns of every row, in order.
package struct ParquetSchema: Sendable, Hashable {
    package let columns: [ParquetColumn]

    /// - Throws: `ParquetError.invalidSchema` for no columns, an empty or repeated name, or a
    ///   decimal whose precision is not 1...38 or whose scale is not 0...precision.
    package init(_ columns: [ParquetColumn]) throws(ParquetError) {
        guard !columns.isEmpty else { throw ParquetError(.invalidSchema, "a schema needs at least one column") }
        var seen = Set<String>()
        for column in columns {
            guard !column.name.isEmpty else { throw ParquetError(.invalidSchema, "a column has an empty name") }
            guard seen.insert(column.name).inserted else {
                throw ParquetError(.invalidSchema, "the name appears twice", column: column.name)
            }
            if case .decimal(let precision, let scale) = column.type {
                guard (1...38).contains(precision), (0...precision).contains(scale) else {
                    throw ParquetError(
                        .invalidSchema, "decimal(\(precision),\(scale)) needs precision 1...38 and scale 0...precision",
                        column: column.name)
                }
            }
        }
        self.columns = columns
    }

    /// The index of the column called `name`.
    package func index(of name: String) -> Int? { columns.firstIndex { $0.name == name } }
}

/// One value of a row given to `ParquetWriter.append(row:)`.
package enum ParquetValue: Sendable, Hashable {
    case null
    case boolean(Bool)
    /// For `int32`; also accepted by `int64` columns.
    case int32(Int32)
    /// For `int64`; also accepted by `int32` columns when it fits.
    case int64(Int64)
    case double(Double)
    case string(String)
    case date(daysSinceEpoch: Int32)
    case timestamp(millisecondsSinceEpoch: Int64)
    /// A decimal as its unscaled integer: 1234.50 in a `decimal(9,2)` column is `unscaled: 123450`.
    case decimal(unscaled: Int128)
    /// A decimal as text (`"-1234.5"`, `"1.5e3"`), converted exactly to the column's scale.
    case decimalText(String)
}

// MARK: - Physical layout

/// Parquet's physical types (the values are the Thrift enum's).
enum PhysicalType: Int32 {
    case boolean = 0
    case int32 = 1
    case int64 = 2
    case double = 5
    case byteArray = 6
    case fixedLenByteArray = 7
}

extension ParquetType {
    var physical: PhysicalType {
        switch self {
        case .boolean: .boolean
        case .int32, .date: .int32
        case .int64, .timestampMillis: .int64
        case .double: .double
        case .string: .byteArray
        case .decimal(let precision, _):
            precision <= 9 ? .int32 : precision <= 18 ? .int64 : .fixedLenByteArray
        }
    }

    /// Bytes of a `FIXED_LEN_BYTE_ARRAY` decimal: the fewest that hold every value of the precision.
    var fixedLength: Int {
        guard case .decimal(let precision, _) = self else { return 0 }
        var bytes = 1
        // 10^precision - 1 must fit in a signed two's complement integer of `bytes` bytes.
        let largest = Decimal128.powerOfTen(precision) - 1
        while bytes < 16 && largest > (Int128(1) << (8 * bytes - 1)) - 1 { bytes += 1 }
        return bytes
    }
}
