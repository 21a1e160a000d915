import AWSSigV4
import Foundation
import HTTPTransport
import JSONCodec
import OpenSearchStandIn
import Primitives

/// A stand-in plus a client that signs with SigV4Signer and sends over the real CurlTransport.
struct StandInHarness {
    static let accessKeyId = "AKIDSTANDINTEST00001"
    static let secret = "standin/test+SECRET/key/0123456789abcdef"

    let standIn: OpenSearchStandIn
    let transport: CurlTransport
    var signer: SigV4Signer
    var credentials: AWSCredentials
    var sign = true

    init(
        service: String = "es", dataDirectory: String? = nil, faults: FaultSettings = .none, verifies: Bool = true,
        clock: any WallClock = SystemClock()
    ) throws {
        standIn = try OpenSearchStandIn(
            OpenSearchStandInConfiguration(
                region: "eu-west-2", service: service, accessKeyId: Self.accessKeyId, secretAccessKey: Self.secret,
                verifiesSignatures: verifies, dataDirectory: dataDirectory, faults: faults, clock: clock))
        transport = try CurlTransport()
        signer = SigV4Signer(service: service, region: "eu-west-2")
        credentials = AWSCredentials(accessKeyId: Self.accessKeyId, secretAccessKey: Self.secret)
    }

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var json: JSON { (try? JSONParser.parse(body)) ?? .null }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends `method path` with `body`, signed unless `sign` is off; `tamper` edits the request after signing.
    func send(
        _ method: String, _ path: String, body: [UInt8] = [], headers: [(String, String)] = [],
        tamper: (inout HTTPRequest) -> Void = { _ in }
    ) async throws -> Reply {
        var signable = SignableRequest(
            method: method, url: standIn.endpoint + path,
            headers: (body.isEmpty ? [] : [(name: "Content-Type", value: "application/json")]) + headers.map { (name: $0.0, value: $0.1) })
        if sign {
            try signer.sign(
                &signable, credentials: credentials, payload: .hashing(body), date: SystemClock().now(),
                addContentSHA256Header: signer.service == "aoss")
        }
        var request = HTTPRequest(
            method: method, url: signable.url, headers: HTTPHeaders(signable.headers.map { ($0.name, $0.value) }),
            body: body.isEmpty ? .empty : .bytes(body))
        tamper(&request)
        let response = try await transport.execute(request)
        return Reply(status: response.status, headers: response.headers, body: response.body)
    }

    func send(_ method: String, _ path: String, json: JSON) async throws -> Reply {
        try await send(method, path, body: json.bytes)
    }

    func bulk(_ lines: [JSON], path: String = "/_bulk", query: String = "") async throws -> Reply {
        var body: [UInt8] = []
        for line in lines { body += line.bytes + [0x0A] }
        return try await send("POST", path + query, body: body, headers: [("Content-Type", "application/x-ndjson")])
    }
}

extension JSON {
    /// The value at a dotted path (`hits.total.value`, `items.0.index.status`).
    subscript(path path: String) -> JSON? {
        var current: JSON? = self
        for part in path.split(separator: ".") {
            if let index = Int(part) { current = current?[index] } else { current = current?[String(part)] }
        }
        return current
    }
}

/// A new empty directory under the system's temporary directory.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "opensearch-standin-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
