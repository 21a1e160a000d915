import Foundation

/// A secret or a signature found where it must never be: a log line, an error, a status item, an
/// object or a parameter.
struct Leak: Sendable, Hashable, CustomStringConvertible {
    /// Where the text came from (`dropbox stderr`, `status items`, …).
    var source: String
    /// What was found (never the secret itself: its name and where it starts).
    var what: String
    var description: String { "\(source): \(what)" }
}

/// Finds secrets in captured text: any run of `minimumRun` characters of a known secret (as is,
/// percent-encoded, or with JSON's `\/`), a SigV4 `Authorization` header, a `Signature=` with its
/// hex, and presigned-URL parameters (`X-Amz-Signature=`, `X-Amz-Security-Token=`,
/// `X-Amz-Credential=`) whose value is not the redaction mark.
struct LeakDetector: Sendable {
    /// Runs this long or longer of a secret count as a leak (shorter runs occur by chance in base64).
    static let minimumRun = 16

    private let windows: [[UInt8]: String]

    /// - Parameter secrets: name → value (the secret access key, the session token, a password…).
    init(secrets: [String: String]) {
        var windows: [[UInt8]: String] = [:]
        for (name, value) in secrets {
            for (form, text) in Self.forms(of: value) {
                let bytes = Array(text.utf8)
                guard bytes.count >= Self.minimumRun else {
                    if !bytes.isEmpty { windows[bytes] = "\(name) (\(form))" }
                    continue
                }
                for start in 0...(bytes.count - Self.minimumRun) {
                    windows[Array(bytes[start..<start + Self.minimumRun])] = "\(name) (\(form), from character \(start))"
                }
            }
        }
        self.windows = windows
    }

    /// The forms a secret takes in text: as is, percent-encoded (in a URL) and JSON-escaped.
    static func forms(of secret: String) -> [(String, String)] {
        var forms = [("as is", secret)]
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: unreserved), encoded != secret {
            forms.append(("percent-encoded", encoded))
        }
        let escaped = secret.replacingOccurrences(of: "/", with: "\\/")
        if escaped != secret { forms.append(("JSON-escaped", escaped)) }
        return forms
    }

    /// Every leak in `text`.
    func leaks(in text: String, source: String) -> [Leak] {
        var found: [Leak] = []
        let bytes = Array(text.utf8)
        var reported = Set<String>()
        if bytes.count >= Self.minimumRun {
            for start in 0...(bytes.count - Self.minimumRun) {
                guard let name = windows[Array(bytes[start..<start + Self.minimumRun])] else { continue }
                let secret = String(name.prefix { $0 != " " })
                if reported.insert(secret).inserted { found.append(Leak(source: source, what: "\(name) at byte \(start)")) }
            }
        }
        for windowless in windows where windowless.key.count < Self.minimumRun {
            if text.contains(String(decoding: windowless.key, as: UTF8.self)) {
                found.append(Leak(source: source, what: windowless.value))
            }
        }
        for pattern in Self.patterns {
            if let range = text.range(of: pattern.expression, options: [.regularExpression, .caseInsensitive]) {
                found.append(Leak(source: source, what: "\(pattern.name) at \(text.distance(from: text.startIndex, to: range.lowerBound))"))
            }
        }
        return found
    }

    /// What a signed request carries, in the forms it could reach a log.
    static let patterns: [(name: String, expression: String)] = [
        ("a SigV4 Authorization header", #"AWS4-HMAC-SHA256\s+Credential="#),
        ("a SigV4 signature", #"Signature=[0-9a-f]{16}"#),
        ("a presigned signature", #"X-Amz-Signature=(?!REDACTED)[^&\s"]+"#),
        ("a presigned session token", #"X-Amz-Security-Token=(?!REDACTED)[^&\s"]+"#),
        ("a presigned credential", #"X-Amz-Credential=(?!REDACTED)[^&\s"]+"#),
        ("a session token header", #"X-Amz-Security-Token"?\s*[:=]\s*"?[A-Za-z0-9+/=]{16}"#),
        ("a basic-auth header", #"Authorization"?\s*[:=]\s*"?Basic\s+[A-Za-z0-9+/=]{8}"#),
    ]
}
