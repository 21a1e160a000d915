import Foundation
package import LoopbackHTTP

#if canImport(Glibc)
import Glibc
#endif

/// The proxy could not start.
package struct FaultProxyError: Error, Sendable, Hashable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { "FaultProxy: \(message)" }
}

/// What a proxy has done so far.
package struct FaultProxyStats: Sendable, Hashable {
    package var requests = 0
    /// Requests that reached the upstream (untouched ones and the lost-answer faults).
    package var forwarded = 0
    package var faults: [FaultKind: Int] = [:]
    package var faultsByService: [ProxiedService: [FaultKind: Int]] = [:]
    /// Requests that repeat a faulted one (same method, target, operation and body): the clients' retries.
    package var retries = 0
    /// Forwarded requests the upstream did not answer (passed on as a reset connection).
    package var upstreamFailures = 0

    package init() {}

    package var totalFaults: Int { faults.values.reduce(0, +) }

    package static func + (a: FaultProxyStats, b: FaultProxyStats) -> FaultProxyStats {
        var sum = a
        sum.requests += b.requests
        sum.forwarded += b.forwarded
        sum.retries += b.retries
        sum.upstreamFailures += b.upstreamFailures
        sum.faults.merge(b.faults, uniquingKeysWith: +)
        sum.faultsByService.merge(b.faultsByService) { $0.merging($1, uniquingKeysWith: +) }
        return sum
    }
}

/// An HTTP/1.1 proxy on loopback in front of one upstream (moto, the OpenSearch stand-in) that
/// faults a seeded share of the requests: answered 500, 503 or with the service's throttling error,
/// executed upstream then reset mid-answer, or executed then stalled past the client's time-out.
/// Everything else is forwarded unchanged, the `Host` header included, so SigV4 signatures still
/// verify upstream.
package final class FaultProxy: Sendable {
    package let server: LoopbackHTTPServer
    private let core: ProxyCore

    /// - Parameters:
    ///   - upstream: `http://127.0.0.1:<port>` of the service behind the proxy.
    ///   - port: the loopback port to listen on; 0 picks a free one.
    /// - Throws: `FaultProxyError` when the upstream is not a loopback `http://` URL or the socket cannot be bound.
    package init(upstream: String, plan: FaultPlan, port: Int = 0) throws(FaultProxyError) {
        guard let url = URL(string: upstream), url.scheme == "http", let upstreamPort = url.port else {
            throw FaultProxyError("the upstream must be http://127.0.0.1:<port>, not \(upstream)")
        }
        core = ProxyCore(upstreamHost: url.host ?? "127.0.0.1", upstreamPort: upstreamPort, plan: plan)
        do {
            server = try LoopbackHTTPServer(behavior: ProxyBehavior(core: core), port: port, recordsRequests: false)
        } catch {
            throw FaultProxyError("cannot listen: \(error)")
        }
    }

    /// `http://127.0.0.1:<port>`.
    package var endpoint: String { server.baseURL }
    package var stats: FaultProxyStats { core.lock.withLock { core.stats } }

    /// The next requests get these faults, in order, before the seeded decisions resume (tests).
    package func faultNext(_ kinds: FaultKind...) { core.lock.withLock { core.scripted += kinds } }

    /// Turns faulting on or off (while off, every request is forwarded and no decision is drawn).
    package func setFaulting(_ on: Bool) { core.lock.withLock { core.faulting = on } }

    package func stop() { server.stop() }
}

private struct ProxyBehavior: HTTPServerBehavior {
    let core: ProxyCore
    func respond(to request: RecordedRequest) -> ScriptedResponse { core.respond(to: request) }
}

private final class ProxyCore: @unchecked Sendable {
    let upstreamHost: String
    let upstreamPort: Int
    let plan: FaultPlan
    // Guarded by `lock`.
    let lock = NSLock()
    var stats = FaultProxyStats()
    var decider: FaultDecider
    var faulting = true
    var scripted: [FaultKind] = []
    var faultedFingerprints: Set<Fingerprint> = []

    init(upstreamHost: String, upstreamPort: Int, plan: FaultPlan) {
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.plan = plan
        decider = FaultDecider(plan: plan)
    }

    struct Fingerprint: Hashable {
        var method: String
        var target: String
        var operation: String?
        var body: [UInt8]
    }

