import Foundation
package import JSONCodec
package import LoopbackHTTP
package import Primitives

/// A Lambda Runtime API on loopback that drives real bootstraps, answering as Lambda (and AWS's
/// Runtime Interface Emulator) does:
///
/// - `GET /2018-06-01/runtime/invocation/next` blocks until an invocation is queued, then answers
///   with the event and the headers `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
///   `Lambda-Runtime-Invoked-Function-Arn`, `Lambda-Runtime-Trace-Id` (and the client context and
///   Cognito identity when given).
/// - `POST …/{id}/response` → 202; a payload over 6 MiB + 100 bytes → 413
///   `RequestEntityTooLarge`, and the invocation ends as `Function.ResponseSizeTooLarge`.
/// - `POST …/{id}/error` and `POST /runtime/init/error` → 202; an error type not matching
///   `(Runtime|Function)\.[A-Z][a-zA-Z]+` is recorded as `Runtime.Unknown`.
/// - An unknown request id → 400 `InvalidRequestID`; a second answer → 403 `InvalidStateTransition`.
///
/// Everything is recorded for assertions, including the monotonic time of every `GET next`.
package final class RuntimeAPIStandIn: @unchecked Sendable {
    /// Lambda's payload limit as the emulator applies it (6 MiB plus 100 bytes).
    package static let maxPayloadBytes = 6 * 1024 * 1024 + 100
    package static let errorTypeHeader = "Lambda-Runtime-Function-Error-Type"

    /// How an invocation ended.
    package enum InvocationResult: Sendable, Hashable {
        case response([UInt8])
        /// `errorType` is the validated type (`Runtime.Unknown` for an invalid one).
        case error(errorType: String, body: [UInt8])

        package var responseText: String? {
            if case .response(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
            return nil
        }
        package var errorType: String? {
            if case .error(let type, _) = self { return type }
            return nil
        }
        /// The error body parsed as JSON (`errorType`, `errorMessage`, `stackTrace`).
        package var errorJSON: JSON? {
            if case .error(_, let body) = self { return try? JSONParser.parse(body) }
            return nil
        }
    }

    /// An error post (invocation or init).
    package struct ErrorPost: Sendable, Hashable {
        package var requestId: String?
        /// The header as sent (nil when absent).
        package var rawErrorType: String?
        /// The validated type.
        package var errorType: String
        package var body: [UInt8]
        package var json: JSON? { try? JSONParser.parse(body) }
    }

    private struct Pending {
        var requestId: String
        var payload: [UInt8]
        var deadline: Timestamp
        var traceId: String?
        var clientContext: String?
        var cognitoIdentity: String?
    }

    package let functionArn: String
    private var server: LoopbackHTTPServer!
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Pending] = []
    private var delivered: Set<String> = []
    private var finished: [String: InvocationResult] = [:]
    private var finishOrder: [String] = []
    private var waiters: [String: CheckedContinuation<InvocationResult, Never>] = [:]
    private var initErrorPosts: [ErrorPost] = []
    private var invocationErrorPosts: [ErrorPost] = []
    private var nextTimes: [ContinuousClock.Instant] = []
    /// When each invocation's answer (response or error) arrived, by request id.
    private var answerTimes: [String: Timestamp] = [:]
    private var stopped = false

    package init(functionArn: String = "arn:aws:lambda:us-east-1:123456789012:function:probe-lambda") throws {
        self.functionArn = functionArn
        self.server = try LoopbackHTTPServer(behavior: Behavior(owner: Unowned(self)))
    }

    deinit { server?.stop() }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    package var runtimeAPI: String { "127.0.0.1:\(server.port)" }
    package var port: Int { server.port }
    /// Every HTTP request received.
    package var requests: [RecordedRequest] { server.requests }
    package var connectionsAccepted: Int { server.connectionsAccepted }

    /// Stops serving; a `GET next` that is waiting ends without an answer.
    package func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
        server.stop()
        let pending = condition.withLock { () -> [CheckedContinuation<InvocationResult, Never>] in
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for waiter in pending { waiter.resume(returning: .error(errorType: "Runtime.Stopped", body: [])) }
    }

    // MARK: Invoking

    /// Queues an invocation and returns its request id.
    @discardableResult
    package func enqueue(
        payload: [UInt8], deadline: Timestamp? = nil, traceId: String? = nil, clientContext: String? = nil,
        cognitoIdentity: String? = nil, requestId: String = UUID().uuidString.lowercased()
    ) -> String {
        let deadline = deadline ?? SystemClock().now().adding(seconds: 30)
        let trace = traceId ?? Self.makeTraceId()
        condition.withLock {
            queue.append(
                Pending(
                    requestId: requestId, payload: payload, deadline: deadline, traceId: trace, clientContext: clientContext,
                    cognitoIdentity: cognitoIdentity))
            condition.broadcast()
        }
        return requestId
    }

    /// Queues an invocation and waits until the runtime answers it.
    package func invoke(
        payload: [UInt8], deadline: Timestamp? = nil, traceId: String? = nil, clientContext: String? = nil,
        cognitoIdentity: String? = nil
    ) async -> InvocationResult {
        let requestId = UUID().uuidString.lowercased()
        return await withCheckedContinuation { continuation in
            let done: InvocationResult? = condition.withLock {
                if stopped { return .error(errorType: "Runtime.Stopped", body: []) }
                waiters[requestId] = continuation
                return nil
            }
            if let done {
                continuation.resume(returning: done)
                return
            }
            enqueue(
                payload: payload, deadline: deadline, traceId: traceId, clientContext: clientContext,
                cognitoIdentity: cognitoIdentity, requestId: requestId)
        }
    }

    /// Blocks until `requestId` is answered; nil on time-out. Call it off Swift's cooperative pool.
    package func waitForResult(_ requestId: String, timeout: Duration = .seconds(30)) -> InvocationResult? {
        let limit = Date().addingTimeInterval(timeout.seconds)
        return condition.withLock {
            while finished[requestId] == nil, !stopped {
                if !condition.wait(until: limit) { break }
            }
            return finished[requestId]
        }
    }

    /// Blocks until `count` `GET next` requests have arrived; false on time-out.
    package func waitForNextRequests(_ count: Int, timeout: Duration = .seconds(30)) -> Bool {
        let limit = Date().addingTimeInterval(timeout.seconds)
        return condition.withLock {
            while nextTimes.count < count, !stopped {
                if !condition.wait(until: limit) { break }
            }
            return nextTimes.count >= count
        }
    }

    /// Blocks until an init error has been posted; nil on time-out.
    package func waitForInitError(timeout: Duration = .seconds(30)) -> ErrorPost? {
        let limit = Date().addingTimeInterval(timeout.seconds)
        return condition.withLock {
            while initErrorPosts.isEmpty, !stopped {
                if !condition.wait(until: limit) { break }
            }
            return initErrorPosts.first
        }
    }

    // MARK: What happened

    /// The monotonic time of each `GET next`, in arrival order.
    package var nextRequestTimes: [ContinuousClock.Instant] { condition.withLock { nextTimes } }

    /// The wall-clock times at which the runtime's answers arrived, by request id: when the
    /// runtime posted, whatever delays the caller awaiting `invoke` before it resumes.
    package var answeredAt: [String: Timestamp] { condition.withLock { answerTimes } }
    package var initErrors: [ErrorPost] { condition.withLock { initErrorPosts } }
    package var invocationErrors: [ErrorPost] { condition.withLock { invocationErrorPosts } }
    /// Answered invocations in the order answered.
    package var results: [(requestId: String, result: InvocationResult)] {
        condition.withLock { finishOrder.map { ($0, finished[$0]!) } }
    }
    package func result(_ requestId: String) -> InvocationResult? { condition.withLock { finished[requestId] } }

    /// Whether a runtime has taken the invocation with `GET next`.
    package func wasDelivered(_ requestId: String) -> Bool { condition.withLock { delivered.contains(requestId) } }

    /// Takes back an invocation no runtime has taken yet (its caller gave up on it, as Lambda does
    /// when it resets an environment); false when it was already delivered.
    @discardableResult
    package func withdraw(_ requestId: String) -> Bool {
        condition.withLock {
            guard let index = queue.firstIndex(where: { $0.requestId == requestId }) else { return false }
            queue.remove(at: index)
            return true
        }
    }

    /// Whether `type` matches `(Runtime|Function)\.[A-Z][a-zA-Z]+`.
    package static func isValidErrorType(_ type: String) -> Bool {
        type.range(of: #"^(Runtime|Function)\.[A-Z][a-zA-Z]+$"#, options: .regularExpression) != nil
    }

    package static func makeTraceId() -> String {
        let seconds = String(Int(Date().timeIntervalSince1970), radix: 16)
        let root = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
        let parent = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        return "Root=1-\(seconds)-\(root);Parent=\(parent);Sampled=0"
    }

    // MARK: Serving

    fileprivate func respond(to request: RecordedRequest) -> ScriptedResponse {
        let prefix = "/2018-06-01/runtime/"
        let path = request.path
        guard path.hasPrefix(prefix) else { return Self.json(404, type: "NotFound", message: "unknown path \(path)") }
        let rest = path.dropFirst(prefix.count)
        if rest == "invocation/next" {
            guard request.method == "GET" else { return Self.json(405, type: "MethodNotAllowed", message: "use GET") }
            return next()
        }
        guard request.method == "POST" else { return Self.json(405, type: "MethodNotAllowed", message: "use POST") }
        if rest == "init/error" {
            let post = errorPost(requestId: nil, request)
            condition.withLock {
                initErrorPosts.append(post)
                condition.broadcast()
            }
            return Self.accepted
        }
        let parts = rest.split(separator: "/")
        guard parts.count == 3, parts[0] == "invocation", parts[2] == "response" || parts[2] == "error" else {
            return Self.json(404, type: "NotFound", message: "unknown path \(path)")
        }
        let requestId = String(parts[1])
        let known = condition.withLock { () -> Bool? in
            guard delivered.contains(requestId) else { return nil }
            return finished[requestId] == nil
        }
        guard let known else { return Self.json(400, type: "InvalidRequestID", message: "Invalid request ID") }
        guard known else {
            return Self.json(403, type: "InvalidStateTransition", message: "invocation \(requestId) was already answered")
        }
        if parts[2] == "error" {
            let post = errorPost(requestId: requestId, request)
            condition.withLock { invocationErrorPosts.append(post) }
            finish(requestId, .error(errorType: post.errorType, body: post.body))
            return Self.accepted
        }
        if request.body.count > Self.maxPayloadBytes {
            let message =
                "Response payload size (\(request.body.count) bytes) exceeded maximum allowed payload size (\(Self.maxPayloadBytes) bytes)."
            let body = JSON.object(["errorMessage": .string(message), "errorType": .string("Function.ResponseSizeTooLarge")])
            finish(requestId, .error(errorType: "Function.ResponseSizeTooLarge", body: body.bytes))
            return Self.json(
                413, type: "RequestEntityTooLarge",
                message: "Exceeded maximum allowed payload size (\(Self.maxPayloadBytes) bytes).")
        }
        finish(requestId, .response(request.body))
        return Self.accepted
    }

    private func next() -> ScriptedResponse {
        let pending: Pending? = condition.withLock {
            nextTimes.append(.now)
            condition.broadcast()
            while queue.isEmpty, !stopped { condition.wait() }
            guard !stopped else { return nil }
            let item = queue.removeFirst()
            delivered.insert(item.requestId)
            return item
        }
        guard let pending else { return .closeWithoutResponse }
        var headers = [
            RecordedHeader("Content-Type", "application/json"),
            RecordedHeader("Lambda-Runtime-Aws-Request-Id", pending.requestId),
            RecordedHeader("Lambda-Runtime-Deadline-Ms", String(pending.deadline.millisecondsSinceEpoch)),
            RecordedHeader("Lambda-Runtime-Invoked-Function-Arn", functionArn),
        ]
        if let trace = pending.traceId { headers.append(RecordedHeader("Lambda-Runtime-Trace-Id", trace)) }
        if let value = pending.clientContext { headers.append(RecordedHeader("Lambda-Runtime-Client-Context", value)) }
        if let value = pending.cognitoIdentity { headers.append(RecordedHeader("Lambda-Runtime-Cognito-Identity", value)) }
        return ScriptedResponse(status: 200, headers: headers, body: .bytes(pending.payload))
    }

    private func errorPost(requestId: String?, _ request: RecordedRequest) -> ErrorPost {
        let raw = request.header(Self.errorTypeHeader)
        let type = raw.flatMap { Self.isValidErrorType($0) ? $0 : nil } ?? "Runtime.Unknown"
        return ErrorPost(requestId: requestId, rawErrorType: raw, errorType: type, body: request.body)
    }

    private func finish(_ requestId: String, _ result: InvocationResult) {
        let waiter = condition.withLock { () -> CheckedContinuation<InvocationResult, Never>? in
            finished[requestId] = result
            answerTimes[requestId] = SystemClock().now()
            finishOrder.append(requestId)
            condition.broadcast()
            return waiters.removeValue(forKey: requestId)
        }
        waiter?.resume(returning: result)
    }

    private static let accepted = ScriptedResponse.text(#"{"status":"OK"}"#, status: 202, headers: [RecordedHeader("Content-Type", "application/json")])

    private static func json(_ status: Int, type: String, message: String) -> ScriptedResponse {
        let body = JSON.object(["errorMessage": .string(message), "errorType": .string(type)])
        return ScriptedResponse(
            status: status, headers: [RecordedHeader("Content-Type", "application/json")], body: .bytes(body.bytes))
    }
}

/// Breaks the cycle server → behaviour → stand-in.
private struct Unowned: @unchecked Sendable {
    unowned let value: RuntimeAPIStandIn
    init(_ value: RuntimeAPIStandIn) { self.value = value }
}

private struct Behavior: HTTPServerBehavior {
    let owner: Unowned
    func respond(to request: RecordedRequest) -> ScriptedResponse { owner.value.respond(to: request) }
}

