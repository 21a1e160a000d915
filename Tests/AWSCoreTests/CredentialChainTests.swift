import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import Primitives
import Synchronization
import Testing
import TestSupport

@Suite("Credential chain")
struct CredentialChainTests {
    let noNetwork = ClosureTransport { request, _ throws(HTTPError) in
        throw HTTPError(.connectFailed, url: request.url, detail: "no network in this test")
    }

    func settings(_ values: [String: String]) throws -> AWSSettings {
        var env = values
        env["AWS_REGION"] = env["AWS_REGION"] ?? "eu-west-2"
        env["AWS_EC2_METADATA_DISABLED"] = env["AWS_EC2_METADATA_DISABLED"] ?? "true"
        return try AWSSettings(environment: Environment(env))
    }

    @Test("Environment variables come first, with the session token")
    func environmentFirst() async throws {
        let provider = try await CredentialChain.resolve(
            settings: settings([
                "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
                "AWS_SHARED_CREDENTIALS_FILE": try fixturePath("profiles/credentials"),
            ]),
            transport: noNetwork, home: "/nonexistent")
        let credentials = try await provider.credentials()
        #expect(provider.sourceName == "environment")
        #expect(credentials == AWSCredentials(accessKeyId: "AKIDENV", secretAccessKey: "env-secret", sessionToken: "env-token"))
    }

