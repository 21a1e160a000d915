package import AWSCore
import LambdaRuntime

/// Why an extract could not be processed, with a stable code. Reasons are written for the data
/// provider and the operators: they name the extract, the table, the column and the line, never a
/// value of the extract or a secret. Every one of them fails the SQS record, so SQS retries it
/// (and after the queue's maximum receive count moves it to the dead-letter queue).
package struct ProcessingError: Error, Sendable, CustomStringConvertible, LambdaReportableError {
    package enum Code: String, Sendable, Hashable {
        /// A settings problem found at init (the setting is named).
        case invalidSetting = "InvalidSetting"
        /// The star-schema specification cannot be read or is invalid.
        case invalidSpecification = "InvalidSpecification"
        /// A line of the extract is not a JSON object, or a value cannot be cast to its column.
        case malformedExtract = "MalformedExtract"
        /// A state object in the processed bucket cannot be read back.
        case invalidState = "InvalidState"
        /// A watermark (SSM or the status table) cannot be read or written.
        case watermark = "WatermarkFailed"
        /// Another invocation moved the watermark while this one worked: its outputs were not published.
        case watermarkMoved = "WatermarkMoved"
        /// Another invocation held the schema's lock until too little time was left.
        case busy = "SchemaBusy"
        /// Reading the extract or writing an output failed.
        case s3 = "S3Failed"
        /// The status table could not be written.
        case statusStore = "StatusStoreFailed"
        /// A Parquet file could not be written.
        case parquet = "ParquetFailed"
    }

    package var code: Code
    package var message: String
    package var aws: AWSError?

    package init(_ code: Code, _ message: String, aws: AWSError? = nil) {
        self.code = code
        self.message = message
        self.aws = aws
    }

    package var description: String {
        var text = "\(code.rawValue): \(message)"
        if let aws { text += " (\(aws))" }
        return text
    }

    package var lambdaErrorType: String { "Function.\(code.rawValue)" }
}

extension ProcessingError: RedeliveryHint {
    /// Contention is worth another try at once: a watermark another invocation moved (the extract is
    /// applied again over the new state) or a schema lock that stayed taken (the holder's claim on
    /// it ends with its invocation; the next attempt waits for it again). Other failures wait out
    /// the visibility timeout.
    package var redeliverAfter: Duration? { code == .watermarkMoved || code == .busy ? .zero : nil }
}
