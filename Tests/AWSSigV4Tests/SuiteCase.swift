import AWSSigV4
import Foundation
import Primitives

/// One case of the aws-c-auth SigV4 suite (`Fixtures/aws-c-auth-v4/<name>`).
struct SuiteCase {
    struct Context: Decodable {
        struct Credentials: Decodable {
            var access_key_id: String
            var secret_access_key: String
            var token: String?
        }
        var credentials: Credentials
        var expiration_in_seconds: Int
        var normalize: Bool
        var region: String
        var service: String
        var sign_body: Bool
        var timestamp: String
        var omit_session_token: Bool?
    }

    /// The request as `request.txt` has it: the request line's target is kept verbatim (the
    /// suite treats it as the wire path), header values keep their raw text after the colon
    /// (folded lines joined with `\n`).
    struct RawRequest {
        var method: String
        var target: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        init(_ text: [UInt8]) throws {
            let bytes = text
            // Head and body split at the first blank line.
            var headEnd = bytes.count
            var bodyStart = bytes.count
            var index = 0
            while index + 1 < bytes.count {
                if bytes[index] == 0x0a && bytes[index + 1] == 0x0a {
                    headEnd = index
                    bodyStart = index + 2
                    break
                }
                index += 1
            }
            let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
            body = Array(bytes[bodyStart...])
            var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let requestLine = lines.removeFirst()
            guard let firstSpace = requestLine.firstIndex(of: " "), let lastSpace = requestLine.lastIndex(of: " ") else {
                throw FixtureError("bad request line \(requestLine)")
            }
            method = String(requestLine[..<firstSpace])
            target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
            headers = []
            // A request without a body ends after its last header line, with no blank line.
            for line in lines where !line.isEmpty {
                if line.first == " " || line.first == "\t" {
                    headers[headers.count - 1].value += "\n" + line
                } else if let colon = line.firstIndex(of: ":") {
                    headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
                } else {
                    throw FixtureError("bad header line \(line)")
                }
            }
        }

        /// The suite's text form of a request: request line, `Name:value` lines, blank line, body.
        static func render(method: String, target: String, headers: [(name: String, value: String)], body: [UInt8]) -> String {
            var text = "\(method) \(target) HTTP/1.1\n"
            for header in headers { text += "\(header.name):\(header.value)\n" }
            text += "\n"
            return text + String(decoding: body, as: UTF8.self)
        }
    }

    let name: String
    let context: Context
    let request: RawRequest
    private let directory: URL

    static let root: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/aws-c-auth-v4")

    /// Every case folder, sorted.
    static let names: [String] = {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return entries.filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted()
    }()

    init(_ name: String) throws {
        self.name = name
        directory = Self.root.appendingPathComponent(name)
        context = try JSONDecoder().decode(Context.self, from: Data(contentsOf: directory.appendingPathComponent("context.json")))
        request = try RawRequest(Array(Data(contentsOf: directory.appendingPathComponent("request.txt"))))
    }

    func expected(_ file: String) throws -> String {
        String(decoding: try Data(contentsOf: directory.appendingPathComponent(file)), as: UTF8.self)
    }

    var credentials: AWSCredentials {
        AWSCredentials(
            accessKeyId: context.credentials.access_key_id,
            secretAccessKey: context.credentials.secret_access_key,
            sessionToken: context.credentials.token
        )
    }

    var date: Timestamp { Timestamp(iso8601: context.timestamp)! }

    var signer: SigV4Signer {
        SigV4Signer(
            service: context.service,
            region: context.region,
            options: .init(
                doubleEncodePath: true,
                normalizePath: context.normalize,
                omitSessionTokenFromSignature: context.omit_session_token ?? false
            )
        )
    }

    /// The wire URL: scheme, the `Host` header's authority, and the request target as sent.
    var signableRequest: SignableRequest {
        let host = request.headers.first { $0.name.lowercased() == "host" }?.value ?? "example.amazonaws.com"
        return SignableRequest(method: request.method, url: "https://\(host)\(request.target)", headers: request.headers)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