    @Test("A key id without a secret is an error naming the missing variable")
    func incompleteEnvironment() async throws {
        await #expect {
            _ = try await CredentialChain.resolve(
                settings: settings(["AWS_ACCESS_KEY_ID": "AKIDENV"]), transport: noNetwork, home: "/nonexistent")
        } throws: { error in
            (error as? AWSCredentialError)?.code == .incomplete
                && (error as? AWSCredentialError)?.detail.contains("AWS_SECRET_ACCESS_KEY") == true
        }
    }

    @Test("AWS_PROFILE selects a section of the shared credentials file")
    func namedProfile() async throws {
        let provider = try await CredentialChain.resolve(
            settings: settings([
                "AWS_PROFILE": "ci", "AWS_SHARED_CREDENTIALS_FILE": try fixturePath("profiles/credentials"),
                "AWS_CONFIG_FILE": try fixturePath("profiles/config"),
            ]),
            transport: noNetwork, home: "/nonexistent")
        #expect(provider.sourceName == "profile ci")
        #expect(try await provider.credentials() == AWSCredentials(accessKeyId: "AKIDCI", secretAccessKey: "ci-secret", sessionToken: "ci-token"))
    }

    @Test("The default profile is used when AWS_PROFILE is unset")
    func defaultProfile() async throws {
        let provider = try await CredentialChain.resolve(
            settings: settings(["AWS_SHARED_CREDENTIALS_FILE": try fixturePath("profiles/credentials")]),
            transport: noNetwork, home: "/nonexistent")
        #expect(try await provider.credentials().accessKeyId == "AKIDDEFAULT")
        #expect(try await provider.credentials().secretAccessKey == "default/secret+key")
    }

    @Test("Keys in the config file's [profile name] section are found")
    func configFileProfile() async throws {
        let provider = try await CredentialChain.resolve(
            settings: settings([
                "AWS_PROFILE": "from-config", "AWS_SHARED_CREDENTIALS_FILE": try fixturePath("profiles/credentials"),
                "AWS_CONFIG_FILE": try fixturePath("profiles/config"),
            ]),
            transport: noNetwork, home: "/nonexistent")
        #expect(try await provider.credentials().accessKeyId == "AKIDCONFIG")
    }

    @Test("An unknown AWS_PROFILE is an error that names it")
    func unknownProfile() async throws {
        await #expect {
            _ = try await CredentialChain.resolve(
                settings: settings(["AWS_PROFILE": "nope", "AWS_SHARED_CREDENTIALS_FILE": try fixturePath("profiles/credentials")]),
                transport: noNetwork, home: "/nonexistent")
        } throws: { error in
            (error as? AWSCredentialError)?.code == .profileNotFound && "\(error)".contains("nope")
        }
    }

    @Test("A profile with only half a key pair is an error")
    func halfProfile() async throws {
        await #expect {
            _ = try await CredentialChain.resolve(
                settings: settings(["AWS_PROFILE": "half", "AWS_SHARED_CREDENTIALS_FILE": try fixturePath("profiles/credentials")]),
                transport: noNetwork, home: "/nonexistent")
        } throws: { error in (error as? AWSCredentialError)?.code == .incomplete }
    }

    @Test("A credentials file that does not exist is an error when named explicitly")
    func missingFile() async throws {
        await #expect {
            _ = try await CredentialChain.resolve(
                settings: settings(["AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials"]), transport: noNetwork,
                home: "/nonexistent")
        } throws: { error in (error as? AWSCredentialError)?.code == .unreadableFile }
    }

    @Test("Nothing configured is a NoCredentials error that says what to set")
    func nothingConfigured() async throws {
        await #expect {
            _ = try await CredentialChain.resolve(settings: settings([:]), transport: noNetwork, home: "/nonexistent")
        } throws: { error in
            (error as? AWSCredentialError)?.code == .noCredentials && "\(error)".contains("AWS_ACCESS_KEY_ID")
        }
    }

    @Test("The container endpoint is called with the token from the token file")
    func containerEndpoint() async throws {
        let tokenFile = NSTemporaryDirectory() + "container-token-\(UUID().uuidString)"
        try "token-from-file\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let transport = ClosureTransport { request, _ throws(HTTPError) in
            #expect(request.url == "http://169.254.170.2/v2/credentials/abc")
            #expect(request.headers["Authorization"] == "token-from-file")
            return HTTPResponse(
                status: 200,
                body: Array(#"{"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"c-secret","Token":"c-token","Expiration":"2099-01-01T00:00:00Z"}"#.utf8))
        }
        let provider = try await CredentialChain.resolve(
            settings: settings([
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored",
            ]),
            transport: transport, home: "/nonexistent")
        let credentials = try await provider.credentials()
        #expect(provider.sourceName == "container")
        #expect(credentials.accessKeyId == "ASIACONTAINER")
        #expect(credentials.sessionToken == "c-token")
        #expect(credentials.expiration == Timestamp(iso8601: "2099-01-01T00:00:00Z"))
    }

    @Test("A full container URI must be https or a local address")
    func containerFullURIRules() async throws {
        await #expect {
            _ = try await CredentialChain.resolve(
                settings: settings(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds"]), transport: noNetwork,
                home: "/nonexistent")
        } throws: { error in (error as? AWSCredentialError)?.code == .invalidEndpoint }
    }

    @Test("A container token holding a line break is refused")
    func containerTokenNewline() async throws {
        await #expect {
            _ = try await CredentialChain.resolve(
                settings: settings([
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "abc\r\nX-Injected: 1",
                ]),
                transport: noNetwork, home: "/nonexistent")
        } throws: { error in (error as? AWSCredentialError)?.code == .invalidResponse }
    }

    @Test("IMDSv2 asks for a session token, then the role, then its credentials")
    func imdsV2() async throws {
        let transport = ClosureTransport { request, index throws(HTTPError) in
            switch index {
            case 0:
                #expect(request.method == "PUT")
                #expect(request.url == "http://127.0.0.1:9/latest/api/token")
                #expect(request.headers["X-aws-ec2-metadata-token-ttl-seconds"] == "21600")
                return HTTPResponse(status: 200, body: Array("imds-token".utf8))
            case 1:
                #expect(request.url == "http://127.0.0.1:9/latest/meta-data/iam/security-credentials/")
                #expect(request.headers["X-aws-ec2-metadata-token"] == "imds-token")
                return HTTPResponse(status: 200, body: Array("my-role\n".utf8))
            default:
                #expect(request.url == "http://127.0.0.1:9/latest/meta-data/iam/security-credentials/my-role")
                return HTTPResponse(
                    status: 200,
                    body: Array(#"{"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"i-secret","Token":"i-token","Expiration":"2099-01-01T00:00:00Z"}"#.utf8))
            }
        }
        let provider = try await CredentialChain.resolve(
            settings: settings([
                "AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9",
            ]),
            transport: transport, home: "/nonexistent")
        #expect(try await provider.credentials().accessKeyId == "ASIAIMDS")
        #expect(transport.requests.count == 3)
    }

    @Test("Temporary credentials are refreshed once before they expire, however many callers wait")
    func singleFlightRefresh() async throws {
        let clock = ManualClock(Timestamp(secondsSinceEpoch: 1_700_000_000))
        let fetches = Mutex(0)
        let provider = RefreshingCredentialProvider(sourceName: "test", clock: clock) { () throws(AWSCredentialError) in
            let n = fetches.withLock { count -> Int in
                count += 1
                return count
            }
            try? await Task.sleep(for: .milliseconds(50))
            return AWSCredentials(
                accessKeyId: "ASIA\(n)", secretAccessKey: "s", sessionToken: "t",
                expiration: clock.now().adding(seconds: 3600))
        }
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 { group.addTask { try await provider.credentials().accessKeyId } }
            for try await id in group { #expect(id == "ASIA1") }
        }
        #expect(fetches.withLock { $0 } == 1)
        // Still fresh 50 minutes later; within 5 minutes of expiry it is refreshed, once.
        clock.advance(seconds: 50 * 60)
        #expect(try await provider.credentials().accessKeyId == "ASIA1")
        clock.advance(seconds: 6 * 60)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await provider.credentials().accessKeyId } }
            for try await id in group { #expect(id == "ASIA2") }
        }
        #expect(fetches.withLock { $0 } == 2)
    }

    @Test("Credentials never print their secret or token")
    func redactedDescription() {
        let credentials = AWSCredentials(accessKeyId: "AKID", secretAccessKey: "very-secret", sessionToken: "tok-secret")
        for text in ["\(credentials)", String(reflecting: credentials)] {
            #expect(!text.contains("very-secret"))
            #expect(!text.contains("tok-secret"))
        }
    }
}
