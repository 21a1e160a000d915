import Foundation
import HTTPTransport
import Synchronization
import LoopbackHTTP
import TestSupport
import Testing

/// Headers that are not the client's own (the ones libcurl derives from the URL and the body).
private let framingHeaders: Set<String> = ["host", "content-length", "transfer-encoding"]

private func userHeaders(_ request: RecordedRequest) -> [RecordedHeader] {
    request.headers.filter { !framingHeaders.contains($0.name.lowercased()) }
}

/// Polls `condition` (without blocking a thread) until it holds or `timeout` passes.
private func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// The `HTTPError` code a task ended with, if it failed with one.
private func failureCode<T>(_ result: Result<T, any Error>) -> HTTPError.Code? {
    guard case .failure(let error) = result else { return nil }
    return (error as? HTTPError)?.code
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Returns the body stream's chunks one by one, then `nil`.
private func chunkStream(_ chunks: [[UInt8]], length: Int64?) -> HTTPBodyStream {
    let remaining = Mutex(chunks[...])
    return HTTPBodyStream(length: length) {
        remaining.withLock { queue in queue.popFirst() }
    }
}

@Suite("CurlTransport round trips")
struct CurlTransportRoundTripTests {
    @Test("GET sends exactly the given headers and returns status, headers and body")
    func getRoundTrip() async throws {
        let server = try LoopbackHTTPServer { _ in
            ScriptedResponse(
                status: 200,
                headers: [RecordedHeader("X-One", "1"), RecordedHeader("Set-Thing", "a"), RecordedHeader("Set-Thing", "b")],
                body: .bytes(bytes("hello"))
            )
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        var headers = HTTPHeaders()
        headers.add("X-Amz-Date", "20150830T123600Z")
        headers.add("x-custom", "first")
        headers.add("X-Custom", "second")
        headers.add("Empty-Value", "")
        let response = try await transport.execute(
            HTTPRequest(method: "GET", url: server.baseURL + "/path/a%20b?x=1&y=2", headers: headers)
        )
        #expect(response.status == 200)
        #expect(response.body == bytes("hello"))
        #expect(response.headers.values("Set-Thing") == ["a", "b"])
        #expect(response.headers["x-one"] == "1")

        let request = try #require(server.requests.first)
        #expect(request.method == "GET")
        #expect(request.target == "/path/a%20b?x=1&y=2")
        #expect(request.header("Host") == "127.0.0.1:\(server.port)")
        #expect(
            userHeaders(request) == [
                RecordedHeader("X-Amz-Date", "20150830T123600Z"), RecordedHeader("x-custom", "first"),
                RecordedHeader("X-Custom", "second"), RecordedHeader("Empty-Value", ""),
            ]
        )
        #expect(request.header("Content-Length") == nil)
    }

    @Test("PUT with bytes sends Content-Length and the exact body, without Expect or Content-Type")
    func putBytes() async throws {
        let server = try LoopbackHTTPServer { _ in ScriptedResponse(status: 200) }
        defer { server.stop() }
        let transport = try CurlTransport()
        // Binary, with NULs, and past CurlTransfer.inPlaceBodyBytes: read from the array, not copied.
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let response = try await transport.execute(
            HTTPRequest(method: "PUT", url: server.baseURL + "/object", headers: ["x-amz-meta-a": "b"], body: .bytes(payload))
        )
        #expect(response.status == 200)
        let request = try #require(server.requests.first)
        #expect(request.method == "PUT")
        #expect(request.body == payload)
        #expect(request.header("Content-Length") == "70000")
        #expect(!request.bodyWasChunked)
        #expect(userHeaders(request) == [RecordedHeader("x-amz-meta-a", "b")])
    }

    @Test("POST sends the given Content-Type and body; an empty POST or PUT sends Content-Length: 0")
    func postBodies() async throws {
        let server = try LoopbackHTTPServer { request in .text("echo:" + request.bodyText, status: 201) }
        defer { server.stop() }
        let transport = try CurlTransport()
        let response = try await transport.execute(
            HTTPRequest(
                method: "POST", url: server.baseURL + "/q",
                headers: ["Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.GetItem"],
                body: .bytes(bytes(#"{"a":1}"#))
            )
        )
        #expect(response.status == 201)
        #expect(response.body == bytes(#"echo:{"a":1}"#))
        _ = try await transport.execute(HTTPRequest(method: "POST", url: server.baseURL + "/empty"))
        _ = try await transport.execute(HTTPRequest(method: "PUT", url: server.baseURL + "/empty", body: .bytes([])))
        let requests = server.requests
        #expect(requests.count == 3)
        #expect(
            userHeaders(requests[0]) == [
                RecordedHeader("Content-Type", "application/x-amz-json-1.0"),
                RecordedHeader("X-Amz-Target", "DynamoDB_20120810.GetItem"),
            ]
        )
        #expect(requests[0].header("Content-Length") == "7")
        for request in requests.dropFirst() {
            #expect(request.header("Content-Length") == "0")
            #expect(userHeaders(request).isEmpty)
            #expect(request.body.isEmpty)
        }
        #expect(requests.map(\.method) == ["POST", "POST", "PUT"])
    }

    @Test("HEAD returns the headers and no body; DELETE and PATCH use their methods")
    func headDeletePatch() async throws {
        let server = try LoopbackHTTPServer { request in
            switch request.method {
            case "HEAD": ScriptedResponse(headers: [RecordedHeader("ETag", "\"abc\"")], body: .bytes(Array(repeating: 1, count: 1234)))
            case "DELETE": ScriptedResponse(status: 204)
            default: .text("patched")
            }
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        let head = try await transport.execute(HTTPRequest(method: "HEAD", url: server.baseURL + "/o"))
        #expect(head.status == 200)
        #expect(head.headers["Content-Length"] == "1234")
        #expect(head.headers["etag"] == "\"abc\"")
        #expect(head.body.isEmpty)
        let delete = try await transport.execute(HTTPRequest(method: "DELETE", url: server.baseURL + "/o"))
        #expect(delete.status == 204)
        let patch = try await transport.execute(
            HTTPRequest(method: "PATCH", url: server.baseURL + "/o", headers: ["Content-Type": "text/plain"], body: .bytes(bytes("p")))
        )
        #expect(patch.body == bytes("patched"))
        let requests = server.requests
        #expect(requests.map(\.method) == ["HEAD", "DELETE", "PATCH"])
        #expect(requests[1].header("Content-Length") == nil)
        #expect(requests[2].body == bytes("p"))
        #expect(server.connectionsAccepted == 1)
    }

    @Test("Interim 1xx responses are skipped")
    func skipsInterimResponses() async throws {
        let server = try LoopbackHTTPServer { _ in
            ScriptedResponse(status: 200, headers: [RecordedHeader("X-Final", "yes")], body: .bytes(bytes("ok")), interimStatuses: [100, 103])
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        let response = try await transport.execute(HTTPRequest(method: "GET", url: server.baseURL + "/"))
        #expect(response.status == 200)
        #expect(response.headers["X-Final"] == "yes")
        #expect(response.body == bytes("ok"))
    }
}

@Suite("CurlTransport connections")
struct CurlTransportConnectionTests {
    @Test("100 sequential requests reuse one connection")
    func keepAlive() async throws {
        let server = try LoopbackHTTPServer { request in .text(request.target) }
        defer { server.stop() }
        let transport = try CurlTransport()
        for index in 0..<100 {
            let response = try await transport.execute(HTTPRequest(method: "GET", url: server.baseURL + "/\(index)"))
            #expect(response.body == bytes("/\(index)"))
        }
        #expect(server.connectionsAccepted == 1)
        #expect(server.requests.count == 100)
    }

    @Test("A run of invocations (long-poll next, post response) stays on one connection")
    func invocationLoopReusesConnection() async throws {
        let server = try LoopbackHTTPServer { request in
            if request.method == "GET" {
                return ScriptedResponse(
                    headers: [RecordedHeader("Lambda-Runtime-Aws-Request-Id", "req-\(request.target.count)")],
                    body: .bytes(bytes(#"{"event":true}"#))
                )
            }
            return ScriptedResponse(status: 202, body: .bytes(bytes(#"{"status":"OK"}"#)))
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        let base = server.baseURL + "/2018-06-01/runtime/invocation"
        for index in 0..<50 {
            let next = try await transport.execute(HTTPRequest(method: "GET", url: base + "/next"), options: .unlimited)
            #expect(next.headers["Lambda-Runtime-Aws-Request-Id"] != nil)
            let posted = try await transport.execute(
                HTTPRequest(method: "POST", url: base + "/id-\(index)/response", body: .bytes(bytes("result \(index)")))
            )
            #expect(posted.status == 202)
        }
        #expect(server.connectionsAccepted == 1)
        #expect(server.requests.count == 100)
        #expect(server.requests.last?.bodyText == "result 49")
    }

    @Test("16 slow requests are in flight at once")
    func concurrentRequests() async throws {
        let server = try LoopbackHTTPServer { request in
            ScriptedResponse(body: .bytes(bytes(request.target)), delay: .milliseconds(200))
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let response = try await transport.execute(HTTPRequest(method: "GET", url: server.baseURL + "/\(index)"))
                    #expect(response.body == bytes("/\(index)"))
                }
            }
            for try await _ in group {}
        }
        // All 16 were held by the server at the same moment: they were in flight together.
        #expect(server.maxRequestsInFlight == 16)
        #expect(server.maxOpenConnections == 16)

        // The connections stay cached: a second wave opens no new ones.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask { _ = try await transport.execute(HTTPRequest(method: "GET", url: server.baseURL + "/\(index)")) }
            }
            for try await _ in group {}
        }
        #expect(server.connectionsAccepted == 16)
    }
}

/// Serialized so that the memory test's RSS readings are not disturbed by the load test (the
/// remaining suites allocate little).
@Suite("CurlTransport memory and load", .serialized)
struct CurlTransportLoadTests {
    @Test("A 256 MiB body streams in bounded memory", .timeLimit(.minutes(2)))
    func largeBodyBoundedMemory() async throws {
        let total = 256 << 20
        let server = try LoopbackHTTPServer { _ in .generated(length: total) }
        defer { server.stop() }
        let transport = try CurlTransport()
        ProcessMemory.resetPeak()
        let before = ProcessMemory.current()
        let response = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/big"), options: .standard)
        var received = 0
        var largestChunk = 0
        var checksum: UInt64 = 0
        for try await chunk in response.body {
            received += chunk.count
            largestChunk = max(largestChunk, chunk.count)
            checksum &+= UInt64(chunk.last ?? 0)
        }
        let after = ProcessMemory.current()
        #expect(received == total)
        #expect(largestChunk <= 512 << 10)
        #expect(checksum > 0)
        // VmHWM is the peak: it must not have grown by anything near the body's size.
        #expect(after.peakKiB - before.residentKiB < 64 << 10, "peak RSS grew by \(after.peakKiB - before.residentKiB) KiB")
    }

    @Test("64 concurrent mixed requests (uploads, downloads, cancellations) all settle correctly", .timeLimit(.minutes(1)))
    func mixedLoad() async throws {
        let server = try LoopbackHTTPServer { request in
            if request.method == "PUT" { return .text("\(request.body.count)") }
            return .generated(length: 3 << 20, chunkSize: 100_000, chunked: request.target.hasSuffix("c"))
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    switch index % 4 {
                    case 0:
                        let body = [UInt8](repeating: UInt8(index), count: 200_000 + index)
                        let response = try await transport.execute(
                            HTTPRequest(method: "PUT", url: server.baseURL + "/u", body: .stream(chunkStream([body], length: nil)))
                        )
                        #expect(response.body == bytes("\(body.count)"))
                    case 1, 2:
                        let response = try await transport.send(
                            HTTPRequest(method: "GET", url: server.baseURL + (index % 4 == 1 ? "/c" : "/l")), options: .standard
                        )
                        var count = 0
                        for try await chunk in response.body { count += chunk.count }
                        #expect(count == 3 << 20)
                    default:
                        let response = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/l"), options: .standard)
                        _ = try await response.body.next()
                        response.body.cancel()
                        #expect(try await response.body.next() == nil)
                    }
                }
            }
            for try await _ in group {}
        }
        // The transport still works afterwards.
        #expect(try await transport.execute(HTTPRequest(method: "PUT", url: server.baseURL + "/", body: .bytes([1]))).body == bytes("1"))
    }
}

@Suite("CurlTransport streaming")
struct CurlTransportStreamingTests {
    @Test("send returns at the response head and the body streams as it is written", .timeLimit(.minutes(1)))
    func bodyStreamsIncrementally() async throws {
        let release = DispatchSemaphore(value: 0)
        let server = try LoopbackHTTPServer { _ in
            ScriptedResponse(
                body: .stream(length: nil) { writer in
                    try writer.write(bytes("first"))
                    // Held until the client has seen the first chunk.
                    _ = release.wait(timeout: .now() + 10)
                    try writer.write(bytes("second"))
                }
            )
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        let response = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"), options: .standard)
        #expect(response.status == 200)
        #expect(response.headers["Transfer-Encoding"] == "chunked")
        let first = try await response.body.next()
        #expect(first == bytes("first"))
        release.signal()
        var rest: [UInt8] = []
        while let chunk = try await response.body.next() { rest += chunk }
        #expect(rest == bytes("second"))
    }

    @Test("A slow reader holds the server back instead of the transport buffering everything", .timeLimit(.minutes(1)))
    func backPressure() async throws {
        let total = 64 << 20
        let written = Atomic<Int>(0)
        let pattern = [UInt8](repeating: 7, count: 64 << 10)
        let server = try LoopbackHTTPServer { _ in
            ScriptedResponse(
                body: .stream(length: total) { writer in
                    while writer.bytesWritten < total {
                        try writer.write(pattern)
                        written.store(writer.bytesWritten, ordering: .relaxed)
                    }
                }
            )
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        let response = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"), options: .standard)
        var received = try await response.body.next()?.count ?? 0
        try await Task.sleep(for: .milliseconds(500))
        // Kernel socket buffers on loopback can hold a few MiB; the transport itself at most ~1.5 MiB.
        let writtenWhileStalled = written.load(ordering: .relaxed)
        #expect(writtenWhileStalled < 24 << 20, "server wrote \(writtenWhileStalled) bytes while the reader slept")
        while let chunk = try await response.body.next() { received += chunk.count }
        #expect(received == total)
    }

    @Test("A reader pausing longer than the low-speed window does not trip the low-speed limit")
    func pausedReaderIsNotSlow() async throws {
        let server = try LoopbackHTTPServer { _ in .generated(length: 32 << 20) }
        defer { server.stop() }
        let transport = try CurlTransport()
        // The window is wide enough that a loaded machine's scheduling gaps do not trip it; the pause
        // is more than twice as long, so a paused transfer that counted as slow would trip it.
        let options = HTTPRequestOptions(totalTimeout: nil, lowSpeedBytesPerSecond: 1000, lowSpeedTime: .seconds(3))
        let response = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"), options: options)
        var count = try await response.body.next()?.count ?? 0
        try await Task.sleep(for: .milliseconds(6500))
        while let chunk = try await response.body.next() { count += chunk.count }
        #expect(count == 32 << 20)
    }

    @Test("A server that stalls mid-body trips the low-speed limit with timeout")
    func stalledServerIsSlow() async throws {
        let server = try LoopbackHTTPServer { _ in
            ScriptedResponse(
                body: .stream(length: 1000) { writer in
                    try writer.write([UInt8](repeating: 1, count: 10))
                    Thread.sleep(forTimeInterval: 3)
                }
            )
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        let options = HTTPRequestOptions(totalTimeout: nil, lowSpeedBytesPerSecond: 100, lowSpeedTime: .seconds(1))
        let response = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"), options: options)
        let error = await #expect(throws: HTTPError.self) { _ = try await response.body.collect() }
        #expect(error?.code == .timeout)
    }

    @Test("A request body of unknown length goes out chunked")
    func chunkedRequestBody() async throws {
        let server = try LoopbackHTTPServer { request in .text("\(request.body.count)") }
        defer { server.stop() }
        let transport = try CurlTransport()
        let chunks = (0..<40).map { index in [UInt8](repeating: UInt8(index), count: 1000 + index * 997) }
        let response = try await transport.execute(
            HTTPRequest(method: "PUT", url: server.baseURL + "/upload", headers: ["Content-Type": "application/octet-stream"],
                        body: .stream(chunkStream(chunks, length: nil)))
        )
        let request = try #require(server.requests.first)
        #expect(request.bodyWasChunked)
        #expect(request.header("Content-Length") == nil)
        #expect(request.body == Array(chunks.joined()))
        #expect(request.method == "PUT")
        #expect(userHeaders(request) == [RecordedHeader("Content-Type", "application/octet-stream")])
        #expect(response.body == bytes("\(request.body.count)"))
    }

    @Test("A request body stream of known length goes out with Content-Length, produced asynchronously")
    func knownLengthStreamBody() async throws {
        let server = try LoopbackHTTPServer { request in .text("\(request.body.count)") }
        defer { server.stop() }
        let transport = try CurlTransport()
        let chunkSize = 300_000
        let count = Mutex(0)
        let stream = HTTPBodyStream(length: Int64(chunkSize * 10)) {
            try await Task.sleep(for: .milliseconds(2))
            return count.withLock { produced in
                guard produced < 10 else { return nil }
                produced += 1
                return [UInt8](repeating: UInt8(produced), count: chunkSize)
            }
        }
        let response = try await transport.execute(HTTPRequest(method: "POST", url: server.baseURL + "/", body: .stream(stream)))
        #expect(response.body == bytes("\(chunkSize * 10)"))
        let request = try #require(server.requests.first)
        #expect(!request.bodyWasChunked)
        #expect(request.header("Content-Length") == "\(chunkSize * 10)")
        #expect(request.body.count == chunkSize * 10)
        #expect(request.body.last == 10)
    }

    @Test("A request body stream that throws fails with requestBodyFailed")
    func throwingBodyStream() async throws {
        struct Broken: Error {}
        let server = try LoopbackHTTPServer { _ in ScriptedResponse() }
        defer { server.stop() }
        let transport = try CurlTransport()
        let calls = Mutex(0)
        let stream = HTTPBodyStream(length: nil) {
            let call = calls.withLock { value in
                value += 1
                return value
            }
            if call > 2 { throw Broken() }
            return [UInt8](repeating: 1, count: 1000)
        }
        let error = await #expect(throws: HTTPError.self) {
            _ = try await transport.execute(HTTPRequest(method: "PUT", url: server.baseURL + "/", body: .stream(stream)))
        }
        #expect(error?.code == .requestBodyFailed)
        #expect(error?.detail.contains("Broken") == true)
    }
}

/// What a GET to `url` fails with (`nil` if it succeeds).
private func failure(
    of url: String,
    options: HTTPRequestOptions = .standard,
    headers: HTTPHeaders = [:]
) async throws -> HTTPError? {
    let transport = try CurlTransport()
    do {
        _ = try await transport.execute(HTTPRequest(method: "GET", url: url, headers: headers), options: options)
        return nil
    } catch {
        return error
    }
}

/// What a GET fails with when a loopback server answers it with `response`.
private func failure(
    answering response: ScriptedResponse,
    scheme: String = "http",
    options: HTTPRequestOptions = .standard
) async throws -> HTTPError? {
    let server = try LoopbackHTTPServer { _ in response }
    defer { server.stop() }
    return try await failure(of: "\(scheme)://127.0.0.1:\(server.port)/", options: options)
}

@Suite("CurlTransport failures")
struct CurlTransportFailureTests {
    @Test("A refused connection fails with connectFailed")
    func connectRefused() async throws {
        let refusing = try RefusingPort()
        let error = try await failure(of: "http://127.0.0.1:\(refusing.port)/")
        withExtendedLifetime(refusing) {}
        #expect(error?.code == .connectFailed)
        #expect(error?.isTransient == true)
    }

    @Test("An unresolvable host fails with dnsFailure")
    func dnsFailure() async throws {
        #expect(try await failure(of: "http://nonexistent.invalid/")?.code == .dnsFailure)
    }

    @Test("An unsupported scheme or malformed URL fails with invalidURL")
    func invalidURL() async throws {
        for url in ["ftp://127.0.0.1/file", "http://[::1/"] {
            let error = try await failure(of: url)
            #expect(error?.code == .invalidURL, "\(url): \(String(describing: error))")
        }
    }

    // The server would answer after two minutes; the one-minute time limit fails the test if the
    // 200 ms total timeout did not end the request (no wall-clock assertion: CI machines are loaded).
    @Test("The total timeout fails a slow response with timeout", .timeLimit(.minutes(1)))
    func totalTimeout() async throws {
        let error = try await failure(
            answering: ScriptedResponse(delay: .seconds(120)), options: HTTPRequestOptions(totalTimeout: .milliseconds(200))
        )
        #expect(error?.code == .timeout)
    }

    @Test("A connection reset mid-body fails the body with connectionReset")
    func resetMidBody() async throws {
        let response = ScriptedResponse(
            body: .stream(length: 1 << 20) { writer in
                try writer.write([UInt8](repeating: 1, count: 100_000))
                Thread.sleep(forTimeInterval: 0.05)
                throw ResetConnection()
            }
        )
        #expect(try await failure(answering: response)?.code == .connectionReset)
    }

    @Test("A body cut short by a close fails with connectionReset")
    func closeMidBody() async throws {
        struct Stop: Error {}
        let response = ScriptedResponse(
            body: .stream(length: 1 << 20) { writer in
                try writer.write([UInt8](repeating: 1, count: 1000))
                throw Stop()
            }
        )
        #expect(try await failure(answering: response)?.code == .connectionReset)
    }

    @Test("A connection closed or reset without a response fails with connectionReset")
    func closedWithoutResponse() async throws {
        #expect(try await failure(answering: .closeWithoutResponse)?.code == .connectionReset)
        #expect(try await failure(answering: .resetWithoutResponse)?.code == .connectionReset)
    }

    @Test("https to a plain-HTTP port fails with tlsFailure")
    func tlsIsVerified() async throws {
        #expect(try await failure(answering: .text("not tls"), scheme: "https")?.code == .tlsFailure)
    }

    @Test("Errors name the URL without userinfo or presigned credentials")
    func errorURLIsRedacted() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let url = "http://AKIDUSER:supersecretpass@127.0.0.1:\(port)/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLETOKEN&X-Amz-Signature=deadbeefcafe0123456789&x-id=GetObject"
        let error = try await failure(of: url, headers: ["Authorization": "AWS4-HMAC-SHA256 Signature=abcdef0123"])
        let text = try #require(error).description
        #expect(error?.code == .connectFailed)
        for secret in ["AKIDUSER", "supersecretpass", "AKIDEXAMPLE", "FQoGZXIvYXdzEXAMPLETOKEN", "deadbeefcafe0123456789", "abcdef0123"] {
            #expect(!text.contains(secret), "\(secret) leaked into \(text)")
        }
        #expect(text.contains("X-Amz-Signature=REDACTED"))
        #expect(text.contains("x-id=GetObject"))
        #expect(text.contains("REDACTED@127.0.0.1"))
    }

    @Test("A header value with a line break is refused before anything is sent")
    func headerInjectionRefused() async throws {
        let server = try LoopbackHTTPServer { _ in ScriptedResponse() }
        defer { server.stop() }
        let error = try await failure(of: server.baseURL + "/", headers: ["X-Evil": "a\r\nX-Injected: 1"])
        #expect(error?.code == .other)
        #expect(server.requests.isEmpty)
    }

    @Test("libcurl's message is scrubbed of any credential it might echo")
    func curlMessageIsScrubbed() {
        let url = "https://user:pa55word@host.example/p?X-Amz-Signature=abcdef123456&X-Amz-Security-Token=tok%2Fen"
        let message = "Could not resolve host user:pa55word@host.example/p?X-Amz-Signature=abcdef123456 tok%2Fen AKIAEXAMPLE"
        let scrubbed = CurlTransport.scrubbedMessageForTesting(message, url: url, headers: ["X-Amz-Security-Token": "AKIAEXAMPLE"])
        #expect(!scrubbed.contains("pa55word"))
        #expect(!scrubbed.contains("abcdef123456"))
        #expect(!scrubbed.contains("tok%2Fen"))
        #expect(!scrubbed.contains("AKIAEXAMPLE"))
        #expect(scrubbed.hasPrefix("Could not resolve host REDACTED@host.example"))
    }
}

@Suite("CurlTransport cancellation")
struct CurlTransportCancellationTests {
    @Test("Cancelling the task that waits in send cancels the request", .timeLimit(.minutes(1)))
    func cancelSend() async throws {
        // The server would answer after two minutes; the suite's one-minute limit catches a cancel
        // that did not end the request.
        let server = try LoopbackHTTPServer { _ in ScriptedResponse(delay: .seconds(120)) }
        defer { server.stop() }
        let transport = try CurlTransport()
        let task = Task {
            try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"), options: .unlimited)
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let result = await task.result
        #expect(failureCode(result) == .cancelled)
    }

    @Test("Cancelling a task reading the body cancels the transfer")
    func cancelBodyRead() async throws {
        let server = try LoopbackHTTPServer { _ in
            ScriptedResponse(
                body: .stream(length: nil) { writer in
                    try writer.write([1, 2, 3])
                    // Far longer than the cancellation takes, even on a loaded machine.
                    Thread.sleep(forTimeInterval: 30)
                    try writer.write([4])
                }
            )
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        let response = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"), options: .standard)
        let task = Task { try await response.body.collect() }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let result = await task.result
        #expect(failureCode(result) == .cancelled)
    }

    @Test("Dropping or cancelling an unread body stops the transfer and frees the connection's server side")
    func droppingBodyCancels() async throws {
        let producersEnded = Atomic<Int>(0)
        let server = try LoopbackHTTPServer { _ in
            ScriptedResponse(
                body: .stream(length: nil) { writer in
                    defer { producersEnded.add(1, ordering: .relaxed) }
                    let block = [UInt8](repeating: 9, count: 64 << 10)
                    for _ in 0..<(16 << 10) { try writer.write(block) }  // 1 GiB unless stopped
                }
            )
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        do {
            let response = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"), options: .standard)
            _ = try await response.body.next()
        }
        // The server's writes fail once curl has closed the connection.
        #expect(await eventually { producersEnded.load(ordering: .relaxed) == 1 })

        let response = try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"), options: .standard)
        _ = try await response.body.next()
        response.body.cancel()
        #expect(try await response.body.next() == nil)
        #expect(await eventually { producersEnded.load(ordering: .relaxed) == 2 })
    }

    @Test("shutdown fails requests in flight and later ones with cancelled")
    func shutdownCancels() async throws {
        let server = try LoopbackHTTPServer { _ in ScriptedResponse(delay: .seconds(2)) }
        defer { server.stop() }
        let transport = try CurlTransport()
        let task = Task {
            try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + "/"), options: .unlimited)
        }
        try await Task.sleep(for: .milliseconds(100))
        transport.shutdown()
        #expect(failureCode(await task.result) == .cancelled)
        let error = await #expect(throws: HTTPError.self) {
            _ = try await transport.execute(HTTPRequest(method: "GET", url: server.baseURL + "/"))
        }
        #expect(error?.code == .cancelled)
    }
}

/// The process's resident set, from /proc/self/status.
enum ProcessMemory {
    struct Sample {
        var residentKiB: Int
        var peakKiB: Int
    }

    /// Resets VmHWM to the current RSS (Linux 4.0+), so a later peak belongs to what ran since.
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    static func current() -> Sample {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "0") ?? 0
        }
        return Sample(residentKiB: field("VmRSS"), peakKiB: field("VmHWM"))
    }
}
