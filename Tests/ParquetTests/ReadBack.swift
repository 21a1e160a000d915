import Foundation
import JSONCodec
import Parquet
import Primitives
import Testing

/// Writes Parquet bytes to a temporary file and reads them back through
/// `Scripts/read_parquet.py` (pyarrow and duckdb), returning what each reader saw.
struct ReadBack {
    var pyarrow: JSON
    var duckdb: JSON

    static func read(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> ReadBack {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-\(UUID().uuidString).parquet")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = try #require(
            Bundle.module.url(forResource: "read_parquet", withExtension: "py", subdirectory: "Scripts"),
            "Scripts/read_parquet.py is missing from the test bundle", sourceLocation: sourceLocation)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, file.path]
        let output = Pipe()
        // stderr goes to a file so a chatty reader cannot fill a pipe nobody drains.
        let errorFile = file.appendingPathExtension("stderr")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorFile) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorText = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        try #require(
            process.terminationStatus == 0,
            "python3 read_parquet.py failed (python3 with pyarrow and duckdb is required): \(errorText)",
            sourceLocation: sourceLocation)
        let json = try JSONParser.parse(Array(data))
        return ReadBack(pyarrow: try #require(json["pyarrow"]), duckdb: try #require(json["duckdb"]))
    }

    var pyarrowRows: [[JSON]] { pyarrow["rows"]?.arrayValue?.map { $0.arrayValue ?? [] } ?? [] }
    var duckdbRows: [[JSON]] { duckdb["rows"]?.arrayValue?.map { $0.arrayValue ?? [] } ?? [] }
    var pyarrowTypes: [String] { pyarrow["columns"]?.arrayValue?.compactMap { $0["type"]?.stringValue } ?? [] }
    var duckdbTypes: [String] { duckdb["columns"]?.arrayValue?.compactMap { $0["type"]?.stringValue } ?? [] }
    var rowGroups: [JSON] { pyarrow["row_groups"]?.arrayValue ?? [] }

    /// The statistics of column `column` in row group `group`.
    func statistics(group: Int, column: Int) -> JSON? { rowGroups[group]["columns"]?[column] }
}

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
