/// A failure to exchange an HTTP request, with a stable code. The URL it names has had every
/// credential removed (see `RedactedURL`).
package struct HTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        /// The URL could not be parsed or uses an unsupported scheme.
        case invalidURL = "InvalidURL"
        /// The host name did not resolve.
        case dnsFailure = "DNSFailure"
        /// The TCP connection could not be established.
        case connectFailed = "ConnectFailed"
        /// The TLS handshake or certificate verification failed.
        case tlsFailure = "TLSFailure"
        /// A connect, total or low-speed limit ran out.
        case timeout = "Timeout"
        /// The connection broke (reset, closed early, nothing received).
        case connectionReset = "ConnectionReset"
        /// The request body stream threw.
        case requestBodyFailed = "RequestBodyFailed"
        /// A body was larger than the caller allowed.
        case bodyTooLarge = "BodyTooLarge"
        /// The caller cancelled the request.
        case cancelled = "Cancelled"
        /// Anything else the transport reported.
        case other = "Other"
    }

    package var code: Code
    /// The request URL without credentials.
    package var url: String
    /// A human-readable explanation (never holding a credential).
    package var detail: String

    package init(_ code: Code, url: String, detail: String) {
        self.code = code
        self.url = RedactedURL.redact(url)
        self.detail = detail
    }

    /// Whether repeating the request may succeed: transient network failures.
    package var isTransient: Bool {
        switch code {
        case .dnsFailure, .connectFailed, .timeout, .connectionReset: true
        case .invalidURL, .tlsFailure, .requestBodyFailed, .bodyTooLarge, .cancelled, .other: false
        }
    }

    package func with(url: String) -> HTTPError {
        var copy = self
        if copy.url.isEmpty { copy.url = RedactedURL.redact(url) }
        return copy
    }

    package var description: String {
        url.isEmpty ? "\(code.rawValue): \(detail)" : "\(code.rawValue): \(detail) (\(url))"
    }
}

/// Removes credentials from URLs before they reach an error or a log line: user information, and
/// the values of query parameters that carry signatures, credentials or tokens.
package enum RedactedURL {
    static let secretParameters: Set<String> = [
        "x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid",
        "x-amz-s3session-token",
    ]

    package static func redact(_ url: String) -> String {
        var text = url
        // userinfo: scheme://user:pass@host, or user:pass@host when the scheme is missing
        let authorityStart = text.firstRange(of: "://")?.upperBound ?? text.startIndex
        let afterScheme = text[authorityStart...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        if let at = afterScheme[..<authorityEnd].lastIndex(of: "@") {
            text = String(text[..<authorityStart]) + "REDACTED@" + String(text[text.index(after: at)...])
        }
        guard let question = text.firstIndex(of: "?") else { return text }
        let base = text[..<question]
        var query = text[text.index(after: question)...]
        var fragment = ""
        if let hash = query.firstIndex(of: "#") {
            fragment = String(query[hash...])
            query = query[..<hash]
        }
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            let name = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            if secretParameters.contains(name.lowercased()) { return "\(name)=REDACTED" }
            return String(part)
        }
        return String(base) + "?" + parts.joined(separator: "&") + fragment
    }
}
