package import Primitives

/// The type of a Parameter Store parameter.
package enum SSMParameterType: String, Sendable, Hashable {
    case string = "String"
    /// Comma-separated values.
    case stringList = "StringList"
    /// Encrypted with KMS; read with `withDecryption: true` to get the plain value.
    case secureString = "SecureString"
}

/// A parameter as read from Parameter Store.
///
/// The value never appears in `description`, `debugDescription` or a mirror (so `print`, string
/// interpolation and `dump` do not leak a SecureString): read it from `value`.
package struct SSMParameter: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var name: String
    package var type: SSMParameterType
    /// The value: plain text, or for a SecureString read without decryption, the ciphertext.
    package var value: String
    package var version: Int64
    package var lastModified: Timestamp?
    package var arn: String?
    /// `text` or `aws:ec2:image`.
    package var dataType: String?

    package init(
        name: String, type: SSMParameterType, value: String, version: Int64, lastModified: Timestamp? = nil,
        arn: String? = nil, dataType: String? = nil
    ) {
        self.name = name
        self.type = type
        self.value = value
        self.version = version
        self.lastModified = lastModified
        self.arn = arn
        self.dataType = dataType
    }

    /// A StringList's elements (split at commas); for other types, the value alone.
    package var listValue: [String] {
        type == .stringList ? value.split(separator: ",", omittingEmptySubsequences: false).map(String.init) : [value]
    }

    package var description: String {
        "SSMParameter(name: \(name), type: \(type.rawValue), version: \(version), value: <\(value.utf8.count) bytes, redacted>)"
    }

    package var debugDescription: String { description }

    package var customMirror: Mirror {
        Mirror(
            self,
            children: ["name": name, "type": type, "version": version, "value": "<redacted>"],
            displayStyle: .struct)
    }
}

/// One page of GetParametersByPath.
package struct SSMParameterPage: Sendable, Hashable {
    package var parameters: [SSMParameter]
    /// Where the next page starts; `nil` on the last page.
    package var nextToken: String?

    package init(parameters: [SSMParameter], nextToken: String?) {
        self.parameters = parameters
        self.nextToken = nextToken
    }
}
