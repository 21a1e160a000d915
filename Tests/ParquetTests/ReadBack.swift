import Foundation
import JSONCodec
import Parquet
import Primitives
import Testing
import TestSupport

/// Parquet bytes read back by pyarrow and duckdb (`Scripts/read_parquet.py`).
typealias ReadBack = ParquetReadBack

/// How the Python side renders a value we wrote (see read_parquet.py).
enum Expected {
    static func render(_ value: ParquetValue, as type: ParquetType) -> JSON {
        switch value {
        case .null: return .null
        case .boolean(let b): return .bool(b)
        case .int32(let v): return .number(String(v))
        case .int64(let v): return .number(String(v))
        case .double(let v): return .number(v)
        case .string(let s): return .string(s)
        case .date(let days): return .string(Timestamp(secondsSinceEpoch: Int64(days) * 86_400).isoDate)
        case .timestamp(let ms): return .number(String(ms))
        case .decimal(let unscaled):
            guard case .decimal(_, let scale) = type else { return .null }
            return .string(decimalText(unscaled, scale: scale))
        case .decimalText(let text):
            guard case .decimal(_, let scale) = type else { return .null }
            return .string(normalisedDecimal(text, scale: scale))
        }
    }

    /// `unscaled * 10^-scale` as fixed-point text with every scale digit.
    static func decimalText(_ unscaled: Int128, scale: Int) -> String {
        let negative = unscaled < 0
        var digits = String(negative ? (0 - unscaled).magnitude : unscaled.magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return (negative ? "-" : "") + digits
    }

    /// Simple decimal text (no exponent) padded to `scale` digits, for the texts the tests use.
    static func normalisedDecimal(_ text: String, scale: Int) -> String {
        var text = text
        if text.hasPrefix("+") { text.removeFirst() }
        var parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 { parts.append("") }
        var fraction = parts[1]
        while fraction.count > scale && fraction.hasSuffix("0") { fraction.removeLast() }
        fraction += String(repeating: "0", count: max(0, scale - fraction.count))
        var whole = parts[0].isEmpty || parts[0] == "-" ? parts[0] + "0" : parts[0]
        if whole.hasPrefix("-") && (whole.dropFirst().allSatisfy { $0 == "0" }) && fraction.allSatisfy({ $0 == "0" }) {
            whole = "0"
        }
        return scale == 0 ? whole : whole + "." + fraction
    }

    /// Whether what a reader returned equals what we wrote; doubles are compared as numbers.
    static func matches(_ actual: JSON, _ expected: ParquetValue, as type: ParquetType) -> Bool {
        if case .double(let v) = expected {
            if v.isNaN { return actual.stringValue == "nan" }
            if v.isInfinite { return actual.stringValue == (v > 0 ? "inf" : "-inf") }
            return actual.doubleValue == v
        }
        return actual == render(expected, as: type)
    }
}
