package import Primitives

/// Reads the pipeline's environment variables with errors that name the variable. Variable names
/// follow the LASP data center's IngestProcessingConstruct, so the images drop into it; the README
/// lists them all in one table.
package struct SettingsReader: Sendable {
    package let environment: Environment

    package init(_ environment: Environment) { self.environment = environment }

    package func required(_ name: String) throws(SettingsError) -> String {
        guard let value = environment[name] else {
            throw SettingsError(.missing, setting: name, detail: "is required but not set")
        }
        return value
    }

    package func optional(_ name: String) -> String? { environment[name] }

    package func string(_ name: String, default fallback: String) -> String { environment[name] ?? fallback }

    /// A whole number in `range`.
    package func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(SettingsError) -> Int {
        guard let text = environment[name] else { return fallback }
        guard let value = Int(text.trimmingSpacesAndTabs), range.contains(value) else {
            throw SettingsError(
                .invalid, setting: name,
                detail: "'\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A size in megabytes (whole or decimal), returned in bytes.
    package func megabytes(_ name: String, default fallback: Double, range: ClosedRange<Double>) throws(SettingsError) -> Int64 {
        guard let text = environment[name] else { return Int64(fallback * 1_048_576) }
        guard let value = Double(text.trimmingSpacesAndTabs), value.isFinite, range.contains(value) else {
            throw SettingsError(
                .invalid, setting: name,
                detail: "'\(text)' is not a size in MB from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int64(value * 1_048_576)
    }

    /// `true/false`, `yes/no`, `1/0` (any case).
    package func bool(_ name: String, default fallback: Bool) throws(SettingsError) -> Bool {
        guard let text = environment[name] else { return fallback }
        switch text.trimmingSpacesAndTabs.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw SettingsError(.invalid, setting: name, detail: "'\(text)' is not true or false")
        }
    }

    /// A value from a fixed list.
    package func choice(_ name: String, default fallback: String, allowed: [String]) throws(SettingsError) -> String {
        guard let text = environment[name] else { return fallback }
        guard let match = allowed.first(where: { $0.lowercased() == text.lowercased() }) else {
            throw SettingsError(.invalid, setting: name, detail: "'\(text)' is not one of \(allowed.joined(separator: ", "))")
        }
        return match
    }

    /// An S3 bucket name (3–63 lower-case letters, digits, dots and hyphens).
    package func bucket(_ name: String) throws(SettingsError) -> String {
        let value = try required(name)
        let ok = (3...63).contains(value.utf8.count)
            && value.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 }
        guard ok else { throw SettingsError(.invalid, setting: name, detail: "'\(value)' is not a valid S3 bucket name") }
        return value
    }
}

extension String {
    var trimmingSpacesAndTabs: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        return self[start...lastIndex(where: { !isSpace($0) })!]
    }
}

/// Where the dataset catalog (and other documents) come from: an SSM parameter or a file.
package enum DocumentSource: Sendable, Hashable, CustomStringConvertible {
    case parameter(String)
    case file(String)

    /// `<PREFIX>_PARAMETER` or `<PREFIX>_FILE`; exactly one must be set (or a default file).
    package static func from(
        _ reader: SettingsReader, prefix: String, defaultFile: String? = nil
    ) throws(SettingsError) -> DocumentSource {
        let parameter = reader.optional("\(prefix)_PARAMETER")
        let file = reader.optional("\(prefix)_FILE")
        switch (parameter, file) {
        case (let name?, nil): return .parameter(name)
        case (nil, let path?): return .file(path)
        case (nil, nil):
            if let defaultFile { return .file(defaultFile) }
            throw SettingsError(.missing, setting: "\(prefix)_PARAMETER", detail: "set \(prefix)_PARAMETER (an SSM parameter name) or \(prefix)_FILE (a path)")
        case (.some, .some):
            throw SettingsError(.invalid, setting: "\(prefix)_PARAMETER", detail: "set either \(prefix)_PARAMETER or \(prefix)_FILE, not both")
        }
    }

    package var description: String {
        switch self {
        case .parameter(let name): "SSM parameter \(name)"
        case .file(let path): "file \(path)"
        }
    }
}

/// The settings every handler shares.
package struct CommonSettings: Sendable, Hashable {
    package var statusTable: String
    package var statusFileNameIndex: String
    package var maxFileSizeBytes: Int64
    package var datasets: DocumentSource
    /// Time kept back from the Lambda deadline: no new record starts with less than this left.
    package var deadlineMargin: Duration

    package init(_ reader: SettingsReader) throws(SettingsError) {
        statusTable = try reader.required("INGEST_STATUS_TABLE")
        statusFileNameIndex = reader.string("INGEST_STATUS_FILE_NAME_GSI", default: "file_name_index")
        maxFileSizeBytes = try reader.megabytes("MAX_FILE_SIZE_MB", default: 30, range: 0.000001...5_000_000)
        datasets = try DocumentSource.from(reader, prefix: "DATASETS", defaultFile: "/var/task/datasets.json")
        deadlineMargin = .milliseconds(try reader.integer("DEADLINE_MARGIN_MS", default: 10_000, range: 0...600_000))
    }
}
