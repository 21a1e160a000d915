/// A failure of the local stack or of `pipelinectl`, with a stable code and a message that says
/// what to do. Never holds a secret.
package struct LocalStackError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// A command-line option is missing or malformed.
        case usage = "Usage"
        /// moto, the OpenSearch stand-in or a bootstrap could not be started.
        case launch = "Launch"
        /// Creating a bucket, queue, table or parameter failed.
        case setUp = "SetUp"
        /// The run did not settle within its time limit.
        case timeout = "Timeout"
        /// An AWS call failed.
        case aws = "AWS"
        /// A Parquet object is not readable.
        case parquet = "Parquet"
        /// The thing asked for does not exist (a queue, a file).
        case notFound = "NotFound"
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }
}
