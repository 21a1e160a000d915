import AWSSigV4
package import HTTPTransport
import JSONCodec
package import Primitives
import XMLCodec

/// The default credential chain, in the SDKs' order: environment variables, the shared
/// credentials/config files (`AWS_PROFILE`), web identity (`AWS_ROLE_ARN` +
/// `AWS_WEB_IDENTITY_TOKEN_FILE`), the container credentials endpoint, then IMDSv2.
///
/// `resolve` runs at start-up: it picks the first source that is configured and fetches from it
/// once, so that bad configuration is reported before the first request rather than on it.
package enum CredentialChain {
    package static func resolve(
        settings: AWSSettings,
        transport: any HTTPTransport,
        clock: any WallClock = SystemClock(),
        home: String? = nil
    ) async throws(AWSCredentialError) -> any CredentialProvider {
        let env = settings.environment
        if let provider = try environmentProvider(env) { return provider }
        if let provider = try profileProvider(env, home: home ?? env["HOME"]) { return provider }
        if let roleArn = env["AWS_ROLE_ARN"], let tokenFile = env["AWS_WEB_IDENTITY_TOKEN_FILE"] {
            let provider = try WebIdentityCredentialSource(
                roleArn: roleArn, tokenFile: tokenFile, sessionName: env["AWS_ROLE_SESSION_NAME"],
                settings: settings, transport: transport
            ).provider(clock: clock)
            _ = try await provider.credentials()
            return provider
        }
        if let source = try ContainerCredentialSource(environment: env, transport: transport) {
            let provider = source.provider(clock: clock)
            _ = try await provider.credentials()
            return provider
        }
        if env["AWS_EC2_METADATA_DISABLED"]?.lowercased() != "true" {
            let source = IMDSCredentialSource(
                endpoint: env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254", transport: transport)
            let provider = source.provider(clock: clock)
            do {
                _ = try await provider.credentials()
                return provider
            } catch {
                throw AWSCredentialError(
                    .noCredentials,
                    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a "
                        + "shared credentials file, or run where a container or instance role provides them "
                        + "(instance metadata: \(error.detail))"
                )
            }
        }
        throw AWSCredentialError(
            .noCredentials,
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a shared credentials file"
        )
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optional `AWS_SESSION_TOKEN`.
    package static func environmentProvider(_ env: Environment) throws(AWSCredentialError) -> (any CredentialProvider)? {
        let keyId = env["AWS_ACCESS_KEY_ID"]
        let secret = env["AWS_SECRET_ACCESS_KEY"]
        switch (keyId, secret) {
        case (nil, nil): return nil
        case (.some, nil):
            throw AWSCredentialError(.incomplete, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both")
        case (nil, .some):
            throw AWSCredentialError(.incomplete, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both")
        case (.some(let keyId), .some(let secret)):
            return StaticCredentialProvider(
                AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: env["AWS_SESSION_TOKEN"]),
                sourceName: "environment"
            )
        }
    }

    /// Static keys from the shared files. A profile named by `AWS_PROFILE` must exist; the
    /// default profile is optional (the chain moves on without it).
    package static func profileProvider(_ env: Environment, home: String?) throws(AWSCredentialError) -> (any CredentialProvider)? {
        let explicit = env["AWS_PROFILE"]
        let name = explicit ?? "default"
        let credentialsPath = env["AWS_SHARED_CREDENTIALS_FILE"] ?? home.map { "\($0)/.aws/credentials" }
        let configPath = env["AWS_CONFIG_FILE"] ?? home.map { "\($0)/.aws/config" }
        var merged: [String: String] = [:]
        var found = false
        for (path, isConfig, variable) in [
            (configPath, true, "AWS_CONFIG_FILE"), (credentialsPath, false, "AWS_SHARED_CREDENTIALS_FILE"),
        ] {
            guard let path else { continue }
            guard FileIO.exists(path) else {
                if env[variable] != nil {
                    throw AWSCredentialError(.unreadableFile, "\(variable) names \(path), which does not exist")
                }
                continue
            }
            let text: String
            do {
                text = try FileIO.readString(path, limit: 1 << 20)
            } catch {
                throw AWSCredentialError(.unreadableFile, "\(error) (check \(variable))")
            }
            if let section = ProfileFile(parsing: text).profile(name, isConfigFile: isConfig) {
                found = true
                // The credentials file wins over the config file.
                merged.merge(section) { _, new in new }
            }
        }
        guard found else {
            if let explicit {
                throw AWSCredentialError(
                    .profileNotFound,
                    "AWS_PROFILE is '\(explicit)' but no such profile is in \(credentialsPath ?? "~/.aws/credentials") or \(configPath ?? "~/.aws/config")"
                )
            }
            return nil
        }
        switch (merged["aws_access_key_id"], merged["aws_secret_access_key"]) {
        case (.some(let keyId), .some(let secret)) where !keyId.isEmpty && !secret.isEmpty:
            return StaticCredentialProvider(
                AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: merged["aws_session_token"]),
                sourceName: "profile \(name)"
            )
        case (nil, nil):
            if explicit != nil {
                throw AWSCredentialError(
                    .incomplete,
                    "profile '\(name)' has no aws_access_key_id/aws_secret_access_key (role and SSO profiles are not supported)")
            }
            return nil
        default:
            throw AWSCredentialError(.incomplete, "profile '\(name)' needs both aws_access_key_id and aws_secret_access_key")
        }
    }
}

/// Reads the JSON document that container and instance credential endpoints answer with.
func parseCredentialDocument(_ body: [UInt8], source: String) throws(AWSCredentialError) -> AWSCredentials {
    guard let json = try? JSONParser.parse(body),
        let keyId = json["AccessKeyId"]?.stringValue, let secret = json["SecretAccessKey"]?.stringValue
    else {
        throw AWSCredentialError(.invalidResponse, "\(source) answered without AccessKeyId and SecretAccessKey")
    }
    var expiration: Timestamp?
    if let text = json["Expiration"]?.stringValue {
        guard let parsed = Timestamp(iso8601: text) else {
            throw AWSCredentialError(.invalidResponse, "\(source) answered with an unreadable Expiration")
        }
        expiration = parsed
    }
    return AWSCredentials(
        accessKeyId: keyId, secretAccessKey: secret, sessionToken: json["Token"]?.stringValue, expiration: expiration)
}

/// Options for the short, local calls to credential endpoints.
let credentialEndpointOptions = HTTPRequestOptions(
    connectTimeout: .seconds(1), totalTimeout: .seconds(5), lowSpeedBytesPerSecond: nil, lowSpeedTime: nil
)

/// The ECS/EKS/Lambda-extension container credentials endpoint.
package struct ContainerCredentialSource: Sendable {
    package let url: String
    let tokenFile: String?
    let token: String?
    let transport: any HTTPTransport

    /// `nil` when neither `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` nor `_FULL_URI` is set.
    package init?(environment env: Environment, transport: any HTTPTransport) throws(AWSCredentialError) {
        if let relative = env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            url = "http://169.254.170.2" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
            guard Self.isAllowed(fullURI: full) else {
                throw AWSCredentialError(
                    .invalidEndpoint,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23"
                )
            }
            url = full
        } else {
            return nil
        }
        tokenFile = env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]
        token = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        self.transport = transport
    }

    static func isAllowed(fullURI: String) -> Bool {
        guard let endpoint = try? ServiceEndpoint(parsing: fullURI) else { return false }
        if endpoint.scheme == "https" { return true }
        let host = endpoint.host.lowercased()
        return host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || host == "169.254.170.2"
            || host == "169.254.170.23" || host == "[fd00:ec2::23]"
    }

    package func provider(clock: any WallClock) -> RefreshingCredentialProvider {
        RefreshingCredentialProvider(sourceName: "container", clock: clock) { () throws(AWSCredentialError) in
            try await fetch()
        }
    }

    func fetch() async throws(AWSCredentialError) -> AWSCredentials {
        var headers = HTTPHeaders()
        var authorization: String?
        if let tokenFile {
            do {
                authorization = try FileIO.readString(tokenFile, limit: 16 << 10)
            } catch {
                throw AWSCredentialError(.unreadableFile, "\(error) (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)")
            }
            // The file may end with a newline; anything else with a line break is refused.
            while let last = authorization?.utf8.last, last == 0x0A || last == 0x0D { authorization?.removeLast() }
        } else {
            authorization = token
        }
        if let authorization {
            // Byte-wise: "\r\n" is one Character, so String.contains("\n") would miss it.
            guard !authorization.utf8.contains(0x0A), !authorization.utf8.contains(0x0D) else {
                throw AWSCredentialError(.invalidResponse, "the container authorization token holds a line break")
            }
            headers.add("Authorization", authorization)
        }
        let response: HTTPResponse
        do {
            response = try await transport.execute(
                HTTPRequest(method: "GET", url: url, headers: headers), options: credentialEndpointOptions,
                maxBodyBytes: 1 << 20)
        } catch {
            throw AWSCredentialError(.fetchFailed, "container credentials endpoint: \(error)")
        }
        guard response.status == 200 else {
            throw AWSCredentialError(.fetchFailed, "container credentials endpoint answered HTTP \(response.status)")
        }
        return try parseCredentialDocument(response.body, source: "the container credentials endpoint")
    }
}

