import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A scripted HTTP/1.1 server on 127.0.0.1, for exercising a real HTTP client.
///
/// It listens on a free port, keeps connections alive, reads `Content-Length` and chunked request
/// bodies, and answers each request with what its `HTTPServerBehavior` returns. A thread serves each
/// connection, so a behaviour may block. It records every request and counts connections, so tests
/// can check what went on the wire and whether connections were reused.
package final class LoopbackHTTPServer: @unchecked Sendable {
    package struct StartError: Error, CustomStringConvertible {
        package var description: String
    }

    /// The port it listens on.
    package let port: Int
    package var baseURL: String { "http://127.0.0.1:\(port)" }

    private let behavior: any HTTPServerBehavior
    private let recordsRequests: Bool
    private let listenSocket: Int32
    private let threads = DispatchGroup()

    // Guarded by `lock`.
    private let lock = NSLock()
    private var listening = true
    private var stopped = false
    private var openSockets: Set<Int32> = []
    private var recorded: [RecordedRequest] = []
    private var accepted = 0
    private var mostOpen = 0
    private var inFlight = 0
    private var mostInFlight = 0

    /// Starts listening.
    /// - Parameters:
    ///   - port: the loopback port to listen on; 0 picks a free one.
    ///   - recordsRequests: keep every request for `requests` (turn off for long-running servers,
    ///     whose memory would otherwise grow with every body received).
    /// - Throws: `StartError` when the socket cannot be set up.
    package init(behavior: some HTTPServerBehavior, port requestedPort: Int = 0, recordsRequests: Bool = true) throws {
        self.behavior = behavior
        self.recordsRequests = recordsRequests
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(clamping: requestedPort).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && listen(fd, 512) == 0
                    && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw StartError(description: "bind/listen: \(reason)")
        }
        listenSocket = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        threads.enter()
        Thread.detachNewThread { [self] in
            acceptLoop()
            threads.leave()
        }
    }

    /// Starts listening, answering with `handler`.
    package convenience init(_ handler: @escaping @Sendable (RecordedRequest) -> ScriptedResponse) throws {
        try self.init(behavior: ClosureBehavior(handler))
    }

    deinit { stop() }

    /// Closes the listening socket and every connection. Returns at once: a behaviour blocked in
    /// `respond` (or a scripted delay) finishes on its own thread, then finds its socket closed.
    package func stop() {
        lock.withLock {
            stopped = true
            if listening { shutdown(listenSocket, Int32(SHUT_RDWR)) }
            for socket in openSockets { shutdown(socket, Int32(SHUT_RDWR)) }
        }
    }

    /// Stops, then waits up to `timeout` for every connection thread to end; `false` on time-out.
    /// Blocks the calling thread, so call it outside Swift's cooperative pool.
    package func stopAndWait(timeout: Duration = .seconds(5)) -> Bool {
        stop()
        let (seconds, attoseconds) = timeout.components
        return threads.wait(timeout: .now() + Double(seconds) + Double(attoseconds) / 1e18) == .success
    }

    // MARK: What happened

    /// Every request received so far, in arrival order.
    package var requests: [RecordedRequest] { lock.withLock { recorded } }
    /// TCP connections accepted so far.
    package var connectionsAccepted: Int { lock.withLock { accepted } }
    /// The most connections that were open at the same time.
    package var maxOpenConnections: Int { lock.withLock { mostOpen } }
    /// The most requests that were being answered at the same time.
    package var maxRequestsInFlight: Int { lock.withLock { mostInFlight } }

    /// Forgets the recorded requests (the counters stay).
    package func clearRequests() { lock.withLock { recorded.removeAll() } }

    /// A loopback port that nothing listens on (bound, then released).
    package static func unusedPort() throws -> Int {
        let server = try LoopbackHTTPServer { _ in ScriptedResponse() }
        server.stop()
        return server.port
    }


    // MARK: Serving

    private func acceptLoop() {
        while true {
            let fd = accept(listenSocket, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let number: Int? = lock.withLock {
                guard !stopped else { return nil }
                accepted += 1
                openSockets.insert(fd)
                mostOpen = max(mostOpen, openSockets.count)
                return accepted
            }
            guard let number else {
                close(fd)
                continue
            }
            threads.enter()
            Thread.detachNewThread { [self] in
                serve(fd, number: number)
                threads.leave()
            }
        }
        lock.withLock {
            listening = false
            close(listenSocket)
        }
    }

    private func serve(_ fd: Int32, number: Int) {
        var reader = SocketReader(fd: fd)
        var reset = false
        while let request = reader.readRequest(connectionNumber: number) {
            lock.withLock {
                if recordsRequests { recorded.append(request) }
                inFlight += 1
                mostInFlight = max(mostInFlight, inFlight)
            }
            let response = behavior.respond(to: request)
            let outcome = write(response, to: request, on: fd)
            lock.withLock { inFlight -= 1 }
            if case .reset = outcome { reset = true }
            guard case .keepOpen = outcome, request.header("Connection")?.lowercased() != "close" else { break }
        }
        reader.close()
        lock.withLock {
            openSockets.remove(fd)
            if reset {
                // SO_LINGER with a zero timeout makes close send RST instead of FIN.
                var linger = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
            }
            close(fd)
        }
    }

    private enum Outcome { case keepOpen, close, reset }

    private func write(_ response: ScriptedResponse, to request: RecordedRequest, on fd: Int32) -> Outcome {
        if response.delay > .zero {
            let (seconds, attoseconds) = response.delay.components
            Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
        }
        switch response.disposition {
        case .closeWithoutResponse: return .close
        case .resetWithoutResponse: return .reset
        case .keepAlive, .close: break
        }
        var head = ""
        for status in response.interimStatuses { head += "HTTP/1.1 \(status) \(Self.reason(status))\r\n\r\n" }
        head += "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        for field in response.headers { head += "\(field.name): \(field.value)\r\n" }
        let declares = response.headers.contains {
            let name = $0.name.lowercased()
            return name == "content-length" || name == "transfer-encoding"
        }
        let bodyless = request.method == "HEAD" || response.status == 204 || response.status == 304
        var chunked = false
        if !declares, response.status != 204, response.status != 304 {
            switch response.body {
            case .bytes(let bytes): head += "Content-Length: \(bytes.count)\r\n"
            case .stream(let length?, _): head += "Content-Length: \(length)\r\n"
            case .stream(nil, _):
                head += "Transfer-Encoding: chunked\r\n"
                chunked = true
            }
        }
        if response.disposition == .close { head += "Connection: close\r\n" }
        head += "\r\n"

        let writer = ResponseBodyWriter(fd: fd, chunked: chunked && !bodyless)
        switch response.body {
        case .bytes(let bytes):
            // Head and body in one send: no Nagle or delayed-ACK stall between them.
            var out = Array(head.utf8)
            if !bodyless { out += bytes }
            guard writer.sendAll(out) else { return .close }
        case .stream(_, let producer):
            guard writer.sendAll(Array(head.utf8)) else { return .close }
            if !bodyless {
                do {
                    try producer(writer)
                    try writer.finish()
                } catch is ResetConnection {
                    return .reset
                } catch {
                    return .close
                }
            }
        }
        return response.disposition == .close ? .close : .keepOpen
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 103: "Early Hints"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

/// Writes a streamed response body; `write` blocks while the client is not reading (TCP
/// back-pressure) and throws once the connection is gone.
package final class ResponseBodyWriter: @unchecked Sendable {
    package struct ConnectionClosed: Error {}

    private let fd: Int32
    private let chunked: Bool
    private var written = 0

    init(fd: Int32, chunked: Bool) {
        self.fd = fd
        self.chunked = chunked
    }

    /// Body bytes written so far (without chunk framing). Read it from the producer's thread.
    package var bytesWritten: Int { written }

    package func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        if chunked {
            let frame = Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + Array("\r\n".utf8)
            guard sendAll(frame) else { throw ConnectionClosed() }
        } else {
            guard sendAll(bytes) else { throw ConnectionClosed() }
        }
        written += bytes.count
    }

    func finish() throws {
        if chunked, !sendAll(Array("0\r\n\r\n".utf8)) { throw ConnectionClosed() }
    }

    func sendAll(_ bytes: [UInt8]) -> Bool { sendAllBytes(fd, bytes) }
}

/// Sends every byte on a blocking socket (retrying on EINTR); false once the connection is gone.
package func sendAllBytes(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let sent = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }
}

