package import HTTPTransport
package import JSONCodec
package import Primitives

/// The requests of the Lambda Runtime API, as values (unit-testable without a network).
package enum RuntimeAPIRequest: Sendable {
    case next
    case response(requestId: String, body: [UInt8])
    case error(requestId: String, report: ErrorReport)
    case initError(ErrorReport)

    /// The header naming an error's type.
    package static let errorTypeHeader = "Lambda-Runtime-Function-Error-Type"

    /// The HTTP request, against `baseURL` (`http://host:port/2018-06-01`).
    package func httpRequest(baseURL: String) -> HTTPRequest {
        switch self {
        case .next:
            return HTTPRequest(method: "GET", url: baseURL + "/runtime/invocation/next")
        case .response(let requestId, let body):
            return HTTPRequest(
                method: "POST", url: baseURL + "/runtime/invocation/\(Self.pathSafe(requestId))/response",
                headers: ["Content-Type": "application/json"], body: .bytes(body))
        case .error(let requestId, let report):
            return Self.errorRequest(baseURL + "/runtime/invocation/\(Self.pathSafe(requestId))/error", report)
        case .initError(let report):
            return Self.errorRequest(baseURL + "/runtime/init/error", report)
        }
    }

    private static func errorRequest(_ url: String, _ report: ErrorReport) -> HTTPRequest {
        HTTPRequest(
            method: "POST", url: url,
            headers: ["Content-Type": "application/json", errorTypeHeader: report.errorType],
            body: .bytes(report.json.bytes))
    }

    private static func pathSafe(_ requestId: String) -> String {
        PercentEncoding.encode(requestId, allowing: .unreserved)
    }
}

extension ErrorReport {
    /// `{"errorMessage":…,"errorType":…,"stackTrace":[…]}`.
    package var json: JSON {
        .object([
            "errorMessage": .string(errorMessage), "errorType": .string(errorType),
            "stackTrace": .array(stackTrace.map { .string($0) }),
        ])
    }
}

/// One invocation, as `GET /next` delivered it.
package struct Invocation: Sendable, Hashable {
    package var requestId: String
    package var deadline: Timestamp
    package var invokedFunctionArn: String
    package var traceId: String?
    package var clientContext: String?
    package var cognitoIdentity: String?
    package var event: [UInt8]

    /// Reads the invocation headers.
    /// - Throws: `LambdaRuntimeError` `.invalidRuntimeResponse` when the request id or the deadline is
    ///   missing or malformed.
    package init(headers: HTTPHeaders, event: [UInt8]) throws(LambdaRuntimeError) {
        guard let requestId = headers["Lambda-Runtime-Aws-Request-Id"], !requestId.isEmpty else {
            throw LambdaRuntimeError(.invalidRuntimeResponse, "GET next answered without Lambda-Runtime-Aws-Request-Id")
        }
        guard let text = headers["Lambda-Runtime-Deadline-Ms"], let millis = Int64(text) else {
            throw LambdaRuntimeError(
                .invalidRuntimeResponse, "GET next answered without a numeric Lambda-Runtime-Deadline-Ms (request \(requestId))")
        }
        func optional(_ name: String) -> String? { headers[name].flatMap { $0.isEmpty ? nil : $0 } }
        self.init(
            requestId: requestId, deadline: Timestamp(millisecondsSinceEpoch: millis),
            invokedFunctionArn: headers["Lambda-Runtime-Invoked-Function-Arn"] ?? "",
            traceId: optional("Lambda-Runtime-Trace-Id"), clientContext: optional("Lambda-Runtime-Client-Context"),
            cognitoIdentity: optional("Lambda-Runtime-Cognito-Identity"), event: event)
    }

    package init(
        requestId: String, deadline: Timestamp, invokedFunctionArn: String, traceId: String? = nil,
        clientContext: String? = nil, cognitoIdentity: String? = nil, event: [UInt8]
    ) {
        self.requestId = requestId
        self.deadline = deadline
        self.invokedFunctionArn = invokedFunctionArn
        self.traceId = traceId
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.event = event
    }
}

