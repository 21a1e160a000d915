import HTTPTransport
package import Primitives

/// A configuration problem found at start-up, saying what to set.
package struct AWSConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        case missingRegion = "MissingRegion"
        case invalidEndpoint = "InvalidEndpoint"
        case invalidSetting = "InvalidSetting"
        case unreadableProfile = "UnreadableProfile"
        case noCredentials = "NoCredentials"
    }
    package var code: Code
    /// The setting at fault (an environment variable or file), named so an operator can fix it.
    package var setting: String
    package var detail: String

    package init(_ code: Code, setting: String, detail: String) {
        self.code = code
        self.setting = setting
        self.detail = detail
    }

    package var description: String { "\(setting): \(detail)" }
}

/// Which AWS service a client talks to: how it is signed and where its endpoint comes from.
package struct AWSService: Sendable, Hashable {
    /// The SigV4 signing name (`s3`, `sqs`, `dynamodb`, `ssm`, `es`, `aoss`, `sts`).
    package var signingName: String
    /// The host prefix of the default endpoint (`sqs` in `sqs.eu-west-2.amazonaws.com`).
    package var endpointPrefix: String
    /// The suffix of `AWS_ENDPOINT_URL_<SUFFIX>`.
    package var environmentSuffix: String

    package init(signingName: String, endpointPrefix: String, environmentSuffix: String) {
        self.signingName = signingName
        self.endpointPrefix = endpointPrefix
        self.environmentSuffix = environmentSuffix
    }

    package static let s3 = AWSService(signingName: "s3", endpointPrefix: "s3", environmentSuffix: "S3")
    package static let sqs = AWSService(signingName: "sqs", endpointPrefix: "sqs", environmentSuffix: "SQS")
    package static let dynamoDB = AWSService(signingName: "dynamodb", endpointPrefix: "dynamodb", environmentSuffix: "DYNAMODB")
    package static let ssm = AWSService(signingName: "ssm", endpointPrefix: "ssm", environmentSuffix: "SSM")
    package static let sts = AWSService(signingName: "sts", endpointPrefix: "sts", environmentSuffix: "STS")
    package static let iam = AWSService(signingName: "iam", endpointPrefix: "iam", environmentSuffix: "IAM")
    /// OpenSearch managed domains sign as `es`; their endpoint is a setting of its own.
    package static let openSearch = AWSService(signingName: "es", endpointPrefix: "es", environmentSuffix: "ES")
    /// OpenSearch Serverless collections sign as `aoss`.
    package static let openSearchServerless = AWSService(signingName: "aoss", endpointPrefix: "aoss", environmentSuffix: "AOSS")
}

/// A service endpoint: scheme, host, port and an optional base path.
package struct ServiceEndpoint: Sendable, Hashable, CustomStringConvertible {
    package var scheme: String
    package var host: String
    package var port: Int?
    /// A path prefix without a trailing slash (usually empty).
    package var basePath: String
    /// Whether this endpoint was configured rather than derived (custom endpoints use path-style S3).
    package var isCustom: Bool

    /// Parses `scheme://host[:port][/path]`; only http and https are accepted.
    package init(parsing text: String, isCustom: Bool = true) throws(AWSConfigError) {
        func invalid(_ why: String) -> AWSConfigError {
            // The URL as given may hold a password (user information): it is quoted without it.
            AWSConfigError(.invalidEndpoint, setting: "endpoint URL", detail: "'\(RedactedURL.redact(text))' is not a valid endpoint URL: \(why)")
        }
        guard let schemeEnd = text.firstRange(of: "://") else { throw invalid("it has no scheme (expected http:// or https://)") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw invalid("the scheme must be http or https") }
        var rest = text[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") { throw invalid("it must not have a query or fragment") }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        if rest.contains("@") { throw invalid("it must not carry user information") }
        var host = String(rest)
        var port: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw invalid("bad port") }
                port = p
            } else if !after.isEmpty {
                throw invalid("unexpected text after the host")
            }
            host = String(host[...close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { throw invalid("bad port") }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw invalid("it has no host") }
        while path.hasSuffix("/") { path.removeLast() }
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = path
        self.isCustom = isCustom
    }

    package init(scheme: String, host: String, port: Int? = nil, basePath: String = "", isCustom: Bool) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = basePath
        self.isCustom = isCustom
    }

    /// `host` or `host:port` when the port is not the scheme's default.
    package var authority: String {
        guard let port, !(scheme == "https" && port == 443), !(scheme == "http" && port == 80) else { return host }
        return "\(host):\(port)"
    }

    /// `scheme://authority` followed by the base path.
    package var baseURL: String { "\(scheme)://\(authority)\(basePath)" }

    package var description: String { baseURL }
}

/// The AWS settings shared by every client, resolved once at start-up from the environment.
package struct AWSSettings: Sendable {
    package var region: String
    package var maxAttempts: Int
    package var environment: Environment

    /// Reads region and retry settings; fails with a typed error that says what to set.
    package init(environment: Environment) throws(AWSConfigError) {
        guard let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] else {
            throw AWSConfigError(
                .missingRegion, setting: "AWS_REGION",
                detail: "no AWS region is configured: set AWS_REGION (or AWS_DEFAULT_REGION), for example AWS_REGION=eu-west-2"
            )
        }
        guard Self.isValidRegion(region) else {
            throw AWSConfigError(
                .invalidSetting, setting: "AWS_REGION", detail: "'\(region)' is not a region name (expected for example eu-west-2)")
        }
        self.region = region
        if let text = environment["AWS_MAX_ATTEMPTS"] {
            guard let attempts = Int(text), (1...20).contains(attempts) else {
                throw AWSConfigError(
                    .invalidSetting, setting: "AWS_MAX_ATTEMPTS", detail: "'\(text)' is not a whole number from 1 to 20")
            }
            maxAttempts = attempts
        } else {
            maxAttempts = 3
        }
        self.environment = environment
        // Validate every configured endpoint now rather than on the first request.
        for (name, value) in environment.values where name.hasPrefix("AWS_ENDPOINT_URL") && !value.isEmpty {
            do {
                _ = try ServiceEndpoint(parsing: value)
            } catch {
                throw AWSConfigError(.invalidEndpoint, setting: name, detail: error.detail)
            }
        }
    }

    static func isValidRegion(_ region: String) -> Bool {
        !region.isEmpty && region.utf8.count <= 64
            && region.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    /// The endpoint of `service`: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the
    /// public regional endpoint. `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` ignores both variables.
    package func endpoint(for service: AWSService) throws(AWSConfigError) -> ServiceEndpoint {
        let ignore = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true"
        if !ignore {
            for name in ["AWS_ENDPOINT_URL_\(service.environmentSuffix)", "AWS_ENDPOINT_URL"] {
                if let value = environment[name] {
                    do {
                        return try ServiceEndpoint(parsing: value)
                    } catch {
                        throw AWSConfigError(.invalidEndpoint, setting: name, detail: error.detail)
                    }
                }
            }
        }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return ServiceEndpoint(scheme: "https", host: "\(service.endpointPrefix).\(region).\(suffix)", isCustom: false)
    }
}