    func respond(to request: RecordedRequest) -> ScriptedResponse {
        let service = ProxiedService(request: request)
        let fingerprint = Fingerprint(method: request.method, target: request.target, operation: request.header("X-Amz-Target"), body: request.body)
        let (fault, number) = lock.withLock { () -> (FaultKind?, Int) in
            stats.requests += 1
            if faultedFingerprints.contains(fingerprint) { stats.retries += 1 }
            let fault = !scripted.isEmpty ? scripted.removeFirst() : faulting ? decider.next() : nil
            if let fault {
                stats.faults[fault, default: 0] += 1
                stats.faultsByService[service, default: [:]][fault, default: 0] += 1
                faultedFingerprints.insert(fingerprint)
            }
            if fault?.forwards ?? true { stats.forwarded += 1 }
            return (fault, stats.requests)
        }
        if let fault, !fault.forwards {
            return ServiceErrors.response(fault, service: service, requestId: "FAULT" + String(number, radix: 16, uppercase: true))
        }
        guard let answer = Upstream.exchange(request, host: upstreamHost, port: upstreamPort) else {
            lock.withLock { stats.upstreamFailures += 1 }
            return .resetWithoutResponse
        }
        switch fault {
        case nil:
            return answer.response(method: request.method)
        case .stalled:
            return ScriptedResponse(delay: plan.stall, disposition: .closeWithoutResponse)
        default:
            return answer.resetMidBody(method: request.method)
        }
    }
}

/// One request to the upstream on a connection of its own (`Connection: close`), blocking.
enum Upstream {
    struct Answer {
        var status: Int
        var headers: [RecordedHeader]
        var body: [UInt8]

        /// Passed on unchanged, but for the framing, which the proxy redoes. A HEAD answer keeps its
        /// `Content-Length` (the size of the object, not of an empty body).
        func response(method: String) -> ScriptedResponse {
            let hop: Set<String> = ["transfer-encoding", "connection", "keep-alive"]
            let kept = headers.filter {
                let name = $0.name.lowercased()
                return !hop.contains(name) && (name != "content-length" || method == "HEAD")
            }
            return ScriptedResponse(status: status, headers: kept, body: .bytes(body))
        }

        /// The head and half the body, then a reset; a reset before the head when there is no body.
        func resetMidBody(method: String) -> ScriptedResponse {
            guard method != "HEAD", body.count >= 2 else { return .resetWithoutResponse }
            var response = response(method: method)
            let half = Array(body[..<(body.count / 2)])
            response.body = .stream(length: body.count) { writer in
                try writer.write(half)
                throw ResetConnection()
            }
            return response
        }
    }

    static func exchange(_ request: RecordedRequest, host: String, port: Int, timeoutSeconds: Int = 120) -> Answer? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        address.sin_port = UInt16(clamping: port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }

        let dropped: Set<String> = ["transfer-encoding", "connection", "keep-alive", "content-length", "expect"]
        var head = "\(request.method) \(request.target) HTTP/1.1\r\n"
        for header in request.headers where !dropped.contains(header.name.lowercased()) { head += "\(header.name): \(header.value)\r\n" }
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) { head += "Content-Length: \(request.body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        guard sendAllBytes(fd, Array(head.utf8) + request.body) else { return nil }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return parse(received, method: request.method)
    }

    /// A whole HTTP/1.1 answer read to the end of the connection (interim 1xx heads skipped).
    static func parse(_ bytes: [UInt8], method: String) -> Answer? {
        var start = 0
        while true {
            guard let end = find([13, 10, 13, 10], in: bytes, from: start) else { return nil }
            let lines = String(decoding: bytes[start..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let statusParts = lines[0].split(separator: " ")
            guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
            let bodyStart = end + 4
            if (100..<200).contains(status) {
                start = bodyStart
                continue
            }
            var headers: [RecordedHeader] = []
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append(RecordedHeader(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            func value(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
            var body: [UInt8]
            if method == "HEAD" || status == 204 || status == 304 {
                body = []
            } else if value("transfer-encoding")?.lowercased().contains("chunked") == true {
                guard let decoded = dechunk(bytes, from: bodyStart) else { return nil }
                body = decoded
            } else if let length = value("content-length").flatMap({ Int($0) }) {
                guard bytes.count - bodyStart >= length else { return nil }
                body = Array(bytes[bodyStart..<(bodyStart + length)])
            } else {
                body = Array(bytes[bodyStart...])
            }
            return Answer(status: status, headers: headers, body: body)
        }
    }

    private static func dechunk(_ bytes: [UInt8], from start: Int) -> [UInt8]? {
        var body: [UInt8] = []
        var position = start
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: position) else { return nil }
            let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self).prefix { $0 != ";" }
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            position = lineEnd + 2
            if size == 0 { return body }
            guard bytes.count >= position + size + 2 else { return nil }
            body += bytes[position..<(position + size)]
            position += size + 2
        }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        var index = start
        while index <= bytes.count - needle.count {
            if bytes[index] == needle[0], Array(bytes[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }
}
