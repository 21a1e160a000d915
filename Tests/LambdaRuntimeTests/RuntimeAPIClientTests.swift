import HTTPTransport
import JSONCodec
import LambdaRuntime
import Primitives
import Testing

@Suite("Runtime API requests as values")
struct RuntimeAPIClientTests {
    let base = "http://127.0.0.1:9001/2018-06-01"

    @Test("GET next, POST response and POST error go to Lambda's paths")
    func requests() throws {
        let next = RuntimeAPIRequest.next.httpRequest(baseURL: base)
        #expect(next.method == "GET" && next.url == base + "/runtime/invocation/next")
        let response = RuntimeAPIRequest.response(requestId: "id-1", body: Array("{}".utf8)).httpRequest(baseURL: base)
        #expect(response.method == "POST" && response.url == base + "/runtime/invocation/id-1/response")
        let report = ErrorReport(errorType: "Function.Bad", errorMessage: "m")
        let error = RuntimeAPIRequest.error(requestId: "id-1", report: report).httpRequest(baseURL: base)
        #expect(error.url == base + "/runtime/invocation/id-1/error")
        #expect(error.headers["Lambda-Runtime-Function-Error-Type"] == "Function.Bad")
        guard case .bytes(let body) = error.body else {
            Issue.record("expected a body")
            return
        }
        #expect(try json(body) == report.json)
        let initError = RuntimeAPIRequest.initError(report).httpRequest(baseURL: base)
        #expect(initError.url == base + "/runtime/init/error")
        // A request id cannot smuggle path segments.
        #expect(RuntimeAPIRequest.response(requestId: "../init/error", body: []).httpRequest(baseURL: base).url
            == base + "/runtime/invocation/..%2Finit%2Ferror/response")
    }

    @Test("An invocation reads its context from the headers")
    func invocationHeaders() throws {
        let invocation = try Invocation(
            headers: [
                "Lambda-Runtime-Aws-Request-Id": "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
                "Lambda-Runtime-Deadline-Ms": "1542409706888",
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime",
                "Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
                "Lambda-Runtime-Client-Context": #"{"client":{}}"#,
                "Lambda-Runtime-Cognito-Identity": #"{"cognitoIdentityId":"x"}"#,
            ], event: Array("{}".utf8))
        #expect(invocation.deadline == Timestamp(millisecondsSinceEpoch: 1_542_409_706_888))
        #expect(invocation.traceId?.hasPrefix("Root=1-5bef4de7") == true)
        #expect(invocation.clientContext == #"{"client":{}}"#)
        #expect(invocation.cognitoIdentity == #"{"cognitoIdentityId":"x"}"#)
    }

    @Test("Missing request id or deadline is an InvalidRuntimeResponse error")
    func invalidHeaders() {
        for headers: HTTPHeaders in [["Lambda-Runtime-Deadline-Ms": "1"], ["Lambda-Runtime-Aws-Request-Id": "a"],
                                     ["Lambda-Runtime-Aws-Request-Id": "a", "Lambda-Runtime-Deadline-Ms": "soon"]] {
            #expect {
                _ = try Invocation(headers: headers, event: [])
            } throws: { error in
                (error as? LambdaRuntimeError)?.code == .invalidRuntimeResponse
            }
        }
    }

    @Test("The context's remaining time counts down to the deadline")
    func remainingTime() {
        let clock = ManualClock(Timestamp(secondsSinceEpoch: 100))
        let context = testContext(clock: clock, remaining: 5)
        #expect(context.remainingTime == .seconds(5))
        clock.advance(seconds: 7)
        #expect(context.remainingTime == .seconds(-2))
    }
}
