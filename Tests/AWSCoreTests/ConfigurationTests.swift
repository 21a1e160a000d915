import AWSCore
import Primitives
import Testing

@Suite("Region, endpoints and settings")
struct ConfigurationTests {
    @Test("AWS_REGION wins over AWS_DEFAULT_REGION")
    func regionOrder() throws {
        let settings = try AWSSettings(environment: Environment(["AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "us-east-1"]))
        #expect(settings.region == "eu-west-2")
        let fallback = try AWSSettings(environment: Environment(["AWS_DEFAULT_REGION": "us-east-1"]))
        #expect(fallback.region == "us-east-1")
    }

    @Test("A missing region is an error that says what to set")
    func missingRegion() {
        #expect {
            try AWSSettings(environment: Environment([:]))
        } throws: { error in
            let config = error as? AWSConfigError
            return config?.code == .missingRegion && config?.description.contains("AWS_REGION") == true
        }
    }

    @Test("A malformed endpoint URL is found at start-up and names its variable")
    func malformedEndpoint() {
        #expect {
            try AWSSettings(environment: Environment(["AWS_REGION": "eu-west-2", "AWS_ENDPOINT_URL_SQS": "localhost:4566"]))
        } throws: { error in
            let config = error as? AWSConfigError
            return config?.code == .invalidEndpoint && config?.setting == "AWS_ENDPOINT_URL_SQS"
        }
    }

    @Test("An endpoint URL with a password is refused, and the error quotes it without the password")
    func endpointPasswordNotEchoed() throws {
        for text in ["https://admin:Sup3r-Secret-Pw@search.example.com", "admin:Sup3r-Secret-Pw@search.example.com:9200"] {
            do {
                _ = try ServiceEndpoint(parsing: text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.code == .invalidEndpoint)
                #expect(!error.description.contains("Sup3r-Secret-Pw"), "\(error)")
                #expect(error.description.contains("REDACTED@search.example.com"), "\(error)")
            }
        }
    }

    @Test("AWS_MAX_ATTEMPTS must be a small whole number")
    func maxAttempts() throws {
        let settings = try AWSSettings(environment: Environment(["AWS_REGION": "eu-west-2", "AWS_MAX_ATTEMPTS": "5"]))
        #expect(settings.maxAttempts == 5)
        #expect(throws: AWSConfigError.self) {
            try AWSSettings(environment: Environment(["AWS_REGION": "eu-west-2", "AWS_MAX_ATTEMPTS": "many"]))
        }
    }

    @Test("The service endpoint variable wins over the global one, and both can be ignored")
    func endpointPrecedence() throws {
        var env = ["AWS_REGION": "eu-west-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:6000/base/"]
        var settings = try AWSSettings(environment: Environment(env))
        #expect(try settings.endpoint(for: .s3).baseURL == "http://127.0.0.1:6000/base")
        #expect(try settings.endpoint(for: .sqs).baseURL == "http://127.0.0.1:5000")
        #expect(try settings.endpoint(for: .sqs).isCustom)
        env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
        settings = try AWSSettings(environment: Environment(env))
        let sqs = try settings.endpoint(for: .sqs)
        #expect(sqs.baseURL == "https://sqs.eu-west-2.amazonaws.com")
        #expect(!sqs.isCustom)
    }

    @Test("Endpoint URLs keep non-default ports and drop default ones")
    func endpointAuthority() throws {
        #expect(try ServiceEndpoint(parsing: "https://example.com:443").authority == "example.com")
        #expect(try ServiceEndpoint(parsing: "http://example.com:80").authority == "example.com")
        #expect(try ServiceEndpoint(parsing: "http://[::1]:9200").authority == "[::1]:9200")
        #expect(throws: AWSConfigError.self) { try ServiceEndpoint(parsing: "ftp://example.com") }
        #expect(throws: AWSConfigError.self) { try ServiceEndpoint(parsing: "http://user:pass@example.com") }
        #expect(throws: AWSConfigError.self) { try ServiceEndpoint(parsing: "http://example.com:99999") }
    }
}