/// EC2 instance metadata, version 2 (session token first).
package struct IMDSCredentialSource: Sendable {
    let endpoint: String
    let transport: any HTTPTransport

    package init(endpoint: String, transport: any HTTPTransport) {
        var base = endpoint
        while base.hasSuffix("/") { base.removeLast() }
        self.endpoint = base
        self.transport = transport
    }

    package func provider(clock: any WallClock) -> RefreshingCredentialProvider {
        RefreshingCredentialProvider(sourceName: "imds", clock: clock) { () throws(AWSCredentialError) in
            try await fetch()
        }
    }

    func fetch() async throws(AWSCredentialError) -> AWSCredentials {
        do {
            let tokenResponse = try await transport.execute(
                HTTPRequest(
                    method: "PUT", url: "\(endpoint)/latest/api/token",
                    headers: ["X-aws-ec2-metadata-token-ttl-seconds": "21600"]),
                options: credentialEndpointOptions, maxBodyBytes: 4096)
            guard tokenResponse.status == 200 else {
                throw AWSCredentialError(.fetchFailed, "instance metadata token request answered HTTP \(tokenResponse.status)")
            }
            let token = String(decoding: tokenResponse.body, as: UTF8.self)
            let headers: HTTPHeaders = ["X-aws-ec2-metadata-token": token]
            let base = "\(endpoint)/latest/meta-data/iam/security-credentials/"
            let roleResponse = try await transport.execute(
                HTTPRequest(method: "GET", url: base, headers: headers), options: credentialEndpointOptions,
                maxBodyBytes: 4096)
            guard roleResponse.status == 200 else {
                throw AWSCredentialError(.fetchFailed, "instance metadata has no role (HTTP \(roleResponse.status))")
            }
            let role = String(decoding: roleResponse.body, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            guard !role.isEmpty else { throw AWSCredentialError(.fetchFailed, "instance metadata lists no role") }
            let credentialResponse = try await transport.execute(
                HTTPRequest(method: "GET", url: base + PercentEncoding.encode(role), headers: headers),
                options: credentialEndpointOptions, maxBodyBytes: 1 << 20)
            guard credentialResponse.status == 200 else {
                throw AWSCredentialError(.fetchFailed, "instance metadata credentials answered HTTP \(credentialResponse.status)")
            }
            return try parseCredentialDocument(credentialResponse.body, source: "instance metadata")
        } catch let error as AWSCredentialError {
            throw error
        } catch {
            throw AWSCredentialError(.fetchFailed, "instance metadata: \(error)")
        }
    }
}

/// `AssumeRoleWithWebIdentity` with the token in `AWS_WEB_IDENTITY_TOKEN_FILE` (EKS, IRSA).
package struct WebIdentityCredentialSource: Sendable {
    let roleArn: String
    let tokenFile: String
    let sessionName: String
    let endpoint: ServiceEndpoint
    let transport: any HTTPTransport

    package init(
        roleArn: String, tokenFile: String, sessionName: String?, settings: AWSSettings, transport: any HTTPTransport
    ) throws(AWSCredentialError) {
        self.roleArn = roleArn
        self.tokenFile = tokenFile
        self.sessionName = sessionName ?? "swift-lambda-pipeline"
        do {
            endpoint = try settings.endpoint(for: .sts)
        } catch {
            throw AWSCredentialError(.invalidEndpoint, error.description)
        }
        self.transport = transport
    }

    package func provider(clock: any WallClock) -> RefreshingCredentialProvider {
        RefreshingCredentialProvider(sourceName: "web identity", clock: clock) { () throws(AWSCredentialError) in
            try await fetch()
        }
    }

    func fetch() async throws(AWSCredentialError) -> AWSCredentials {
        let token: String
        do {
            token = try FileIO.readString(tokenFile, limit: 64 << 10).trimmingSpaces.description
        } catch {
            throw AWSCredentialError(.unreadableFile, "\(error) (AWS_WEB_IDENTITY_TOKEN_FILE)")
        }
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
            ("RoleSessionName", sessionName), ("WebIdentityToken", String(token.unicodeScalars.filter { $0 != "\n" && $0 != "\r" })),
        ].map { "\($0.0)=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")
        let response: HTTPResponse
        do {
            response = try await transport.execute(
                HTTPRequest(
                    method: "POST", url: endpoint.baseURL + "/",
                    headers: ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"],
                    body: .bytes(Array(form.utf8))),
                options: credentialEndpointOptions, maxBodyBytes: 1 << 20)
        } catch {
            throw AWSCredentialError(.fetchFailed, "STS AssumeRoleWithWebIdentity: \(error)")
        }
        guard response.status == 200 else {
            let serviceError = AWSServiceError.from(status: response.status, headers: response.headers, body: response.body)
            throw AWSCredentialError(.fetchFailed, "STS AssumeRoleWithWebIdentity: \(serviceError)")
        }
        guard let xml = try? XMLElement.parse(response.body), let credentials = xml.descendant("Credentials"),
            let keyId = credentials.childText("AccessKeyId"), let secret = credentials.childText("SecretAccessKey")
        else {
            throw AWSCredentialError(.invalidResponse, "STS AssumeRoleWithWebIdentity answered without credentials")
        }
        return AWSCredentials(
            accessKeyId: keyId, secretAccessKey: secret, sessionToken: credentials.childText("SessionToken"),
            expiration: credentials.childText("Expiration").flatMap { Timestamp(iso8601: $0) })
    }
}
