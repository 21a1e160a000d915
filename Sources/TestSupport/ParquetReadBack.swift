import Foundation
package import JSONCodec

/// Parquet bytes read back by pyarrow and duckdb through `Tests/ParquetTests/Scripts/read_parquet.py`:
/// what each reader saw (columns and their types, rows, row groups with statistics, key-value
/// metadata). For the Parquet writer's tests and the processing handler's.
package struct ParquetReadBack: Sendable {
    package var pyarrow: JSON
    package var duckdb: JSON

    /// The script failed (python3 with pyarrow and duckdb is required) or printed no readings.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// Writes `bytes` to a temporary file and reads it with both readers.
    package static func read(_ bytes: [UInt8]) async throws -> ParquetReadBack {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("readback-\(UUID().uuidString).parquet")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = MotoStack.repositoryRoot.appendingPathComponent("Tests/ParquetTests/Scripts/read_parquet.py")
        let run = try await runProcess(["python3", script.path, file.path])
        guard run.status == 0 else {
            throw Failure(description: "python3 read_parquet.py failed (python3 with pyarrow and duckdb is required): \(run.stderrText)")
        }
        let json = try JSONParser.parse(run.stdout)
        guard let pyarrow = json["pyarrow"], let duckdb = json["duckdb"] else {
            throw Failure(description: "read_parquet.py printed no pyarrow or duckdb readings: \(run.stdoutText)")
        }
        return ParquetReadBack(pyarrow: pyarrow, duckdb: duckdb)
    }

    package var columns: [String] { pyarrow["columns"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [] }
    package var pyarrowRows: [[JSON]] { pyarrow["rows"]?.arrayValue?.map { $0.arrayValue ?? [] } ?? [] }
    package var duckdbRows: [[JSON]] { duckdb["rows"]?.arrayValue?.map { $0.arrayValue ?? [] } ?? [] }
    package var pyarrowTypes: [String] { pyarrow["columns"]?.arrayValue?.compactMap { $0["type"]?.stringValue } ?? [] }
    package var duckdbTypes: [String] { duckdb["columns"]?.arrayValue?.compactMap { $0["type"]?.stringValue } ?? [] }
    package var rowGroups: [JSON] { pyarrow["row_groups"]?.arrayValue ?? [] }
    package var metadata: JSON? { pyarrow["metadata"] }

    /// The statistics of column `column` in row group `group`.
    package func statistics(group: Int, column: Int) -> JSON? { rowGroups[group]["columns"]?[column] }

    /// The column `name` of every row (pyarrow's view).
    package func column(_ name: String) -> [JSON] {
        guard let index = columns.firstIndex(of: name) else { return [] }
        return pyarrowRows.map { $0[index] }
    }
}
