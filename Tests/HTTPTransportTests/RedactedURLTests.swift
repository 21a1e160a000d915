import HTTPTransport
import Testing

@Suite("URLs in errors lose their credentials")
struct RedactedURLTests {
    @Test("user information goes, with or without a scheme; the host, path and port stay")
    func userInformation() {
        #expect(RedactedURL.redact("https://admin:pw@search.example.com/idx") == "https://REDACTED@search.example.com/idx")
        #expect(RedactedURL.redact("admin:pw@search.example.com:9200") == "REDACTED@search.example.com:9200")
        #expect(RedactedURL.redact("https://search.example.com/a@b") == "https://search.example.com/a@b")
    }

    @Test("presigned parameters lose their values; the others stay")
    func presignedParameters() {
        let url = "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKID%2Fx&X-Amz-Signature=abc&X-Amz-Security-Token=tok&partNumber=2"
        #expect(
            RedactedURL.redact(url)
                == "https://b.s3.amazonaws.com/k?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED&partNumber=2")
    }
}
