import AWSSigV4
import Foundation
import Primitives
import Testing

@Suite("aws-c-auth SigV4 test suite")
struct SigningTestSuiteTests {
    @Test("The fixture holds all 38 cases") func allCasesPresent() {
        #expect(SuiteCase.names.count == 38)
    }

    @Test("Header signing matches the canonical request, string to sign, signature and signed request", arguments: SuiteCase.names)
    func headerSigning(_ name: String) throws {
        let suiteCase = try SuiteCase(name)
        var request = suiteCase.signableRequest
        let result = try suiteCase.signer.sign(
            &request,
            credentials: suiteCase.credentials,
            payload: .hashing(suiteCase.request.body),
            date: suiteCase.date,
            addContentSHA256Header: suiteCase.context.sign_body
        )
        #expect(result.canonicalRequest == (try suiteCase.expected("header-canonical-request.txt")))
        #expect(result.stringToSign == (try suiteCase.expected("header-string-to-sign.txt")))
        #expect(result.signature == (try suiteCase.expected("header-signature.txt")))
        let signed = SuiteCase.RawRequest.render(
            method: request.method, target: suiteCase.request.target, headers: request.headers, body: suiteCase.request.body
        )
        #expect(signed == (try suiteCase.expected("header-signed-request.txt")))
    }

    @Test("Query signing matches the canonical request, string to sign, signature and presigned request", arguments: SuiteCase.names)
    func querySigning(_ name: String) throws {
        let suiteCase = try SuiteCase(name)
        let request = suiteCase.signableRequest
        let (url, result) = try suiteCase.signer.presignedURL(
            request,
            credentials: suiteCase.credentials,
            expires: suiteCase.context.expiration_in_seconds,
            date: suiteCase.date,
            payload: .hashing(suiteCase.request.body)
        )
        #expect(result.canonicalRequest == (try suiteCase.expected("query-canonical-request.txt")))
        #expect(result.stringToSign == (try suiteCase.expected("query-string-to-sign.txt")))
        #expect(result.signature == (try suiteCase.expected("query-signature.txt")))
        let prefix = "https://example.amazonaws.com"
        try #require(url.hasPrefix(prefix))
        let signed = SuiteCase.RawRequest.render(
            method: request.method, target: String(url.dropFirst(prefix.count)), headers: request.headers,
            body: suiteCase.request.body
        )
        #expect(signed == (try suiteCase.expected("query-signed-request.txt")))
    }
}
