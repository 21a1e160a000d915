/// Why a request could not be signed. Never carries credentials: only the code and a short
/// message about the request's shape.
package struct SigV4Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable codes; raw values are what logs and metrics show.
    package enum Code: String, Sendable, Hashable {
        /// The URL has no `scheme://host` or an unparseable port.
        case invalidURL
        /// A presigned URL's lifetime is outside 1 second ... 7 days.
        case invalidExpiry
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "SigV4Error.\(code.rawValue): \(message)" }
}
