package import Primitives

/// An AWS access key, optionally temporary. Its description never shows the secret or the token.
package struct AWSCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var accessKeyId: String
    package var secretAccessKey: String
    package var sessionToken: String?
    /// When temporary credentials stop working; `nil` for long-term keys.
    package var expiration: Timestamp?

    package init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Timestamp? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    package var description: String {
        "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"))"
    }
    package var debugDescription: String { description }
    /// `dump` and mirrors show the key id only.
    package var customMirror: Mirror { Mirror(self, children: ["accessKeyId": accessKeyId], displayStyle: .struct) }
}
