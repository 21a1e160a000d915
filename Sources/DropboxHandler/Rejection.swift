import JSONCodec
package import Primitives

/// Why the dropbox refused a file, with a stable code and a sentence a data provider understands.
package struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable, CaseIterable {
        /// The key matches no dataset's key pattern.
        case unknownDataset = "UnknownDataset"
        /// The file name's ending is not one the dataset allows.
        case extensionNotAllowed = "ExtensionNotAllowed"
        /// The file has no bytes.
        case emptyFile = "EmptyFile"
        /// The file is larger than the dataset's limit.
        case fileTooLarge = "FileTooLarge"
        /// gzip content where none is expected, or the other way round.
        case compressionMismatch = "CompressionMismatch"
        /// The first records cannot be read in the declared format.
        case unreadableSample = "UnreadableSample"
        /// A sampled record lacks a required field (or a CSV header lacks its column).
        case missingRequiredField = "MissingRequiredField"
        /// A sampled field has the wrong type.
        case wrongFieldType = "WrongFieldType"
    }

    package var code: Code
    /// One or two sentences for the data provider.
    package var reason: String
    /// Specifics: which records and fields, what was expected.
    package var details: [String]

    package init(_ code: Code, _ reason: String, details: [String] = []) {
        self.code = code
        self.reason = reason
        self.details = details
    }

    package var description: String { "\(code.rawValue): \(reason)" }

    /// The `<name>.error.json` document written beside a rejected file.
    package func document(file: String, dataset: String?, rejectedAt: Timestamp) -> [UInt8] {
        let object: JSONObject = [
            "file": .string(file),
            "dataset": dataset.map(JSON.string) ?? .null,
            "reason": .string(reason),
            "code": .string(code.rawValue),
            "rejected_at": .string(rejectedAt.iso8601()),
            "details": .array(details.map(JSON.string)),
        ]
        var bytes = JSON.object(object).bytes
        bytes.append(0x0A)
        return bytes
    }
}
