import AWSCore
import HTTPTransport
import JSONCodec
import Testing

@Suite("AWS service errors")
struct ServiceErrorTests {
    @Test("REST-XML errors give code, message and request id")
    func restXML() throws {
        let error = AWSServiceError.from(status: 404, headers: [:], body: try fixture("errors/s3-no-such-key.xml"))
        #expect(error == AWSServiceError(status: 404, code: "NoSuchKey", message: "The specified key does not exist.", requestId: "4442587FB7D0A2F9"))
    }

    @Test("moto's XML answer to a rejected signature on a JSON service is read")
    func queryXML() throws {
        let error = AWSServiceError.from(status: 403, headers: [:], body: try fixture("errors/moto-signature.xml"))
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.requestId == "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE")
        #expect(error.message.hasPrefix("The request signature"))
    }

    @Test("a rejected signature's message loses the canonical request and string to sign it quotes, session token and all")
    func quotedRequestLeftOut() throws {
        let error = AWSServiceError.from(status: 403, headers: [:], body: try fixture("errors/signature-quoting-request.json"))
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.message.hasPrefix("The request signature we calculated does not match"))
        #expect(error.message.hasSuffix("for details. (the request the service quoted is left out)"))
        for text in [error.description, error.details?.text ?? ""] {
            #expect(!text.contains("IQoJb3JpZ2luX2VjEXAMPLETOKEN"))
            #expect(!text.contains("Canonical String"))
            #expect(!text.contains("AWS4-HMAC-SHA256"))
        }
    }

    @Test("JSON __type keeps only the part after #")
    func jsonType() throws {
        let error = AWSServiceError.from(
            status: 400, headers: ["x-amzn-RequestId": "req-1"], body: try fixture("errors/dynamodb-condition.json"))
        #expect(error.code == "ConditionalCheckFailedException")
        #expect(error.message == "The conditional request failed")
        #expect(error.requestId == "req-1")
    }

    @Test("Message with a capital M is read too")
    func capitalMessage() throws {
        let error = AWSServiceError.from(status: 400, headers: [:], body: try fixture("errors/ssm-throttle.json"))
        #expect(error.code == "ThrottlingException")
        #expect(error.message == "Rate exceeded")
    }

    @Test("x-amzn-query-error supplies the code when the body has none")
    func queryErrorHeader() {
        let error = AWSServiceError.from(
            status: 400, headers: ["x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"], body: [])
        #expect(error.code == "AWS.SimpleQueueService.NonExistentQueue")
    }

    @Test("A body that is neither XML nor JSON gives an Http code")
    func unknownBody() {
        let error = AWSServiceError.from(status: 502, headers: [:], body: Array("Bad Gateway".utf8))
        #expect(error.code == "Http502")
        #expect(error.status == 502)
    }

    @Test("SQS's JSON error with the query header prefers the body's code")
    func sqsBoth() throws {
        let error = AWSServiceError.from(
            status: 400, headers: ["x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"],
            body: try fixture("errors/sqs-json.json"))
        #expect(error.code == "QueueDoesNotExist")
    }
}
