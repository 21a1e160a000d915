import AWSClients
import AWSCore
import Testing
import TestSupport

/// Parameter Store calls against a real moto server with signature checking on. Each test works
/// under its own path.
@Suite("SSM Parameter Store against moto")
struct SSMMotoTests {
    let ssm: SSMClient
    let root: String

    init() async throws {
        ssm = try await DynamoDBSSMMoto.ssm()
        root = "/" + DynamoDBSSMMoto.uniqueName("params")
    }

    @Test("A String parameter is written, read back with its version, and deleted")
    func putGetDelete() async throws {
        let name = "\(root)/bucket"
        let version = try await ssm.putParameter(name, value: "dropbox-bucket", description: "where files land")
        #expect(version == 1)
        let parameter = try await ssm.getParameter(name)
        #expect(parameter.name == name)
        #expect(parameter.type == .string)
        #expect(parameter.value == "dropbox-bucket")
        #expect(parameter.version == 1)
        #expect(parameter.lastModified != nil)
        #expect(parameter.arn?.hasSuffix(":parameter\(name)") == true)

        try await ssm.deleteParameter(name)
        await #expect {
            _ = try await ssm.getParameter(name)
        } throws: { error in
            guard case .parameterNotFound(let missing) = error as? SSMError else { return false }
            return missing == name
        }
    }

    @Test("Without overwrite an existing name is ParameterAlreadyExists; with it the version goes up")
    func overwriteSemantics() async throws {
        let name = "\(root)/threshold"
        try await ssm.putParameter(name, value: "10")
        do {
            try await ssm.putParameter(name, value: "20")
            Issue.record("a second put without overwrite succeeded")
        } catch {
            guard case .parameterAlreadyExists(let existing) = error else {
                Issue.record("expected parameterAlreadyExists, got \(error)")
                return
            }
            #expect(existing == name)
            #expect(error.code == "ParameterAlreadyExists")
        }
        #expect(try await ssm.getParameter(name).value == "10")
        let version = try await ssm.putParameter(name, value: "20", overwrite: true)
        #expect(version == 2)
        let parameter = try await ssm.getParameter(name)
        #expect(parameter.value == "20")
        #expect(parameter.version == 2)
    }

    @Test("A SecureString reads as ciphertext without decryption and as the secret with it; it never prints")
    func secureString() async throws {
        let name = "\(root)/db-password"
        let secret = "s3cr3t-Pa55word!"
        try await ssm.putParameter(name, value: secret, type: .secureString)
        let decrypted = try await ssm.getParameter(name, withDecryption: true)
        #expect(decrypted.type == .secureString)
        #expect(decrypted.value == secret)
        let encrypted = try await ssm.getParameter(name, withDecryption: false)
        #expect(encrypted.value != secret)
        #expect(!"\(decrypted)".contains(secret))
        #expect(!String(reflecting: decrypted).contains(secret))
        var dumped = ""
        dump(decrypted, to: &dumped)
        #expect(!dumped.contains(secret))
    }

    @Test("A StringList keeps its elements")
    func stringList() async throws {
        let name = "\(root)/datasets"
        try await ssm.putParameter(name, value: "orders,customers,,products", type: .stringList)
        let parameter = try await ssm.getParameter(name)
        #expect(parameter.type == .stringList)
        #expect(parameter.listValue == ["orders", "customers", "", "products"])
    }

    @Test("GetParametersByPath pages with a small MaxResults; the helper walks all pages; Recursive reaches deeper levels")
    func byPathPaging() async throws {
        for index in 0..<7 {
            try await ssm.putParameter("\(root)/settings/key\(index)", value: "value\(index)")
        }
        try await ssm.putParameter("\(root)/settings/nested/deep", value: "deep", type: .secureString)

        var names: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try await ssm.getParametersByPath("\(root)/settings", maxResults: 3, nextToken: token)
            #expect(page.parameters.count <= 3)
            names += page.parameters.map(\.name)
            token = page.nextToken
            pages += 1
        } while token != nil && pages < 10
        #expect(pages == 3)
        #expect(names.sorted() == (0..<7).map { "\(root)/settings/key\($0)" })

        let all = try await ssm.getAllParametersByPath("\(root)/settings", pageSize: 2)
        #expect(all.count == 7)
        let recursive = try await ssm.getAllParametersByPath("\(root)/settings", recursive: true, withDecryption: true, pageSize: 4)
        #expect(recursive.count == 8)
        #expect(recursive.first { $0.name.hasSuffix("/nested/deep") }?.value == "deep")
    }

    @Test("Deleting a missing parameter is ParameterNotFound naming it")
    func deleteMissing() async throws {
        let name = "\(root)/never-written"
        await #expect {
            try await ssm.deleteParameter(name)
        } throws: { error in
            guard case .parameterNotFound(let missing) = error as? SSMError else { return false }
            return missing == name
        }
    }

    @Test("Bad input is refused before sending with a typed error that does not echo the value")
    func invalidInput() async throws {
        await #expect {
            try await ssm.putParameter("\(root)/empty", value: "")
        } throws: { error in
            (error as? SSMError)?.code == "InvalidRequest"
        }
        await #expect {
            _ = try await ssm.getParameter("")
        } throws: { error in
            (error as? SSMError)?.code == "InvalidRequest"
        }
        await #expect {
            _ = try await ssm.getParametersByPath("no-slash")
        } throws: { error in
            (error as? SSMError)?.code == "InvalidRequest"
        }
        await #expect {
            _ = try await ssm.getParametersByPath(root, maxResults: 11)
        } throws: { error in
            (error as? SSMError)?.code == "InvalidRequest"
        }
    }

    @Test("A service error that echoes the value being written has it cut out")
    func valueScrubbedFromServiceErrors() async throws {
        // moto rejects an unknown type with a ValidationException; its message holds no value, so
        // build one that does, the way some AWS validation messages quote the input.
        let secret = "hunter2-secret-value"
        let echoed = AWSError.service(
            AWSServiceError(status: 400, code: "ValidationException", message: "Value '\(secret)' at 'value' failed to satisfy constraint"))
        let typed = SSMError.from(echoed, name: "/x", secret: secret)
        #expect(typed.code == "ValidationException")
        #expect(!"\(typed)".contains(secret))
        #expect("\(typed)".contains("<redacted>"))
    }

    @Test("A request signed with a tampered secret is rejected with the code from moto's XML body; no secret in the error")
    func tamperedSecret() async throws {
        let realSecret = try await SharedMoto.get().secretAccessKey
        let tampered = try await DynamoDBSSMMoto.ssm(secretOverride: String(realSecret.reversed()))
        let value = "top-secret-value-123"
        do {
            try await tampered.putParameter("\(root)/tampered", value: value, type: .secureString)
            Issue.record("a request with the wrong secret was accepted")
        } catch {
            guard case .aws(.service(let service)) = error else {
                Issue.record("expected a service error, got \(error)")
                return
            }
            #expect(service.status == 403)
            #expect(["SignatureDoesNotMatch", "InvalidSignatureException"].contains(service.code))
            #expect(!"\(error)".contains(realSecret))
            #expect(!"\(error)".contains(String(realSecret.reversed())))
            #expect(!"\(error)".contains(value))
        }
        // Nothing was written.
        await #expect(throws: SSMError.self) { _ = try await ssm.getParameter("\(root)/tampered") }
    }
}
