package import LambdaRuntime

/// Why the ingest handler could not finish a file in this invocation. A file whose records cannot
/// be read is not an error of this kind: it ends FAILED with a reason (see `IngestOutcome`). These
/// are the failures that make SQS redeliver the message.
package struct IngestError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable, CaseIterable {
        /// The object key is not `in/<dataset>/<rest>` of the ingest bucket.
        case unexpectedKey = "UnexpectedKey"
        /// No dataset of the catalog has the object's dataset name.
        case unknownDataset = "UnknownDataset"
        /// The dataset has no `index` settings, so its records have nowhere to go.
        case noIndexSettings = "NoIndexSettings"
        /// S3 failed (reading the object, writing the errors object).
        case storage = "StorageFailed"
        /// OpenSearch refused every request (access denied, credentials, index creation).
        case openSearch = "OpenSearchFailed"
        /// The status table failed.
        case statusStore = "StatusStoreFailed"
        /// Moving the file failed.
        case move = "MoveFailed"
        /// The file is filed and its final status written, but deleting it from `in/` failed: the
        /// redelivery finds the status final and removes it.
        case sourceLeft = "SourceLeftInIncoming"
        /// The invocation's deadline came before the file was done: progress was saved and the
        /// message is redelivered to resume it.
        case deadlineReached = "DeadlineReached"
    }

    package var code: Code
    package var detail: String
    package var underlying: (any Error)?

    package init(_ code: Code, _ detail: String, underlying: (any Error)? = nil) {
        self.code = code
        self.detail = detail
        self.underlying = underlying
    }

    package var description: String { "\(code.rawValue): \(detail)" }
}

extension IngestError: LambdaReportableError {
    /// `Function.<Code>`, so a redelivered record's failure says why in the logs.
    package var lambdaErrorType: String { "Function.\(code.rawValue)" }
}

extension IngestError: RedeliveryHint {
    /// A file stopped by the deadline resumes at once from its saved progress; other failures
    /// wait out the visibility timeout (a backoff for the service that failed).
    package var redeliverAfter: Duration? { code == .deadlineReached ? .zero : nil }
}