/// Reads HTTP/1.1 requests off a socket.
private struct SocketReader {
    let fd: Int32
    var buffer: [UInt8] = []
    var start = 0

    /// Where `recv` writes; owned by the connection's thread and freed by `close`.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(64 << 10)
    }

    func close() { scratch.deallocate() }

    /// The next request, or `nil` when the connection closes or sends something malformed.
    mutating func readRequest(connectionNumber: Int) -> RecordedRequest? {
        guard let requestLine = line(), !requestLine.isEmpty else { return nil }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3 else { return nil }
        var headers: [RecordedHeader] = []
        while true {
            guard let text = line() else { return nil }
            if text.isEmpty { break }
            guard let colon = text.firstIndex(of: ":") else { return nil }
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append(RecordedHeader(String(text[..<colon]), value))
        }
        var request = RecordedRequest(
            method: String(parts[0]), target: String(parts[1]), headers: headers, connectionNumber: connectionNumber
        )
        if request.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            request.bodyWasChunked = true
            while true {
                guard let sizeLine = line(), let size = Int(sizeLine.prefix { $0 != ";" }, radix: 16) else { return nil }
                if size == 0 {
                    while let trailer = line(), !trailer.isEmpty {}
                    break
                }
                guard let data = take(size), line() == "" else { return nil }
                request.body += data
            }
        } else if let length = request.header("Content-Length").flatMap({ Int($0) }), length > 0 {
            guard let data = take(length) else { return nil }
            request.body = data
        }
        return request
    }

    /// A line without its CRLF.
    private mutating func line() -> String? {
        var searched = 0  // bytes after `start` already searched (fill may move `start`)
        while true {
            if let end = buffer[(start + searched)...].firstIndex(of: UInt8(ascii: "\n")) {
                var lineEnd = end
                if lineEnd > start, buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                let text = String(decoding: buffer[start..<lineEnd], as: UTF8.self)
                start = end + 1
                return text
            }
            searched = buffer.count - start
            guard fill() else { return nil }
        }
    }

    /// The next `count` bytes. A body longer than what is buffered is received straight into an
    /// array of its size (one copy of the buffered part, no growing buffer).
    private mutating func take(_ count: Int) -> [UInt8]? {
        let buffered = buffer.count - start
        guard buffered < count else {
            defer { start += count }
            return Array(buffer[start..<start + count])
        }
        var complete = true
        let body = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            buffer.withUnsafeBufferPointer { held in
                _ = out.initialize(fromContentsOf: UnsafeBufferPointer(rebasing: held[start...]))
            }
            var filled = buffered
            while filled < count {
                let received = recv(fd, out.baseAddress! + filled, count - filled, 0)
                if received < 0, errno == EINTR { continue }
                guard received > 0 else {
                    complete = false
                    break
                }
                filled += received
            }
            initialized = filled
        }
        buffer.removeAll(keepingCapacity: true)
        start = 0
        return complete ? body : nil
    }

    /// Reads more bytes; `false` at end of stream or on error.
    private mutating func fill() -> Bool {
        if start > 0, start == buffer.count || start > 32 << 10 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        let received = recv(fd, scratch.baseAddress, scratch.count, 0)
        guard received > 0 else { return false }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<received]))
        return true
    }
}

/// A loopback port that refuses connections for as long as this value lives: a TCP socket bound to
/// it that never listens. Unlike a port that was merely free a moment ago, no other test's server
/// can take it meanwhile.
package final class RefusingPort: @unchecked Sendable {
    // The descriptor is owned by this object and closed once, in deinit.
    private let fd: Int32
    package let port: Int

    package init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoopbackHTTPServer.StartError(description: "socket() failed: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            close(fd)
            throw LoopbackHTTPServer.StartError(description: "cannot bind a loopback port: \(errno)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
