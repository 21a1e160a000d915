import Foundation
import LoopbackHTTP
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Loopback server request bodies")
struct LoopbackServerBodyTests {
    /// Sends `bytes` on a fresh connection to `port`, closes the sending side and reads until the
    /// server closes the connection.
    private static func exchange(_ bytes: [UInt8], port: Int) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0, sendAllBytes(fd, bytes) else { throw POSIXError(.ECONNREFUSED) }
        shutdown(fd, Int32(SHUT_WR))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    @Test("A body longer than the read buffer arrives whole, and the request pipelined after it is read too")
    func longBodyThenPipelinedRequest() async throws {
        let server = try LoopbackHTTPServer { _ in ScriptedResponse(status: 200, body: .bytes(Array("ok".utf8))) }
        defer { server.stop() }
        // 3 MiB of a repeating pattern: far more than one 64 KiB read, so most of it is received
        // straight into the body.
        let body = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let wire = Array("POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
            + Array("POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello".utf8)
        let port = server.port
        let answer = try await offPool { try Self.exchange(wire, port: port) }

        #expect(answer.components(separatedBy: "HTTP/1.1 200").count - 1 == 2)
        let requests = server.requests
        #expect(requests.map(\.target) == ["/first", "/second"])
        #expect(requests.first?.body == body)
        #expect(requests.last?.body == Array("hello".utf8))
    }

    @Test("A connection that closes before its declared body is complete records no request")
    func truncatedBody() async throws {
        let server = try LoopbackHTTPServer { _ in ScriptedResponse(status: 200, body: .bytes(Array("ok".utf8))) }
        defer { server.stop() }
        let wire = Array("POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n".utf8) + [UInt8](repeating: 0x61, count: 200_000)
        let port = server.port
        let answer = try await offPool { try Self.exchange(wire, port: port) }

        #expect(answer.isEmpty)
        #expect(server.requests.isEmpty)
    }
}