/// A client of the Lambda Runtime API over an `HTTPTransport` (libcurl in production).
package struct RuntimeAPIClient: Sendable {
    /// What `GET /next` produced.
    package enum Next: Sendable, Hashable {
        case invocation(Invocation)
        /// An event larger than the runtime accepts: it must be answered with an error.
        case eventTooLarge(requestId: String, size: Int)
    }

    package let baseURL: String
    package let transport: any HTTPTransport

    /// - Parameter runtimeAPI: `AWS_LAMBDA_RUNTIME_API`, `host:port`.
    package init(runtimeAPI: String, transport: any HTTPTransport) {
        self.baseURL = "http://\(runtimeAPI)/2018-06-01"
        self.transport = transport
    }

    /// Waits (without a time limit) for the next invocation.
    package func next(maxEventBytes: Int) async throws(LambdaRuntimeError) -> Next {
        let response: HTTPStreamingResponse
        do {
            response = try await transport.send(RuntimeAPIRequest.next.httpRequest(baseURL: baseURL), options: .unlimited)
        } catch {
            throw LambdaRuntimeError(.transport, "GET next failed: \(error)")
        }
        guard response.status == 200 else {
            let body = (try? await response.body.collect(upTo: 4096)) ?? []
            throw LambdaRuntimeError(
                .invalidRuntimeResponse,
                "GET next answered \(response.status): \(String(decoding: body.prefix(512), as: UTF8.self))")
        }
        let requestId = response.headers["Lambda-Runtime-Aws-Request-Id"] ?? ""
        if let length = response.headers["Content-Length"].flatMap({ Int($0) }), length > maxEventBytes, !requestId.isEmpty {
            response.body.cancel()
            return .eventTooLarge(requestId: requestId, size: length)
        }
        let event: [UInt8]
        do {
            event = try await response.body.collect(upTo: maxEventBytes)
        } catch {
            if error.code == .bodyTooLarge, !requestId.isEmpty {
                return .eventTooLarge(requestId: requestId, size: maxEventBytes + 1)
            }
            throw LambdaRuntimeError(.transport, "reading the event failed: \(error)")
        }
        return .invocation(try Invocation(headers: response.headers, event: event))
    }

    /// Posts the handler's response.
    /// - Throws: `.responseTooLarge` when the Runtime API refuses it for its size (413); Lambda then
    ///   reports `Function.ResponseSizeTooLarge` for the invocation.
    package func respond(requestId: String, body: [UInt8]) async throws(LambdaRuntimeError) {
        try await post(.response(requestId: requestId, body: body))
    }

    /// Posts an invocation error.
    package func reportError(requestId: String, _ report: ErrorReport) async throws(LambdaRuntimeError) {
        try await post(.error(requestId: requestId, report: report))
    }

    /// Posts an initialisation error.
    package func reportInitError(_ report: ErrorReport) async throws(LambdaRuntimeError) {
        try await post(.initError(report))
    }

    private func post(_ request: RuntimeAPIRequest) async throws(LambdaRuntimeError) {
        let response: HTTPResponse
        do {
            response = try await transport.execute(request.httpRequest(baseURL: baseURL), options: .standard, maxBodyBytes: 64 << 10)
        } catch {
            throw LambdaRuntimeError(.transport, "posting to the Runtime API failed: \(error)")
        }
        switch response.status {
        case 200..<300: return
        case 413:
            throw LambdaRuntimeError(
                .responseTooLarge,
                "the Runtime API refused the response for its size: \(String(decoding: response.body.prefix(512), as: UTF8.self))")
        default:
            throw LambdaRuntimeError(
                .invalidRuntimeResponse,
                "the Runtime API answered \(response.status): \(String(decoding: response.body.prefix(512), as: UTF8.self))")
        }
    }
}
