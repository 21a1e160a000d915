/// Why the runtime, the event decoding or the batch helper could not go on, with a stable code.
///
/// Each code also names the `errorType` Lambda is told (`Runtime.<Reason>` for problems of the
/// runtime itself, `Function.<Reason>` for problems with the event a handler was given).
package struct LambdaRuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// A setting is missing or malformed; the message names it.
        case invalidConfiguration = "InvalidConfiguration"
        /// The Runtime API answered something unexpected (status, missing header).
        case invalidRuntimeResponse = "InvalidRuntimeResponse"
        /// The Runtime API could not be reached.
        case transport = "Transport"
        /// The event was larger than the runtime accepts.
        case eventTooLarge = "EventTooLarge"
        /// The Runtime API refused the response for its size.
        case responseTooLarge = "ResponseSizeTooLarge"
        /// The event is not the JSON shape the handler expects.
        case malformedEvent = "MalformedEvent"
        /// An SQS message body that is neither an S3 notification nor an S3 test event.
        case unrecognisedMessage = "UnrecognisedMessage"
        /// The batch ran out of time before this record started.
        case deadlineExceeded = "DeadlineExceeded"
        /// A FIFO record was skipped because an earlier record of its message group failed.
        case fifoGroupFailed = "FifoGroupFailed"
        /// The replay input could not be read.
        case unreadableEvent = "UnreadableEvent"
    }

    package var code: Code
    /// A human-readable explanation (never holding a secret).
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }
}

extension LambdaRuntimeError: LambdaReportableError {
    package var lambdaErrorType: String {
        switch code {
        case .invalidConfiguration, .invalidRuntimeResponse, .transport, .eventTooLarge, .unreadableEvent:
            "Runtime.\(code.rawValue)"
        case .malformedEvent, .unrecognisedMessage, .deadlineExceeded, .fifoGroupFailed, .responseTooLarge:
            "Function.\(code.rawValue)"
        }
    }
}

/// An error that chooses the `errorType` Lambda reports for it (`Function.<Reason>` or
/// `Runtime.<Reason>`). Types that do not match `(Runtime|Function)\.[A-Z][a-zA-Z]+` are reported as
/// `Runtime.Unknown`.
package protocol LambdaReportableError: Error {
    var lambdaErrorType: String { get }
}

/// The body of `/invocation/{id}/error` and `/init/error`, plus the error-type header.
package struct ErrorReport: Error, Sendable, Hashable {
    package var errorType: String
    package var errorMessage: String
    package var stackTrace: [String]

    /// - Parameter errorType: validated; anything not of the form `Function.<Reason>` or
    ///   `Runtime.<Reason>` becomes `Runtime.Unknown`.
    package init(errorType: String, errorMessage: String, stackTrace: [String] = []) {
        self.errorType = Self.isValidType(errorType) ? errorType : "Runtime.Unknown"
        self.errorMessage = errorMessage
        self.stackTrace = stackTrace
    }

    /// The report for any error: its own type when it is a `LambdaReportableError`, otherwise
    /// `Function.<SwiftTypeName>` (letters only).
    package init(_ error: any Error) {
        if let report = error as? ErrorReport {
            self = report
            return
        }
        let type: String
        if let reportable = error as? any LambdaReportableError {
            type = reportable.lambdaErrorType
        } else {
            let name = String(describing: Swift.type(of: error))
            var letters = String.UnicodeScalarView()
            letters.append(contentsOf: name.unicodeScalars.prefix { $0 != "<" }.filter(Self.isASCIILetter))
            type = "Function." + String(letters)
        }
        self.init(errorType: type, errorMessage: String(describing: error))
    }

    private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z")
    }

    /// Whether `type` matches `(Runtime|Function)\.[A-Z][a-zA-Z]+`.
    package static func isValidType(_ type: String) -> Bool {
        let reason: Substring
        if type.hasPrefix("Runtime.") {
            reason = type.dropFirst("Runtime.".count)
        } else if type.hasPrefix("Function.") {
            reason = type.dropFirst("Function.".count)
        } else {
            return false
        }
        guard reason.unicodeScalars.count >= 2, let first = reason.unicodeScalars.first, first >= "A", first <= "Z"
        else { return false }
        return reason.unicodeScalars.allSatisfy(isASCIILetter)
    }
}
